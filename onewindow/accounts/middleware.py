"""Staff accounts must pass TOTP two-factor authentication before anything else (MLPS 2.0 §8.1.4.1 c).

A signed-in staff session that has not passed the code step reaches only the code, enrolment and sign-out
pages and the paths that do their own authentication or none (static files, probes, metrics, language
switch, the API). Staff whose password is older than ``PASSWORD_MAX_AGE_DAYS`` are sent to change it first
(MLPS 2.0 §8.1.4.1 a: passwords changed periodically).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from onewindow.accounts.models import User
from onewindow.accounts.selectors import (
    confirmed_totp_device,
    needs_second_factor,
    password_expired,
    session_is_verified,
)

# /display/ is the large-text toggle: older users must be able to enlarge the text of the TOTP step too.
_ALWAYS_OPEN_PREFIXES = ("/healthz", "/readyz", "/metrics", "/i18n/", "/display/", "/api/", "/favicon.ico")


class StaffTwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @cached_property
    def _open_prefixes(self) -> tuple[str, ...]:
        # Resolved lazily: the URLconf is not loaded yet when middleware is instantiated.
        return (*_ALWAYS_OPEN_PREFIXES, settings.STATIC_URL or "/static/")

    @cached_property
    def _second_step_paths(self) -> frozenset[str]:
        return frozenset(
            reverse(name)
            for name in ("accounts:otp", "accounts:otp_enrol", "accounts:logout", "accounts:locked")
        )

    @cached_property
    def _password_path(self) -> str:
        return reverse("accounts:password")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is None
            or not user.is_authenticated
            or not needs_second_factor(user)
            or request.path.startswith(self._open_prefixes)
            or request.path in self._second_step_paths
        ):
            return self.get_response(request)
        staff = cast(User, user)
        if not session_is_verified(staff):
            step = "accounts:otp" if confirmed_totp_device(staff) else "accounts:otp_enrol"
            return self._redirect(request, reverse(step))
        if request.path != self._password_path and password_expired(staff):
            return self._redirect(request, self._password_path)
        return self.get_response(request)

    @staticmethod
    def _redirect(request: HttpRequest, target: str) -> HttpResponse:
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return HttpResponseRedirect(target)
