"""Pages of sharing requests, grants, data quality, the systems register and catalog supervision.

* ``/catalog/resources/<code>/share/`` — request a resource (the consumer department's administrators);
* ``/catalog/share-requests/`` — the requests one's departments received and made, with their lights;
  ``/catalog/share-requests/<id>/`` — one request, and the provider's answer;
* ``/catalog/grants/`` — grants to and from one's departments; revocation;
* ``/catalog/systems/`` — the information-systems register; approval of planned systems; running the
  exchange's conformance check on a system's endpoint (system administrators);
* ``/catalog/supervision/`` — overdue data updates and sharing requests (linked from supervision).

Thin: read the form, call the selectors and actions (which authorise), render. Refusals of an action are
shown next to their field (bilingual messages from the action).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from onewindow.accounts.models import User
from onewindow.accounts.permissions import user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.catalog import actions_sharing, quality, selectors, selectors_sharing, systems
from onewindow.catalog.models import (
    InformationSystem,
    Resource,
    ResourceVersion,
    ShareRequest,
    ShareRequestStatus,
)
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.forms.render import error_summary, is_english
from onewindow.workflow.supervision import supervision_scope

PAGE_SIZE = 25
LIGHT_TAGS = {"green": "govuk-tag--green", "yellow": "govuk-tag--yellow", "red": "govuk-tag--red"}


def _user(request: HttpRequest) -> User:
    if not isinstance(request.user, User):  # pragma: no cover - login_required comes first
        raise PermissionDenied
    return request.user


def _pick(zh: str, en: str) -> str:
    return en if is_english() and en else zh


def _errors(refused: RuleViolation | FieldErrors) -> list[FieldError]:
    if isinstance(refused, RuleViolation):
        return [FieldError(refused.field or "", str(refused.code), refused.message_zh, refused.message_en)]
    return list(refused.errors)


def _by_field(errors: list[FieldError]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for error in errors:
        if error.field:
            shown.setdefault(error.field.split(".", 1)[0], _pick(error.message_zh, error.message_en))
    return shown


def light_label(light: str) -> str:
    return {"green": _("Green: on time"), "yellow": _("Yellow: due soon"), "red": _("Red: overdue")}[light]


# --- On the resource page ----------------------------------------------------------------------------------


def resource_extras(user: User | None, resource: Resource, version: ResourceVersion) -> dict[str, Any]:
    """What the resource page adds about sharing and data quality (called by ``views.resource_detail``)."""
    measured = quality.resource_quality(resource)
    extras: dict[str, Any] = {"quality": measured, "may_request": False, "share_refusal": ""}
    if user is None:
        return extras
    refusal = actions_sharing.not_shared_refusal(resource, version)
    consumers = [
        department
        for department in selectors_sharing.managed_departments(user)
        if department.pk != resource.provider_id
    ]
    if refusal is not None and selectors.audience_of(user).shared:
        extras["share_refusal"] = _pick(refusal.message_zh, refusal.message_en)
    elif consumers and refusal is None:
        extras["may_request"] = True
    return extras


# --- Requesting --------------------------------------------------------------------------------------------


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def share_request_new(request: HttpRequest, code: str) -> HttpResponse:
    """The form: data items (the shared ones to tick, the others shown with why), purpose, legal basis,
    until, and for an administrator of several departments which one asks."""
    user = _user(request)
    resource = selectors.resource_for_user(user, code)
    version = selectors.resource_version(resource)
    consumers = [d for d in selectors_sharing.managed_departments(user) if d.pk != resource.provider_id]
    if not consumers:
        raise PermissionDenied  # not an administrator of a department that could ask (audited by the POST)
    items, _themes = selectors.version_details(version)
    errors: list[FieldError] = []
    values: dict[str, Any] = {"items": [], "purpose": "", "legal_basis": "", "until": "", "consumer": ""}
    status = 200
    if request.method == "POST":
        values = {
            "items": request.POST.getlist("items"),
            "purpose": request.POST.get("purpose", ""),
            "legal_basis": request.POST.get("legal_basis", ""),
            "until": request.POST.get("until", ""),
            "consumer": request.POST.get("consumer", "") or consumers[0].code,
        }
        until = _parse_date(values["until"])
        try:
            if values["until"] and until is None:
                raise FieldErrors(
                    [
                        FieldError(
                            "until",
                            "until_invalid",
                            "日期格式应为 2027-06-30。",
                            "Enter a date like 2027-06-30.",
                        )
                    ]
                )
            made = actions_sharing.share_request_create(
                acting_user=user,
                resource=resource,
                consumer_department=values["consumer"],
                items=values["items"],
                purpose=values["purpose"],
                legal_basis=values["legal_basis"],
                until=until,
            )
        except (RuleViolation, FieldErrors) as refused:
            errors = _errors(refused)
            status = refused.status if isinstance(refused, RuleViolation) and refused.status == 409 else 422
        else:
            if made.status == ShareRequestStatus.AUTO_APPROVED:
                messages.success(
                    request, _("Granted at once: every item you asked for is shared unconditionally.")
                )
            else:
                messages.success(
                    request,
                    _("Request sent. The provider must answer by %(date)s.") % {"date": made.due_date},
                )
            return redirect("catalog:share_request", request_id=made.pk)
    return render(
        request,
        "catalog/share_request_new.html",
        {
            "resource": resource,
            "version": version,
            "items": items,
            "consumers": consumers,
            "values": values,
            "field_errors": _by_field(errors),
            "error_summary_html": error_summary(errors),
            "basis": version.sharing_condition,
        },
        status=status,
    )


# --- Requests ----------------------------------------------------------------------------------------------


def _request_rows(requests: Any) -> list[dict[str, Any]]:
    return [
        {
            "request": item,
            "name": _pick(item.version.name, item.version.name_en),
            "consumer": _pick(item.consumer.name, item.consumer.name_en),
            "provider": _pick(item.provider.name, item.provider.name_en),
            "status": item.get_status_display(),
            "light": (item.light, LIGHT_TAGS[item.light], light_label(item.light))
            if item.status == ShareRequestStatus.PENDING
            else None,
        }
        for item in requests
    ]


@login_required
@require_safe
def share_request_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    box = request.GET.get("box", "received")
    box = box if box in selectors_sharing.BOXES else "received"
    status = request.GET.get("status", "")
    status = status if status in ShareRequestStatus.values else ""
    requests = selectors_sharing.share_requests_for_user(user, box=box, status=status)
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/share_requests.html",
        {
            "box": box,
            "status": status,
            "rows": _request_rows(page),
            "page": page,
            "statuses": ShareRequestStatus.choices,
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def share_request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    """One request; the provider's administrators answer it here (approve, or refuse with a reason)."""
    user = _user(request)
    found = selectors_sharing.share_request_for_user(user, request_id)
    errors: list[FieldError] = []
    reason = ""
    status = 200
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        approve = request.POST.get("decision") == "approve"
        try:
            actions_sharing.share_request_decide(
                acting_user=user, request=found, approve=approve, reason=reason
            )
        except (RuleViolation, FieldErrors) as refused:
            errors = _errors(refused)
            status = refused.status if isinstance(refused, RuleViolation) and refused.status == 409 else 422
        else:
            messages.success(request, _("Approved: the grant is in force.") if approve else _("Refused."))
            return redirect("catalog:share_request", request_id=found.pk)
    grant = getattr(found, "grant", None) if found.status != ShareRequestStatus.REFUSED else None
    return render(
        request,
        "catalog/share_request.html",
        {
            "row": _request_rows([found])[0],
            "item": found,
            "items": list(found.data_items.order_by("position")),
            "grant": grant,
            "grant_active": selectors_sharing.grant_is_active(grant) if grant else False,
            "may_decide": found.status == ShareRequestStatus.PENDING
            and actions_sharing.may_decide(user, found.provider.code),
            "reason": reason,
            "field_errors": _by_field(errors),
            "error_summary_html": error_summary(errors),
        },
        status=status,
    )


# --- Grants ------------------------------------------------------------------------------------------------


def _grants_page(
    request: HttpRequest, errors: list[FieldError] | None = None, status: int = 200
) -> HttpResponse:
    user = _user(request)
    consumer = request.GET.get("consumer", "").strip()[:20]
    grants = selectors_sharing.grants_for_user(user, consumer=consumer)
    page = Paginator(grants, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "grant": grant,
            "name": _pick(grant.version.name, grant.version.name_en),
            "consumer": _pick(grant.consumer.name, grant.consumer.name_en),
            "provider": _pick(grant.provider.name, grant.provider.name_en),
            "active": selectors_sharing.grant_is_active(grant),
            "may_revoke": grant.status == "active" and actions_sharing.may_revoke(user, grant.provider.code),
        }
        for grant in page
    ]
    errors = errors or []
    return render(
        request,
        "catalog/grants.html",
        {
            "rows": rows,
            "page": page,
            "consumer": consumer,
            "error_summary_html": error_summary(errors),
            "field_errors": _by_field(errors),
        },
        status=status,
    )


@login_required
@require_safe
def grant_list(request: HttpRequest) -> HttpResponse:
    return _grants_page(request)


@login_required
@require_POST
def grant_revoke(request: HttpRequest, grant_id: int) -> HttpResponse:
    user = _user(request)
    grant = selectors_sharing.grant_for_user(user, grant_id)
    try:
        actions_sharing.grant_revoke(acting_user=user, grant=grant, reason=request.POST.get("reason", ""))
    except (RuleViolation, FieldErrors) as refused:
        errors = [FieldError("reason", e.code, e.message_zh, e.message_en) for e in _errors(refused)]
        return _grants_page(request, errors, status=409 if isinstance(refused, RuleViolation) else 422)
    messages.success(request, _("Grant revoked; the consumer department has been told."))
    return redirect("catalog:grants")


# --- Systems register --------------------------------------------------------------------------------------


@login_required
@require_safe
def system_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    department = request.GET.get("department", "").strip()[:20]
    rows = [
        {
            "system": system,
            "name": _pick(system.name, system.name_en),
            "department": _pick(system.department.name, system.department.name_en),
            "provides": list(system.provides.all()),
            "consumes": list(system.consumes.all()),
        }
        for system in systems.systems_for_user(user, department=department)
    ]
    return render(request, "catalog/systems.html", {"rows": rows, "department": department})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def system_detail(request: HttpRequest, system_id: int) -> HttpResponse:
    """One system; a system administrator approves a planned one here (refused with every reason)."""
    user = _user(request)
    system = systems.system_for_user(user, system_id)
    errors: list[FieldError] = []
    status = 200
    if request.method == "POST":
        try:
            systems.system_approve(acting_user=user, system=system)
        except (RuleViolation, FieldErrors) as refused:
            errors = _errors(refused)
            status = 409 if isinstance(refused, RuleViolation) else 422
        else:
            messages.success(request, _("System approved."))
            return redirect("catalog:system", system_id=system.pk)
    return _system_page(request, system, errors, status)


def _system_page(
    request: HttpRequest, system: InformationSystem, errors: list[FieldError], status: int
) -> HttpResponse:
    user = _user(request)
    blockers = systems.approval_blockers(system) if system.approval == "pending" else []
    report = system.conformance_report if isinstance(system.conformance_report, dict) else {}
    checks = report.get("checks")
    return render(
        request,
        "catalog/system.html",
        {
            "system": system,
            "name": _pick(system.name, system.name_en),
            "department": _pick(system.department.name, system.department.name_en),
            "provides": list(system.provides.all()),
            "consumes": list(system.consumes.all()),
            "blockers": [_pick(b.message_zh, b.message_en) for b in blockers],
            "may_approve": system.approval == "pending"
            and user_has_permission(user, Permission.MANAGE_SYSTEM),
            # The exchange's conformance check (docs/exchange.md): run by those the API lets run it.
            "may_run_conformance": user_has_permission(user, Permission.MANAGE_SYSTEM),
            "conformance": report,
            "conformance_checks": checks if isinstance(checks, list) else [],
            "english": is_english(),
            "error_summary_html": error_summary(errors),
        },
        status=status,
    )


@login_required
@require_POST
def system_conformance_run(request: HttpRequest, system_id: int) -> HttpResponse:
    """Run the exchange's conformance check on the system's endpoint and record the result (system
    administrators; the action of ``POST /api/v1/catalog/systems/{id}/conformance/run``), then show it."""
    from onewindow.exchange.conformance import system_conformance_run as run

    user = _user(request)
    system = systems.system_for_user(user, system_id)
    try:
        recorded, report = run(acting_user=user, system=system, timeout=5.0)
    except RuleViolation as refused:  # no endpoint registered
        return _system_page(request, system, _errors(refused), 422)
    if report.passed:
        messages.success(
            request, _("Conformance check passed: every check succeeded and the result is recorded.")
        )
    elif not report.reached:
        messages.error(
            request,
            _(
                "The endpoint %(url)s could not be reached: nothing answered. Check the address registered "
                "for the system and that its adapter is running. The failed result is recorded."
            )
            % {"url": report.url},
        )
    else:
        messages.error(
            request,
            _("Conformance check failed: %(failed)s of %(total)s checks failed. The result is recorded.")
            % {"failed": len(report.failed()), "total": len(report.checks)},
        )
    return redirect("catalog:system", system_id=recorded.pk)


# --- Supervision -------------------------------------------------------------------------------------------


@login_required
@require_safe
def catalog_supervision(request: HttpRequest) -> HttpResponse:
    """Overdue data updates and sharing requests past or near their answer deadline, in the departments
    the user may supervise (leaders and supervisors all; department administrators their own)."""
    user = _user(request)
    scope = supervision_scope(user)
    overdue = list(quality.overdue_resources(scope)[:200])
    pending = ShareRequest.objects.filter(status=ShareRequestStatus.PENDING)
    if scope is not None:
        pending = pending.filter(provider__code__in=scope)
    counts = list(
        pending.values("provider__code", "provider__name", "provider__name_en")
        .annotate(
            green=Count("id", filter=Q(light="green")),
            yellow=Count("id", filter=Q(light="yellow")),
            red=Count("id", filter=Q(light="red")),
        )
        .order_by("provider__code")
    )
    late = list(
        pending.filter(light__in=["yellow", "red"])
        .select_related("version", "consumer", "provider", "resource")
        .order_by("due_date", "id")[:200]
    )
    return render(
        request,
        "catalog/supervision.html",
        {
            "overdue": [
                {
                    "resource": resource,
                    "name": _pick(resource.current_version.name, resource.current_version.name_en)
                    if resource.current_version
                    else resource.code,
                    "provider": _pick(resource.provider.name, resource.provider.name_en),
                    "cycle": resource.current_version.get_update_cycle_display()
                    if resource.current_version
                    else "",
                    "last_update": resource.last_update,  # type: ignore[attr-defined]
                }
                for resource in overdue
            ],
            "counts": [
                {**row, "name": _pick(row["provider__name"], row["provider__name_en"])} for row in counts
            ],
            "late": _request_rows(late),
        },
    )


def supervision_summary(user: User) -> dict[str, int] | None:
    """Counts for the back office's supervision page: overdue updates and red requests (None: not allowed)."""
    try:
        scope = supervision_scope(user)
    except PermissionDenied:
        return None
    pending = ShareRequest.objects.filter(status=ShareRequestStatus.PENDING, light="red")
    if scope is not None:
        pending = pending.filter(provider__code__in=scope)
    return {"overdue_updates": quality.overdue_resources(scope).count(), "red_requests": pending.count()}
