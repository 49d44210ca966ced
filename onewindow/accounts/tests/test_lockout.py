"""Lockout after repeated failed sign-ins: MLPS 2.0 level 3, GB/T 22239-2019 §8.1.4.1 b (login failure
handling: limit failed attempts, lock, end the session) — on the page and the API alike, wrong TOTP codes
counted with wrong passwords, lifted by the security officer; every step audited (§8.1.4.3)."""

from __future__ import annotations

import json

import pytest
from axes.models import AccessAttempt
from django.test import Client

from onewindow.accounts.tests.factories import TEST_PASSWORD
from onewindow.accounts.tests.helpers import (
    LOGIN_URL,
    OTP_URL,
    TOKEN_URL,
    UNLOCK_URL,
    password_step,
    signed_in_username,
    totp_code,
    user_key,
)
from onewindow.accounts.views import PENDING_USER_KEY
from onewindow.audit.models import AuditRecord

pytestmark = pytest.mark.django_db

LIMIT = 5  # AXES_FAILURE_LIMIT (ONEWINDOW_LOCKOUT_FAILURES default)
MESSAGE_EN = (
    "Account locked after repeated failed sign-ins; try again in 30 minutes or contact the security officer."
)
MESSAGE_ZH = "账户因多次登录失败已被锁定，请 30 分钟后再试或联系安全管理员。"


def _fail_passwords(client: Client, username: str, times: int) -> list[int]:
    return [
        client.post(LOGIN_URL, {"username": username, "password": f"Wrong-Password-{n}"}).status_code
        for n in range(times)
    ]


def _token_request(client: Client, **body: object) -> tuple[int, dict[str, object]]:
    response = client.post(TOKEN_URL, json.dumps(body), content_type="application/json")
    return response.status_code, response.json() if response.content else {}


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_settings_lock_by_account_after_five_failures_for_thirty_minutes(settings: object) -> None:
    assert settings.AXES_FAILURE_LIMIT == LIMIT  # type: ignore[attr-defined]
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username"]  # type: ignore[attr-defined]
    assert settings.AXES_COOLOFF_TIME == 0.5  # type: ignore[attr-defined]


def test_web_lockout_after_repeated_wrong_passwords(role_users: dict[str, object]) -> None:
    client = Client()
    # When the password is wrong five times, Then the fifth answer is the locked page (429)
    assert _fail_passwords(client, "t_resident", LIMIT) == [200] * (LIMIT - 1) + [429]
    # And the right password no longer signs in
    response = client.post(LOGIN_URL, {"username": "t_resident", "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert signed_in_username(client) is None
    # The page says so in both languages (Chinese page with the English message beneath, and vice versa)
    html = response.content.decode()
    assert MESSAGE_ZH in html
    assert MESSAGE_EN in html
    english = client.post(
        LOGIN_URL, {"username": "t_resident", "password": TEST_PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert MESSAGE_EN in english.content.decode()
    # And it is audited: five failures, one lockout, then refusals while locked
    actions = list(AuditRecord.objects.filter(actor_username="t_resident").values_list("action", "outcome"))
    assert actions[: LIMIT + 1] == [("auth.login_failed", "failure")] * (LIMIT - 1) + [
        ("auth.locked_out", "denied"),
        ("auth.login_failed", "failure"),
    ]
    assert actions[LIMIT + 1 :] == [("auth.login_failed", "denied")] * 2
    locked = AuditRecord.objects.get(action="auth.locked_out")
    assert locked.details == {"failures": LIMIT, "lockout_minutes": 30}
    refused = AuditRecord.objects.filter(action="auth.login_failed", outcome="denied").first()
    assert refused is not None
    assert refused.details["reason"] == "account_locked"
    assert not AuditRecord.objects.filter(action="auth.login").exists()


def test_other_accounts_behind_the_same_address_are_not_locked(role_users: dict[str, object]) -> None:
    # A service hall puts many people behind one address: lockout is per account.
    client = Client()
    _fail_passwords(client, "t_resident", LIMIT)
    assert password_step(client, "t_enterprise_representative") == "/"


def test_wrong_codes_lock_the_account_and_end_the_pending_sign_in(role_users: dict[str, object]) -> None:
    user = role_users["window_clerk"]
    client = Client()
    password_step(client, "t_window_clerk")
    wrong = _wrong(totp_code(user_key(user)))
    statuses = [client.post(OTP_URL, {"otp": wrong}).status_code for _ in range(LIMIT)]
    assert statuses == [200] * (LIMIT - 1) + [429]
    assert PENDING_USER_KEY not in client.session
    assert AuditRecord.objects.filter(action="auth.otp_failed").count() == LIMIT
    assert AuditRecord.objects.filter(action="auth.locked_out", actor_username="t_window_clerk").count() == 1
    # And a fresh password step is refused too
    assert (
        client.post(LOGIN_URL, {"username": "t_window_clerk", "password": TEST_PASSWORD}).status_code == 429
    )


def test_passwords_and_codes_share_one_counter_and_a_right_password_does_not_reset_it(
    role_users: dict[str, object],
) -> None:
    user = role_users["leader"]
    client = Client()
    _fail_passwords(client, "t_leader", LIMIT - 1)
    # The right password alone (first factor) does not clear earlier failures
    assert password_step(client, "t_leader") == OTP_URL
    response = client.post(OTP_URL, {"otp": _wrong(totp_code(user_key(user)))})
    assert response.status_code == 429
    assert signed_in_username(client) is None


def test_code_page_refuses_a_locked_account(role_users: dict[str, object]) -> None:
    user = role_users["leader"]
    client = Client()
    password_step(client, "t_leader")
    _fail_passwords(Client(), "t_leader", LIMIT)  # someone else guesses meanwhile
    response = client.post(OTP_URL, {"otp": totp_code(user_key(user))})
    assert response.status_code == 429
    assert signed_in_username(client) is None


def test_api_lockout_after_repeated_wrong_passwords(role_users: dict[str, object]) -> None:
    client = Client()
    answers = [
        _token_request(client, username="t_resident", password="Wrong-Password-1") for _ in range(LIMIT)
    ]
    assert [status for status, _ in answers] == [401] * (LIMIT - 1) + [429]
    assert answers[0][1]["code"] == "invalid_credentials"
    status, body = _token_request(client, username="t_resident", password=TEST_PASSWORD)
    assert status == 429
    assert body == {
        "code": "account_locked",
        "message": MESSAGE_ZH,
        "message_zh": MESSAGE_ZH,
        "message_en": MESSAGE_EN,
    }
    assert (
        AuditRecord.objects.filter(
            action="auth.locked_out", actor_username="t_resident", channel="api"
        ).count()
        == 1
    )


def test_api_missing_and_wrong_codes_count_toward_lockout(role_users: dict[str, object]) -> None:
    user = role_users["supervisor"]
    client = Client()
    wrong = _wrong(totp_code(user_key(user)))
    answers = [_token_request(client, username="t_supervisor", password=TEST_PASSWORD) for _ in range(2)]
    answers += [
        _token_request(client, username="t_supervisor", password=TEST_PASSWORD, otp=wrong) for _ in range(3)
    ]
    assert [(status, body["code"]) for status, body in answers] == [
        (401, "otp_required"),
        (401, "otp_required"),
        (401, "otp_invalid"),
        (401, "otp_invalid"),
        (429, "account_locked"),
    ]
    reasons = list(
        AuditRecord.objects.filter(action="auth.otp_failed").values_list("details__reason", flat=True)
    )
    assert reasons == ["otp_required", "otp_required", "otp_invalid", "otp_invalid", "otp_invalid"]


def test_api_success_resets_the_counter(role_users: dict[str, object]) -> None:
    client = Client()
    for _ in range(LIMIT - 1):
        _token_request(client, username="t_resident", password="Wrong-Password-1")
    assert _token_request(client, username="t_resident", password=TEST_PASSWORD)[0] == 200
    assert not AccessAttempt.objects.filter(username="t_resident").exists()


def test_security_officer_unlocks_an_account(role_users: dict[str, object], client_for: object) -> None:
    # Given a locked account
    _fail_passwords(Client(), "t_resident", LIMIT)
    officer = client_for(role_users["security_officer"])  # type: ignore[operator]
    # The officer sees it listed
    page = officer.get(UNLOCK_URL, HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<td class="govuk-table__cell">t_resident</td>' in html
    # When the officer unlocks it
    response = officer.post(UNLOCK_URL, {"username": "t_resident"}, HTTP_ACCEPT_LANGUAGE="en")
    assert (response.status_code, response["Location"]) == (302, UNLOCK_URL)
    # Then the account signs in again, and the unlock is audited
    assert not AccessAttempt.objects.filter(username="t_resident").exists()
    assert password_step(Client(), "t_resident") == "/"
    record = AuditRecord.objects.get(action="auth.unlocked")
    assert (record.actor_username, record.object_id) == ("t_security_officer", "t_resident")
    assert record.details == {"username": "t_resident", "failure_records_cleared": 1}
    assert "No account is locked now." in officer.get(UNLOCK_URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.parametrize("role", ["system_admin", "auditor", "leader", "resident"])
def test_only_the_security_officer_unlocks(
    role: str, role_users: dict[str, object], client_for: object
) -> None:
    _fail_passwords(Client(), "t_enterprise_representative", LIMIT)
    client = client_for(role_users[role])  # type: ignore[operator]
    response = client.post(UNLOCK_URL, {"username": "t_enterprise_representative"})
    assert response.status_code == 403
    # Nothing changed: still locked, the refusal audited
    assert AccessAttempt.objects.get(username="t_enterprise_representative").failures_since_start == LIMIT
    assert not AuditRecord.objects.filter(action="auth.unlocked").exists()
    denied = AuditRecord.objects.get(action="permission.denied")
    assert (denied.actor_username, denied.details) == (f"t_{role}", {"permission": "manage_security"})
    assert password_step(Client(), "t_enterprise_representative") == ""


def test_locked_page_is_public() -> None:
    response = Client().get("/accounts/locked/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert MESSAGE_EN in response.content.decode()
