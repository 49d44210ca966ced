"""Reads of deadlines and electronic supervision (电子监察) that check who is asking (STYLE.md rule 3).

Supervision: lights by department, the drill-down to cases, the trend. Also the selectors over the
deadline tables written by ``deadlines.py``: extension requests and escalation rules.

Who sees what: leaders (``VIEW_DASHBOARDS``) and third-party supervisors (``SUPERVISE``) every department;
department admins (``MANAGE_DEPARTMENT``) their own departments; everyone else is refused (audited). The
overview lists every department that has a working (open or claimed) task, plus a department admin's own
departments even when they have none. Counts come from the stored lights (``deadlines.lights_refresh``)
in one grouped query; the trend from the daily ``SupervisionSnapshot`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission, user_roles
from onewindow.accounts.roles import ROLE_PERMISSIONS, Permission
from onewindow.applications.tracking import china_date
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.organisations.models import Department
from onewindow.workflow.models import (
    WORKING_TASK_STATUSES,
    EscalationRule,
    Extension,
    ExtensionStatus,
    HumanTask,
    Light,
    SupervisionSnapshot,
)

TREND_MAX_DAYS = 366


@dataclass(frozen=True)
class DepartmentLights:
    department_code: str
    name: str
    name_en: str
    green: int
    yellow: int
    red: int


@dataclass(frozen=True)
class TrendPoint:
    day: date
    green: int
    yellow: int
    red: int


def department_light_counts(tasks: QuerySet[HumanTask]) -> dict[str, tuple[int, int, int]]:
    """Department code -> (green, yellow, red) counts of ``tasks``, in one GROUP BY query."""
    rows = (
        tasks.order_by()
        .values("department_code")
        .annotate(
            green=Count("id", filter=Q(light=Light.GREEN)),
            yellow=Count("id", filter=Q(light=Light.YELLOW)),
            red=Count("id", filter=Q(light=Light.RED)),
        )
        .order_by("department_code")
    )
    return {row["department_code"]: (row["green"], row["yellow"], row["red"]) for row in rows}


def managed_department_codes(user: User) -> set[str]:
    """The departments in which ``user`` is a department admin (MANAGE_DEPARTMENT there)."""
    return {
        grant.department_code
        for grant in user_roles(user)
        if grant.department_code and Permission.MANAGE_DEPARTMENT in ROLE_PERMISSIONS[grant.role]
    }


def supervision_scope(user: User) -> frozenset[str] | None:
    """The departments ``user`` may supervise: None for all; refused (audited) when none."""
    if user_has_permission(user, Permission.VIEW_DASHBOARDS) or user_has_permission(
        user, Permission.SUPERVISE
    ):
        return None
    managed = frozenset(managed_department_codes(user))
    if not managed:
        raise permission_denied(user, Permission.SUPERVISE, object_type="supervision")
    return managed


def _scoped(user: User, department_code: str) -> frozenset[str] | None:
    """The departments a query covers: ``department_code`` if given (and allowed), else the user's scope."""
    scope = supervision_scope(user)
    if not department_code:
        return scope
    if scope is not None and department_code not in scope:
        raise permission_denied(
            user, Permission.SUPERVISE, object_type="department", object_id=department_code
        )
    return frozenset({department_code})


def supervision_overview(user: User) -> list[DepartmentLights]:
    """Working tasks by department and light, for the departments the user may supervise."""
    scope = supervision_scope(user)
    tasks = HumanTask.objects.filter(status__in=WORKING_TASK_STATUSES)
    if scope is not None:
        tasks = tasks.filter(department_code__in=scope)
    counts = department_light_counts(tasks)
    codes = set(counts) | set(scope or ())
    departments = {
        department.code: department
        for department in Department.objects.filter(code__in=codes).only("code", "name", "name_en")
    }
    overview = []
    for code in sorted(codes):
        green, yellow, red = counts.get(code, (0, 0, 0))
        department = departments.get(code)
        overview.append(
            DepartmentLights(
                department_code=code,
                name=department.name if department else code,
                name_en=(department.name_en or department.name) if department else code,
                green=green,
                yellow=yellow,
                red=red,
            )
        )
    return overview


def supervision_tasks(user: User, *, department_code: str = "", light: str = "") -> QuerySet[HumanTask]:
    """The working tasks behind the overview's counts (drill-down to cases), soonest due first."""
    scope = _scoped(user, department_code)
    if light and light not in Light.values:
        raise FieldErrors(
            [
                FieldError(
                    "light",
                    "invalid",
                    "灯色须为绿、黄或红。",
                    "The light is green, yellow or red.",
                )
            ]
        )
    tasks = HumanTask.objects.filter(status__in=WORKING_TASK_STATUSES).select_related(
        "application__service", "assignee"
    )
    if scope is not None:
        tasks = tasks.filter(department_code__in=scope)
    if light:
        tasks = tasks.filter(light=light)
    return tasks.order_by(F("due_date").asc(nulls_last=True), "id")


def supervision_trend(user: User, *, days: int = 30, department_code: str = "") -> list[TrendPoint]:
    """Daily counts by light over the last ``days`` days (Beijing time), from the daily snapshots.

    One point per day on which a snapshot was taken (days the scheduler missed are absent, not zero).
    """
    scope = _scoped(user, department_code)
    if isinstance(days, bool) or not 1 <= days <= TREND_MAX_DAYS:
        raise FieldErrors(
            [
                FieldError(
                    "days",
                    "out_of_range",
                    f"天数须在 1 至 {TREND_MAX_DAYS} 之间。",
                    f"The number of days is 1 to {TREND_MAX_DAYS}.",
                )
            ]
        )
    today = china_date(timezone.now())
    snapshots = SupervisionSnapshot.objects.filter(day__gt=today - timedelta(days=days), day__lte=today)
    wanted = Q(department_code__in=scope) if scope is not None else None
    rows = (
        snapshots.order_by()
        .values("day")
        .annotate(
            green_sum=Sum("green", filter=wanted),
            yellow_sum=Sum("yellow", filter=wanted),
            red_sum=Sum("red", filter=wanted),
        )
        .order_by("day")
    )
    return [
        TrendPoint(
            day=row["day"],
            green=row["green_sum"] or 0,
            yellow=row["yellow_sum"] or 0,
            red=row["red_sum"] or 0,
        )
        for row in rows
    ]


# --- Selectors ------------------------------------------------------------------------------------


def extensions_for_user(user: User, *, status: str = "") -> QuerySet[Extension]:
    """Department admins: their departments' requests (and their own); handlers: their own requests."""
    managed = managed_department_codes(user)
    if not managed and not user_has_permission(user, Permission.HANDLE_TASKS):
        raise permission_denied(user, Permission.HANDLE_TASKS, object_type="extension")
    if status and status not in ExtensionStatus.values:
        raise FieldErrors(
            [
                FieldError(
                    "status",
                    "invalid",
                    "状态须为 pending、approved 或 refused。",
                    "The status is pending, approved or refused.",
                )
            ]
        )
    visible = Q(requested_by=user)
    if managed:
        visible |= Q(department_code__in=managed)
    extensions = Extension.objects.filter(visible).select_related(
        "application__service", "task", "requested_by", "decided_by"
    )
    if status:
        extensions = extensions.filter(status=status)
    return extensions.order_by("-requested_at", "-id")


def extension_for_user(user: User, extension_id: int) -> Extension:
    """One extension request the user may see; 404 (not 403) for the others, so ids reveal nothing."""
    extension = extensions_for_user(user).filter(pk=extension_id).first()
    if extension is None:
        raise RuleViolation(
            "extension_not_found", "延期申请不存在。", "No such extension request.", status=404
        )
    return extension


def escalation_rules_for_user(user: User) -> QuerySet[EscalationRule]:
    """System admins, leaders and supervisors: every rule; department admins: the defaults and theirs."""
    rules = EscalationRule.objects.all().order_by("department_code", "light", "overdue_working_days", "id")
    if any(
        user_has_permission(user, permission)
        for permission in (Permission.MANAGE_SYSTEM, Permission.VIEW_DASHBOARDS, Permission.SUPERVISE)
    ):
        return rules
    managed = managed_department_codes(user)
    if not managed:
        raise permission_denied(user, Permission.MANAGE_DEPARTMENT, object_type="escalation_rule")
    return rules.filter(Q(department_code="") | Q(department_code__in=managed))
