"""The layout's warning about years whose working-day calendar is not loaded (system administrators only)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from onewindow.accounts.models import User
from onewindow.accounts.permissions import user_has_permission
from onewindow.accounts.roles import Kind, Permission
from onewindow.workcalendar.calendar import missing_years


def calendar_warnings(request: HttpRequest) -> dict[str, Any]:
    """``calendar_missing_years``: this year and next if not loaded, for holders of MANAGE_SYSTEM only.

    Anonymous visitors cost no query; a staff session counts only after its TOTP step.
    """
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {"calendar_missing_years": []}
    if user.kind == Kind.STAFF and not (hasattr(user, "is_verified") and user.is_verified()):
        return {"calendar_missing_years": []}
    if not user_has_permission(user, Permission.MANAGE_SYSTEM):
        return {"calendar_missing_years": []}
    return {"calendar_missing_years": missing_years()}
