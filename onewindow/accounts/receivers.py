"""Audit records for authentication events (MLPS 2.0 §8.1.4.3 a: audit every user's security events).

Django and django-axes announce these events as signals; the receivers only write audit records and count
metrics. Passwords and codes never reach the records: Django masks secrets in ``credentials`` and only the
username is read from it.
"""

from __future__ import annotations

from typing import Any

from axes.helpers import get_failure_limit
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from onewindow.accounts.lockout import FACTOR_OTP, lockout_minutes
from onewindow.accounts.models import User
from onewindow.audit.actions import audit_append
from onewindow.audit.models import Outcome
from onewindow.core import metrics


def _failures(request: HttpRequest | None) -> int | None:
    value = getattr(request, "axes_failures_since_start", None)
    return value if isinstance(value, int) else None


def _limit(request: HttpRequest | None, username: str) -> int:
    return int(get_failure_limit(request, {"username": username}))


@receiver(user_logged_in, dispatch_uid="onewindow_audit_login")
def audit_login(sender: object, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    # django_otp's own receiver (connected earlier) has already bound ``otp_device`` when both factors passed.
    second_factor = "totp" if getattr(user, "otp_device", None) is not None else ""
    audit_append(
        action="auth.login",
        acting_user=user,
        object_type="user",
        object_id=user.pk,
        details={"second_factor": second_factor},
    )
    metrics.LOGIN_EVENTS.labels(event="login").inc()


@receiver(user_logged_out, dispatch_uid="onewindow_audit_logout")
def audit_logout(sender: object, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is None:  # the session had already expired
        return
    audit_append(action="auth.logout", acting_user=user, object_type="user", object_id=user.pk)
    metrics.LOGIN_EVENTS.labels(event="logout").inc()


@receiver(user_login_failed, dispatch_uid="onewindow_audit_login_failed")
def audit_login_failed(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username") or "")[:150]
    factor = kwargs.get("factor", "password")
    failures = _failures(request)
    # Axes counts the failure before this receiver runs (it connected first); past the limit, the account
    # was already locked and the credentials were not even checked.
    already_locked = failures is not None and failures > _limit(request, username)
    if already_locked:
        reason = "account_locked"
    elif factor == FACTOR_OTP:
        reason = str(kwargs.get("reason", "otp_invalid"))
    else:
        reason = "invalid_credentials"
    audit_append(
        action="auth.otp_failed" if factor == FACTOR_OTP else "auth.login_failed",
        acting_user=None,
        actor_username=username,
        outcome=Outcome.DENIED if already_locked else Outcome.FAILURE,
        object_type="user",
        object_id=username,
        details={"reason": reason, "failures": failures},
    )
    metrics.LOGIN_EVENTS.labels(event="otp_failed" if factor == FACTOR_OTP else "login_failed").inc()


@receiver(user_locked_out, dispatch_uid="onewindow_audit_locked_out")
def audit_locked_out(
    sender: object, request: HttpRequest | None, username: str | None, **kwargs: Any
) -> None:
    name = str(username or "")[:150]
    failures = _failures(request)
    if failures is not None and failures > _limit(request, name):
        return  # an attempt during the lockout: recorded as a refused login, not as a new lockout
    audit_append(
        action="auth.locked_out",
        acting_user=None,
        actor_username=name,
        outcome=Outcome.DENIED,
        object_type="user",
        object_id=name,
        details={"failures": failures, "lockout_minutes": lockout_minutes()},
    )
    metrics.LOGIN_EVENTS.labels(event="locked_out").inc()
