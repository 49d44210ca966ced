"""Sign-in and sign-out pages: MLPS 2.0 level 3, GB/T 22239-2019 §8.1.4.1 (identification and
authentication: a, b, c — unique identities, failure handling, two factors for staff) and §8.1.4.3 (audit of
every sign-in, sign-out and failure, without recording secrets)."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from onewindow.accounts.tests.factories import TEST_PASSWORD, UserFactory
from onewindow.accounts.tests.helpers import (
    ENROL_URL,
    LOGIN_URL,
    LOGOUT_URL,
    OTP_URL,
    password_step,
    signed_in_username,
    totp_code,
    user_key,
)
from onewindow.accounts.views import PENDING_SINCE_KEY, PENDING_USER_KEY
from onewindow.audit.models import AuditRecord

pytestmark = pytest.mark.django_db


def test_login_page_renders_a_labelled_form() -> None:
    response = Client().get(LOGIN_URL, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label class="govuk-label govuk-label--s" for="id_username">' in html
    assert 'autocomplete="current-password"' in html
    assert 'type="password"' in html


def test_resident_signs_in_with_a_password_and_it_is_audited(role_users: dict[str, object]) -> None:
    client = Client()
    location = password_step(client, "t_resident")
    assert location == "/"
    assert signed_in_username(client) == "t_resident"
    record = AuditRecord.objects.get(action="auth.login")
    assert (record.actor_username, record.outcome, record.channel) == ("t_resident", "success", "web")
    assert record.details == {"second_factor": ""}
    assert TEST_PASSWORD not in str(list(AuditRecord.objects.values_list("details", flat=True)))


def test_login_follows_a_safe_next_only(role_users: dict[str, object]) -> None:
    client = Client()
    response = client.post(
        LOGIN_URL,
        {"username": "t_enterprise_representative", "password": TEST_PASSWORD, "next": "/accounts/password/"},
    )
    assert response["Location"] == "/accounts/password/"
    other = Client()
    response = other.post(
        LOGIN_URL, {"username": "t_resident", "password": TEST_PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_wrong_password_is_refused_generically_and_audited(role_users: dict[str, object]) -> None:
    client = Client()
    response = client.post(
        LOGIN_URL, {"username": "t_resident", "password": "Wrong-Password-1"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "The username or password is not correct." in html
    assert "govuk-error-summary" in html
    assert signed_in_username(client) is None
    record = AuditRecord.objects.get(action="auth.login_failed")
    assert (record.actor_username, record.outcome, record.actor_id) == ("t_resident", "failure", None)
    assert record.details == {"reason": "invalid_credentials", "failures": 1}
    assert "Wrong-Password-1" not in str(record.details)


def test_unknown_username_gets_the_same_answer(role_users: dict[str, object]) -> None:
    response = Client().post(
        LOGIN_URL, {"username": "nobody", "password": "Wrong-Password-1"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "The username or password is not correct." in response.content.decode()
    assert AuditRecord.objects.get(action="auth.login_failed").actor_username == "nobody"


def test_inactive_account_cannot_sign_in() -> None:
    UserFactory.create(username="gone", is_active=False)
    client = Client()
    assert password_step(client, "gone") == ""
    assert signed_in_username(client) is None


def test_staff_password_alone_does_not_sign_in(role_users: dict[str, object]) -> None:
    # Given a staff account with a confirmed TOTP device
    client = Client()
    # When the password is right
    location = password_step(client, "t_window_clerk")
    # Then the next step is the code, and there is no signed-in session yet
    assert location == OTP_URL
    assert signed_in_username(client) is None
    assert not AuditRecord.objects.filter(action="auth.login").exists()
    assert client.get("/accounts/password/")["Location"].startswith(LOGIN_URL)


def test_staff_signs_in_with_password_and_totp(role_users: dict[str, object]) -> None:
    user = role_users["department_handler"]
    client = Client()
    password_step(client, "t_department_handler")
    page = client.get(OTP_URL, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.content.decode()
    response = client.post(OTP_URL, {"otp": totp_code(user_key(user))})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_username(client) == "t_department_handler"
    device = TOTPDevice.objects.get(user=user)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    record = AuditRecord.objects.get(action="auth.login")
    assert (record.actor_username, record.details) == ("t_department_handler", {"second_factor": "totp"})
    # The verified session reaches staff pages
    assert client.get("/accounts/password/").status_code == 200


def test_code_with_a_space_is_accepted(role_users: dict[str, object]) -> None:
    code = totp_code(user_key(role_users["leader"]))
    client = Client()
    password_step(client, "t_leader")
    assert client.post(OTP_URL, {"otp": f"{code[:3]} {code[3:]}"})["Location"] == "/"


def test_wrong_code_is_refused_and_audited(role_users: dict[str, object]) -> None:
    user = role_users["auditor"]
    client = Client()
    password_step(client, "t_auditor")
    wrong = f"{(int(totp_code(user_key(user))) + 1) % 1_000_000:06d}"
    response = client.post(OTP_URL, {"otp": wrong}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "The code is not correct." in response.content.decode()
    assert signed_in_username(client) is None
    record = AuditRecord.objects.get(action="auth.otp_failed")
    assert (record.actor_username, record.outcome) == ("t_auditor", "failure")
    assert record.details == {"reason": "otp_invalid", "failures": 1}
    assert wrong not in str(record.details)


def test_a_code_cannot_be_replayed(role_users: dict[str, object], settings: object) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # type: ignore[attr-defined]
    code = totp_code(user_key(role_users["leader"]))
    first = Client()
    password_step(first, "t_leader")
    assert first.post(OTP_URL, {"otp": code})["Location"] == "/"
    second = Client()
    password_step(second, "t_leader")
    assert second.post(OTP_URL, {"otp": code}).status_code == 200
    assert signed_in_username(second) is None


def test_pending_step_expires(role_users: dict[str, object]) -> None:
    client = Client()
    password_step(client, "t_leader")
    session = client.session
    session[PENDING_SINCE_KEY] = time.time() - 301
    session.save()
    assert client.get(OTP_URL)["Location"] == LOGIN_URL
    assert PENDING_USER_KEY not in client.session


def test_otp_pages_without_a_pending_sign_in_go_to_login() -> None:
    client = Client()
    assert client.get(OTP_URL)["Location"] == LOGIN_URL
    assert client.get(ENROL_URL)["Location"] == LOGIN_URL
    assert client.post(OTP_URL, {"otp": "123456"})["Location"] == LOGIN_URL
    assert not AuditRecord.objects.exists()


def test_logout_is_post_only_and_audited(role_users: dict[str, object], client_for: object) -> None:
    client = client_for(role_users["supervisor"])  # type: ignore[operator]
    assert client.get(LOGOUT_URL).status_code == 405
    assert signed_in_username(client) == "t_supervisor"
    response = client.post(LOGOUT_URL)
    assert (response.status_code, response["Location"]) == (302, "/")
    assert signed_in_username(client) is None
    record = AuditRecord.objects.get(action="auth.logout")
    assert (record.actor_username, record.outcome) == ("t_supervisor", "success")


def test_logout_abandons_a_pending_sign_in(role_users: dict[str, object]) -> None:
    client = Client()
    password_step(client, "t_leader")
    client.post(LOGOUT_URL)
    assert PENDING_USER_KEY not in client.session
    assert client.get(OTP_URL)["Location"] == LOGIN_URL
