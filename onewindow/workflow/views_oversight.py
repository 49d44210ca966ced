"""Oversight pages of the back office: supervision (lights by department, drill-down, trend), extension
requests and delegations, for leaders, supervisors and department administrators."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from onewindow.accounts.models import User
from onewindow.accounts.permissions import (
    permission_required,
    user_roles,
)
from onewindow.accounts.roles import ROLE_PERMISSIONS, Permission
from onewindow.applications.tracking import china_date
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.forms.render import error_summary
from onewindow.workflow import assignment, deadlines, selectors, supervision
from onewindow.workflow.models import (
    Delegation,
    Extension,
    ExtensionStatus,
    Light,
)
from onewindow.workflow.views import (
    SPARKLINE_HEIGHT,
    SPARKLINE_WIDTH,
    TREND_DAYS,
    _department_names,
    _display,
    _errors_by_field,
    _found,
    _light,
    _paginate,
    _parse_date,
    _pick,
    _query_without_page,
    _refusal_errors,
    _refusal_status,
    _required,
    _service_name,
    _status,
    _task_name,
    _user,
    any_permission_required,
)

# --- Supervision ------------------------------------------------------------------------------------------

SUPERVISION_PERMISSIONS = (Permission.VIEW_DASHBOARDS, Permission.SUPERVISE, Permission.MANAGE_DEPARTMENT)


def _sparkline(values: Sequence[int], peak: int) -> str:
    """SVG polyline points for ``values`` scaled to the sparkline's box (no script, no inline style)."""
    if not values:
        return ""
    step = SPARKLINE_WIDTH / max(len(values) - 1, 1)
    top = max(peak, 1)
    return " ".join(
        f"{index * step:.1f},{SPARKLINE_HEIGHT - value * (SPARKLINE_HEIGHT - 4) / top - 2:.1f}"
        for index, value in enumerate(values)
    )


@require_safe
@any_permission_required(*SUPERVISION_PERMISSIONS)
def supervision_index(request: HttpRequest) -> HttpResponse:
    """Counts of working tasks by department and light, each a link to its cases, and the 30-day trend."""
    user = _user(request)
    overview = supervision.supervision_overview(user)
    trend = supervision.supervision_trend(user, days=TREND_DAYS)
    rows = [
        {
            "code": row.department_code,
            "name": _pick(row.name, row.name_en),
            "counts": [(light, getattr(row, light), _light(light)) for light in Light.values],
        }
        for row in overview
    ]
    totals = [(light, sum(getattr(row, light) for row in overview), _light(light)) for light in Light.values]
    peak = max((max(point.green, point.yellow, point.red) for point in trend), default=0)
    return render(
        request,
        "workflow/supervision.html",
        {
            "rows": rows,
            "totals": totals,
            "trend": list(trend),
            "trend_days": TREND_DAYS,
            "sparkline": {
                "width": SPARKLINE_WIDTH,
                "height": SPARKLINE_HEIGHT,
                "lines": [
                    (light, _sparkline([getattr(point, light) for point in trend], peak))
                    for light in (Light.RED, Light.YELLOW)
                ],
            }
            if len(trend) > 1
            else None,
            "lights": [_light(light) for light in Light.values],
        },
    )


@require_safe
@any_permission_required(*SUPERVISION_PERMISSIONS)
def supervision_task_list(request: HttpRequest) -> HttpResponse:
    """The drill-down: the cases behind one count (department and light)."""
    user = _user(request)
    department_code = request.GET.get("department", "").strip()[:20]
    light = request.GET.get("light", "")
    light = light if light in Light.values else ""
    tasks = supervision.supervision_tasks(user, department_code=department_code, light=light).select_related(
        "application__version", "application__workflow", "assignee"
    )
    page = _paginate(tasks, request)
    names = _department_names([department_code, *(task.department_code for task in page)])
    return render(
        request,
        "workflow/supervision_tasks.html",
        {
            "department_code": department_code,
            "department": names.get(department_code, department_code),
            "light": _light(light) if light else None,
            "rows": [
                {
                    "task": task,
                    "tracking_no": task.application.tracking_no,
                    "service_name": _service_name(task.application),
                    "task_name": _task_name(task),
                    "department": names.get(task.department_code, task.department_code),
                    "status": _status(task.status),
                    "light": _light(task.light),
                    "assignee": _display(task.assignee),
                }
                for task in page
            ],
            "page": page,
            "query": _query_without_page(request.GET),
        },
    )


# --- Extensions -------------------------------------------------------------------------------------------


def _extensions_page(
    request: HttpRequest,
    errors: list[FieldError] | None = None,
    posted: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    pending = list(
        supervision.extensions_for_user(user, status=ExtensionStatus.PENDING).select_related(
            "application__version", "requested_by"
        )
    )
    names = _department_names(extension.department_code for extension in pending)
    errors = errors or []
    by_field = _errors_by_field(errors)
    return render(
        request,
        "workflow/extensions.html",
        {
            "rows": [
                {
                    "extension": extension,
                    "service_name": _service_name(extension.application),
                    "department": names.get(extension.department_code, extension.department_code),
                    "requested_by": _display(extension.requested_by),
                    "error": by_field.get(f"reason-{extension.pk}", ""),
                    "reason": (posted or {}).get(f"reason-{extension.pk}", ""),
                }
                for extension in pending
            ],
            "error_summary_html": error_summary(errors),
        },
        status=status,
    )


@require_safe
@permission_required(Permission.MANAGE_DEPARTMENT)
def extension_list(request: HttpRequest) -> HttpResponse:
    return _extensions_page(request)


@require_POST
@permission_required(Permission.MANAGE_DEPARTMENT)
def extension_decide_view(request: HttpRequest, extension_id: int) -> HttpResponse:
    """Approve (the due dates move and the applicant is told) or refuse with a reason."""
    user = _user(request)
    extension = cast(Extension, _found(lambda: supervision.extension_for_user(user, extension_id)))
    reason = request.POST.get("reason", "").strip()
    reason_field = f"reason-{extension.pk}"
    approve = request.POST.get("decision", "") == "approve"
    try:
        deadlines.extension_decide(acting_user=user, extension=extension, approve=approve, reason=reason)
    except (RuleViolation, FieldErrors) as refused:
        errors = _refusal_errors(refused, {"reason": reason_field})
        return _extensions_page(request, errors, {reason_field: reason}, status=_refusal_status(refused))
    messages.success(
        request,
        _("Extension approved; the due dates have moved and the applicant has been told.")
        if approve
        else _("Extension refused."),
    )
    return redirect("workflow:extensions")


# --- Delegations ------------------------------------------------------------------------------------------


def _delegation_state(delegation: Delegation, today: date) -> dict[str, str]:
    if delegation.revoked_at is not None:
        return {"label": pgettext("delegation", "Revoked"), "css": "govuk-tag--grey"}
    if delegation.ends_on < today:
        return {"label": pgettext("delegation", "Ended"), "css": "govuk-tag--grey"}
    if delegation.starts_on > today:
        return {"label": pgettext("delegation", "Not started"), "css": "govuk-tag--blue"}
    return {"label": pgettext("delegation", "Active"), "css": "govuk-tag--green"}


def _managed_departments(user: User) -> list[str]:
    return sorted(
        {
            grant.department_code
            for grant in user_roles(user)
            if grant.department_code and Permission.MANAGE_DEPARTMENT in ROLE_PERMISSIONS[grant.role]
        }
    )


DELEGATION_FIELDS = ("department_code", "delegator", "delegate", "starts_on", "ends_on", "reason")


def _delegations_page(
    request: HttpRequest,
    errors: list[FieldError] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    departments = _managed_departments(user)
    names = _department_names(departments)
    delegations = list(selectors.delegations_for_user(user).select_related("delegator", "delegate"))
    names.update(_department_names(delegation.department_code for delegation in delegations))
    today = china_date(timezone.now())
    people = [
        (
            str(handler.pk),
            f"{_display(handler)}（{names.get(code, code)}）" if len(departments) > 1 else _display(handler),
        )
        for code in departments
        for handler in selectors.department_handlers(code)
    ]
    errors = errors or []
    return render(
        request,
        "workflow/delegations.html",
        {
            "rows": [
                {
                    "delegation": delegation,
                    "department": names.get(delegation.department_code, delegation.department_code),
                    "delegator": _display(delegation.delegator),
                    "delegate": _display(delegation.delegate),
                    "state": _delegation_state(delegation, today),
                    "may_revoke": delegation.revoked_at is None and delegation.ends_on >= today,
                }
                for delegation in delegations
            ],
            "departments": [(code, names.get(code, code)) for code in departments],
            "people": list(dict.fromkeys(people)),
            "values": values or {},
            "error_summary_html": error_summary(errors),
            "field_errors": _errors_by_field(errors),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_DEPARTMENT)
def delegation_list(request: HttpRequest) -> HttpResponse:
    """The department's delegations (代理), and a form to add one."""
    if request.method == "GET":
        return _delegations_page(request)
    user = _user(request)
    values = {name: request.POST.get(name, "").strip() for name in DELEGATION_FIELDS}
    errors: list[FieldError] = []
    department_code = values["department_code"]
    if department_code not in _managed_departments(user):
        errors.append(_required("department_code", "请选择部门。", "Choose the department."))
    handlers = selectors.department_handlers(department_code) if department_code else User.objects.none()
    people: dict[str, User | None] = {}
    for name, zh, en in (
        ("delegator", "请选择被代理的办理人员。", "Choose the handler whose tasks are delegated."),
        ("delegate", "请选择代理人。", "Choose who works the tasks instead."),
    ):
        chosen = values[name]
        people[name] = handlers.filter(pk=int(chosen)).first() if chosen.isdigit() else None
        if people[name] is None:
            errors.append(_required(name, zh, en))
    dates: dict[str, date | None] = {}
    for name, zh, en in (
        ("starts_on", "请按“年-月-日”填写开始日期。", "Enter the first day as year-month-day."),
        ("ends_on", "请按“年-月-日”填写结束日期。", "Enter the last day as year-month-day."),
    ):
        dates[name] = _parse_date(values[name])
        if dates[name] is None:
            errors.append(FieldError(name, "invalid", zh, en))
    delegator, delegate = people["delegator"], people["delegate"]
    starts_on, ends_on = dates["starts_on"], dates["ends_on"]
    if errors or delegator is None or delegate is None or starts_on is None or ends_on is None:
        return _delegations_page(request, errors, values, status=422)
    try:
        assignment.delegation_create(
            acting_user=user,
            department_code=department_code,
            delegator=delegator,
            delegate=delegate,
            starts_on=starts_on,
            ends_on=ends_on,
            reason=values["reason"],
        )
    except (RuleViolation, FieldErrors) as refused:
        errors = _refusal_errors(refused, {name: name for name in DELEGATION_FIELDS})
        return _delegations_page(request, errors, values, status=_refusal_status(refused))
    messages.success(
        request,
        _("%(delegate)s works the tasks of %(delegator)s from %(start)s to %(end)s.")
        % {
            "delegate": _display(delegate),
            "delegator": _display(delegator),
            "start": starts_on,
            "end": ends_on,
        },
    )
    return redirect("workflow:delegations")


@require_POST
@permission_required(Permission.MANAGE_DEPARTMENT)
def delegation_revoke_view(request: HttpRequest, delegation_id: int) -> HttpResponse:
    user = _user(request)
    delegation = cast(Delegation, _found(lambda: selectors.delegation_for_user(user, delegation_id)))
    try:
        assignment.delegation_revoke(acting_user=user, delegation=delegation)
    except (RuleViolation, FieldErrors) as refused:
        return _delegations_page(request, _refusal_errors(refused, {}), status=_refusal_status(refused))
    messages.success(request, _("Delegation revoked."))
    return redirect("workflow:delegations")
