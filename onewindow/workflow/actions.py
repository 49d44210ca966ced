"""Writes of the back-office engine: process versions, starting a case's process, handling tasks, timers.

Every action is one ``transaction.atomic`` block with its audit record. A case's process state is changed
only with its ``WorkflowInstance`` row locked (``select_for_update``; SQLite serialises writers with
IMMEDIATE transactions) and saved with a ``row_version`` guard, so two handlers completing parallel tasks
of one case at the same time run one after the other on the latest state and never lose an update.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from SpiffWorkflow.exceptions import SpiffWorkflowException

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission, user_roles
from onewindow.accounts.roles import Permission
from onewindow.applications.actions.acceptance import supplement_items_clean, supplement_notice_send
from onewindow.applications.actions.common import (
    SupplementItem,
    application_transition,
    event_add,
)
from onewindow.applications.models import Application, ApplicationEvent, Status
from onewindow.applications.tracking import china_date
from onewindow.audit.actions import audit_append
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.core.logging import get_logger
from onewindow.organisations.models import Department
from onewindow.workcalendar.calendar import add_working_days
from onewindow.workflow import engine
from onewindow.workflow.calendar_timers import DUE_TIMEZONE, timer_fire_at
from onewindow.workflow.clock import (
    clock_running_stop,
    clock_stop_end,
    clock_stop_start,
    light_for,
    light_thresholds,
)
from onewindow.workflow.models import (
    ACTIVE_TASK_STATUSES,
    WORKING_TASK_STATUSES,
    CaseEvent,
    CaseEventKind,
    ClockStopKind,
    DefinitionStatus,
    Delegation,
    HumanTask,
    InstanceStatus,
    ProcessDefinition,
    TaskKind,
    TaskStatus,
    WorkflowInstance,
    WorkflowTimer,
)
from onewindow.workflow.registry import ServiceActionContext, UnknownServiceAction, service_action_run

logger = get_logger(__name__)

OUTCOMES = ("approve", "reject", "return", "consult")
# Timers fired per database round trip by ``timers_fire_due``.
TIMER_BATCH_SIZE = 200


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
    gone = [
        task
        for task in active
        if (task.kind == TaskKind.PROCESS and task.spiff_task_id not in ready)
        or (completed and task.kind == TaskKind.CONSULT)
    ]
    gone_ids = {task.pk for task in gone}
    # A consultation goes with the task that asked for it.
    gone.extend(task for task in active if task.consult_of_id in gone_ids and task.pk not in gone_ids)
    HumanTask.objects.filter(pk__in=[task.pk for task in gone]).update(
        status=TaskStatus.CANCELLED, completed_at=now
    )
    events.extend(_event(instance, CaseEventKind.TASK_CANCELLED, now, task=task) for task in gone)
    existing = {task.spiff_task_id for task in active}
    data = engine.workflow_data(workflow)
    thresholds = light_thresholds()
    service_code = instance.application.service.code
    created = HumanTask.objects.bulk_create(
        HumanTask(
            instance=instance,
            application_id=instance.application_id,
            service_code=service_code,
            spiff_task_id=item.spiff_task_id,
            task_spec=item.task_spec,
            name=item.name[:200],
            name_en=item.name_en[:200],
            department_code=item.department_code,
            role=item.role,
            status=TaskStatus.OPEN,
            created_at=now,
            changed_at=now,
            due_date=(due := _due_date(item, fire_at, now, data)),
            light=light_for(due, thresholds),
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

    if completed:
        events.append(_event(instance, CaseEventKind.COMPLETED, now, actor=actor))
    CaseEvent.objects.bulk_create(events)
    if not completed:
        _pending_refresh(instance, now)
    if completed:
        _decide(instance, data)
    return created


def _department_names(codes: Iterable[str]) -> dict[str, tuple[str, str]]:
    return {
        code: (name, name_en or code)
        for code, name, name_en in Department.objects.filter(code__in=list(codes)).values_list(
            "code", "name", "name_en"
        )
    }


def _pending_refresh(instance: WorkflowInstance, now: datetime) -> None:
    """Set the application's departments working on it now; the applicant's timeline shows who joined
    (routed) and who finished their part — one case for the applicant, departments behind it."""
    application = instance.application
    pending = sorted(
        set(
            HumanTask.objects.filter(instance=instance, status__in=ACTIVE_TASK_STATUSES).values_list(
                "department_code", flat=True
            )
        )
    )
    before = list(application.pending_department_codes)
    if pending == before:
        return
    Application.objects.filter(pk=application.pk).update(
        pending_department_codes=pending, row_version=F("row_version") + 1
    )
    application.pending_department_codes = pending
    application.refresh_from_db(fields=["row_version", "status"])
    names = _department_names({*pending, *before})
    changes = [
        (code, "routed", "{}正在办理", "{} is working on it") for code in pending if code not in before
    ]
    changes += [
        (code, "department_done", "{}已完成办理", "{} has finished its part")
        for code in before
        if code not in pending
    ]
    ApplicationEvent.objects.bulk_create(
        ApplicationEvent(
            application=application,
            at=now,
            kind=kind,
            status=application.status,
            department_code=code,
            note=note.format(names.get(code, (code, code))[0]),
            note_en=note_en.format(names.get(code, (code, code))[1]),
        )
        for code, kind, note, note_en in changes
    )


def _decide(instance: WorkflowInstance, data: dict[str, Any]) -> None:
    """The process ended: record the decision.

    Rejected if any task was completed with ``reject`` (its opinion is the reason); else rejected if the
    process data says ``decision == "rejected"`` (set by a DMN table or a service action; the reason is
    ``decision_reason``); else approved.
    """
    from onewindow.applications.actions import application_decide

    done = HumanTask.objects.filter(instance=instance, status=TaskStatus.DONE, kind=TaskKind.PROCESS)
    rejection = done.filter(outcome="reject").order_by("completed_at", "id").first()
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
    elif data.get("decision") == "rejected":
        application_decide(
            acting_user=None,
            application=application,
            outcome="rejected",
            reason=str(data.get("decision_reason") or "不符合办理条件"),
            results=results,
        )
    else:
        application_decide(acting_user=None, application=application, outcome="approved", results=results)


def case_data(application: Application) -> dict[str, Any]:
    """What a case's process starts with: the form's fields and a few facts of the case.

    Names starting with ``_`` are dropped (the expression language cannot read them anyway).
    """
    data = {key: value for key, value in application.form_data.items() if not key.startswith("_")}
    data.update(
        tracking_no=application.tracking_no,
        service_code=application.service.code,
        channel=application.channel,
        applicant_kind=application.applicant_kind,
    )
    return data


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
        parsed = engine.process_parse(definition.bpmn_xml, definition.process_id, definition.dmn_xml)
        workflow = engine.workflow_new(parsed, case_data(application))
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


def task_handler_require(acting_user: User, task: HumanTask) -> None:
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


def task_not_open_error(task: HumanTask) -> RuleViolation:
    return RuleViolation(
        "task_not_open",
        f"任务“{task.name}”已办结或已取消。",
        f"The task '{task.name_en or task.name}' is no longer open.",
        status=409,
    )


def task_not_yours_error(task: HumanTask) -> RuleViolation:
    return RuleViolation(
        "task_not_yours",
        f"任务“{task.name}”已由他人签收。",
        f"The task '{task.name_en or task.name}' has been claimed by someone else.",
        status=409,
    )


def task_claim(*, acting_user: User, task: HumanTask) -> HumanTask:
    """Take an open task from the department's pool; it then shows only in the claimant's inbox."""
    task_handler_require(acting_user, task)
    with transaction.atomic():
        locked = HumanTask.objects.select_for_update().get(pk=task.pk)
        if locked.status == TaskStatus.CLAIMED and locked.assignee_id != acting_user.pk:
            raise task_not_yours_error(locked)
        if locked.status != TaskStatus.OPEN:
            raise task_not_open_error(locked)
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
    task_handler_require(acting_user, task)
    with transaction.atomic():
        locked = HumanTask.objects.select_for_update().get(pk=task.pk)
        if locked.status not in WORKING_TASK_STATUSES:
            raise task_not_open_error(locked)
        if locked.status != TaskStatus.CLAIMED or not (
            locked.assignee_id == acting_user.pk or _delegated_to(acting_user, locked)
        ):
            raise task_not_yours_error(locked)
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


def _delegated_to(acting_user: User, task: HumanTask, today: date | None = None) -> bool:
    """True if the task's assignee delegated their tasks of its department to ``acting_user`` today."""
    if task.assignee_id is None:
        return False
    today = today or china_date(timezone.now())
    return Delegation.objects.filter(
        department_code=task.department_code,
        delegator_id=task.assignee_id,
        delegate=acting_user,
        starts_on__lte=today,
        ends_on__gte=today,
        revoked_at__isnull=True,
    ).exists()


def task_workable_by(acting_user: User, task: HumanTask) -> bool:
    """Open to any eligible handler; claimed or waiting: its assignee, or their delegate."""
    if task.status == TaskStatus.OPEN or task.assignee_id in (None, acting_user.pk):
        return True
    return _delegated_to(acting_user, task)


def _outcome_checked(task: HumanTask, outcome: str, opinion: str, data: dict[str, Any]) -> None:
    allowed = ("approve", "reject") if task.kind == TaskKind.CONSULT else OUTCOMES
    if outcome not in allowed:
        raise FieldErrors(
            [
                FieldError(
                    "outcome",
                    "invalid",
                    "办理结果无效。" if task.kind == TaskKind.PROCESS else "会商意见须为同意或不同意。",
                    "The outcome is approve, reject, return or consult."
                    if task.kind == TaskKind.PROCESS
                    else "A consultation is answered with approve or reject.",
                )
            ]
        )
    if not opinion and (outcome in ("reject", "return", "consult") or task.kind == TaskKind.CONSULT):
        zh, en = {
            "reject": ("不予通过须说明理由。", "A rejection needs reasons."),
            "return": ("退回补正须说明需要补正的内容。", "Say what the applicant must supply."),
            "consult": ("请写明征求意见的事项。", "Say what the other department is asked."),
        }.get(outcome, ("请填写会商意见。", "Give the department's opinion."))
        raise FieldErrors([FieldError("opinion", "required", zh, en)])
    if outcome == "consult":
        code = str(data.get("department", "")).strip()
        if not code or code == task.department_code or not Department.objects.filter(code=code).exists():
            raise FieldErrors(
                [
                    FieldError(
                        "data.department",
                        "invalid",
                        "请选择另一个现有部门征求意见。",
                        "Choose another existing department to consult.",
                    )
                ]
            )


def _return_items(opinion: str, data: dict[str, Any]) -> list[SupplementItem]:
    raw = data.get("items") or []
    if not isinstance(raw, list):
        raise FieldErrors(
            [FieldError("data.items", "invalid", "补正事项格式不正确。", "The items must be a list.")]
        )
    items = [
        SupplementItem(
            field=str(item.get("field", "")),
            material_code=str(item.get("material_code", "")),
            reason=str(item.get("reason", "")),
            reason_en=str(item.get("reason_en", "")),
        )
        for item in raw
        if isinstance(item, dict)
    ]
    if items:
        return supplement_items_clean(items)
    return [SupplementItem(reason=opinion)]


def _task_back(task: HumanTask, now: datetime, actor: User | None, why: str) -> None:
    """A waiting task goes back to its handler (claimed), or to the pool when it has none."""
    task.status = TaskStatus.CLAIMED if task.assignee_id else TaskStatus.OPEN
    task.changed_at = now
    task.light = light_for(task.due_date)
    task.save(update_fields=["status", "changed_at", "light"])
    CaseEvent.objects.create(
        application_id=task.application_id,
        instance_id=task.instance_id,
        at=now,
        kind=CaseEventKind.TASK_RESUMED,
        task=task,
        department_code=task.department_code,
        actor=actor,
        data={"why": why},
    )


def _locked_instance(task: HumanTask) -> WorkflowInstance:
    return (
        WorkflowInstance.objects.select_for_update(of=("self",))
        .select_related("application__service", "application__version", "definition")
        # The state carries the process; the model's text is not needed to go on.
        .defer("definition__bpmn_xml", "definition__dmn_xml", "application__version__form_schema")
        .get(pk=task.instance_id)
    )


def task_complete(
    *,
    acting_user: User,
    task: HumanTask,
    outcome: str,
    opinion: str,
    data: dict[str, Any] | None = None,
) -> HumanTask:
    """Complete an open task (or one claimed by the acting user or delegated to them).

    ``approve`` and ``reject`` (with an opinion giving the reasons) complete the process task and run the
    process until it waits; the task data given to the process is ``{**data, outcome, opinion}``. When the
    process ends, the application is decided: rejected if any task was rejected, else approved, with the
    items the process lists as ``results``.

    ``return`` (opinion required; ``data["items"]`` optional, as in a supplement notice) sends the case back
    to the applicant: one supplement notice, the case clock stops, the task waits; the applicant's
    supplement restarts the clock (due dates move) and gives the task back to its handler.

    ``consult`` (``data["department"]``, the opinion is the question) opens a consultation task in that
    department; the task waits until the consulted department answers (approve or reject, with an opinion).
    A consultation task itself is completed with approve or reject.
    """
    task_handler_require(acting_user, task)
    opinion = opinion.strip()
    data = dict(data or {})
    _outcome_checked(task, outcome, opinion, data)
    with transaction.atomic():
        instance = _locked_instance(task)
        locked = HumanTask.objects.select_for_update().get(pk=task.pk)
        if locked.status not in WORKING_TASK_STATUSES:
            raise task_not_open_error(locked)
        if not task_workable_by(acting_user, locked):
            raise task_not_yours_error(locked)
        if instance.status != InstanceStatus.RUNNING:
            raise task_not_open_error(locked)
        now = timezone.now()
        if locked.kind == TaskKind.CONSULT:
            _consultation_answer(instance, locked, acting_user, outcome, opinion, data, now)
        elif outcome == "return":
            _return_to_applicant(instance, locked, acting_user, opinion, data, now)
        elif outcome == "consult":
            _consult(instance, locked, acting_user, opinion, data, now)
        else:
            _process_task_complete(instance, locked, acting_user, outcome, opinion, data, now)
        audit_append(
            action="task.completed",
            acting_user=acting_user,
            object_type="task",
            object_id=locked.pk,
            department_code=locked.department_code,
            details={
                "outcome": outcome,
                "application": instance.application.tracking_no,
                "kind": locked.kind,
            },
        )
    return locked


def _completed_event(
    instance: WorkflowInstance, task: HumanTask, actor: User, outcome: str, now: datetime
) -> None:
    CaseEvent.objects.create(
        application_id=task.application_id,
        instance=instance,
        at=now,
        kind=CaseEventKind.TASK_COMPLETED,
        task=task,
        department_code=task.department_code,
        actor=actor,
        data={"outcome": outcome},
    )


def _task_done(
    task: HumanTask, actor: User, outcome: str, opinion: str, data: dict[str, Any], now: datetime
) -> None:
    task.status, task.completed_at, task.assignee = TaskStatus.DONE, now, actor
    task.outcome, task.opinion, task.data = outcome, opinion, data
    task.save(update_fields=["status", "completed_at", "assignee", "outcome", "opinion", "data"])


def _process_task_complete(
    instance: WorkflowInstance,
    task: HumanTask,
    actor: User,
    outcome: str,
    opinion: str,
    data: dict[str, Any],
    now: datetime,
) -> None:
    workflow = engine.workflow_load(instance.state)
    try:
        engine.user_task_complete(
            workflow, task.spiff_task_id, {**data, "outcome": outcome, "opinion": opinion}
        )
    except (engine.WorkflowEngineError, SpiffWorkflowException) as error:
        raise _engine_failed(instance.application, error) from error
    steps = _run(workflow, instance.application, now)
    _task_done(task, actor, outcome, opinion, data, now)
    _completed_event(instance, task, actor, outcome, now)
    _synchronise(instance, workflow, steps, now=now, actor=actor, old_version=instance.row_version)


def _return_to_applicant(
    instance: WorkflowInstance,
    task: HumanTask,
    actor: User,
    opinion: str,
    data: dict[str, Any],
    now: datetime,
) -> None:
    items = _return_items(opinion, data)
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("service__department", "version", "applicant", "submitted_by")
        .get(pk=instance.application_id)
    )
    if application.status != Status.IN_PROGRESS:
        raise RuleViolation(
            "application_not_in_progress",
            f"办件 {application.tracking_no} 不在办理中，不能退回补正。",
            f"Application {application.tracking_no} is not in progress; it cannot be returned.",
            status=409,
        )
    supplement_notice_send(application, acting_user=actor, items=items)
    clock_stop_start(
        application, kind=ClockStopKind.SUPPLEMENT, reason=opinion, actor=actor, now=now, task=task
    )
    task.status, task.assignee, task.changed_at = TaskStatus.WAITING, task.assignee or actor, now
    task.claimed_at = task.claimed_at or now
    task.save(update_fields=["status", "assignee", "changed_at", "claimed_at"])
    CaseEvent.objects.create(
        application=application,
        instance=instance,
        at=now,
        kind=CaseEventKind.TASK_RETURNED,
        task=task,
        department_code=task.department_code,
        actor=actor,
        data={"items": [item.as_dict() for item in items]},
    )


CONSULT_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["outcome", "opinion"],
    "x-order": ["outcome", "opinion"],
    "properties": {
        "outcome": {
            "type": "string",
            "title": "会商意见",
            "x-title-en": "Opinion",
            "enum": ["approve", "reject"],
            "x-enum-labels": {
                "approve": {"zh": "同意", "en": "Agree"},
                "reject": {"zh": "不同意", "en": "Disagree"},
            },
            "x-widget": "radios",
        },
        "opinion": {"type": "string", "title": "意见说明", "x-title-en": "Reasons", "x-widget": "textarea"},
    },
}


def _consult(
    instance: WorkflowInstance,
    task: HumanTask,
    actor: User,
    question: str,
    data: dict[str, Any],
    now: datetime,
) -> None:
    code = str(data["department"]).strip()
    due = add_working_days(china_date(now), settings.WORKFLOW_CONSULT_DAYS)
    consultation = HumanTask.objects.create(
        instance=instance,
        application_id=task.application_id,
        service_code=task.service_code,
        spiff_task_id=uuid.uuid4(),
        task_spec=f"{task.task_spec}:consult"[:200],
        name=f"会商：{task.name}"[:200],
        name_en=f"Consultation: {task.name_en or task.name}"[:200],
        department_code=code,
        kind=TaskKind.CONSULT,
        consult_of=task,
        status=TaskStatus.OPEN,
        created_at=now,
        changed_at=now,
        due_date=due,
        light=light_for(due),
        opinion="",
        data={"question": question, "asked_by": actor.username, "asking_department": task.department_code},
        form_schema=CONSULT_FORM,
    )
    task.status, task.assignee, task.changed_at = TaskStatus.WAITING, task.assignee or actor, now
    task.claimed_at = task.claimed_at or now
    task.save(update_fields=["status", "assignee", "changed_at", "claimed_at"])
    CaseEvent.objects.bulk_create(
        [
            CaseEvent(
                application_id=task.application_id,
                instance=instance,
                at=now,
                kind=CaseEventKind.CONSULTED,
                task=task,
                department_code=task.department_code,
                actor=actor,
                data={"department": code, "question": question},
            ),
            CaseEvent(
                application_id=task.application_id,
                instance=instance,
                at=now,
                kind=CaseEventKind.TASK_CREATED,
                task=consultation,
                department_code=code,
            ),
        ]
    )
    _pending_refresh(instance, now)


def _consultation_answer(
    instance: WorkflowInstance,
    task: HumanTask,
    actor: User,
    outcome: str,
    opinion: str,
    data: dict[str, Any],
    now: datetime,
) -> None:
    _task_done(task, actor, outcome, opinion, {**task.data, **data}, now)
    _completed_event(instance, task, actor, outcome, now)
    asking = (
        HumanTask.objects.select_for_update().filter(pk=task.consult_of_id).first()
        if task.consult_of_id is not None
        else None
    )
    if (
        asking is not None
        and asking.status == TaskStatus.WAITING
        and not asking.consultations.filter(status__in=ACTIVE_TASK_STATUSES).exists()
        and not _waiting_for_supplement(asking)
    ):
        _task_back(asking, now, actor, "consulted")
    _pending_refresh(instance, now)


def _waiting_for_supplement(task: HumanTask) -> bool:
    stop = clock_running_stop(task.application)
    return stop is not None and stop.kind == ClockStopKind.SUPPLEMENT and stop.task_id == task.pk


# --- Hooks from the applications app: start, supplement answered, withdrawn ----------------------------


def published_definition(key: str) -> ProcessDefinition | None:
    """The published version of process ``key``, if any."""
    if not key:
        return None
    return (
        ProcessDefinition.objects.filter(key=key, status=DefinitionStatus.PUBLISHED)
        .order_by("-version")
        .first()
    )


def case_processing_start(application: Application) -> None:
    """The process starter the applications app calls on acceptance (registered in the AppConfig).

    Runs the published process of the version's ``process_key``; without one, the default routing.
    """
    from onewindow.applications.processing import default_process_start

    definition = published_definition(application.version.process_key)
    if definition is None:
        default_process_start(application)
        return
    application_transition(application, status=Status.IN_PROGRESS)
    event_add(
        application,
        kind="processing",
        actor=None,
        note="已转后台办理",
        note_en="Passed to the departments for handling",
    )
    process_start(application=application, definition=definition)


def case_supplemented(application: Application, acting_user: User | None) -> None:
    """The applicant answered a notice sent from the back office: restart the clock, give the task back."""
    now = timezone.now()
    stop = clock_running_stop(application)
    if stop is None or stop.kind != ClockStopKind.SUPPLEMENT:
        return
    clock_stop_end(application, actor=acting_user, now=now)
    waiting = HumanTask.objects.select_for_update().filter(
        application=application, status=TaskStatus.WAITING, kind=TaskKind.PROCESS
    )
    for task in waiting:
        if not task.consultations.filter(status__in=ACTIVE_TASK_STATUSES).exists():
            _task_back(task, now, acting_user, "supplemented")
    HumanTask.objects.filter(application=application, status__in=WORKING_TASK_STATUSES).update(changed_at=now)


def case_processing_stop(application: Application) -> None:
    """The application was withdrawn: cancel its process, tasks and timers (and a running clock stop)."""
    now = timezone.now()
    instance = (
        WorkflowInstance.objects.select_for_update(of=("self",)).filter(application=application).first()
    )
    if instance is None or instance.status != InstanceStatus.RUNNING:
        return
    clock_stop_end(application, actor=None, now=now)
    cancelled = list(HumanTask.objects.filter(instance=instance, status__in=ACTIVE_TASK_STATUSES))
    HumanTask.objects.filter(pk__in=[task.pk for task in cancelled]).update(
        status=TaskStatus.CANCELLED, completed_at=now
    )
    WorkflowTimer.objects.filter(instance=instance, fired_at__isnull=True).delete()
    WorkflowInstance.objects.filter(pk=instance.pk).update(
        status=InstanceStatus.CANCELLED, completed_at=now, row_version=F("row_version") + 1
    )
    CaseEvent.objects.bulk_create(
        _event(instance, CaseEventKind.TASK_CANCELLED, now, task=task) for task in cancelled
    )


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
