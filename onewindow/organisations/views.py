"""Administration pages for divisions, departments, service points and department staff.

Thin: parse the form, call the selector or action, render. Access is checked by the decorators and again by
the selectors and actions, which audit every refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, permission_required, user_has_permission
from onewindow.accounts.roles import Permission, Role
from onewindow.core.validators import may_hold_townships
from onewindow.organisations import actions, selectors
from onewindow.organisations.errors import RuleViolation
from onewindow.organisations.forms import (
    DepartmentForm,
    DivisionForm,
    GovukForm,
    MembershipGrantForm,
    ServicePointForm,
)
from onewindow.organisations.models import Department, Division, DivisionLevel, ServicePoint

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def _takes_added_children(division: Division) -> bool:
    """Only townships and villages are added by hand: under counties (and cities without counties, such as
    Dongguan) and under townships."""
    if division.level == DivisionLevel.TOWNSHIP:
        return True
    return len(division.code) == 6 and may_hold_townships(division.code)


def signed_in(view: ViewFunc) -> ViewFunc:
    """Anonymous users go to the sign-in page; the view checks the rest."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return cast(ViewFunc, wrapped)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _render_form(request: HttpRequest, template: str, form: GovukForm, **context: Any) -> HttpResponse:
    form.mark_errors()
    return render(request, template, {"form": form, **context})


# --- Index ----------------------------------------------------------------------------------------------


@require_safe
@signed_in
def admin_index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    manages_system = user_has_permission(user, Permission.MANAGE_SYSTEM)
    if not manages_system and not user_has_permission(user, Permission.MANAGE_DEPARTMENT):
        raise permission_denied(user, Permission.MANAGE_SYSTEM, object_type="organisations")
    return render(
        request,
        "organisations/index.html",
        {"manages_system": manages_system, "departments": selectors.departments_staffed_by(user)},
    )


# --- Departments ------------------------------------------------------------------------------------------


@require_safe
@permission_required(Permission.MANAGE_SYSTEM)
def department_list(request: HttpRequest) -> HttpResponse:
    departments = selectors.departments_for_admin(request.user)
    return render(request, "organisations/department_list.html", {"departments": departments})


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_SYSTEM)
def department_create(request: HttpRequest) -> HttpResponse:
    parents = selectors.departments_for_admin(request.user)
    form = DepartmentForm(request.POST or None, parents=parents)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            department = actions.department_create(
                code=data["code"],
                name=data["name"],
                name_en=data["name_en"],
                credit_code=data["credit_code"],
                division_code=data["division_code"],
                parent_code=data["parent_code"] or None,
                acting_user=_user(request),
            )
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(request, _("Department %(code)s created.") % {"code": department.code})
            return redirect("organisations:department_list")
    return _render_form(request, "organisations/department_form.html", form, department=None)


def _department_initial(department: Department) -> dict[str, Any]:
    return {
        "code": department.code,
        "name": department.name,
        "name_en": department.name_en,
        "credit_code": department.credit_code,
        "division_code": department.division.code,
        "parent_code": department.parent.code if department.parent else "",
        "is_active": department.is_active,
    }


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_SYSTEM)
def department_edit(request: HttpRequest, code: str) -> HttpResponse:
    department = selectors.department_for_admin(request.user, code)
    parents = selectors.departments_for_admin(request.user).exclude(pk=department.pk)
    form = DepartmentForm(
        request.POST or None, initial=_department_initial(department), parents=parents, editing=True
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.department_update(
                department=department,
                name=data["name"],
                name_en=data["name_en"],
                credit_code=data["credit_code"],
                division_code=data["division_code"],
                parent_code=data["parent_code"] or None,
                is_active=data["is_active"],
                acting_user=_user(request),
            )
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(request, _("Department %(code)s saved.") % {"code": department.code})
            return redirect("organisations:department_list")
    return _render_form(request, "organisations/department_form.html", form, department=department)


# --- Department staff ----------------------------------------------------------------------------------


def _grantable_roles(user: User) -> list[Role]:
    if user_has_permission(user, Permission.MANAGE_SYSTEM):
        return [Role.DEPARTMENT_HANDLER, Role.DEPARTMENT_ADMIN, Role.LEADER]
    return [Role.DEPARTMENT_HANDLER]


@require_http_methods(["GET", "POST"])
@signed_in
def department_memberships(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    department = selectors.department_for_staff_management(user, code)
    form = MembershipGrantForm(request.POST or None, roles=_grantable_roles(user))
    if request.method == "POST" and form.is_valid():
        account = selectors.staff_account_by_username(form.cleaned_data["username"])
        if account is None:
            form.add_violation(
                RuleViolation(
                    "membership_user_not_found",
                    f"账户 {form.cleaned_data['username']} 不存在。",
                    f"There is no account {form.cleaned_data['username']}.",
                    field="username",
                )
            )
        else:
            valid_from, valid_until = form.validity()
            try:
                actions.membership_grant(
                    user=account,
                    role=form.cleaned_data["role"],
                    department=department,
                    valid_from=valid_from,
                    valid_until=valid_until,
                    acting_user=user,
                )
            except RuleViolation as error:
                form.add_violation(error)
            else:
                messages.success(
                    request,
                    _("%(username)s can now act in this department.") % {"username": account.username},
                )
                return redirect("organisations:department_memberships", code=department.code)
    return _render_form(
        request,
        "organisations/department_memberships.html",
        form,
        department=department,
        memberships=selectors.memberships_of_department(user, department),
    )


@require_http_methods(["GET", "POST"])
@signed_in
def membership_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    membership = selectors.membership_for_user(user, pk)
    back = (
        redirect("organisations:department_memberships", code=membership.department.code)
        if membership.department
        else redirect("organisations:admin_index")
    )
    error: RuleViolation | None = None
    if request.method == "POST":
        try:
            actions.membership_revoke(membership=membership, acting_user=user)
        except RuleViolation as refused:
            error = refused
        else:
            messages.success(request, _("The role was revoked."))
            return back
    return render(
        request,
        "organisations/membership_revoke.html",
        {"membership": membership, "error": error, "back_url": back.url},
        status=409 if error else 200,
    )


# --- Service points --------------------------------------------------------------------------------------


@require_safe
@permission_required(Permission.MANAGE_SYSTEM)
def service_point_list(request: HttpRequest) -> HttpResponse:
    points = selectors.service_points_for_admin(request.user)
    return render(request, "organisations/service_point_list.html", {"service_points": points})


def _service_point_details(data: dict[str, Any]) -> actions.ServicePointDetails:
    return actions.ServicePointDetails(
        name=data["name"],
        kind=data["kind"],
        division_code=data["division_code"],
        address=data["address"],
        opening_hours=data["opening_hours"],
        phone=data["phone"],
    )


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_SYSTEM)
def service_point_create(request: HttpRequest) -> HttpResponse:
    form = ServicePointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            point = actions.service_point_create(
                code=form.cleaned_data["code"],
                details=_service_point_details(form.cleaned_data),
                acting_user=_user(request),
            )
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(request, _("Service point %(code)s created.") % {"code": point.code})
            return redirect("organisations:service_point_list")
    return _render_form(request, "organisations/service_point_form.html", form, service_point=None)


def _service_point_initial(point: ServicePoint) -> dict[str, Any]:
    return {
        "code": point.code,
        "name": point.name,
        "kind": point.kind,
        "division_code": point.division.code,
        "address": point.address,
        "opening_hours": point.opening_hours,
        "phone": point.phone,
        "is_active": point.is_active,
    }


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_SYSTEM)
def service_point_edit(request: HttpRequest, code: str) -> HttpResponse:
    point = selectors.service_point_for_admin(request.user, code)
    form = ServicePointForm(request.POST or None, initial=_service_point_initial(point), editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            actions.service_point_update(
                service_point=point,
                details=_service_point_details(form.cleaned_data),
                is_active=form.cleaned_data["is_active"],
                acting_user=_user(request),
            )
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(request, _("Service point %(code)s saved.") % {"code": point.code})
            return redirect("organisations:service_point_list")
    return _render_form(request, "organisations/service_point_form.html", form, service_point=point)


# --- Divisions --------------------------------------------------------------------------------------------


@require_safe
@permission_required(Permission.MANAGE_SYSTEM)
def division_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "organisations/division_list.html",
        {"division": None, "ancestors": [], "children": selectors.division_children(None), "can_add": False},
    )


@require_safe
@permission_required(Permission.MANAGE_SYSTEM)
def division_detail(request: HttpRequest, code: str) -> HttpResponse:
    division = selectors.division_by_code(code)
    return render(
        request,
        "organisations/division_list.html",
        {
            "division": division,
            "ancestors": selectors.division_ancestors(division),
            "children": selectors.division_children(division),
            "can_add": _takes_added_children(division),
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_SYSTEM)
def division_create(request: HttpRequest, code: str) -> HttpResponse:
    parent = selectors.division_by_code(code)
    if not _takes_added_children(parent):
        return redirect("organisations:division_detail", code=parent.code)
    form = DivisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            division = actions.division_create(
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"],
                parent_code=parent.code,
                acting_user=_user(request),
            )
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(request, _("%(name)s added.") % {"name": str(division)})
            return redirect("organisations:division_detail", code=parent.code)
    return _render_form(
        request,
        "organisations/division_form.html",
        form,
        parent=parent,
        ancestors=[*selectors.division_ancestors(parent), parent],
    )
