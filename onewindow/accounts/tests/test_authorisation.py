"""Authorisation of every identity page and endpoint for every role and for anonymous callers (MLPS 2.0
level 3, GB/T 22239-2019 §8.1.4.2 access control: least privilege; refusals change nothing and are
audited, §8.1.4.3)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from axes.models import AccessAttempt
from django.test import Client

from conftest import ALL_ROLES
from onewindow.accounts.models import ApiToken
from onewindow.accounts.tests.factories import TEST_PASSWORD
from onewindow.accounts.tests.helpers import (
    ENROL_URL,
    LOCKED_URL,
    LOGIN_URL,
    LOGOUT_URL,
    ME_URL,
    OTP_URL,
    PASSWORD_URL,
    TOKEN_URL,
    UNLOCK_URL,
    signed_in_username,
    totp_code,
)
from onewindow.audit.models import AuditRecord

pytestmark = pytest.mark.django_db

ROLES_AND_ANONYMOUS = [*ALL_ROLES, None]
DEPARTMENT_ROLES = {"department_handler", "department_admin"}


def _client(
    role: str | None, role_users: dict[str, object], client_for: Callable[[object], Client]
) -> Client:
    return Client() if role is None else client_for(role_users[role])


def _login_redirect(path: str) -> str:
    return f"{LOGIN_URL}?next={path}"


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS)
def test_page_access_by_role(
    role: str | None, role_users: dict[str, object], client_for: Callable[[object], Client]
) -> None:
    client = _client(role, role_users, client_for)
    signed_in = role is not None

    def get(path: str) -> tuple[int, str]:
        response = client.get(path)
        return response.status_code, str(response.get("Location", ""))

    # Sign-in page: anonymous callers see it, signed-in ones are sent home
    assert get(LOGIN_URL) == ((302, "/") if signed_in else (200, ""))
    # Code and enrolment steps: only a pending staff sign-in uses them
    assert get(OTP_URL) == ((302, "/") if signed_in else (302, LOGIN_URL))
    assert get(ENROL_URL) == ((302, "/") if signed_in else (302, LOGIN_URL))
    # Password change: any signed-in account
    assert get(PASSWORD_URL) == ((200, "") if signed_in else (302, _login_redirect(PASSWORD_URL)))
    # Locked page: public
    assert get(LOCKED_URL) == (200, "")
    # Unlock page: the security officer only
    if role == "security_officer":
        assert get(UNLOCK_URL) == (200, "")
    elif signed_in:
        assert get(UNLOCK_URL) == (403, "")
        denied = AuditRecord.objects.get(action="permission.denied")
        assert (denied.actor_username, denied.details) == (f"t_{role}", {"permission": "manage_security"})
    else:
        assert get(UNLOCK_URL) == (302, _login_redirect(UNLOCK_URL))
    # Sign-out: POST only
    assert get(LOGOUT_URL) == (405, "")
    assert signed_in_username(client) == (f"t_{role}" if signed_in else None)
    response = client.post(LOGOUT_URL)
    assert (response.status_code, response["Location"]) == (302, "/")
    assert signed_in_username(client) is None


@pytest.mark.parametrize("role", [role for role in ALL_ROLES if role != "security_officer"])
def test_unlock_post_refused_changes_nothing(
    role: str, role_users: dict[str, object], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users[role])
    AccessAttempt.objects.create(
        username="t_resident",
        ip_address="127.0.0.1",
        user_agent="x",
        failures_since_start=5,
        get_data="",
        post_data="",
    )
    assert client.post(UNLOCK_URL, {"username": "t_resident"}).status_code == 403
    assert AccessAttempt.objects.get(username="t_resident").failures_since_start == 5
    assert not AuditRecord.objects.filter(action="auth.unlocked").exists()


def test_unlock_post_anonymous_changes_nothing() -> None:
    AccessAttempt.objects.create(
        username="t_resident",
        ip_address="127.0.0.1",
        user_agent="x",
        failures_since_start=5,
        get_data="",
        post_data="",
    )
    response = Client().post(UNLOCK_URL, {"username": "t_resident"})
    assert response["Location"] == _login_redirect(UNLOCK_URL)
    assert AccessAttempt.objects.count() == 1
    assert not AuditRecord.objects.exists()


def _expected_roles(role: str) -> list[dict[str, str | None]]:
    return [{"role": role, "department_code": "TDEPT" if role in DEPARTMENT_ROLES else None}]


@pytest.mark.parametrize("role", ALL_ROLES)
def test_api_endpoints_for_every_role(role: str, role_users: dict[str, object]) -> None:
    user = role_users[role]
    # POST /auth/token: every kind of account may sign in (staff with their code)
    body: dict[str, str] = {"username": f"t_{role}", "password": TEST_PASSWORD}
    key = getattr(user, "test_totp_key", None)
    if key is not None:
        body["otp"] = totp_code(key)
    response = Client().post(TOKEN_URL, json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    token = response.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    # GET /me: every role sees its own account and roles
    me = Client().get(ME_URL, headers=headers)
    assert me.status_code == 200
    assert me.json()["username"] == f"t_{role}"
    assert me.json()["roles"] == _expected_roles(role)
    # DELETE /auth/token: every role may revoke its own token
    assert Client().delete(TOKEN_URL, headers=headers).status_code == 204
    assert Client().get(ME_URL, headers=headers).status_code == 401


@pytest.mark.parametrize("role", ALL_ROLES)
def test_me_with_a_verified_session(
    role: str, role_users: dict[str, object], client_for: Callable[[object], Client]
) -> None:
    response = client_for(role_users[role]).get(ME_URL)
    assert response.status_code == 200
    assert response.json()["roles"] == _expected_roles(role)


def test_api_endpoints_for_anonymous_callers(role_users: dict[str, object], api_token_for: object) -> None:
    token = api_token_for(role_users["resident"])  # type: ignore[operator]
    client = Client()
    assert client.get(ME_URL).status_code == 401
    assert client.get(ME_URL, HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401
    assert client.delete(TOKEN_URL).status_code == 401
    assert client.delete(TOKEN_URL, HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401
    # Nothing changed: the real token still works
    assert ApiToken.objects.get().revoked_at is None
    assert client.get(ME_URL, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert not AuditRecord.objects.filter(action="auth.token_revoked").exists()


def test_one_caller_cannot_revoke_anothers_token(
    role_users: dict[str, object], api_token_for: object
) -> None:
    theirs = api_token_for(role_users["resident"])  # type: ignore[operator]
    mine = api_token_for(role_users["leader"])  # type: ignore[operator]
    # The DELETE revokes the presented token only, which is always the caller's own
    assert Client().delete(TOKEN_URL, HTTP_AUTHORIZATION=f"Bearer {mine}").status_code == 204
    assert Client().get(ME_URL, HTTP_AUTHORIZATION=f"Bearer {theirs}").status_code == 200
