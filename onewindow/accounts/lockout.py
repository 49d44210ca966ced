"""Account lockout after repeated failed sign-ins (MLPS 2.0 §8.1.4.1 b), on top of django-axes.

Axes counts password failures itself (its authentication backend and ``user_login_failed`` receiver). A wrong
second factor is reported the same way, through Django's ``user_login_failed`` signal with
``factor="otp"``, so password and code failures share one counter per account.
"""

from __future__ import annotations

import math
from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest

from onewindow.core.api_errors import ApiError

# Sent as the ``factor`` argument of ``user_login_failed`` when a TOTP code was wrong or missing.
FACTOR_OTP = "otp"


def lockout_duration() -> timedelta:
    duration = get_cool_off()
    return duration if isinstance(duration, timedelta) else timedelta(minutes=30)


def lockout_minutes() -> int:
    return max(1, math.ceil(lockout_duration().total_seconds() / 60))


def username_is_locked(request: HttpRequest, username: str) -> bool:
    return bool(AxesProxyHandler.is_locked(request, {"username": username}))


def second_factor_failure_record(request: HttpRequest, username: str, *, reason: str) -> bool:
    """Count a wrong or missing TOTP code toward the account's lockout; True if the account is now locked."""
    user_login_failed.send(
        sender=__name__, credentials={"username": username}, request=request, factor=FACTOR_OTP, reason=reason
    )
    return bool(getattr(request, "axes_locked_out", False))


def login_failures_reset(username: str) -> None:
    """Forget earlier failures once every factor has succeeded (sign-in through the API)."""
    AxesProxyHandler.reset_attempts(username=username)


def locked_error() -> ApiError:
    minutes = lockout_minutes()
    return ApiError(
        429,
        "account_locked",
        f"账户因多次登录失败已被锁定，请 {minutes} 分钟后再试或联系安全管理员。",
        f"Account locked after repeated failed sign-ins; try again in {minutes} minutes "
        "or contact the security officer.",
    )
