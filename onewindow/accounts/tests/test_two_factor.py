"""Two-factor authentication for every staff account: MLPS 2.0 level 3, GB/T 22239-2019 §8.1.4.1 c (two or
more authentication techniques, at least one cryptographic: TOTP, RFC 6238) and §8.1.4.1 a (passwords changed
periodically). Residents and enterprise representatives sign in with a password only."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import TEST_PASSWORD, staff_user
from onewindow.accounts.tests.helpers import (
    ENROL_URL,
    LOGOUT_URL,
    OTP_URL,
    PASSWORD_URL,
    password_step,
    signed_in_username,
    totp_code,
)
from onewindow.audit.models import AuditRecord

pytestmark = pytest.mark.django_db


def _new_staff(username: str = "new_clerk") -> User:
    return staff_user(Role.WINDOW_CLERK, username=username)


def _secret_from_page(html: str) -> str:
    match = re.search(r'<code class="ow-otp-secret"[^>]*>([A-Z2-7 ]+)</code>', html)
    assert match is not None
    return match.group(1)


def test_staff_without_a_device_is_sent_to_enrolment() -> None:
    _new_staff()
    client = Client()
    assert password_step(client, "new_clerk") == ENROL_URL
    assert client.get(OTP_URL)["Location"] == ENROL_URL
    assert signed_in_username(client) is None


def test_enrolment_page_shows_an_accessible_qr_code_and_grouped_key() -> None:
    user = _new_staff()
    client = Client()
    password_step(client, "new_clerk")
    response = client.get(ENROL_URL, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    # A server-side SVG (no image from another service), named for screen readers
    assert '<svg role="img" aria-label="QR code to add this account to your authenticator app"' in html
    assert "<title>QR code to add this account to your authenticator app</title>" in html
    assert "<img" not in html.split('<main class="govuk-main-wrapper"')[1]
    # The key for typing in, in groups of four
    secret = base64.b32encode(device.bin_key).decode()
    shown = _secret_from_page(html)
    assert shown.replace(" ", "") == secret
    assert all(len(group) == 4 for group in shown.split(" "))
    # Reloading keeps the same key (the person may already have scanned it)
    client.get(ENROL_URL)
    assert list(TOTPDevice.objects.filter(user=user).values_list("pk", flat=True)) == [device.pk]


def test_enrolment_end_to_end() -> None:
    # Given a new staff account signing in for the first time
    user = _new_staff()
    client = Client()
    password_step(client, "new_clerk")
    html = client.get(ENROL_URL).content.decode()
    key_hex = base64.b32decode(_secret_from_page(html).replace(" ", "")).hex()
    # When a wrong code is entered, Then the device stays unconfirmed
    wrong = f"{(int(totp_code(key_hex)) + 1) % 1_000_000:06d}"
    assert client.post(ENROL_URL, {"otp": wrong}).status_code == 200
    assert TOTPDevice.objects.get(user=user).confirmed is False
    assert AuditRecord.objects.filter(action="auth.otp_failed", actor_username="new_clerk").count() == 1
    # When the app's current code is entered (after the throttle delay)
    device = TOTPDevice.objects.get(user=user)
    device.throttle_reset()
    response = client.post(ENROL_URL, {"otp": totp_code(key_hex)})
    # Then the device is confirmed and the session signed in and verified
    assert response["Location"] == "/"
    assert TOTPDevice.objects.get(user=user).confirmed is True
    assert signed_in_username(client) == "new_clerk"
    assert client.get(PASSWORD_URL).status_code == 200
    actions = list(AuditRecord.objects.filter(actor_username="new_clerk").values_list("action", flat=True))
    assert actions == ["auth.otp_enrolment_started", "auth.otp_failed", "auth.otp_enrolled", "auth.login"]
    # And the next sign-in asks for a code, not enrolment
    client.post(LOGOUT_URL)
    assert password_step(client, "new_clerk") == OTP_URL
    assert client.post(OTP_URL, {"otp": totp_code(key_hex, drift=1)})["Location"] == "/"


def test_enrolment_is_closed_once_a_device_is_confirmed(role_users: dict[str, object]) -> None:
    client = Client()
    password_step(client, "t_leader")
    assert client.get(ENROL_URL)["Location"] == OTP_URL
    assert client.post(ENROL_URL, {"otp": "123456"})["Location"] == OTP_URL
    assert TOTPDevice.objects.filter(user=role_users["leader"]).count() == 1


@pytest.mark.parametrize("role", ["window_clerk", "system_admin", "auditor", "supervisor", "vendor_staff"])
def test_unverified_staff_session_reaches_only_the_second_step(
    role: str, role_users: dict[str, object]
) -> None:
    # Given a staff session signed in but not OTP-verified (for example from another login path)
    client = Client()
    client.force_login(role_users[role])  # type: ignore[arg-type]
    # Then every page sends it to the code step
    for path in ["/", PASSWORD_URL, "/accounts/unlock/", "/accounts/login/"]:
        response = client.get(path)
        assert (path, response.status_code, response["Location"]) == (path, 302, OTP_URL)
    # While the code page, sign-out, the language switch and the API (own auth) stay reachable
    assert client.get(OTP_URL).status_code == 200
    assert client.get("/api/v1/me").status_code == 401
    assert client.post("/i18n/setlang/", {"language": "en"}).status_code == 302


def test_unverified_staff_without_device_goes_to_enrolment() -> None:
    user = _new_staff()
    client = Client()
    client.force_login(user)
    assert client.get("/")["Location"] == ENROL_URL


def test_htmx_requests_get_a_client_side_redirect(role_users: dict[str, object]) -> None:
    client = Client()
    client.force_login(role_users["leader"])  # type: ignore[arg-type]
    response = client.get("/", HTTP_HX_REQUEST="true")
    assert (response.status_code, response["HX-Redirect"]) == (204, OTP_URL)


@pytest.mark.parametrize("role", ["resident", "enterprise_representative"])
def test_residents_and_enterprises_need_no_second_factor(role: str, role_users: dict[str, object]) -> None:
    client = Client()
    client.force_login(role_users[role])  # type: ignore[arg-type]
    assert client.get("/").status_code == 200
    assert client.get(OTP_URL)["Location"] == "/"


def test_expired_staff_password_must_be_changed_first(
    role_users: dict[str, object], client_for: object
) -> None:
    # Given a staff account whose password is older than PASSWORD_MAX_AGE_DAYS (90)
    user = role_users["department_admin"]
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=91))  # type: ignore[attr-defined]
    client = client_for(user)  # type: ignore[operator]
    # Then pages send it to the password page, which says why
    assert client.get("/")["Location"] == PASSWORD_URL
    page = client.get(PASSWORD_URL, HTTP_ACCEPT_LANGUAGE="en")
    assert "Your password has expired." in page.content.decode()
    # When it changes the password, Then it may continue
    response = client.post(
        PASSWORD_URL,
        {
            "old_password": TEST_PASSWORD,
            "new_password": "Lantern-Harbour-93",
            "new_password_again": "Lantern-Harbour-93",
        },
    )
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_never_changed_password_counts_from_joining(
    role_users: dict[str, object], client_for: object, settings: object
) -> None:
    user = role_users["leader"]
    User.objects.filter(pk=user.pk).update(  # type: ignore[attr-defined]
        date_joined=timezone.now() - timedelta(days=200), password_changed_at=None
    )
    client = client_for(user)  # type: ignore[operator]
    assert client.get("/")["Location"] == PASSWORD_URL
    # PASSWORD_MAX_AGE_DAYS=0 turns the rule off
    settings.PASSWORD_MAX_AGE_DAYS = 0  # type: ignore[attr-defined]
    assert client.get("/").status_code == 200
