"""Sign-in, sign-out, two-factor enrolment and verification, password change, lockout pages.

Staff sign in in two steps (MLPS 2.0 §8.1.4.1 c, two authentication techniques, one of them cryptographic):
after the password the account is only *pending* in the session (not signed in), and becomes signed in once
a TOTP code is verified. So the lockout counter is only reset after both factors, and password-only access
never yields a session.
"""

from __future__ import annotations

import base64
import time
from typing import Any, cast

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, update_session_auth_hash
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import verify_token
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from onewindow.accounts.actions import (
    password_change,
    totp_device_confirm,
    totp_device_start,
    totp_devices_reset,
    user_unlock,
)
from onewindow.accounts.forms import LoginForm, OtpForm, PasswordChangeForm, UnlockForm
from onewindow.accounts.lockout import (
    locked_error,
    lockout_minutes,
    second_factor_failure_record,
    username_is_locked,
)
from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_required
from onewindow.accounts.roles import Permission
from onewindow.accounts.selectors import (
    confirmed_totp_device,
    locked_accounts,
    needs_second_factor,
    password_expired,
    session_is_verified,
    unconfirmed_totp_device,
)

PENDING_USER_KEY = "accounts.pending_user_id"
PENDING_SINCE_KEY = "accounts.pending_since"
PENDING_NEXT_KEY = "accounts.pending_next"
# How long the second step may take after the password was accepted.
PENDING_SECONDS = 300
_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


# --- The pending (password passed, code not yet) state ------------------------------------------------


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def pending_clear(request: HttpRequest) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        for key in (PENDING_USER_KEY, PENDING_SINCE_KEY, PENDING_NEXT_KEY):
            session.pop(key, None)


def pending_user(request: HttpRequest) -> User | None:
    """The staff account waiting for its second factor in this session, if any.

    Either a signed-in staff session not yet OTP-verified, or an account whose password was accepted less
    than ``PENDING_SECONDS`` ago.
    """
    user = request.user
    if user.is_authenticated:
        if needs_second_factor(user) and not session_is_verified(user):
            return user
        return None
    user_id = request.session.get(PENDING_USER_KEY)
    since = request.session.get(PENDING_SINCE_KEY, 0)
    if user_id is None or time.time() - float(since) > PENDING_SECONDS:
        pending_clear(request)
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def _complete_login(request: HttpRequest, user: User, device: Device) -> HttpResponse:
    """Both factors passed: sign the account in, with the device recorded in the session."""
    target = request.session.get(PENDING_NEXT_KEY) or reverse(settings.LOGIN_REDIRECT_URL)
    pending_clear(request)
    # django_otp's user_logged_in receiver stores this device in the session (verified session).
    user.otp_device = device  # type: ignore[attr-defined]
    auth_login(request, user, backend=_MODEL_BACKEND)
    return redirect(target)


def _second_step_url(user: User) -> str:
    return reverse("accounts:otp" if confirmed_totp_device(user) else "accounts:otp_enrol")


# --- Pages --------------------------------------------------------------------------------------------


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_safe_next(request, request.GET.get("next")))
    form = LoginForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if getattr(request, "axes_locked_out", False):
            return lockout_response(request)
        if user is None:
            form.add_error(None, _("The username or password is not correct."))
        elif not needs_second_factor(user):
            auth_login(request, user)
            return redirect(_safe_next(request, next_url))
        else:
            request.session.cycle_key()  # a fresh session id for the new privilege level
            request.session[PENDING_USER_KEY] = user.pk
            request.session[PENDING_SINCE_KEY] = time.time()
            request.session[PENDING_NEXT_KEY] = _safe_next(request, next_url)
            return redirect(_second_step_url(user))
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


def _otp_step(request: HttpRequest, *, enrolling: bool) -> HttpResponse:
    user = pending_user(request)
    if user is None:
        if request.user.is_authenticated:
            return redirect(settings.LOGIN_REDIRECT_URL)
        return redirect("accounts:login")
    confirmed = confirmed_totp_device(user)
    if enrolling and confirmed is not None:
        return redirect("accounts:otp")
    if not enrolling and confirmed is None:
        return redirect("accounts:otp_enrol")
    if username_is_locked(request, user.get_username()):
        return lockout_response(request)
    # Enrolment keeps showing the same secret until it is confirmed: the person may have scanned it already.
    device = confirmed or unconfirmed_totp_device(user) or totp_device_start(user=user)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["otp"]
        if enrolling:
            if totp_device_confirm(device=device, token=code):
                return _complete_login(request, user, device)
        else:
            verified = verify_token(user, device.persistent_id, code)
            if verified is not None:
                return _complete_login(request, user, verified)
        if second_factor_failure_record(request, user.get_username(), reason="otp_invalid"):
            return lockout_response(request)
        form.add_error(
            "otp", _("The code is not correct. Enter the current code from your authenticator app.")
        )
    context: dict[str, Any] = {"form": form, "pending_username": user.get_username()}
    if enrolling:
        context.update(_enrolment_context(device))
    return render(request, "accounts/otp_enrol.html" if enrolling else "accounts/otp.html", context)


@sensitive_post_parameters("otp")
@never_cache
@require_http_methods(["GET", "POST"])
def otp_view(request: HttpRequest) -> HttpResponse:
    return _otp_step(request, enrolling=False)


@sensitive_post_parameters("otp")
@never_cache
@require_http_methods(["GET", "POST"])
def otp_enrol_view(request: HttpRequest) -> HttpResponse:
    return _otp_step(request, enrolling=True)


def _enrolment_context(device: TOTPDevice) -> dict[str, Any]:
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return {
        "qr_svg": qr_code_svg(
            device.config_url, label=_("QR code to add this account to your authenticator app")
        ),
        "secret_groups": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }


def qr_code_svg(content: str, *, label: str) -> SafeString:
    """An inline SVG QR code, drawn here (no outside service sees the secret), labelled for screen readers."""
    svg = segno.make(content, error="m").svg_inline(
        scale=5, dark="#0b0c0c", light="#ffffff", title=label, svgclass="ow-qr-code", lineclass=None
    )
    labelled = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" focusable="false" ', 1)
    return mark_safe(labelled)  # noqa: S308 - segno's own markup; the only text (label) is escaped


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    pending_clear(request)
    if request.user.is_authenticated:
        auth_logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


_OLD_PASSWORD_ERRORS = frozenset({"old_password_wrong"})


@sensitive_post_parameters("old_password", "new_password", "new_password_again")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def password_view(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            password_change(
                user=user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ValidationError as error:
            codes = {item.code for item in error.error_list}
            field = "old_password" if codes & _OLD_PASSWORD_ERRORS else "new_password"
            for message in error.messages:
                form.add_error(field, message)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password has been changed."))
            return redirect(settings.LOGIN_REDIRECT_URL)
    from django.contrib.auth.password_validation import password_validators_help_texts

    context = {
        "form": form,
        "help_texts": password_validators_help_texts(),
        "expired": password_expired(user),
    }
    return render(request, "accounts/password.html", context)


@require_http_methods(["GET"])
def locked_view(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/locked.html", {"minutes": lockout_minutes()})


@never_cache
@permission_required(Permission.MANAGE_SECURITY)
@require_http_methods(["GET", "POST"])
def unlock_view(request: HttpRequest) -> HttpResponse:
    acting_user = cast(User, request.user)
    form = UnlockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        user_unlock(username=username, acting_user=acting_user)
        messages.success(request, _("The account %(username)s can sign in again.") % {"username": username})
        return redirect("accounts:unlock")
    context = {
        "form": form,
        "reset_form": UnlockForm(prefix="reset"),
        "accounts": locked_accounts(acting_user),
    }
    return render(request, "accounts/unlock.html", context)


@permission_required(Permission.MANAGE_SECURITY)
@require_POST
def otp_reset_view(request: HttpRequest) -> HttpResponse:
    """Security officer: remove someone's authenticator so they enrol a new one at their next sign-in."""
    acting_user = cast(User, request.user)
    form = UnlockForm(request.POST, prefix="reset")
    if form.is_valid():
        username = form.cleaned_data["username"]
        removed = totp_devices_reset(username=username, acting_user=acting_user)
        if removed:
            messages.success(
                request,
                _("Two-factor authentication of %(username)s was reset.") % {"username": username},
            )
        else:
            messages.warning(
                request, _("%(username)s has no authenticator to reset.") % {"username": username}
            )
    return redirect("accounts:unlock")


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """What a locked account sees (``AXES_LOCKOUT_CALLABLE``): the locked page, or JSON under /api/."""
    if request.path.startswith("/api/"):
        return JsonResponse(locked_error().body(), status=429)
    pending_clear(request)
    return render(request, "accounts/locked.html", {"minutes": lockout_minutes()}, status=429)
