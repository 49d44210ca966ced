"""Writes of the back-office engine: process versions, starting a case's process, handling tasks, timers.

Every action is one ``transaction.atomic`` block with its audit record. A case's process state is changed
only with its ``WorkflowInstance`` row locked (``select_for_update``; SQLite serialises writers with
IMMEDIATE transactions) and saved with a ``row_version`` guard, so two handlers completing parallel tasks
of one case at the same time run one after the other on the latest state and never lose an update.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from SpiffWorkflow.exceptions import SpiffWorkflowException

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission, user_roles
from onewindow.accounts.roles import Permission
from onewindow.applications.models import Application
from onewindow.audit.actions import audit_append
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.core.logging import get_logger
from onewindow.services.models import ServiceVersion
from onewindow.workflow import engine
from onewindow.workflow.calendar_timers import DUE_TIMEZONE, timer_fire_at
from onewindow.workflow.models import (
    ACTIVE_TASK_STATUSES,
    CaseEvent,
    CaseEventKind,
    DefinitionStatus,
    HumanTask,
    InstanceStatus,
    ProcessDefinition,
    TaskStatus,
    WorkflowInstance,
    WorkflowTimer,
)
from onewindow.workflow.registry import ServiceActionContext, UnknownServiceAction, service_action_run
from onewindow.workflow.validation import bpmn_validate

logger = get_logger(__name__)

OUTCOMES = ("approve", "reject", "return", "consult")
# Timers fired per database round trip by ``timers_fire_due``.
TIMER_BATCH_SIZE = 200


# --- Process definitions --------------------------------------------------------------------------


def _problems_as_errors(bpmn_xml: str) -> list[FieldError]:
    return [
        FieldError(
            "bpmn_xml",
            problem.code,
            f"{problem.message_zh}（{problem.element_id}）" if problem.element_id else problem.message_zh,
            f"{problem.message_en} ({problem.element_id})" if problem.element_id else problem.message_en,
        )
        for problem in bpmn_validate(bpmn_xml)
    ]


def _owning_department(key: str) -> str:
    """The department of the services whose versions name process ``key`` ("" if none does yet)."""
    codes = sorted(
        set(
            ServiceVersion.objects.filter(process_key=key).values_list("service__department__code", flat=True)
        )
    )
    return codes[0] if len(codes) == 1 else ""


def process_definition_create(
    *, acting_user: User, key: str, bpmn_xml: str, department_code: str = ""
) -> ProcessDefinition:
    """Upload a BPMN model as the next draft version of process ``key``.

    Only a department admin of the owning department (the department of the services that use ``key``,
    or ``department_code`` for a process no service uses yet). The model is validated first: every problem
    (unknown lane, role or action, script task, unsafe expression) is one field error on ``bpmn_xml``.
    """
    key = key.strip()
    owner = _owning_department(key) or department_code.strip()
    if not user_has_permission(acting_user, Permission.MANAGE_DEPARTMENT, department_code=owner or None) or (
        not owner
    ):
        raise permission_denied(
            acting_user, Permission.MANAGE_DEPARTMENT, object_type="process", object_id=key
        )
    if not key:
        raise FieldErrors([FieldError("key", "required", "请填写流程标识。", "The process key is required.")])
    errors = _problems_as_errors(bpmn_xml)
    if errors:
        raise FieldErrors(errors, code="process_invalid")
    try:
        parsed = engine.process_parse(bpmn_xml)
    except (engine.WorkflowEngineError, SpiffWorkflowException, ValueError) as error:
        raise FieldErrors(
            [
                FieldError(
                    "bpmn_xml", "unparsable", "流程模型无法解析。", f"The model cannot be parsed: {error}"
                )
            ],
            code="process_invalid",
        ) from None
    with transaction.atomic():
        # Lock the key's versions so two uploads do not pick the same number.
        latest = ProcessDefinition.objects.select_for_update().filter(key=key).order_by("-version").first()
        definition = ProcessDefinition.objects.create(
            key=key,
            version=(latest.version + 1) if latest else 1,
            status=DefinitionStatus.DRAFT,
            department_code=owner,
            bpmn_xml=bpmn_xml,
            process_id=parsed.process_id,
            sha256=hashlib.sha256(bpmn_xml.encode()).hexdigest(),
            result_keys=parsed.result_keys,
            created_by=acting_user,
            created_at=timezone.now(),
        )
        audit_append(
            action="process.created",
            acting_user=acting_user,
            object_type="process",
            object_id=f"{key}:{definition.version}",
            details={"sha256": definition.sha256, "process_id": definition.process_id},
        )
    return definition


def process_definition_publish(*, acting_user: User, definition: ProcessDefinition) -> ProcessDefinition:
    """Publish a draft version; the previously published version of the key is retired.

    Cases already running keep the version they started on (their state carries its specification).
    """
    if not user_has_permission(
        acting_user, Permission.MANAGE_DEPARTMENT, department_code=definition.department_code or None
    ):
        raise permission_denied(
            acting_user,
            Permission.MANAGE_DEPARTMENT,
            object_type="process",
            object_id=f"{definition.key}:{definition.version}",
        )
    with transaction.atomic():
        locked = ProcessDefinition.objects.select_for_update().get(pk=definition.pk)
        if locked.status != DefinitionStatus.DRAFT:
            raise RuleViolation(
                "process_not_draft",
                f"流程 {locked.key} 第 {locked.version} 版不是草稿，不能发布。",
                f"Process {locked.key} version {locked.version} is not a draft; it cannot be published.",
                status=409,
            )
        now = timezone.now()
        ProcessDefinition.objects.filter(key=locked.key, status=DefinitionStatus.PUBLISHED).update(
            status=DefinitionStatus.RETIRED
        )
        locked.status = DefinitionStatus.PUBLISHED
        locked.published_at = now
        locked.published_by = acting_user
        locked.save(update_fields=["status", "published_at", "published_by"])
        audit_append(
            action="process.published",
            acting_user=acting_user,
            object_type="process",
            object_id=f"{locked.key}:{locked.version}",
            details={"sha256": locked.sha256},
        )
    return locked


# --- Running a case's process ---------------------------------------------------------------------


def _service_caller(application: Application, now: datetime) -> engine.ServiceCaller:
    def call(
        name: str, parameters: dict[str, Any], data: dict[str, Any], department_code: str
    ) -> dict[str, Any]:
        context = ServiceActionContext(
            application_id=application.pk,
            tracking_no=application.tracking_no,
            service_code=application.service.code,
            department_code=department_code,
            data={**data, **parameters},
            now=now,
        )
        return service_action_run(name, context)

    return call


def _engine_failed(application: Application, error: Exception) -> RuleViolation:
    logger.warning("workflow_failed", application=application.tracking_no, error=str(error))
    return RuleViolation(
        "workflow_failed",
        f"办件 {application.tracking_no} 的流程无法继续，请联系管理员。",
        f"The process of application {application.tracking_no} cannot go on; contact an administrator.",
        status=409,
    )


def _run(workflow: Any, application: Application, now: datetime) -> list[engine.Step]:
    try:
        return engine.workflow_run(workflow, _service_caller(application, now))
    except (engine.WorkflowEngineError, SpiffWorkflowException, UnknownServiceAction) as error:
        raise _engine_failed(application, error) from error


def _event(
    instance: WorkflowInstance,
    kind: str,
    now: datetime,
    *,
    task: HumanTask | None = None,
    department_code: str = "",
    actor: User | None = None,
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    return CaseEvent(
        application_id=instance.application_id,
        instance=instance,
        at=now,
        kind=kind,
        task=task,
        department_code=department_code or (task.department_code if task else ""),
        actor=actor,
        data=data or {},
    )


def _due_date(
    ready: engine.ReadyUserTask, fire_at: dict[Any, datetime], now: datetime, context: dict[str, Any]
) -> date | None:
    """The task's due date: the model's ``due`` property, else its earliest boundary timer, else none.

    ``due`` comes first because a boundary timer may be a reminder that fires after the time limit.
    """
    if ready.due_expression:
        return timer_fire_at(ready.due_expression, start=now, context=context).astimezone(DUE_TIMEZONE).date()
    boundary = [fire_at[timer_id] for timer_id in ready.boundary_timer_ids if timer_id in fire_at]
    if boundary:
        return min(boundary).astimezone(DUE_TIMEZONE).date()
    return None


def _synchronise(
    instance: WorkflowInstance,
    workflow: Any,
    steps: Iterable[engine.Step],
    *,
    now: datetime,
    actor: User | None,
    old_version: int,
) -> list[HumanTask]:
    """Save the state (guarded) and bring inbox rows, timers, case events and pending departments in line."""
    completed = engine.workflow_is_completed(workflow)
    state = engine.workflow_dump(workflow)
    changes: dict[str, Any] = {"state": state, "row_version": F("row_version") + 1}
    if completed:
        changes.update(status=InstanceStatus.COMPLETED, completed_at=now)
    if WorkflowInstance.objects.filter(pk=instance.pk, row_version=old_version).update(**changes) != 1:
        raise RuleViolation(
            "workflow_changed",
            "该办件的流程已被他人更新，请刷新后重试。",
            "The case's process was changed by someone else; reload it and try again.",
            status=409,
        )
    instance.row_version = old_version + 1
    instance.status = InstanceStatus.COMPLETED if completed else instance.status
    events = [
        _event(instance, step.kind, now, data={"task_spec": step.task_spec, "name": step.name, **step.data})
        for step in steps
    ]

    # Timers: new waiting ones get a row with their fire time; rows of timers no longer waiting go.
    waiting = {timer.spiff_task_id: timer for timer in engine.waiting_timers(workflow)}
    known = {
        row.spiff_task_id: row
        for row in WorkflowTimer.objects.filter(instance=instance, fired_at__isnull=True)
    }
    WorkflowTimer.objects.filter(pk__in=[row.pk for key, row in known.items() if key not in waiting]).delete()
    new_timers = [
        WorkflowTimer(
            instance=instance,
            spiff_task_id=timer.spiff_task_id,
            task_spec=timer.task_spec,
            fire_at=timer_fire_at(timer.expression, start=now, context=timer.context),
        )
        for key, timer in waiting.items()
        if key not in known
    ]
    WorkflowTimer.objects.bulk_create(new_timers)
    fire_at = {row.spiff_task_id: row.fire_at for row in [*known.values(), *new_timers]}
    events.extend(
        _event(
            instance,
            CaseEventKind.TIMER_STARTED,
            now,
            data={"task_spec": row.task_spec, "fire_at": row.fire_at.isoformat()},
        )
        for row in new_timers
    )

    # Inbox: ready user tasks get a row; active rows whose Spiff task is no longer ready are cancelled.
    ready = {task.spiff_task_id: task for task in engine.ready_user_tasks(workflow)}
    active = list(HumanTask.objects.filter(instance=instance, status__in=ACTIVE_TASK_STATUSES))
    gone = [task for task in active if task.spiff_task_id not in ready]
    HumanTask.objects.filter(pk__in=[task.pk for task in gone]).update(
        status=TaskStatus.CANCELLED, completed_at=now
    )
    events.extend(_event(instance, CaseEventKind.TASK_CANCELLED, now, task=task) for task in gone)
    existing = {task.spiff_task_id for task in active}
    data = engine.workflow_data(workflow)
    created = HumanTask.objects.bulk_create(
        HumanTask(
            instance=instance,
            application_id=instance.application_id,
            spiff_task_id=item.spiff_task_id,
            task_spec=item.task_spec,
            name=item.name[:200],
            name_en=item.name_en[:200],
            department_code=item.department_code,
            role=item.role,
            status=TaskStatus.OPEN,
            created_at=now,
            due_date=_due_date(item, fire_at, now, data),
            form_schema=item.form_schema,
        )
        for key, item in ready.items()
        if key not in existing
    )
    if any(task.pk is None for task in created):
        # SQLite before 3.35 and some backends do not return ids from bulk_create: read them back.
        created = list(
            HumanTask.objects.filter(instance=instance, spiff_task_id__in=[t.spiff_task_id for t in created])
        )
    events.extend(_event(instance, CaseEventKind.TASK_CREATED, now, task=task) for task in created)

    pending = sorted(
        set(
            HumanTask.objects.filter(instance=instance, status__in=ACTIVE_TASK_STATUSES).values_list(
                "department_code", flat=True
            )
        )
    )
    if completed:
        events.append(_event(instance, CaseEventKind.COMPLETED, now, actor=actor))
    CaseEvent.objects.bulk_create(events)
    application = instance.application
    if not completed and pending != list(application.pending_department_codes):
        Application.objects.filter(pk=application.pk).update(
            pending_department_codes=pending, row_version=F("row_version") + 1
        )
        application.pending_department_codes = pending
        application.refresh_from_db(fields=["row_version"])
    if completed:
        _decide(instance, data)
    return created


def _decide(instance: WorkflowInstance, data: dict[str, Any]) -> None:
    """The process ended: record the decision.

    Rejected if any task was completed with ``reject``, or if the last completed task's outcome was not
    ``approve`` (a model that ends on ``return`` or ``consult``); its opinion is the reason. Else approved.
    """
    from onewindow.applications.actions import application_decide

    done = HumanTask.objects.filter(instance=instance, status=TaskStatus.DONE)
    rejection = done.filter(outcome="reject").order_by("completed_at", "id").first()
    last = done.order_by("-completed_at", "-id").first()
    if rejection is None and last is not None and last.outcome != "approve":
        rejection = last
    results = {key: data[key] for key in instance.definition.result_keys if key in data}
    application = Application.objects.get(pk=instance.application_id)
    if rejection is not None:
        application_decide(
            acting_user=None,
            application=application,
            outcome="rejected",
            reason=rejection.opinion or f"{rejection.name}：不予通过",
            results=results,
        )
    else:
        application_decide(acting_user=None, application=application, outcome="approved", results=results)


def process_start(
    *, application: Application, definition: ProcessDefinition | None = None
) -> WorkflowInstance:
    """Start the back-office process of an accepted application and run it until it waits.

    ``definition`` defaults to the latest published version of the application version's ``process_key``.
    Creates the inbox rows of the first user tasks (department from the lane), timer rows, and one case
    event per step; sets ``application.pending_department_codes``. Run by the engine, not a person.
    """
    if definition is None:
        key = application.version.process_key
        definition = (
            ProcessDefinition.objects.filter(key=key, status=DefinitionStatus.PUBLISHED)
            .order_by("-version")
            .first()
        )
        if not key or definition is None:
            raise RuleViolation(
                "process_missing",
                f"事项未配置已发布的办理流程（{key or '无'}）。",
                f"The service has no published back-office process ({key or 'none'}).",
                status=409,
            )
    now = timezone.now()
    with transaction.atomic():
        if WorkflowInstance.objects.filter(application=application).exists():
            raise RuleViolation(
                "process_already_started",
                f"办件 {application.tracking_no} 的办理流程已经启动。",
                f"The process of application {application.tracking_no} has already started.",
                status=409,
            )
        parsed = engine.process_parse(definition.bpmn_xml, definition.process_id)
        workflow = engine.workflow_new(parsed)
        instance = WorkflowInstance.objects.create(
            application=application, definition=definition, state={}, started_at=now
        )
        CaseEvent.objects.create(
            application=application,
            instance=instance,
            at=now,
            kind=CaseEventKind.STARTED,
            data={"process": definition.key, "version": definition.version},
        )
        steps = _run(workflow, application, now)
        _synchronise(instance, workflow, steps, now=now, actor=None, old_version=instance.row_version)
        audit_append(
            action="workflow.started",
            acting_user=None,
            actor_username="back-office",
            object_type="application",
            object_id=application.tracking_no,
            details={"process": definition.key, "version": definition.version},
        )
    return instance


# --- Handling tasks -------------------------------------------------------------------------------


def _require_handler(acting_user: User, task: HumanTask) -> None:
    """Staff with HANDLE_TASKS in the task's department, holding the lane's role there if it names one."""
    allowed = user_has_permission(acting_user, Permission.HANDLE_TASKS, department_code=task.department_code)
    if allowed and task.role:
        allowed = any(
            grant.role == task.role and grant.department_code == task.department_code
            for grant in user_roles(acting_user)
        )
    if not allowed:
        raise permission_denied(
            acting_user, Permission.HANDLE_TASKS, object_type="task", object_id=str(task.pk)
        )


def _not_open(task: HumanTask) -> RuleViolation:
    return RuleViolation(
        "task_not_open",
        f"任务“{task.name}”已办结或已取消。",
        f"The task '{task.name_en or task.name}' is no longer open.",
        status=409,
    )


def _not_yours(task: HumanTask) -> RuleViolation:
    return RuleViolation(
        "task_not_yours",
        f"任务“{task.name}”已由他人签收。",
        f"The task '{task.name_en or task.name}' has been claimed by someone else.",
        status=409,
    )


def task_claim(*, acting_user: User, task: HumanTask) -> HumanTask:
    """Take an open task from the department's pool; it then shows only in the claimant's inbox."""
    _require_handler(acting_user, task)
    with transaction.atomic():
        locked = HumanTask.objects.select_for_update().get(pk=task.pk)
        if locked.status == TaskStatus.CLAIMED and locked.assignee_id != acting_user.pk:
            raise _not_yours(locked)
        if locked.status != TaskStatus.OPEN:
            raise _not_open(locked)
        now = timezone.now()
        locked.status, locked.assignee, locked.claimed_at = TaskStatus.CLAIMED, acting_user, now
        locked.save(update_fields=["status", "assignee", "claimed_at"])
        CaseEvent.objects.create(
            application_id=locked.application_id,
            instance_id=locked.instance_id,
            at=now,
            kind=CaseEventKind.TASK_CLAIMED,
            task=locked,
            department_code=locked.department_code,
            actor=acting_user,
        )
        audit_append(
            action="task.claimed",
            acting_user=acting_user,
            object_type="task",
            object_id=locked.pk,
            department_code=locked.department_code,
        )
    return locked


def task_release(*, acting_user: User, task: HumanTask) -> HumanTask:
    """Put a task one has claimed back into the department's pool."""
    _require_handler(acting_user, task)
    with transaction.atomic():
        locked = HumanTask.objects.select_for_update().get(pk=task.pk)
        if locked.status not in ACTIVE_TASK_STATUSES:
            raise _not_open(locked)
        if locked.status != TaskStatus.CLAIMED or locked.assignee_id != acting_user.pk:
            raise _not_yours(locked)
        now = timezone.now()
        locked.status, locked.assignee, locked.claimed_at = TaskStatus.OPEN, None, None
        locked.save(update_fields=["status", "assignee", "claimed_at"])
        CaseEvent.objects.create(
            application_id=locked.application_id,
            instance_id=locked.instance_id,
            at=now,
            kind=CaseEventKind.TASK_RELEASED,
            task=locked,
            department_code=locked.department_code,
            actor=acting_user,
        )
        audit_append(
            action="task.released",
            acting_user=acting_user,
            object_type="task",
            object_id=locked.pk,
            department_code=locked.department_code,
        )
    return locked


def task_complete(
    *,
    acting_user: User,
    task: HumanTask,
    outcome: str,
    opinion: str,
    data: dict[str, Any] | None = None,
) -> HumanTask:
    """Complete an open task (or one claimed by the acting user) and run the process until it waits.

    ``outcome`` is approve, reject (with an opinion giving the reasons), return or consult; the task data
    given to the process is ``{**data, outcome, opinion}``. When the process ends, the application is
    decided: rejected if any task was rejected, else approved, with the items the process lists as
    ``results``.
    """
    _require_handler(acting_user, task)
    opinion = opinion.strip()
    if outcome not in OUTCOMES:
        raise FieldErrors(
            [
                FieldError(
                    "outcome",
                    "invalid",
                    "办理结果无效。",
                    "The outcome is approve, reject, return or consult.",
                )
            ]
        )
    if outcome == "reject" and not opinion:
        raise FieldErrors(
            [FieldError("opinion", "required", "不予通过须说明理由。", "A rejection needs reasons.")]
        )
    with transaction.atomic():
        instance = (
            WorkflowInstance.objects.select_for_update(of=("self",))
            .select_related("application__service", "definition")
            .get(pk=task.instance_id)
        )
        locked = HumanTask.objects.select_for_update().get(pk=task.pk)
        if locked.status not in ACTIVE_TASK_STATUSES:
            raise _not_open(locked)
        if locked.status == TaskStatus.CLAIMED and locked.assignee_id != acting_user.pk:
            raise _not_yours(locked)
        now = timezone.now()
        task_data = {**(data or {}), "outcome": outcome, "opinion": opinion}
        workflow = engine.workflow_load(instance.state)
        try:
            engine.user_task_complete(workflow, locked.spiff_task_id, task_data)
        except (engine.WorkflowEngineError, SpiffWorkflowException) as error:
            raise _engine_failed(instance.application, error) from error
        steps = _run(workflow, instance.application, now)
        locked.status, locked.completed_at = TaskStatus.DONE, now
        locked.assignee = acting_user
        locked.outcome, locked.opinion, locked.data = outcome, opinion, dict(data or {})
        locked.save(update_fields=["status", "completed_at", "assignee", "outcome", "opinion", "data"])
        CaseEvent.objects.create(
            application_id=locked.application_id,
            instance=instance,
            at=now,
            kind=CaseEventKind.TASK_COMPLETED,
            task=locked,
            department_code=locked.department_code,
            actor=acting_user,
            data={"outcome": outcome},
        )
        _synchronise(instance, workflow, steps, now=now, actor=acting_user, old_version=instance.row_version)
        audit_append(
            action="task.completed",
            acting_user=acting_user,
            object_type="task",
            object_id=locked.pk,
            department_code=locked.department_code,
            details={"outcome": outcome, "application": instance.application.tracking_no},
        )
    return locked


# --- Timers ---------------------------------------------------------------------------------------


def _instance_timers_fire(instance_id: int, now: datetime) -> int:
    with transaction.atomic():
        instance = (
            WorkflowInstance.objects.select_for_update(of=("self",))
            .select_related("application__service", "definition")
            .get(pk=instance_id)
        )
        timers = list(
            WorkflowTimer.objects.select_for_update().filter(
                instance=instance, fired_at__isnull=True, fire_at__lte=now
            )
        )
        if not timers:
            return 0
        WorkflowTimer.objects.filter(pk__in=[timer.pk for timer in timers]).update(fired_at=now)
        if instance.status != InstanceStatus.RUNNING:
            return 0
        workflow = engine.workflow_load(instance.state)
        fired = [timer for timer in timers if engine.timer_fire(workflow, timer.spiff_task_id)]
        if not fired:
            return 0
        steps = _run(workflow, instance.application, now)
        _synchronise(instance, workflow, steps, now=now, actor=None, old_version=instance.row_version)
        audit_append(
            action="workflow.timers_fired",
            acting_user=None,
            actor_username="scheduler",
            object_type="application",
            object_id=instance.application.tracking_no,
            details={"timers": [timer.task_spec for timer in fired]},
        )
    return len(fired)


def timers_fire_due(*, now: datetime | None = None) -> int:
    """Fire every timer whose time has come (the scheduler's job); returns how many fired.

    Due timers are selected in SQL in batches; each case is handled in its own transaction with its
    process locked, so one broken case does not hold up the others (it is logged and skipped).
    """
    now = now or timezone.now()
    fired = 0
    failed: set[int] = set()
    while True:
        batch = list(
            WorkflowTimer.objects.filter(fired_at__isnull=True, fire_at__lte=now)
            .exclude(instance_id__in=failed)
            .order_by("fire_at", "id")
            .values_list("instance_id", flat=True)[:TIMER_BATCH_SIZE]
        )
        if not batch:
            return fired
        for instance_id in dict.fromkeys(batch):
            try:
                fired += _instance_timers_fire(instance_id, now)
            except (RuleViolation, engine.WorkflowEngineError, SpiffWorkflowException) as error:
                logger.warning("workflow_timer_failed", instance_id=instance_id, error=str(error))
                failed.add(instance_id)
