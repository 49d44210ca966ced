"""API sign-in: bearer tokens that expire, are stored only as SHA-256 and can be revoked; staff need their
TOTP code (MLPS 2.0 level 3, GB/T 22239-2019 §8.1.4.1 a–d: identification, failure handling, two factors,
protection of authentication data in storage) and every step is audited (§8.1.4.3)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_otp.plugins.otp_totp.models import TOTPDevice

from onewindow.accounts.models import ApiToken, User
from onewindow.accounts.roles import Kind, Role
from onewindow.accounts.tests.factories import TEST_PASSWORD, UserFactory, staff_user
from onewindow.accounts.tests.helpers import ME_URL, TOKEN_URL, totp_code, user_key
from onewindow.audit.models import AuditRecord

pytestmark = pytest.mark.django_db


def _issue(client: Client, **body: object) -> tuple[int, dict[str, object]]:
    response = client.post(TOKEN_URL, json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_resident_gets_a_token_that_expires_after_the_ttl(
    role_users: dict[str, object], settings: object
) -> None:
    before = timezone.now()
    status, body = _issue(Client(), username="t_resident", password=TEST_PASSWORD)
    assert status == 200
    assert set(body) == {"token", "expires_at"}
    token = str(body["token"])
    assert len(token) >= 43  # secrets.token_urlsafe(32)
    expires_at = parse_datetime(str(body["expires_at"]))
    assert expires_at is not None
    ttl = timedelta(seconds=settings.API_TOKEN_TTL_SECONDS)  # type: ignore[attr-defined]
    assert before + ttl <= expires_at <= timezone.now() + ttl
    record = AuditRecord.objects.get(action="auth.token_issued")
    assert (record.actor_username, record.channel, record.outcome) == ("t_resident", "api", "success")
    assert token not in json.dumps(record.details)


def test_token_is_stored_hashed_only(role_users: dict[str, object]) -> None:
    _, body = _issue(Client(), username="t_enterprise_representative", password=TEST_PASSWORD)
    token = str(body["token"])
    stored = ApiToken.objects.get()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    row = json.dumps(list(ApiToken.objects.values()), default=str)
    assert token not in row
    assert token not in json.dumps(list(AuditRecord.objects.values()), default=str)


def test_me_describes_the_caller(role_users: dict[str, object]) -> None:
    _, body = _issue(Client(), username="t_resident", password=TEST_PASSWORD)
    response = Client().get(ME_URL, headers=_bearer(str(body["token"])))
    assert response.status_code == 200
    assert response.json() == {
        "username": "t_resident",
        "kind": "resident",
        "display_name": "t_resident",
        "roles": [{"role": "resident", "department_code": None}],
    }


def test_expired_token_is_refused(role_users: dict[str, object], api_token_for: object) -> None:
    token = api_token_for(role_users["resident"])  # type: ignore[operator]
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().get(ME_URL, headers=_bearer(token))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_token_revocation(role_users: dict[str, object]) -> None:
    _, body = _issue(Client(), username="t_resident", password=TEST_PASSWORD)
    token = str(body["token"])
    client = Client()
    response = client.delete(TOKEN_URL, headers=_bearer(token))
    assert (response.status_code, response.content) == (204, b"")
    assert ApiToken.objects.get().revoked_at is not None
    assert client.get(ME_URL, headers=_bearer(token)).status_code == 401
    assert client.delete(TOKEN_URL, headers=_bearer(token)).status_code == 401
    record = AuditRecord.objects.get(action="auth.token_revoked")
    assert (record.actor_username, record.object_id) == ("t_resident", str(ApiToken.objects.get().pk))


def test_revoking_one_token_leaves_the_others(role_users: dict[str, object], api_token_for: object) -> None:
    first = api_token_for(role_users["resident"])  # type: ignore[operator]
    second = api_token_for(role_users["resident"])  # type: ignore[operator]
    Client().delete(TOKEN_URL, headers=_bearer(first))
    assert Client().get(ME_URL, headers=_bearer(second)).status_code == 200


def test_delete_needs_a_bearer_token(role_users: dict[str, object], client_for: object) -> None:
    client = client_for(role_users["resident"])  # type: ignore[operator]
    response = client.delete(TOKEN_URL)
    assert response.status_code == 401
    assert not AuditRecord.objects.filter(action="auth.token_revoked").exists()


def test_wrong_password_is_401_with_code_and_messages(role_users: dict[str, object]) -> None:
    status, body = _issue(Client(), username="t_resident", password="Wrong-Password-1")
    assert status == 401
    assert body == {
        "code": "invalid_credentials",
        "message": "用户名或密码不正确。",
        "message_zh": "用户名或密码不正确。",
        "message_en": "The username or password is not correct.",
    }
    assert not ApiToken.objects.exists()
    assert AuditRecord.objects.get(action="auth.login_failed").channel == "api"


def test_english_message_follows_accept_language(role_users: dict[str, object]) -> None:
    response = Client().post(
        TOKEN_URL,
        json.dumps({"username": "t_resident", "password": "x"}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.json()["message"] == "The username or password is not correct."


def test_staff_token_needs_the_totp_code(role_users: dict[str, object]) -> None:
    user = role_users["department_handler"]
    status, body = _issue(Client(), username="t_department_handler", password=TEST_PASSWORD)
    assert (status, body["code"]) == (401, "otp_required")
    status, body = _issue(
        Client(), username="t_department_handler", password=TEST_PASSWORD, otp=totp_code(user_key(user))
    )
    assert status == 200
    me = Client().get(ME_URL, headers=_bearer(str(body["token"]))).json()
    assert me["roles"] == [{"role": "department_handler", "department_code": "TDEPT"}]


def test_staff_without_a_device_is_refused_403() -> None:
    staff_user(Role.WINDOW_CLERK, username="no_device")
    status, body = _issue(Client(), username="no_device", password=TEST_PASSWORD, otp="123456")
    assert (status, body["code"]) == (403, "otp_not_enrolled")
    assert body["message_en"] == "This staff account has no TOTP device yet; enrol one on the web first."
    assert not ApiToken.objects.exists()


def test_unconfirmed_device_does_not_count() -> None:
    user = staff_user(Role.LEADER, username="half_enrolled")
    device = TOTPDevice.objects.create(user=user, name="default", confirmed=False)
    status, body = _issue(
        Client(), username="half_enrolled", password=TEST_PASSWORD, otp=totp_code(device.key)
    )
    assert (status, body["code"]) == (403, "otp_not_enrolled")


def test_staff_with_expired_password_is_refused(role_users: dict[str, object]) -> None:
    user = role_users["leader"]
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=91))  # type: ignore[attr-defined]
    status, body = _issue(
        Client(), username="t_leader", password=TEST_PASSWORD, otp=totp_code(user_key(user))
    )
    assert (status, body["code"]) == (403, "password_expired")
    assert not ApiToken.objects.exists()


def test_inactive_account_gets_no_token() -> None:
    UserFactory.create(username="inactive", kind=Kind.RESIDENT, is_active=False)
    status, body = _issue(Client(), username="inactive", password=TEST_PASSWORD)
    assert (status, body["code"]) == (401, "invalid_credentials")


def test_malformed_body_is_422(role_users: dict[str, object]) -> None:
    response = Client().post(
        TOKEN_URL, json.dumps({"username": "t_resident"}), content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


def test_session_callers_use_me_too(role_users: dict[str, object], client_for: object) -> None:
    client = client_for(role_users["vendor_staff"])  # type: ignore[operator]
    body = client.get(ME_URL).json()
    assert body["roles"] == [{"role": "vendor_staff", "department_code": None}]


def test_expired_vendor_membership_has_no_roles(role_users: dict[str, object], api_token_for: object) -> None:
    user = role_users["vendor_staff"]
    user.memberships.update(valid_until=timezone.now() - timedelta(minutes=1))  # type: ignore[attr-defined]
    body = Client().get(ME_URL, headers=_bearer(api_token_for(user))).json()  # type: ignore[operator]
    assert body["roles"] == []


def test_openapi_documents_the_endpoints() -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    token = schema["paths"]["/api/v1/auth/token"]
    assert set(token["post"]["responses"]) >= {"200", "401", "403", "429"}
    assert set(token["delete"]["responses"]) >= {"204", "401"}
    assert token["delete"]["security"] == [{"BearerAuth": []}]
    me = schema["paths"]["/api/v1/me"]["get"]
    assert set(me["responses"]) >= {"200", "401"}
    assert set(schema["components"]["schemas"]["TokenIn"]["properties"]) == {"username", "password", "otp"}
    assert set(schema["components"]["schemas"]["ErrorOut"]["required"]) == {
        "code",
        "message",
        "message_zh",
        "message_en",
    }


def test_last_used_is_recorded_to_the_minute_without_a_write_per_call(
    role_users: dict[str, object], api_token_for: object
) -> None:
    # Given a token never used
    resident = role_users["resident"]
    assert isinstance(resident, User)
    token = api_token_for(resident)  # type: ignore[operator]
    row = ApiToken.objects.get(user=resident)
    assert row.last_used_at is None
    # When it is used twice in a row
    assert Client().get(ME_URL, headers=_bearer(token)).status_code == 200
    first = ApiToken.objects.get(pk=row.pk).last_used_at
    assert Client().get(ME_URL, headers=_bearer(token)).status_code == 200
    # Then the first call recorded the time and the second (within a minute) left it
    assert first is not None
    assert ApiToken.objects.get(pk=row.pk).last_used_at == first
    # And a call more than a minute later records it again
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=first - timedelta(minutes=2))
    assert Client().get(ME_URL, headers=_bearer(token)).status_code == 200
    assert ApiToken.objects.get(pk=row.pk).last_used_at > first - timedelta(minutes=1)  # type: ignore[operator]
