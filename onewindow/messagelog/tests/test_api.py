"""``/api/v1/exchange/log``: who reads the message log (issue #8 item 3; separation of duties, GB/T
22239-2019 §8.1.4.2 — the system administrator reads no audit data; PIPL Art. 51 — payloads only for an
auditor with a reason, audited). Every role in ALL_ROLES is tried; a refusal is audited, changes nothing."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.messagelog.models import PayloadPolicy, SubsystemPayloadPolicy
from onewindow.messagelog.tests.factories import REQUEST_BODY, append, subsystem

pytestmark = pytest.mark.django_db

BASE = "/api/v1/exchange/log"
TokenFor = Callable[[object], str]
METADATA_READERS = {"auditor", "security_officer", "department_admin"}


@pytest.fixture
def log(role_users: dict[str, Any]) -> None:
    # TDEPT is the department of the role_users' department roles; it provides through TDEPT-SYS.
    subsystem("TDEPT-SYS", "TDEPT")
    subsystem("TAX-SYS", "TAX")
    subsystem("MSR-SYS", "MSR")
    with override_settings(MESSAGELOG_PAYLOADS="full"):
        append(provider_subsystem_code="TDEPT-SYS", provider="CN/GOV/X/TDEPT-SYS", purpose="CASE-1")
        append(purpose="CASE-2")  # TAX -> MSR: not TDEPT's
        append(provider_subsystem_code="TDEPT-SYS", provider="CN/GOV/X/TDEPT-SYS", purpose="CASE-3")


def _get(client: Client, token: str, path: str) -> Any:
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def _audits(action: str) -> int:
    return AuditRecord.objects.filter(action=action).count()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_search_per_role(role: str, role_users: dict[str, Any], api_token_for: TokenFor, log: None) -> None:
    denied_before = _audits("permission.denied")

    response = _get(Client(), api_token_for(role_users[role]), BASE)

    if role not in METADATA_READERS:
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        assert _audits("permission.denied") == denied_before + 1
        assert _audits("messagelog.searched") == 0
        return
    assert response.status_code == 200
    purposes = [item["purpose"] for item in response.json()["items"]]
    if role == "department_admin":
        assert purposes == ["CASE-3", "CASE-1"]  # only exchanges TDEPT took part in
    else:
        assert purposes == ["CASE-3", "CASE-2", "CASE-1"]
    assert all(
        "request_body" not in item and "request_payload" not in item for item in response.json()["items"]
    )
    assert _audits("messagelog.searched") == 1


def test_anonymous_is_refused(log: None) -> None:
    assert Client().get(BASE).status_code == 401


def test_filters_and_cursor(role_users: dict[str, Any], api_token_for: TokenFor, log: None) -> None:
    token = api_token_for(role_users["auditor"])
    client = Client()

    assert [i["seq"] for i in _get(client, token, f"{BASE}?purpose=CASE-2").json()["items"]] == [2]
    assert [
        i["seq"]
        for i in _get(client, token, f"{BASE}?consumer=CN/GOV/11110000000000001X/TAX-SYS").json()["items"]
    ] == [3, 2, 1]
    first = _get(client, token, f"{BASE}?limit=2").json()
    assert ([i["seq"] for i in first["items"]], first["next_before_seq"]) == ([3, 2], 2)
    assert [i["seq"] for i in _get(client, token, f"{BASE}?before_seq=2").json()["items"]] == [1]
    assert _get(client, token, f"{BASE}?from=2030-01-01").json()["items"] == []
    assert _get(client, token, f"{BASE}?from=2026-02-01&to=2026-01-01").status_code == 422


def test_search_query_count_does_not_grow_with_results(
    role_users: dict[str, Any], api_token_for: TokenFor, log: None
) -> None:
    token = api_token_for(role_users["auditor"])
    client = Client()
    _get(client, token, BASE)  # the first call of a token also records its use
    with CaptureQueriesContext(connection) as three:
        _get(client, token, BASE)
    for _ in range(5):
        append()
    with CaptureQueriesContext(connection) as eight:
        _get(client, token, BASE)
    assert len(eight) == len(three)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_payload_read_per_role(
    role: str, role_users: dict[str, Any], api_token_for: TokenFor, log: None
) -> None:
    response = Client().post(
        f"{BASE}/1/payload",
        {"reason": "复核案件 CASE-1 的数据交换 / review of CASE-1"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_token_for(role_users[role])}",
    )

    if role != "auditor":
        assert response.status_code == 403
        assert _audits("messagelog.payload_read") == 0
        return
    assert response.status_code == 200
    assert base64.b64decode(response.json()["request_body_base64"]) == REQUEST_BODY
    audit = AuditRecord.objects.get(action="messagelog.payload_read")
    assert (audit.object_id, audit.details["reason"]) == (
        "1",
        "复核案件 CASE-1 的数据交换 / review of CASE-1",
    )


def test_payload_read_needs_a_reason(role_users: dict[str, Any], api_token_for: TokenFor, log: None) -> None:
    response = Client().post(
        f"{BASE}/1/payload",
        {"reason": " "},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_token_for(role_users['auditor'])}",
    )
    assert (response.status_code, response.json()["code"]) == (422, "reason_required")
    assert _audits("messagelog.payload_read") == 0
    missing = Client().post(
        f"{BASE}/99/payload",
        {"reason": "checking a complaint"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_token_for(role_users['auditor'])}",
    )
    assert missing.status_code == 404
    assert AuditRecord.objects.get(action="messagelog.payload_read").outcome == "failure"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_policy_set_per_role(
    role: str, role_users: dict[str, Any], api_token_for: TokenFor, log: None
) -> None:
    # system administrators, and TDEPT's administrators for TDEPT's subsystem, may set it
    response = Client().put(
        f"{BASE}/policies/TDEPT-SYS",
        {"policy": "none"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_token_for(role_users[role])}",
    )

    if role not in {"system_admin", "department_admin"}:
        assert response.status_code == 403
        assert not SubsystemPayloadPolicy.objects.exists()
        assert _audits("messagelog.policy_set") == 0
        return
    assert response.status_code == 200
    assert response.json()["policy"] == "none"
    assert SubsystemPayloadPolicy.objects.get(subsystem_code="TDEPT-SYS").policy == PayloadPolicy.NONE
    audit = AuditRecord.objects.get(action="messagelog.policy_set")
    assert audit.details == {"policy": "none", "previous": "default:metadata"}


def test_a_department_admin_cannot_set_another_departments_policy(
    role_users: dict[str, Any], api_token_for: TokenFor, log: None
) -> None:
    token = api_token_for(role_users["department_admin"])
    response = Client().put(
        f"{BASE}/policies/TAX-SYS",
        {"policy": "full"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 403
    assert not SubsystemPayloadPolicy.objects.exists()

    admin = api_token_for(role_users["system_admin"])
    unknown = Client().put(
        f"{BASE}/policies/NOPE",
        {"policy": "full"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {admin}",
    )
    assert unknown.status_code == 404
    invalid = Client().put(
        f"{BASE}/policies/TAX-SYS",
        {"policy": "everything"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {admin}",
    )
    assert invalid.status_code == 422
    assert not SubsystemPayloadPolicy.objects.exists()
