"""Reads about accounts: two-factor devices, password age, the caller's profile, locked accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from onewindow.accounts.models import User
from onewindow.accounts.permissions import require_permission, user_roles
from onewindow.accounts.roles import Kind, Permission


def confirmed_totp_device(user: User) -> TOTPDevice | None:
    """The user's confirmed TOTP device (the oldest, when several), or None."""
    device: TOTPDevice | None = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    return device


def unconfirmed_totp_device(user: User) -> TOTPDevice | None:
    """The TOTP device being enrolled (created, not yet confirmed with a code), or None."""
    device: TOTPDevice | None = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device


def needs_second_factor(user: User | AnonymousUser) -> bool:
    """Staff accounts must pass TOTP (MLPS 2.0 §8.1.4.1 c: two or more authentication techniques)."""
    return isinstance(user, User) and user.kind == Kind.STAFF


def session_is_verified(user: User | AnonymousUser) -> bool:
    """True when django-otp's middleware marked this request's user as having passed a second factor."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


def password_expired(user: User, *, now: datetime | None = None) -> bool:
    """True when a staff password is older than ``PASSWORD_MAX_AGE_DAYS`` (0 disables the rule).

    Accounts that never changed their password count from the day they joined.
    """
    max_age_days: int = settings.PASSWORD_MAX_AGE_DAYS
    if max_age_days <= 0 or user.kind != Kind.STAFF:
        return False
    changed_at = user.password_changed_at or user.date_joined
    return (now or timezone.now()) - changed_at > timedelta(days=max_age_days)


class RoleOut(TypedDict):
    role: str
    department_code: str | None


class Profile(TypedDict):
    username: str
    kind: str
    display_name: str
    roles: list[RoleOut]


def profile_for_user(user: User) -> Profile:
    """What the caller may know about their own account (``GET /api/v1/me``)."""
    return {
        "username": user.get_username(),
        "kind": str(user.kind),
        "display_name": user.display_name or user.get_username(),
        "roles": [
            {"role": str(grant.role), "department_code": grant.department_code} for grant in user_roles(user)
        ],
    }


@dataclass(frozen=True)
class LockedAccount:
    username: str
    failures: int
    last_failure_at: datetime
    unlocks_at: datetime


def locked_accounts(acting_user: User | AnonymousUser) -> list[LockedAccount]:
    """Accounts locked now by repeated failed sign-ins; only for the security officer."""
    from axes.models import AccessAttempt

    from onewindow.accounts.lockout import lockout_duration

    require_permission(acting_user, Permission.MANAGE_SECURITY, object_type="lockout")
    duration = lockout_duration()
    since = timezone.now() - duration
    rows: dict[str, LockedAccount] = {}
    for attempt in AccessAttempt.objects.filter(attempt_time__gte=since).order_by(
        "username", "-attempt_time"
    ):
        username = attempt.username or ""
        previous = rows.get(username)
        failures = attempt.failures_since_start + (previous.failures if previous else 0)
        last = max(attempt.attempt_time, previous.last_failure_at) if previous else attempt.attempt_time
        rows[username] = LockedAccount(username, failures, last, last + duration)
    limit: int = settings.AXES_FAILURE_LIMIT
    return [row for row in rows.values() if row.failures >= limit]
