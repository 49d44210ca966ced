"""Reads about organisations, each with its access rule.

Divisions and active service points are public (people look for the nearest hall); the department
directory is for signed-in users; administration pages need ``MANAGE_SYSTEM``; a department's staff list
is for system administrators and that department's administrators.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, QuerySet
from django.http import Http404

from onewindow.accounts.models import Membership, User
from onewindow.accounts.permissions import (
    permission_denied,
    require_permission,
    user_has_permission,
    user_roles,
)
from onewindow.accounts.roles import ROLE_PERMISSIONS, Permission
from onewindow.organisations.models import Department, Division, ServicePoint, ServicePointKind


def _signed_in(user: User | AnonymousUser, *, object_type: str) -> User:
    if isinstance(user, User) and user.is_authenticated and user.is_active:
        return user
    raise permission_denied(user, "signed_in", object_type=object_type)


# --- Divisions (public) -------------------------------------------------------------------------------


def division_by_code(code: str) -> Division:
    division = Division.objects.select_related("parent").filter(code=code).first()
    if division is None:
        raise Http404(code)
    return division


def division_children(parent: Division | None) -> QuerySet[Division]:
    """The divisions directly under ``parent`` (provinces when None), each with ``children_count``."""
    divisions = (
        Division.objects.filter(parent=parent) if parent else Division.objects.filter(parent__isnull=True)
    )
    return divisions.select_related("parent").annotate(children_count=Count("children")).order_by("code")


def division_ancestors(division: Division) -> list[Division]:
    """From the province down to ``division``'s parent (at most four queries: there are five levels)."""
    chain: list[Division] = []
    current = division.parent
    while current is not None:
        chain.append(current)
        current = current.parent
    return chain[::-1]


def division_prefix(code: str) -> str:
    """The code prefix shared by a division and everything under it (350000 → 35, 350100 → 3501)."""
    if len(code) == 12:  # township/village statistical code
        return code[:9] if code.endswith("000") else code
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


# --- Departments ---------------------------------------------------------------------------------------


def departments_for_user(user: User | AnonymousUser) -> QuerySet[Department]:
    """The department directory: any signed-in user sees active departments; system administrators all."""
    viewer = _signed_in(user, object_type="department")
    departments = Department.objects.select_related("division", "parent").order_by("code")
    if user_has_permission(viewer, Permission.MANAGE_SYSTEM):
        return departments
    return departments.filter(is_active=True)


def department_for_user(user: User | AnonymousUser, code: str) -> Department:
    department = departments_for_user(user).filter(code=code).first()
    if department is None:
        raise Http404(code)
    return department


def departments_for_admin(user: User | AnonymousUser) -> QuerySet[Department]:
    require_permission(user, Permission.MANAGE_SYSTEM, object_type="department")
    return (
        Department.objects.select_related("division", "parent")
        .annotate(membership_count=Count("memberships"))
        .order_by("code")
    )


def department_for_admin(user: User | AnonymousUser, code: str) -> Department:
    require_permission(user, Permission.MANAGE_SYSTEM, object_type="department", object_id=code)
    department = Department.objects.select_related("division", "parent").filter(code=code).first()
    if department is None:
        raise Http404(code)
    return department


def departments_staffed_by(user: User | AnonymousUser) -> QuerySet[Department]:
    """Departments whose staff list ``user`` may manage (all of them for system administrators)."""
    if user_has_permission(user, Permission.MANAGE_SYSTEM):
        return Department.objects.order_by("code")
    codes = {
        grant.department_code
        for grant in user_roles(user)
        if Permission.MANAGE_DEPARTMENT in ROLE_PERMISSIONS[grant.role]
    }
    if None in codes:  # held platform-wide: every department (user_has_permission reads it the same way)
        return Department.objects.order_by("code")
    return Department.objects.filter(code__in=codes).order_by("code")


def department_for_staff_management(user: User | AnonymousUser, code: str) -> Department:
    """A department whose memberships ``user`` may see and change: system admins, or its own admins."""
    if not user_has_permission(user, Permission.MANAGE_SYSTEM):
        require_permission(
            user, Permission.MANAGE_DEPARTMENT, department_code=code, object_type="department", object_id=code
        )
    department = Department.objects.filter(code=code).first()
    if department is None:
        raise Http404(code)
    return department


def department_by_code(code: str) -> Department | None:
    """For actions' callers that resolve a code typed by an authorised user."""
    return Department.objects.filter(code=code.strip().upper()).first()


# --- Service points --------------------------------------------------------------------------------------


def service_points_public(
    *, division_code: str | None = None, kind: str | None = None
) -> QuerySet[ServicePoint]:
    """Open service points, optionally of a kind and under a division (it and everything below it)."""
    points = ServicePoint.objects.filter(is_active=True).select_related("division").order_by("code")
    if division_code:
        points = points.filter(division__code__startswith=division_prefix(division_code))
    if kind:
        points = points.filter(kind=kind) if kind in ServicePointKind.values else points.none()
    return points


def service_points_for_admin(user: User | AnonymousUser) -> QuerySet[ServicePoint]:
    require_permission(user, Permission.MANAGE_SYSTEM, object_type="service_point")
    return ServicePoint.objects.select_related("division").order_by("code")


def service_point_for_admin(user: User | AnonymousUser, code: str) -> ServicePoint:
    require_permission(user, Permission.MANAGE_SYSTEM, object_type="service_point", object_id=code)
    point = ServicePoint.objects.select_related("division").filter(code=code).first()
    if point is None:
        raise Http404(code)
    return point


def service_point_by_code(code: str) -> ServicePoint | None:
    return ServicePoint.objects.filter(code=code.strip().upper()).first()


# --- Memberships ------------------------------------------------------------------------------------------


def memberships_of_department(user: User | AnonymousUser, department: Department) -> QuerySet[Membership]:
    department_for_staff_management(user, department.code)
    return (
        Membership.objects.filter(department=department)
        .select_related("user", "department", "service_point")
        .order_by("role", "user__username")
    )


def membership_for_user(user: User | AnonymousUser, membership_id: int) -> Membership:
    """A membership the caller may revoke (the action checks the exact rule again)."""
    viewer = _signed_in(user, object_type="membership")
    membership = (
        Membership.objects.select_related("user", "department", "service_point")
        .filter(pk=membership_id)
        .first()
    )
    if membership is None:
        raise Http404(str(membership_id))
    if user_has_permission(viewer, Permission.MANAGE_SYSTEM):
        return membership
    department_code = membership.department.code if membership.department else None
    if department_code is None or not user_has_permission(
        viewer, Permission.MANAGE_DEPARTMENT, department_code=department_code
    ):
        raise permission_denied(
            viewer, Permission.MANAGE_DEPARTMENT, object_type="membership", object_id=str(membership_id)
        )
    return membership


def staff_account_by_username(username: str) -> User | None:
    """The account a membership is granted to (any kind: the action refuses non-staff, saying why)."""
    return User.objects.filter(username=username.strip()).first()
