"""Resetting a lost authenticator: only the security officer (MLPS 2.0 level 3, GB/T 22239-2019 §8.1.4.2
separation of duties, §8.1.4.1 c two-factor authentication stays mandatory: the account must enrol again);
refusals change nothing and are audited (§8.1.4.3)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import ALL_ROLES
from onewindow.accounts.tests.helpers import ENROL_URL, UNLOCK_URL, password_step
from onewindow.audit.models import AuditRecord

pytestmark = pytest.mark.django_db

RESET_URL = "/accounts/otp/reset/"


def test_security_officer_resets_a_lost_authenticator(
    role_users: dict[str, object], client_for: Callable[[object], Client]
) -> None:
    # Given a clerk signed in on a verified session, and the security officer
    clerk = role_users["window_clerk"]
    clerk_session = client_for(clerk)
    assert clerk_session.get("/").status_code == 200
    officer = client_for(role_users["security_officer"])
    # When the officer resets the clerk's two-factor authentication
    response = officer.post(RESET_URL, {"reset-username": "t_window_clerk"}, HTTP_ACCEPT_LANGUAGE="en")
    assert (response.status_code, response["Location"]) == (302, UNLOCK_URL)
    # Then the device is gone, the reset audited, the old session no longer verified
    assert not TOTPDevice.objects.filter(user=clerk).exists()
    record = AuditRecord.objects.get(action="auth.otp_reset")
    assert (record.actor_username, record.details) == (
        "t_security_officer",
        {"username": "t_window_clerk", "devices_removed": 1},
    )
    assert clerk_session.get("/")["Location"] == ENROL_URL
    # And the next sign-in leads to enrolment
    assert password_step(Client(), "t_window_clerk") == ENROL_URL
    page = officer.get(UNLOCK_URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Two-factor authentication of t_window_clerk was reset." in page


def test_reset_of_an_account_without_a_device_says_so(
    role_users: dict[str, object], client_for: Callable[[object], Client]
) -> None:
    officer = client_for(role_users["security_officer"])
    officer.post(RESET_URL, {"reset-username": "t_resident"}, HTTP_ACCEPT_LANGUAGE="en")
    page = officer.get(UNLOCK_URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "t_resident has no authenticator to reset." in page


def test_reset_is_post_only(role_users: dict[str, object], client_for: Callable[[object], Client]) -> None:
    assert client_for(role_users["security_officer"]).get(RESET_URL).status_code == 405


@pytest.mark.parametrize("role", [*[role for role in ALL_ROLES if role != "security_officer"], None])
def test_only_the_security_officer_resets(
    role: str | None, role_users: dict[str, object], client_for: Callable[[object], Client]
) -> None:
    client = Client() if role is None else client_for(role_users[role])
    response = client.post(RESET_URL, {"reset-username": "t_leader"})
    if role is None:
        assert response["Location"] == f"/accounts/login/?next={RESET_URL}"
    else:
        assert response.status_code == 403
        denied = AuditRecord.objects.get(action="permission.denied")
        assert (denied.actor_username, denied.details) == (f"t_{role}", {"permission": "manage_security"})
    # Nothing changed
    assert TOTPDevice.objects.filter(user=role_users["leader"], confirmed=True).count() == 1
    assert not AuditRecord.objects.filter(action="auth.otp_reset").exists()
