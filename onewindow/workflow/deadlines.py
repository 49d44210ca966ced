"""Deadlines and electronic supervision (电子监察): clock stops, extensions, lights, escalation, snapshots.

No web code. The writes are named actions (keyword-only, ``acting_user`` first, one transaction with its
audit record); the scheduler's jobs (:func:`lights_refresh`, :func:`escalations_run`,
:func:`supervision_snapshot_take`, registered in ``schedules.py``) run without a user.

* **Clock stops** (Administrative Licensing Law Art. 45): a handler who may work a task stops the case's
  clock for a hearing or an expert review (:func:`case_suspend`) and a handler of a department with an
  active task on the case restarts it (:func:`case_resume`); the case's and its active tasks' due dates
  then move by the working days it was stopped (``clock.clock_stop_end``). Stops for the applicant's
  supplement are started and ended by the return/supplement actions, never here. The applicant is told
  both times (with the reason the handler gave) on the timeline and by a notification.
* **Extensions** (Art. 42: 20 working days, extendable with approval): a handler requests 1–30 working
  days (:func:`extension_request`, one pending request per case; the department's admins are notified);
  a department admin of that department decides (:func:`extension_decide`). Approval moves the case's
  promised and statutory due dates and the requesting task's due date, and notifies the applicant;
  refusal needs a reason. The requester hears of the decision either way.
* **Lights** (:func:`lights_refresh`): one SQL ``UPDATE`` over open and claimed tasks whose light
  differs from the one their due date gives (red past due, yellow within ``ONEWINDOW_WORKFLOW_YELLOW_DAYS``
  working days, green otherwise or without a due date). Waiting tasks (returned to the applicant, or
  waiting for a consulted department) and the tasks of a case whose clock is stopped keep the light they
  had: their time is not running.
* **Escalation** (:func:`escalations_run`): each active :class:`EscalationRule` fires at most once per
  task. A department's own rule for a light and number of overdue working days *replaces* the default
  rule (department ``""``) with the same light and days for that department; an inactive department
  rule is how a department switches a default off. Rules with different light/days all apply (the
  ladder). Escalation reads the stored lights, so the job refreshes them first. Candidates are selected
  in SQL (no query per task); each batch is one transaction: the ``TaskEscalation`` rows (unique per task
  and rule), a ``CaseEvent`` per task, one notification per recipient listing that recipient's tasks,
  and an audit record.
* **Snapshots** (:func:`supervision_snapshot_take`): one ``GROUP BY`` over working tasks, upserted per
  department for the day: the supervision trend.

The reads that check who is asking are in ``supervision.py``: the supervision overview, drill-down and
trend, and the selectors over these tables (``extensions_for_user``, ``extension_for_user``,
``escalation_rules_for_user``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from onewindow.accounts.models import Membership, User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import ROLE_PERMISSIONS, Permission, Role
from onewindow.applications.actions.common import (
    applicant_notify,
    application_transition,
    event_add,
    wrong_status,
)
from onewindow.applications.models import Application, Status
from onewindow.applications.tracking import china_date
from onewindow.audit.actions import audit_append
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.core.logging import get_logger
from onewindow.notifications.actions import notification_send
from onewindow.organisations.models import Department
from onewindow.workcalendar.calendar import add_working_days, is_working_day
from onewindow.workflow.actions import (
    task_handler_require,
    task_not_open_error,
    task_not_yours_error,
    task_workable_by,
)
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
    ClockStop,
    ClockStopKind,
    EscalationRule,
    EscalationTarget,
    Extension,
    ExtensionStatus,
    HumanTask,
    Light,
    SupervisionSnapshot,
    TaskEscalation,
    WorkflowInstance,
)
from onewindow.workflow.selectors import handler_department_codes
from onewindow.workflow.supervision import department_light_counts, managed_department_codes

logger = get_logger(__name__)

# Clock stops a handler may start; supplement stops belong to the return/supplement actions.
SUSPEND_KINDS = (ClockStopKind.HEARING, ClockStopKind.EXPERT)
EXTENSION_MIN_DAYS = 1
EXTENSION_MAX_DAYS = 30
# A rule's overdue working days: more than a working year would be a typing mistake.
ESCALATION_MAX_OVERDUE_DAYS = 250
# Tasks escalated per transaction by ``escalations_run``.
ESCALATION_BATCH_SIZE = 500
# Tasks listed by name in one escalation notification (the rest are counted).
ESCALATION_LIST_LIMIT = 20
# Application statuses in which a case's clock runs and may be stopped or extended.
HANDLING_STATUSES = frozenset({Status.ACCEPTED, Status.IN_PROGRESS})
OPEN_CASE_STATUSES = frozenset({Status.ACCEPTED, Status.IN_PROGRESS, Status.SUPPLEMENT_REQUESTED})

SUSPEND_KIND_NAMES: dict[str, tuple[str, str]] = {
    ClockStopKind.HEARING: ("听证", "a hearing"),
    ClockStopKind.EXPERT: ("专家评审、检验、检测或检疫", "expert review, testing or inspection"),
}
LIGHT_NAMES: dict[str, tuple[str, str]] = {
    Light.GREEN: ("绿灯", "green"),
    Light.YELLOW: ("黄灯（即将到期）", "yellow (due soon)"),
    Light.RED: ("红灯（已超期）", "red (overdue)"),
}


# --- Shared pieces --------------------------------------------------------------------------------


def _active_memberships(now: datetime) -> QuerySet[Membership]:
    return Membership.objects.filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=now),
        Q(valid_until__isnull=True) | Q(valid_until__gt=now),
        user__is_active=True,
    )


def _department_admins(department_code: str, now: datetime) -> list[User]:
    memberships = _active_memberships(now).filter(
        role=Role.DEPARTMENT_ADMIN, department__code=department_code
    )
    return [membership.user for membership in memberships.select_related("user").order_by("user_id")]


def _locked_task(task: HumanTask) -> HumanTask:
    """Lock the task's process, then the task (the order ``task_complete`` uses: no deadlock with it)."""
    WorkflowInstance.objects.select_for_update(of=("self",)).filter(pk=task.instance_id).exists()
    return HumanTask.objects.select_for_update(of=("self",)).get(pk=task.pk)


def _locked_application(application_id: int) -> Application:
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("applicant", "service")
        .get(pk=application_id)
    )


def _require_workable(acting_user: User, task: HumanTask) -> None:
    """The (locked) task is open, or claimed by the acting user or by someone who delegated to them."""
    if task.status not in WORKING_TASK_STATUSES:
        raise task_not_open_error(task)
    if not task_workable_by(acting_user, task):
        raise task_not_yours_error(task)


def _case_changed(application: Application, now: datetime) -> None:
    """Highlight the case in the inboxes of its active tasks."""
    HumanTask.objects.filter(application=application, status__in=ACTIVE_TASK_STATUSES).update(changed_at=now)


def _reason(value: str, *, zh: str, en: str, field_name: str = "reason") -> tuple[str, list[FieldError]]:
    value = value.strip()
    return value, ([] if value else [FieldError(field_name, "required", zh, en)])


# --- Clock stops (hearing, expert review) ---------------------------------------------------------


def case_suspend(*, acting_user: User, task: HumanTask, kind: str, reason: str) -> ClockStop:
    """Stop the case's clock for a hearing or an expert review (Licensing Law Art. 45).

    Only a handler who may work ``task`` (open, or claimed by them or by someone who delegated to them),
    while the case is being handled and its clock runs. The applicant is told, with ``reason``.
    """
    task_handler_require(acting_user, task)
    reason, errors = _reason(
        reason, zh="请说明中止办理时限的理由。", en="Give the reason for stopping the time limit."
    )
    if kind not in SUSPEND_KINDS:
        errors.insert(
            0,
            FieldError(
                "kind",
                "invalid",
                "中止类型须为听证（hearing）或专家评审（expert）。",
                "The kind is hearing or expert.",
            ),
        )
    if errors:
        raise FieldErrors(errors)
    with transaction.atomic():
        locked = _locked_task(task)
        now = timezone.now()
        _require_workable(acting_user, locked)
        application = _locked_application(locked.application_id)
        if application.status not in HANDLING_STATUSES:
            raise wrong_status(application, "中止办理时限", "have its time limit stopped")
        stop = clock_stop_start(
            application, kind=kind, reason=reason, actor=acting_user, now=now, task=locked
        )
        _case_changed(application, now)
        kind_zh, kind_en = SUSPEND_KIND_NAMES[kind]
        day = china_date(now).isoformat()
        note = (
            f"因{kind_zh}，办理时限自 {day} 起中止，所需时间不计入办理时限"
            f"（《行政许可法》第四十五条）：{reason}"
        )
        note_en = (
            f"The time limit is stopped from {day} for {kind_en}; that time is not counted "
            f"(Administrative Licensing Law Art. 45): {reason}"
        )
        event_add(
            application,
            kind="clock_stopped",
            actor=acting_user,
            department_code=locked.department_code,
            note=note,
            note_en=note_en,
            at=now,
        )
        applicant_notify(
            application,
            kind="clock_stopped",
            title=f"办件 {application.tracking_no} 办理时限中止",
            title_en=f"Time limit of application {application.tracking_no} stopped",
            body=note,
            body_en=note_en,
        )
        audit_append(
            action="case.clock_stopped",
            acting_user=acting_user,
            object_type="application",
            object_id=application.tracking_no,
            department_code=locked.department_code,
            details={"kind": kind, "task": locked.pk, "reason": reason},
        )
    return stop


def case_resume(*, acting_user: User, application: Application) -> ClockStop:
    """Restart a case's clock stopped for a hearing or an expert review; due dates move by its length.

    Only a handler of a department with an active task on the case. A stop for the applicant's supplement
    ends when the applicant supplements, not here (409 ``clock_stop_supplement``).
    """
    departments = handler_department_codes(acting_user)
    if (
        not departments
        or not HumanTask.objects.filter(
            application_id=application.pk, status__in=ACTIVE_TASK_STATUSES, department_code__in=departments
        ).exists()
    ):
        raise permission_denied(
            acting_user, Permission.HANDLE_TASKS, object_type="application", object_id=application.tracking_no
        )
    with transaction.atomic():
        WorkflowInstance.objects.select_for_update(of=("self",)).filter(
            application_id=application.pk
        ).exists()
        locked = _locked_application(application.pk)
        running = clock_running_stop(locked)
        if running is None:
            raise RuleViolation(
                "clock_not_stopped",
                f"办件 {locked.tracking_no} 的办理时限没有中止。",
                f"The time limit of application {locked.tracking_no} is not stopped.",
                status=409,
            )
        if running.kind == ClockStopKind.SUPPLEMENT:
            raise RuleViolation(
                "clock_stop_supplement",
                f"办件 {locked.tracking_no} 正等待申请人补正，补正后办理时限自动恢复计算。",
                f"Application {locked.tracking_no} is waiting for the applicant's supplement; "
                "the time limit restarts when the applicant supplements.",
                status=409,
            )
        now = timezone.now()
        stop = clock_stop_end(locked, actor=acting_user, now=now) or running
        _case_changed(locked, now)
        day = china_date(now).isoformat()
        due = locked.due_date.isoformat() if locked.due_date else "—"
        note = f"办理时限自 {day} 起恢复计算，中止 {stop.working_days} 个工作日；承诺办结日期为 {due}。"
        note_en = (
            f"The time limit runs again from {day} after {stop.working_days} working day(s) stopped; "
            f"the promised due date is {due}."
        )
        department_code = stop.task.department_code if stop.task else ""
        event_add(
            locked,
            kind="clock_resumed",
            actor=acting_user,
            department_code=department_code,
            note=note,
            note_en=note_en,
            at=now,
        )
        applicant_notify(
            locked,
            kind="clock_resumed",
            title=f"办件 {locked.tracking_no} 办理时限恢复计算",
            title_en=f"Time limit of application {locked.tracking_no} running again",
            body=note,
            body_en=note_en,
        )
        audit_append(
            action="case.clock_resumed",
            acting_user=acting_user,
            object_type="application",
            object_id=locked.tracking_no,
            department_code=department_code,
            details={"kind": stop.kind, "working_days": stop.working_days, "due_date": due},
        )
    return stop


# --- Extensions -----------------------------------------------------------------------------------


def extension_request(*, acting_user: User, task: HumanTask, working_days: int, reason: str) -> Extension:
    """Ask the department's admins to extend the case's time limit by ``working_days`` (1–30).

    Only a handler who may work ``task``; one pending request per case. The department's admins are
    notified.
    """
    task_handler_require(acting_user, task)
    reason, errors = _reason(reason, zh="请说明延期理由。", en="Give the reason for the extension.")
    if isinstance(working_days, bool) or not EXTENSION_MIN_DAYS <= working_days <= EXTENSION_MAX_DAYS:
        errors.insert(
            0,
            FieldError(
                "working_days",
                "out_of_range",
                f"延长的工作日数须在 {EXTENSION_MIN_DAYS} 至 {EXTENSION_MAX_DAYS} 之间。",
                f"The extension is {EXTENSION_MIN_DAYS} to {EXTENSION_MAX_DAYS} working days.",
            ),
        )
    if errors:
        raise FieldErrors(errors)
    with transaction.atomic():
        locked = _locked_task(task)
        now = timezone.now()
        _require_workable(acting_user, locked)
        application = _locked_application(locked.application_id)
        if application.status not in OPEN_CASE_STATUSES:
            raise wrong_status(application, "申请延期", "extended")
        if Extension.objects.filter(application=application, status=ExtensionStatus.PENDING).exists():
            raise RuleViolation(
                "extension_pending",
                f"办件 {application.tracking_no} 已有待审批的延期申请。",
                f"Application {application.tracking_no} already has an extension request "
                "waiting for a decision.",
                status=409,
            )
        extension = Extension.objects.create(
            application=application,
            task=locked,
            department_code=locked.department_code,
            working_days=working_days,
            reason=reason,
            status=ExtensionStatus.PENDING,
            requested_by=acting_user,
            requested_at=now,
        )
        CaseEvent.objects.create(
            application=application,
            instance_id=locked.instance_id,
            at=now,
            kind=CaseEventKind.EXTENSION_REQUESTED,
            task=locked,
            department_code=locked.department_code,
            actor=acting_user,
            data={"extension": extension.pk, "working_days": working_days, "reason": reason},
        )
        _case_changed(application, now)
        for admin in _department_admins(locked.department_code, now):
            notification_send(
                user=admin,
                kind="extension_requested",
                title=f"延期申请待审批：办件 {application.tracking_no}",
                title_en=f"Extension request to decide: application {application.tracking_no}",
                body=f"{acting_user.get_username()} 申请延长 {working_days} 个工作日：{reason}",
                body_en=f"{acting_user.get_username()} asks for {working_days} more working day(s): {reason}",
                link="/extensions/",
                object_type="extension",
                object_id=str(extension.pk),
            )
        audit_append(
            action="extension.requested",
            acting_user=acting_user,
            object_type="extension",
            object_id=extension.pk,
            department_code=locked.department_code,
            details={
                "application": application.tracking_no,
                "task": locked.pk,
                "working_days": working_days,
                "reason": reason,
            },
        )
    return extension


def extension_decide(
    *, acting_user: User, extension: Extension, approve: bool, reason: str = ""
) -> Extension:
    """Approve or refuse a pending extension (a department admin of the extension's department).

    Approval moves the case's promised and statutory due dates and the requesting task's due date by the
    extension's working days and notifies the applicant; refusal needs a reason. The requester is told.
    """
    if not user_has_permission(
        acting_user, Permission.MANAGE_DEPARTMENT, department_code=extension.department_code
    ):
        raise permission_denied(
            acting_user, Permission.MANAGE_DEPARTMENT, object_type="extension", object_id=str(extension.pk)
        )
    reason = reason.strip()
    if not approve and not reason:
        raise FieldErrors(
            [FieldError("reason", "required", "不予延期须说明理由。", "A refusal needs a reason.")]
        )
    with transaction.atomic():
        WorkflowInstance.objects.select_for_update(of=("self",)).filter(
            application_id=extension.application_id
        ).exists()
        locked = Extension.objects.select_for_update(of=("self",)).select_related("task").get(pk=extension.pk)
        if locked.status != ExtensionStatus.PENDING:
            raise RuleViolation(
                "extension_not_pending",
                "该延期申请已经审批。",
                "The extension request has already been decided.",
                status=409,
            )
        application = _locked_application(locked.application_id)
        if approve and application.status not in OPEN_CASE_STATUSES:
            raise wrong_status(application, "延期", "extended")
        now = timezone.now()
        locked.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED
        locked.decided_by, locked.decided_at, locked.decision_reason = acting_user, now, reason
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        event_data: dict[str, Any] = {
            "extension": locked.pk,
            "approved": approve,
            "working_days": locked.working_days,
            "reason": reason,
        }
        if approve:
            _extension_apply(application, locked)
            event_data["due_date"] = application.due_date.isoformat() if application.due_date else None
        CaseEvent.objects.create(
            application=application,
            instance_id=locked.task.instance_id if locked.task else None,
            at=now,
            kind=CaseEventKind.EXTENSION_DECIDED,
            task=locked.task,
            department_code=locked.department_code,
            actor=acting_user,
            data=event_data,
        )
        _case_changed(application, now)
        outcome_zh, outcome_en = ("批准", "approved") if approve else ("不予批准", "refused")
        notification_send(
            user=locked.requested_by,
            kind="extension_decided",
            title=f"延期申请已{outcome_zh}：办件 {application.tracking_no}",
            title_en=f"Extension {outcome_en}: application {application.tracking_no}",
            body=reason,
            body_en=reason,
            link=f"/tasks/{locked.task_id}/" if locked.task_id else "/tasks/",
            object_type="extension",
            object_id=str(locked.pk),
        )
        if approve:
            due = application.due_date.isoformat() if application.due_date else "—"
            note = f"办理时限经批准延长 {locked.working_days} 个工作日，承诺办结日期为 {due}。"
            note_en = (
                f"The time limit has been extended by {locked.working_days} working day(s) with approval; "
                f"the promised due date is {due}."
            )
            if reason:
                note, note_en = f"{note}理由：{reason}", f"{note_en} Reason: {reason}"
            event_add(
                application,
                kind="extension_approved",
                actor=acting_user,
                department_code=locked.department_code,
                note=note,
                note_en=note_en,
                at=now,
            )
            applicant_notify(
                application,
                kind="extension_approved",
                title=f"办件 {application.tracking_no} 办理时限延长",
                title_en=f"Time limit of application {application.tracking_no} extended",
                body=note,
                body_en=note_en,
            )
        audit_append(
            action="extension.approved" if approve else "extension.refused",
            acting_user=acting_user,
            object_type="extension",
            object_id=locked.pk,
            department_code=locked.department_code,
            details={
                "application": application.tracking_no,
                "working_days": locked.working_days,
                "reason": reason,
                "due_date": event_data.get("due_date"),
            },
        )
    return locked


def _extension_apply(application: Application, extension: Extension) -> None:
    """Move the (locked) case's due dates and the requesting task's by the extension's working days."""
    days = extension.working_days
    changes: dict[str, date] = {}
    if application.due_date:
        changes["due_date"] = add_working_days(application.due_date, days)
    if application.statutory_due_date:
        changes["statutory_due_date"] = add_working_days(application.statutory_due_date, days)
    if changes:
        application_transition(application, **changes)
    task = extension.task
    if task is not None and task.status in ACTIVE_TASK_STATUSES and task.due_date is not None:
        task.due_date = add_working_days(task.due_date, days)
        task.light = light_for(task.due_date, light_thresholds())
        HumanTask.objects.filter(pk=task.pk).update(due_date=task.due_date, light=task.light)


# --- Lights ---------------------------------------------------------------------------------------


def _running_clock_stops() -> QuerySet[ClockStop, int]:
    return ClockStop.objects.filter(ended_at__isnull=True).values_list("application_id", flat=True)


def lights_refresh(*, today: date | None = None) -> int:
    """Recompute the lights of open and claimed tasks in ONE SQL UPDATE; returns the rows that changed.

    Only rows whose light differs are written. Waiting tasks and the tasks of a case whose clock is
    stopped are left as they are (their time is not running).
    """
    thresholds = light_thresholds(today)
    red = Q(due_date__lt=thresholds.today)
    yellow = Q(due_date__gte=thresholds.today, due_date__lte=thresholds.yellow_until)
    green = Q(due_date__isnull=True) | Q(due_date__gt=thresholds.yellow_until)
    changed = (
        (red & ~Q(light=Light.RED)) | (yellow & ~Q(light=Light.YELLOW)) | (green & ~Q(light=Light.GREEN))
    )
    count = (
        HumanTask.objects.filter(changed, status__in=WORKING_TASK_STATUSES)
        .exclude(application_id__in=_running_clock_stops())
        .update(
            light=Case(
                When(red, then=Value(Light.RED.value)),
                When(yellow, then=Value(Light.YELLOW.value)),
                default=Value(Light.GREEN.value),
            )
        )
    )
    logger.info("lights_refreshed", changed=count, today=thresholds.today.isoformat())
    return count


# --- Escalation -----------------------------------------------------------------------------------


def overdue_cutoff(today: date, working_days: int) -> date:
    """The latest due date that is overdue by at least ``working_days`` working days on ``today``.

    A task due on D is overdue by the working days in ``(D, today]``; 0 gives the day before today.
    """
    day = today
    counted = 0
    while counted < working_days:
        counted += is_working_day(day)
        day -= timedelta(days=1)
    return day if working_days else today - timedelta(days=1)


def _rule_overrides() -> dict[tuple[str, int], set[str]]:
    """(light, overdue days) -> the departments with their own rule for it (active or not)."""
    overrides: dict[tuple[str, int], set[str]] = defaultdict(set)
    for department_code, light, days in EscalationRule.objects.exclude(department_code="").values_list(
        "department_code", "light", "overdue_working_days"
    ):
        overrides[(light, days)].add(department_code)
    return overrides


def _escalation_candidates(
    rule: EscalationRule, today: date, overrides: dict[tuple[str, int], set[str]]
) -> QuerySet[HumanTask]:
    """Working tasks the rule applies to and has not fired for yet: one SQL query, no per-task reads."""
    tasks = HumanTask.objects.filter(status__in=WORKING_TASK_STATUSES, light=rule.light).exclude(
        application_id__in=_running_clock_stops()
    )
    if rule.department_code:
        tasks = tasks.filter(department_code=rule.department_code)
    elif overrides.get((rule.light, rule.overdue_working_days)):
        tasks = tasks.exclude(department_code__in=overrides[(rule.light, rule.overdue_working_days)])
    if rule.light == Light.RED:
        tasks = tasks.filter(due_date__lte=overdue_cutoff(today, rule.overdue_working_days))
    return tasks.filter(~Exists(TaskEscalation.objects.filter(task_id=OuterRef("pk"), rule=rule)))


@dataclass
class _Recipients:
    """Who an escalation reaches, read once per department per run (not per task)."""

    now: datetime
    _staff: dict[str, list[Membership]] = field(default_factory=dict)
    _leaders: list[Membership] | None = None

    def load(self, department_codes: Iterable[str]) -> None:
        missing = set(department_codes) - set(self._staff)
        if not missing:
            return
        for code in missing:
            self._staff[code] = []
        memberships = (
            _active_memberships(self.now)
            .filter(department__code__in=missing, role__in=[Role.DEPARTMENT_HANDLER, Role.DEPARTMENT_ADMIN])
            .select_related("user", "department")
            .order_by("user_id")
        )
        for membership in memberships:
            if membership.department is not None:
                self._staff[membership.department.code].append(membership)

    def leaders(self, department_code: str) -> list[User]:
        if self._leaders is None:
            self._leaders = list(
                _active_memberships(self.now)
                .filter(role=Role.LEADER)
                .select_related("user", "department")
                .order_by("user_id")
            )
        return [
            membership.user
            for membership in self._leaders
            if membership.department is None or membership.department.code == department_code
        ]

    def handlers(self, task: HumanTask) -> list[User]:
        """Everyone who may work the task: HANDLE_TASKS in its department, with the lane's role if any."""
        return [
            membership.user
            for membership in self._staff.get(task.department_code, [])
            if Permission.HANDLE_TASKS in ROLE_PERMISSIONS[Role(membership.role)]
            and (not task.role or membership.role == task.role)
        ]

    def admins(self, department_code: str) -> list[User]:
        return [
            membership.user
            for membership in self._staff.get(department_code, [])
            if membership.role == Role.DEPARTMENT_ADMIN
        ]

    def for_target(self, target: str, task: HumanTask, assignees: dict[int, User]) -> list[User]:
        if target == EscalationTarget.ASSIGNEE:
            assignee = assignees.get(task.assignee_id) if task.assignee_id else None
            users = [assignee] if assignee is not None else self.handlers(task)
        elif target == EscalationTarget.DEPARTMENT_ADMIN:
            users = self.admins(task.department_code)
        else:
            users = self.leaders(task.department_code)
        return list({user.pk: user for user in users}.values())


def _escalation_message(rule: EscalationRule, tasks: list[HumanTask]) -> tuple[str, str, str, str]:
    light_zh, light_en = LIGHT_NAMES[rule.light]
    if rule.light == Light.RED and rule.overdue_working_days:
        light_zh = f"{light_zh}，超期 {rule.overdue_working_days} 个工作日以上"
        light_en = f"{light_en}, overdue by {rule.overdue_working_days} working day(s) or more"
    title = f"督办提醒：{len(tasks)} 项任务{light_zh}"
    title_en = f"Supervision reminder: {len(tasks)} task(s) {light_en}"
    lines, lines_en = [], []
    for task in tasks[:ESCALATION_LIST_LIMIT]:
        due = task.due_date.isoformat() if task.due_date else "—"
        tracking_no = task.application.tracking_no
        lines.append(f"{tracking_no} {task.name}（{task.department_code}）截止 {due}")
        lines_en.append(f"{tracking_no} {task.name_en or task.name} ({task.department_code}) due {due}")
    if len(tasks) > ESCALATION_LIST_LIMIT:
        lines.append(f"另有 {len(tasks) - ESCALATION_LIST_LIMIT} 项")
        lines_en.append(f"and {len(tasks) - ESCALATION_LIST_LIMIT} more")
    return title, title_en, "\n".join(lines), "\n".join(lines_en)


def _escalation_link(rule: EscalationRule, tasks: list[HumanTask]) -> str:
    if rule.target == EscalationTarget.ASSIGNEE:
        return f"/tasks/{tasks[0].pk}/" if len(tasks) == 1 else f"/tasks/?light={rule.light}"
    departments = {task.department_code for task in tasks}
    department = f"department={departments.pop()}&" if len(departments) == 1 else ""
    return f"/supervision/tasks/?{department}light={rule.light}"


def _escalation_batch_send(
    rule: EscalationRule, tasks: list[HumanTask], *, now: datetime, recipients: _Recipients
) -> int:
    """Record, announce and audit one batch of a rule's firings; returns how many tasks it fired for."""
    recipients.load(task.department_code for task in tasks)
    assignee_ids = {task.assignee_id for task in tasks if task.assignee_id}
    assignees = User.objects.filter(is_active=True).in_bulk(assignee_ids) if assignee_ids else {}
    targets = {task.pk: recipients.for_target(rule.target, task, assignees) for task in tasks}
    with transaction.atomic():
        TaskEscalation.objects.bulk_create(
            [
                TaskEscalation(task_id=task.pk, rule=rule, sent_at=now, recipients=len(targets[task.pk]))
                for task in tasks
            ],
            ignore_conflicts=True,
        )
        # Another run may have fired some of these meanwhile: this run announces only the rows it wrote.
        mine = set(
            TaskEscalation.objects.filter(
                rule=rule, task_id__in=[task.pk for task in tasks], sent_at=now
            ).values_list("task_id", flat=True)
        )
        fired = [task for task in tasks if task.pk in mine]
        if not fired:
            return 0
        CaseEvent.objects.bulk_create(
            CaseEvent(
                application_id=task.application_id,
                instance_id=task.instance_id,
                at=now,
                kind=CaseEventKind.ESCALATED,
                task=task,
                department_code=task.department_code,
                data={
                    "rule": rule.pk,
                    "light": rule.light,
                    "overdue_working_days": rule.overdue_working_days,
                    "target": rule.target,
                    "recipients": len(targets[task.pk]),
                },
            )
            for task in fired
        )
        by_user: dict[int, tuple[User, list[HumanTask]]] = {}
        for task in fired:
            for user in targets[task.pk]:
                by_user.setdefault(user.pk, (user, []))[1].append(task)
        for user, user_tasks in by_user.values():
            title, title_en, body, body_en = _escalation_message(rule, user_tasks)
            single = len(user_tasks) == 1
            notification_send(
                user=user,
                kind="task_escalated",
                title=title,
                title_en=title_en,
                body=body,
                body_en=body_en,
                link=_escalation_link(rule, user_tasks),
                object_type="task" if single else "escalation_rule",
                object_id=str(user_tasks[0].pk if single else rule.pk),
            )
        unreached = [task.pk for task in fired if not targets[task.pk]]
        if unreached:
            logger.warning("escalation_without_recipients", rule=rule.pk, tasks=unreached)
        audit_append(
            action="task.escalated",
            acting_user=None,
            actor_username="scheduler",
            object_type="escalation_rule",
            object_id=rule.pk,
            details={
                "light": rule.light,
                "overdue_working_days": rule.overdue_working_days,
                "target": rule.target,
                "tasks": [task.pk for task in fired],
                "recipients": len(by_user),
            },
        )
    return len(fired)


def escalations_run(*, now: datetime | None = None) -> int:
    """Fire every active escalation rule for the tasks that reached it; returns the firings recorded.

    Each rule fires at most once per task (``TaskEscalation`` is unique per task and rule). Run after
    :func:`lights_refresh` (the scheduler's job does both).
    """
    now = now or timezone.now()
    today = china_date(now)
    overrides = _rule_overrides()
    recipients = _Recipients(now=now)
    fired = 0
    for rule in EscalationRule.objects.filter(active=True).order_by("id"):
        candidates = (
            _escalation_candidates(rule, today, overrides)
            .select_related("application")
            .only(
                "id",
                "instance_id",
                "application__tracking_no",
                "department_code",
                "role",
                "assignee_id",
                "name",
                "name_en",
                "due_date",
            )
        )
        last_pk = 0
        while True:
            batch = list(candidates.filter(pk__gt=last_pk).order_by("pk")[:ESCALATION_BATCH_SIZE])
            if not batch:
                break
            last_pk = batch[-1].pk
            fired += _escalation_batch_send(rule, batch, now=now, recipients=recipients)
    logger.info("escalations_run", fired=fired)
    return fired


def escalation_rule_save(
    *,
    acting_user: User,
    rule: EscalationRule | None = None,
    department_code: str,
    light: str,
    overdue_working_days: int,
    target: str,
    active: bool,
) -> EscalationRule:
    """Create (``rule`` None) or change an escalation rule.

    A system admin for any department and the defaults (``department_code`` ""); a department admin for
    their own department's rules only. A rule is never deleted: save it inactive. Yellow rules fire when a
    task turns yellow (no overdue days); red rules after ``overdue_working_days`` overdue working days.
    """
    department_code = department_code.strip()
    departments = {department_code} | ({rule.department_code} if rule is not None else set())
    if not user_has_permission(acting_user, Permission.MANAGE_SYSTEM) and not all(
        code and code in managed_department_codes(acting_user) for code in departments
    ):
        raise permission_denied(
            acting_user,
            Permission.MANAGE_DEPARTMENT,
            object_type="escalation_rule",
            object_id=str(rule.pk) if rule is not None else department_code,
        )
    errors: list[FieldError] = []
    if department_code and not Department.objects.filter(code=department_code).exists():
        errors.append(FieldError("department_code", "unknown", "部门不存在。", "No such department."))
    if light not in Light.values:
        errors.append(
            FieldError("light", "invalid", "灯色须为绿、黄或红。", "The light is green, yellow or red.")
        )
    if isinstance(overdue_working_days, bool) or not 0 <= overdue_working_days <= ESCALATION_MAX_OVERDUE_DAYS:
        errors.append(
            FieldError(
                "overdue_working_days",
                "out_of_range",
                f"超期工作日数须在 0 至 {ESCALATION_MAX_OVERDUE_DAYS} 之间。",
                f"The overdue working days are 0 to {ESCALATION_MAX_OVERDUE_DAYS}.",
            )
        )
    elif light != Light.RED and overdue_working_days:
        errors.append(
            FieldError(
                "overdue_working_days",
                "not_red",
                "只有红灯规则可以设置超期工作日数。",
                "Only red rules count overdue working days.",
            )
        )
    if target not in EscalationTarget.values:
        errors.append(
            FieldError(
                "target",
                "invalid",
                "通知对象须为 assignee、department_admin 或 leader。",
                "The target is assignee, department_admin or leader.",
            )
        )
    if errors:
        raise FieldErrors(errors)
    values: dict[str, Any] = {
        "department_code": department_code,
        "light": light,
        "overdue_working_days": overdue_working_days,
        "target": target,
        "active": active,
    }
    with transaction.atomic():
        same = EscalationRule.objects.select_for_update().filter(
            department_code=department_code,
            light=light,
            overdue_working_days=overdue_working_days,
            target=target,
        )
        if rule is not None:
            same = same.exclude(pk=rule.pk)
        if same.exists():
            raise RuleViolation(
                "escalation_rule_duplicate",
                "已有相同的督办规则，请修改该规则。",
                "The same escalation rule exists already; change that one.",
                status=409,
            )
        before: dict[str, Any] | None = None
        if rule is None:
            saved = EscalationRule.objects.create(**values)
        else:
            saved = EscalationRule.objects.select_for_update().get(pk=rule.pk)
            before = {name: getattr(saved, name) for name in values}
            for name, value in values.items():
                setattr(saved, name, value)
            saved.save(update_fields=list(values))
        audit_append(
            action="escalation_rule.created" if before is None else "escalation_rule.changed",
            acting_user=acting_user,
            object_type="escalation_rule",
            object_id=saved.pk,
            department_code=department_code,
            details={"before": before, "after": values},
        )
    return saved


# --- Supervision snapshots ------------------------------------------------------------------------


def supervision_snapshot_take(*, day: date | None = None) -> int:
    """Record the day's counts of working tasks per department and light; returns the rows written.

    One ``GROUP BY`` query; a department counted earlier the same day that has no working task now is
    written with zeros. Taken again the same day, the day's rows are replaced (upsert).
    """
    day = day or china_date(timezone.now())
    counts = department_light_counts(HumanTask.objects.filter(status__in=WORKING_TASK_STATUSES))
    earlier = set(SupervisionSnapshot.objects.filter(day=day).values_list("department_code", flat=True))
    rows = [
        SupervisionSnapshot(day=day, department_code=code, green=green, yellow=yellow, red=red)
        for code, (green, yellow, red) in sorted(counts.items())
    ]
    rows.extend(SupervisionSnapshot(day=day, department_code=code) for code in sorted(earlier - set(counts)))
    with transaction.atomic():
        SupervisionSnapshot.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["day", "department_code"],
            update_fields=["green", "yellow", "red"],
        )
    logger.info("supervision_snapshot_taken", day=day.isoformat(), departments=len(rows))
    return len(rows)


def supervision_snapshot_missing(day: date) -> bool:
    """True if no snapshot row exists for ``day`` (the scheduler then takes one)."""
    return not SupervisionSnapshot.objects.filter(day=day).exists()
