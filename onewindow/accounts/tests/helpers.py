"""Helpers for the identity tests: TOTP codes and the two-step web sign-in."""

from __future__ import annotations

from django.test import Client
from django_otp.oath import totp

from onewindow.accounts.models import User
from onewindow.accounts.tests.factories import TEST_PASSWORD

LOGIN_URL = "/accounts/login/"
OTP_URL = "/accounts/otp/"
ENROL_URL = "/accounts/otp/enrol/"
LOGOUT_URL = "/accounts/logout/"
PASSWORD_URL = "/accounts/password/"
LOCKED_URL = "/accounts/locked/"
UNLOCK_URL = "/accounts/unlock/"
TOKEN_URL = "/api/v1/auth/token"
ME_URL = "/api/v1/me"


def totp_code(key_hex: str, *, drift: int = 0) -> str:
    """The 6-digit code an authenticator app shows now (``drift`` steps of 30 s later or earlier)."""
    return f"{totp(bytes.fromhex(key_hex), drift=drift):06d}"


def user_key(user: object) -> str:
    key: str = user.test_totp_key  # type: ignore[attr-defined]
    return key


def password_step(client: Client, username: str, password: str = TEST_PASSWORD) -> str:
    """Submit the sign-in form; returns where it redirected to ("" if it did not redirect)."""
    response = client.post(LOGIN_URL, {"username": username, "password": password})
    return str(response["Location"]) if response.status_code == 302 else ""


def signed_in_username(client: Client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    if user_id is None:
        return None
    return User.objects.get(pk=user_id).get_username()
