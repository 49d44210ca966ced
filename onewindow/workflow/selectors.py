"""Reads of the back-office engine that check who is asking (STYLE.md rule 3).

A handler sees the tasks of the departments where they hold ``HANDLE_TASKS`` (the pool) and the tasks
they claimed (mine); a case's events only if one of its tasks is in such a department.
"""

from __future__ import annotations

from django.db.models import QuerySet

from onewindow.accounts.models import User
from onewindow.accounts.permissions import user_roles
from onewindow.accounts.roles import ROLE_PERMISSIONS, Permission
from onewindow.applications.models import Application
from onewindow.core.errors import RuleViolation
from onewindow.workflow.models import ACTIVE_TASK_STATUSES, CaseEvent, HumanTask, TaskStatus


def handler_department_codes(user: User) -> set[str]:
    """The departments in which ``user`` handles tasks (department-scoped grants only)."""
    return {
        grant.department_code
        for grant in user_roles(user)
        if grant.department_code and Permission.HANDLE_TASKS in ROLE_PERMISSIONS[grant.role]
    }


def tasks_for_user(user: User, *, scope: str = "pool", status: str = "") -> QuerySet[HumanTask]:
    """``pool``: active tasks of the user's departments; ``mine``: tasks the user claimed or completed."""
    departments = handler_department_codes(user)
    if not departments:
        return HumanTask.objects.none()
    tasks = HumanTask.objects.filter(department_code__in=departments).select_related(
        "application__service", "assignee"
    )
    mine = scope == "mine"
    tasks = tasks.filter(assignee=user) if mine else tasks.filter(status__in=ACTIVE_TASK_STATUSES)
    if status in TaskStatus.values:
        tasks = tasks.filter(status=status)
    return tasks.order_by("due_date", "created_at", "id")


def task_for_user(user: User, task_id: int) -> HumanTask:
    """One task of the user's departments; 404 (not 403) otherwise, so ids reveal nothing."""
    task = (
        HumanTask.objects.filter(pk=task_id, department_code__in=handler_department_codes(user))
        .select_related("application__service", "instance")
        .first()
    )
    if task is None:
        raise RuleViolation("task_not_found", "任务不存在。", "No such task.", status=404)
    return task


def case_events_for_user(user: User, application: Application) -> QuerySet[CaseEvent]:
    """The process steps of a case that involves one of the user's departments (else none)."""
    departments = handler_department_codes(user)
    if not HumanTask.objects.filter(application=application, department_code__in=departments).exists():
        return CaseEvent.objects.none()
    return (
        CaseEvent.objects.filter(application=application).select_related("actor", "task").order_by("at", "id")
    )
