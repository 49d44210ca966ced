"""Pages of the service catalog: public service guides (办事指南) and search, and the department
administrators' catalog management.

Thin: parse the form, call the selector or action, render. Public pages need no sign-in. Management
pages send anonymous visitors to sign in; the selectors and actions check the department and audit every
refusal.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from onewindow.accounts.models import User
from onewindow.accounts.permissions import require_permission, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.services import actions, selectors
from onewindow.services.forms import (
    GovukForm,
    ServiceCreateForm,
    ServiceSearchForm,
    VersionForm,
    version_initial,
)
from onewindow.services.models import Service, ServiceKind, ServiceVersion

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


# --- Public ---------------------------------------------------------------------------------------------


@require_safe
def catalogue(request: HttpRequest) -> HttpResponse:
    """Search and browse published services (by life event, audience and department)."""
    form = ServiceSearchForm(request.GET or None)
    filters: dict[str, str] = {}
    if form.is_valid():
        filters = {key: value for key, value in form.cleaned_data.items() if value}
    searched = bool(filters)
    services = (
        selectors.published_services(
            audience=filters.get("audience"),
            department_code=filters.get("department"),
            query=filters.get("q"),
            life_event=filters.get("life_event"),
        )
        if searched
        else []
    )
    departments = selectors.departments_with_services()
    life_events = selectors.life_events_with_services()
    context = {
        "form": form,
        "searched": searched,
        "services": services,
        "life_events": life_events,
        "departments": departments,
        "query": filters.get("q", ""),
        "filter_department": next((d for d in departments if d.code == filters.get("department")), None),
        "filter_life_event": next((e for e in life_events if e.code == filters.get("life_event")), None),
        "filter_audience": filters.get("audience", ""),
    }
    return render(request, "services/catalogue.html", context)


@require_safe
def guide(request: HttpRequest, code: str) -> HttpResponse:
    """The service guide (办事指南) of a published item or bundle."""
    service, version = selectors.published_service(code)
    user = request.user if isinstance(request.user, User) else None
    context = {
        "service": service,
        "version": version,
        "materials": selectors.materials_for_applicant(version, user),
        "components": selectors.version_components(version),
        "signed_in_applicant": user is not None and user_has_permission(user, Permission.APPLY),
        "apply_url": f"/applications/new/{service.code}/",
    }
    return render(request, "services/guide.html", context)


# --- Department administrators --------------------------------------------------------------------------


def signed_in_manager(view: ViewFunc) -> ViewFunc:
    """Anonymous visitors go to sign in; others need MANAGE_DEPARTMENT (refusal audited); the selectors
    then check the department of the service itself."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        require_permission(request.user, Permission.MANAGE_DEPARTMENT, object_type="service")
        return view(request, *args, **kwargs)

    return cast(ViewFunc, wrapped)


def _render_form(request: HttpRequest, template: str, form: GovukForm, **context: Any) -> HttpResponse:
    form.mark_errors()
    return render(request, template, {"form": form, **context})


@require_safe
@signed_in_manager
def admin_index(request: HttpRequest) -> HttpResponse:
    services = selectors.services_for_admin(_user(request))
    return render(request, "services/admin_index.html", {"services": services})


@require_http_methods(["GET", "POST"])
@signed_in_manager
def admin_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    departments = [(d.code, f"{d.code} {d.name}") for d in selectors.admin_departments(user)]
    form = ServiceCreateForm(request.POST or None, departments=departments)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            version = actions.service_create(
                acting_user=user,
                code=data["code"],
                kind=data["kind"],
                department_code=data["department_code"],
                name=data["name"],
                name_en=data["name_en"],
            )
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(
                request, _("Service %(code)s created as a draft.") % {"code": version.service.code}
            )
            return redirect("services_admin:draft", code=version.service.code)
    return _render_form(request, "services/admin_create.html", form)


@require_safe
@signed_in_manager
def admin_service(request: HttpRequest, code: str) -> HttpResponse:
    service = selectors.service_for_admin(_user(request), code)
    versions = selectors.service_versions(service)
    return render(
        request,
        "services/admin_service.html",
        {"service": service, "versions": versions, "draft": selectors.service_draft(service)},
    )


@require_POST
@signed_in_manager
def admin_draft_new(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    service = selectors.service_for_admin(user, code)
    try:
        actions.service_version_draft(acting_user=user, service=service)
    except RuleViolation as error:
        messages.error(
            request, error.message_en if request.LANGUAGE_CODE.startswith("en") else error.message_zh
        )
    return redirect("services_admin:draft", code=service.code)


def _draft_form(service: Service, draft: ServiceVersion, data: Any) -> VersionForm:
    components = [item.service.code for item in selectors.version_components(draft)]
    return VersionForm(
        data, initial=version_initial(draft, components), is_bundle=service.kind == ServiceKind.BUNDLE
    )


@require_http_methods(["GET", "POST"])
@signed_in_manager
def admin_draft(request: HttpRequest, code: str) -> HttpResponse:
    """Edit the draft; "Save and publish" also publishes it, showing every problem that stops it."""
    user = _user(request)
    service = selectors.service_for_admin(user, code)
    draft = selectors.service_draft(service)
    if draft is None:
        return redirect("services_admin:service", code=service.code)
    form = _draft_form(service, draft, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        item_codes = data.pop("item_codes", None)
        try:
            draft = actions.service_version_update(acting_user=user, version=draft, **data)
            if service.kind == ServiceKind.BUNDLE and item_codes:
                draft = actions.bundle_components_set(acting_user=user, version=draft, item_codes=item_codes)
            if "publish" in request.POST:
                actions.service_version_publish(acting_user=user, version=draft)
                messages.success(request, _("Version %(number)s is published.") % {"number": draft.number})
                return redirect("services_admin:service", code=service.code)
        except RuleViolation as error:
            form.add_violation(error)
        except FieldErrors as errors:
            form.add_field_errors(errors.errors)
        else:
            messages.success(request, _("Draft saved."))
            return redirect("services_admin:draft", code=service.code)
    return _render_form(request, "services/admin_draft.html", form, service=service, draft=draft)


@require_safe
@signed_in_manager
def admin_version(request: HttpRequest, code: str, number: int) -> HttpResponse:
    version = selectors.service_version_for_admin(_user(request), code, number)
    return render(
        request,
        "services/admin_version.html",
        {
            "service": version.service,
            "version": version,
            "components": selectors.version_components(version),
            "materials": version.materials,
            "form_schema_json": json.dumps(version.form_schema, ensure_ascii=False, indent=2),
        },
    )
