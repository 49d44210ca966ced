"""Who may do what. Views, API endpoints and selectors ask here; a refusal is audited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from onewindow.accounts.models import Membership, User
from onewindow.accounts.roles import ROLE_PERMISSIONS, Kind, Permission, Role


@dataclass(frozen=True)
class RoleGrant:
    role: Role
    department_code: str | None


def active_memberships(user: User) -> list[Membership]:
    now = timezone.now()
    return list(
        Membership.objects.filter(user=user)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=now))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .select_related("department")
    )


def user_roles(user: User | AnonymousUser) -> list[RoleGrant]:
    """The roles a user holds now: from the account's kind, and from active staff memberships."""
    if not isinstance(user, User) or not user.is_authenticated or not user.is_active:
        return []
    cached: list[RoleGrant] | None = getattr(user, "_onewindow_roles", None)
    if cached is not None:
        return cached
    grants: list[RoleGrant] = []
    if user.kind == Kind.RESIDENT:
        grants.append(RoleGrant(Role.RESIDENT, None))
    elif user.kind == Kind.ENTERPRISE:
        grants.append(RoleGrant(Role.ENTERPRISE_REPRESENTATIVE, None))
    else:
        grants.extend(
            RoleGrant(Role(membership.role), membership.department.code if membership.department else None)
            for membership in active_memberships(user)
        )
    user._onewindow_roles = grants  # type: ignore[attr-defined]
    return grants


def user_has_permission(
    user: User | AnonymousUser, permission: Permission, *, department_code: str | None = None
) -> bool:
    """True if one of the user's roles grants ``permission`` (in ``department_code``, when given).

    A role held platform-wide (no department) does not grant a department-scoped permission for a
    specific department unless the role is not a department role.
    """
    for grant in user_roles(user):
        if permission not in ROLE_PERMISSIONS[grant.role]:
            continue
        if department_code is None or grant.department_code in (None, department_code):
            return True
    return False


def permission_denied(
    user: User | AnonymousUser, permission: Permission | str, *, object_type: str = "", object_id: str = ""
) -> PermissionDenied:
    """Audit a refusal (in its own transaction) and return the exception to raise."""
    from onewindow.audit.actions import audit_append

    audit_append(
        action="permission.denied",
        acting_user=user if isinstance(user, User) else None,
        outcome="denied",
        object_type=object_type,
        object_id=object_id,
        details={"permission": str(permission)},
    )
    return PermissionDenied(str(permission))


def require_permission(
    user: User | AnonymousUser,
    permission: Permission,
    *,
    department_code: str | None = None,
    object_type: str = "",
    object_id: str = "",
) -> User:
    """Return the user if they hold ``permission``; otherwise audit the refusal and raise PermissionDenied."""
    if isinstance(user, User) and user_has_permission(user, permission, department_code=department_code):
        return user
    raise permission_denied(user, permission, object_type=object_type, object_id=object_id)


ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])


def permission_required(permission: Permission) -> Callable[[ViewFunc], ViewFunc]:
    """View decorator: anonymous users go to the login page; signed-in users lacking it get 403."""

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            require_permission(request.user, permission)
            return view(request, *args, **kwargs)

        return cast(ViewFunc, wrapped)

    return decorator
