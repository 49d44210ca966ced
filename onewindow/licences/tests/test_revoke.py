"""Revoking licences (issue #6 item 6; Administrative Licensing Law Arts. 8, 69, 70): by the issuing
department's administrators only, with a reason and a reason code, audited; every other role is refused
(the refusal audited) and nothing changes. The staff pages list and revoke the department's licences.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.licences.actions import licence_revoke
from onewindow.licences.models import Licence
from onewindow.licences.selectors import licence_verify_by_number

pytestmark = pytest.mark.django_db

ALLOWED = {"department_admin"}  # of the issuing department (TDEPT) only: not the system administrator
REVOKE = {"reason_code": "penalty", "reason": "以欺骗手段取得许可"}


def _admin(role_users: dict[str, Any]) -> User:
    admin = role_users["department_admin"]
    assert isinstance(admin, User)
    return admin


def _unchanged(licence: Licence) -> None:
    licence.refresh_from_db()
    assert licence.status == "valid"
    assert licence.revoked_at is None
    assert not AuditRecord.objects.filter(action="licence.revoked").exists()
    assert licence_verify_by_number(licence.number).valid  # type: ignore[union-attr]


def test_the_departments_administrator_revokes_with_a_reason(
    licence: Licence, role_users: dict[str, Any]
) -> None:
    admin = _admin(role_users)

    revoked = licence_revoke(acting_user=admin, licence=licence, reason=" 吊销 ", reason_code="penalty")

    assert (revoked.status, revoked.revocation_reason, revoked.revocation_reason_code) == (
        "revoked",
        "吊销",
        "penalty",
    )
    assert revoked.revoked_by_id == admin.pk
    record = AuditRecord.objects.get(action="licence.revoked", object_id=licence.number)
    assert record.actor_id == admin.pk
    assert record.department_code == "TDEPT"
    assert record.details["reason_code"] == "penalty"
    assert record.details["previous_status"] == "valid"


@pytest.mark.parametrize(
    ("reason", "reason_code", "code"),
    [
        ("", "penalty", "reason_required"),
        ("x" * 1001, "penalty", "reason_too_long"),
        ("吊销", "because", "reason_code_invalid"),
    ],
)
def test_a_revocation_without_a_proper_reason_is_refused(
    licence: Licence, role_users: dict[str, Any], reason: str, reason_code: str, code: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        licence_revoke(
            acting_user=_admin(role_users), licence=licence, reason=reason, reason_code=reason_code
        )

    assert refused.value.code == code
    _unchanged(licence)


def test_a_revoked_licence_cannot_be_revoked_again(licence: Licence, role_users: dict[str, Any]) -> None:
    licence_revoke(acting_user=_admin(role_users), licence=licence, reason="吊销", reason_code="penalty")

    with pytest.raises(RuleViolation) as refused:
        licence_revoke(acting_user=_admin(role_users), licence=licence, reason="再次", reason_code="other")

    assert (refused.value.code, refused.value.status) == ("licence_already_revoked", 409)
    assert AuditRecord.objects.filter(action="licence.revoked").count() == 1


def test_another_departments_administrator_is_refused(licence: Licence) -> None:
    other = staff_user(Role.DEPARTMENT_ADMIN, department_code="OTHER", username="other_admin")

    with pytest.raises(PermissionDenied):
        licence_revoke(acting_user=other, licence=licence, reason="吊销", reason_code="penalty")

    _unchanged(licence)
    assert AuditRecord.objects.filter(
        action="permission.denied", actor_id=other.pk, object_id=licence.number
    ).exists()


# --- The API, role by role --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_revoke_api_for_every_role(
    role: str,
    licence: Licence,
    role_users: dict[str, Any],
    api_token_for: Callable[[object], str],
    client: Client,
) -> None:
    user = role_users[role]
    response = client.post(
        f"/api/v1/licenses/{licence.number}/revoke",
        REVOKE,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_token_for(user)}",
    )

    if role in ALLOWED:
        assert response.status_code == 200
        body = response.json()
        assert (body["number"], body["status"], body["revocation_reason_code"]) == (
            licence.number,
            "revoked",
            "penalty",
        )
        verified = client.get(f"/api/v1/licenses/{licence.number}/verify").json()
        assert (verified["valid"], verified["status"]) == (False, "revoked")
    else:
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        _unchanged(licence)
        assert AuditRecord.objects.filter(action="permission.denied", actor_id=user.pk).exists()


def test_revoke_api_without_a_caller_is_401(licence: Licence, client: Client) -> None:
    response = client.post(
        f"/api/v1/licenses/{licence.number}/revoke", REVOKE, content_type="application/json"
    )

    assert response.status_code == 401
    _unchanged(licence)


def test_revoke_api_unknown_number_is_404_for_administrators_and_403_for_others(
    role_users: dict[str, Any], api_token_for: Callable[[object], str], client: Client
) -> None:
    def post(role: str) -> int:
        return client.post(
            "/api/v1/licenses/NOPE-1/revoke",
            REVOKE,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {api_token_for(role_users[role])}",
        ).status_code

    assert post("department_admin") == 404
    assert post("resident") == 403


def test_revoke_api_refuses_a_bad_reason_code_422_and_a_second_revocation_409(
    licence: Licence, role_users: dict[str, Any], api_token_for: Callable[[object], str], client: Client
) -> None:
    token = f"Bearer {api_token_for(role_users['department_admin'])}"
    url = f"/api/v1/licenses/{licence.number}/revoke"

    bad = client.post(
        url, {"reason_code": "nope", "reason": "x"}, content_type="application/json", HTTP_AUTHORIZATION=token
    )
    empty = client.post(
        url,
        {"reason_code": "other", "reason": "  "},
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
    )
    first = client.post(url, REVOKE, content_type="application/json", HTTP_AUTHORIZATION=token)
    second = client.post(url, REVOKE, content_type="application/json", HTTP_AUTHORIZATION=token)

    assert (bad.status_code, empty.status_code, first.status_code, second.status_code) == (422, 422, 200, 409)
    assert empty.json()["code"] == "reason_required"
    assert second.json()["code"] == "licence_already_revoked"


# --- Pages -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_licence_pages_for_every_role(
    role: str, licence: Licence, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users[role])

    listing = client.get("/licences/manage/")
    detail = client.get(f"/licences/manage/{licence.number}/")
    revoke = client.post(f"/licences/manage/{licence.number}/revoke/", REVOKE)

    if role in ALLOWED:
        assert listing.status_code == 200
        assert licence.number in listing.content.decode()
        assert detail.status_code == 200
        assert revoke.status_code == 302
        licence.refresh_from_db()
        assert licence.status == "revoked"
    else:
        assert (listing.status_code, detail.status_code, revoke.status_code) == (403, 403, 403)
        _unchanged(licence)


def test_the_pages_send_anonymous_visitors_to_sign_in(licence: Licence, client: Client) -> None:
    assert client.get("/licences/manage/").status_code == 302
    assert client.post(f"/licences/manage/{licence.number}/revoke/", REVOKE).status_code == 302
    _unchanged(licence)


def test_the_list_searches_by_number_holder_name_and_code(
    licence: Licence, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["department_admin"])

    for query in (licence.number[-6:], licence.holder_name[:2], licence.holder_code.lower()):
        assert licence.number in client.get("/licences/manage/", {"q": query}).content.decode()
    assert licence.number not in client.get("/licences/manage/", {"q": "无此公司"}).content.decode()


def test_the_revoke_form_shows_what_is_wrong(
    licence: Licence, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["department_admin"])

    response = client.post(
        f"/licences/manage/{licence.number}/revoke/",
        {"reason_code": "penalty", "reason": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 422
    assert "govuk-error-summary" in response.content.decode()
    _unchanged(licence)
