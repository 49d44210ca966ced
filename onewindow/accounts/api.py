"""Sign-in for API clients (apps, kiosks, integrations) and the caller's own profile.

``POST /api/v1/auth/token`` exchanges a username, password and (staff) TOTP code for a bearer token;
``DELETE /api/v1/auth/token`` revokes the presented token; ``GET /api/v1/me`` describes the caller.
Password checks go through ``django.contrib.auth.authenticate`` so django-axes counts failures and locks
accounts exactly as on the sign-in page (MLPS 2.0 §8.1.4.1 b).
"""

from __future__ import annotations

import contextlib
from typing import cast

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django_otp import verify_token
from ninja import Router, Status

from onewindow.accounts.actions import api_token_issue, api_token_revoke
from onewindow.accounts.api_auth import api_auth, bearer_auth
from onewindow.accounts.lockout import locked_error, login_failures_reset, second_factor_failure_record
from onewindow.accounts.models import User
from onewindow.accounts.schemas import ErrorOut, MeOut, TokenIn, TokenOut
from onewindow.accounts.selectors import (
    Profile,
    confirmed_totp_device,
    needs_second_factor,
    password_expired,
    profile_for_user,
)
from onewindow.core.api_errors import ApiError

auth_router = Router(tags=["auth"])
me_router = Router(tags=["me"])

_ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut}


def _settle_form_body(request: HttpRequest) -> None:
    """Parse (or give up on) ``request.POST`` before django-axes reads it while recording a failure.

    The credentials come from the JSON body; a request whose Content-Type claims a form it is not would
    otherwise make axes' read of ``request.POST`` raise, and a wrong password would answer an HTML 400
    instead of the documented JSON 401. After a failed parse Django leaves ``request.POST`` empty.
    """
    with contextlib.suppress(MultiPartParserError):
        request.POST  # noqa: B018 - the read is the point


def _second_factor_refused(request: HttpRequest, user: User, code: str) -> ApiError:
    if second_factor_failure_record(request, user.get_username(), reason=code):
        return locked_error()
    if code == "otp_required":
        return ApiError(
            401,
            code,
            "工作人员账户须提供动态验证码（otp）。",
            "Staff accounts must give the current TOTP code (otp).",
        )
    return ApiError(401, code, "动态验证码不正确。", "The TOTP code is not correct.")


@auth_router.post(
    "/token",
    auth=None,
    response={200: TokenOut, **_ERRORS},
    summary="Issue a bearer token",
    description=(
        "Exchange `username`, `password` and, for staff accounts, the current 6-digit TOTP code `otp` for a "
        "bearer token valid for `API_TOKEN_TTL_SECONDS`. Errors: 401 `invalid_credentials`, `otp_required`, "
        "`otp_invalid`; 403 `otp_not_enrolled` (enrol on the web first), `password_expired`; 429 "
        "`account_locked` after repeated failures (wrong codes count too)."
    ),
)
def token_create(request: HttpRequest, payload: TokenIn) -> TokenOut:
    _settle_form_body(request)
    found = authenticate(request=request, username=payload.username, password=payload.password)
    if getattr(request, "axes_locked_out", False):
        raise locked_error()
    if found is None:
        raise ApiError(
            401, "invalid_credentials", "用户名或密码不正确。", "The username or password is not correct."
        )
    user = found
    if needs_second_factor(user):
        device = confirmed_totp_device(user)
        if device is None:
            raise ApiError(
                403,
                "otp_not_enrolled",
                "该工作人员账户尚未绑定动态验证码设备，请先在网页上完成绑定。",
                "This staff account has no TOTP device yet; enrol one on the web first.",
            )
        code = "".join((payload.otp or "").split())
        if not code:
            raise _second_factor_refused(request, user, "otp_required")
        if verify_token(user, device.persistent_id, code) is None:
            raise _second_factor_refused(request, user, "otp_invalid")
        if password_expired(user):
            raise ApiError(
                403,
                "password_expired",
                "密码已过期，请先在网页上修改密码。",
                "The password has expired; change it on the web first.",
            )
    issued = api_token_issue(user=user)
    login_failures_reset(user.get_username())
    return TokenOut(token=issued.token, expires_at=issued.expires_at)


@auth_router.delete(
    "/token",
    auth=bearer_auth,
    response={204: None, 401: ErrorOut},
    summary="Revoke the presented bearer token",
)
def token_revoke(request: HttpRequest) -> Status[None]:
    api_token_revoke(token=request.api_token, acting_user=cast(User, request.auth))  # type: ignore[attr-defined]
    return Status(204, None)


@me_router.get(
    "/me", auth=api_auth, response={200: MeOut, 401: ErrorOut}, summary="The caller's account and roles"
)
def me(request: HttpRequest) -> Profile:
    return profile_for_user(cast(User, request.auth))  # type: ignore[attr-defined]
