"""Who works a task: a department admin reassigns (改派) and delegates (代理); a handler's views of a task."""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission, user_roles
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.notifications.actions import notification_send
from onewindow.workflow.actions import task_not_open_error
from onewindow.workflow.models import (
    ACTIVE_TASK_STATUSES,
    CaseEvent,
    CaseEventKind,
    Delegation,
    HumanTask,
    TaskStatus,
    TaskView,
)

# --- Department admin: reassign, delegate --------------------------------------------------------------


def _may_handle(user: User, task: HumanTask) -> bool:
    """The rule of ``task_handler_require`` without auditing a refusal (for checking someone else)."""
    if not user.is_active or not user_has_permission(
        user, Permission.HANDLE_TASKS, department_code=task.department_code
    ):
        return False
    return not task.role or any(
        grant.role == task.role and grant.department_code == task.department_code
        for grant in user_roles(user)
    )


def _require_department_admin(
    acting_user: User, department_code: str, object_type: str, object_id: str
) -> None:
    if not department_code or not user_has_permission(
        acting_user, Permission.MANAGE_DEPARTMENT, department_code=department_code
    ):
        raise permission_denied(
            acting_user, Permission.MANAGE_DEPARTMENT, object_type=object_type, object_id=object_id
        )


def task_reassign(*, acting_user: User, task: HumanTask, assignee: User, reason: str = "") -> HumanTask:
    """A department admin gives an active task of their department to one of its handlers (改派).

    An open task becomes claimed by ``assignee``; a waiting one stays waiting with the new assignee. The
    new handler is notified.
    """
    _require_department_admin(acting_user, task.department_code, "task", str(task.pk))
    if not _may_handle(assignee, task):
        raise FieldErrors(
            [
                FieldError(
                    "assignee",
                    "not_a_handler",
                    f"{assignee.username} 不能办理该部门的此项任务。",
                    f"{assignee.username} cannot handle this task of the department.",
                )
            ]
        )
    with transaction.atomic():
        locked = HumanTask.objects.select_for_update().select_related("application").get(pk=task.pk)
        if locked.status not in ACTIVE_TASK_STATUSES:
            raise task_not_open_error(locked)
        now = timezone.now()
        previous = locked.assignee.username if locked.assignee else None
        locked.assignee, locked.changed_at = assignee, now
        locked.claimed_at = now
        if locked.status == TaskStatus.OPEN:
            locked.status = TaskStatus.CLAIMED
        locked.save(update_fields=["assignee", "changed_at", "claimed_at", "status"])
        CaseEvent.objects.create(
            application_id=locked.application_id,
            instance_id=locked.instance_id,
            at=now,
            kind=CaseEventKind.TASK_REASSIGNED,
            task=locked,
            department_code=locked.department_code,
            actor=acting_user,
            data={"from": previous, "to": assignee.username, "reason": reason.strip()},
        )
        notification_send(
            user=assignee,
            kind="task_assigned",
            title=f"新任务：{locked.name}（{locked.application.tracking_no}）",
            title_en=f"New task: {locked.name_en or locked.name} ({locked.application.tracking_no})",
            body=reason.strip(),
            link=f"/tasks/{locked.pk}/",
            object_type="task",
            object_id=str(locked.pk),
        )
        audit_append(
            action="task.reassigned",
            acting_user=acting_user,
            object_type="task",
            object_id=locked.pk,
            department_code=locked.department_code,
            details={"from": previous, "to": assignee.username, "reason": reason.strip()},
        )
    return locked


def delegation_create(
    *,
    acting_user: User,
    department_code: str,
    delegator: User,
    delegate: User,
    starts_on: date,
    ends_on: date,
    reason: str = "",
) -> Delegation:
    """A department admin lets ``delegate`` work ``delegator``'s tasks of the department for a period (代理),
    e.g. during leave. Both must handle tasks in the department."""
    department_code = department_code.strip()
    _require_department_admin(acting_user, department_code, "delegation", department_code)
    errors: list[FieldError] = []
    for field, user in (("delegator", delegator), ("delegate", delegate)):
        if not user.is_active or not user_has_permission(
            user, Permission.HANDLE_TASKS, department_code=department_code
        ):
            errors.append(
                FieldError(
                    field,
                    "not_a_handler",
                    f"{user.username} 不是该部门的办理人员。",
                    f"{user.username} does not handle tasks in this department.",
                )
            )
    if delegator.pk == delegate.pk:
        errors.append(
            FieldError("delegate", "same_user", "不能委托给本人。", "Choose someone else as the delegate.")
        )
    if ends_on < starts_on:
        errors.append(
            FieldError("ends_on", "before_start", "结束日期早于开始日期。", "The end is before the start.")
        )
    if errors:
        raise FieldErrors(errors)
    with transaction.atomic():
        delegation = Delegation.objects.create(
            department_code=department_code,
            delegator=delegator,
            delegate=delegate,
            starts_on=starts_on,
            ends_on=ends_on,
            reason=reason.strip(),
            created_by=acting_user,
            created_at=timezone.now(),
        )
        notification_send(
            user=delegate,
            kind="delegation_created",
            title=f"您将代理 {delegator.username} 的任务（{starts_on} 至 {ends_on}）",
            title_en=f"You act for {delegator.username} from {starts_on} to {ends_on}",
            link="/tasks/?scope=mine",
            object_type="delegation",
            object_id=str(delegation.pk),
        )
        audit_append(
            action="delegation.created",
            acting_user=acting_user,
            object_type="delegation",
            object_id=delegation.pk,
            department_code=department_code,
            details={
                "delegator": delegator.username,
                "delegate": delegate.username,
                "starts_on": str(starts_on),
                "ends_on": str(ends_on),
            },
        )
    return delegation


def delegation_revoke(*, acting_user: User, delegation: Delegation) -> Delegation:
    """End a delegation now (a department admin of its department)."""
    _require_department_admin(acting_user, delegation.department_code, "delegation", str(delegation.pk))
    with transaction.atomic():
        locked = Delegation.objects.select_for_update().get(pk=delegation.pk)
        if locked.revoked_at is not None:
            raise RuleViolation(
                "delegation_revoked", "该委托已撤销。", "The delegation has already been revoked.", status=409
            )
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_append(
            action="delegation.revoked",
            acting_user=acting_user,
            object_type="delegation",
            object_id=locked.pk,
            department_code=locked.department_code,
        )
    return locked


def task_seen(*, acting_user: User, task: HumanTask) -> datetime | None:
    """Record that ``acting_user`` opened the task (and its case data); returns when they last had.

    Audited, because opening a task shows an applicant's personal data.
    """
    now = timezone.now()
    with transaction.atomic():
        view = TaskView.objects.select_for_update().filter(user=acting_user, task=task).first()
        previous = view.seen_at if view else None
        if view is None:
            TaskView.objects.create(user=acting_user, task=task, seen_at=now)
        else:
            TaskView.objects.filter(pk=view.pk).update(seen_at=now)
        audit_append(
            action="task.viewed",
            acting_user=acting_user,
            object_type="task",
            object_id=task.pk,
            department_code=task.department_code,
        )
    return previous
