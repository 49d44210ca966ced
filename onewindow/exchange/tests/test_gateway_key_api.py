"""The gateway-key API (docs/exchange.md "The adapter protocol"): ``POST /api/v1/exchange/gateway/keys``
issues or rotates the gateway's key and ``POST /api/v1/exchange/gateway/keys/{key id}/revoke`` revokes one
with a reason, for system administrators only (the existing ``gateway_key_issue``/``gateway_key_revoke``
actions); every other role gets 403 (audited, nothing changed), a caller without a token 401.

GB/T 22239-2019 §8.1.4.2 (access control on management functions), §8.1.4.3 (key issue and revocation
audited).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.exchange import actions
from onewindow.exchange.models import GatewayKey

pytestmark = pytest.mark.django_db

BASE = "/api/v1/exchange/gateway/keys"


def _state() -> dict[str, Any]:
    return {
        "keys": list(GatewayKey.objects.order_by("pk").values_list("key_id", "status", "revoke_reason")),
        "audit": list(
            AuditRecord.objects.exclude(action="permission.denied")
            .order_by("seq")
            .values_list("seq", "action")
        ),
    }


def _client(role: str, role_users: dict[str, Any], api_token_for: Callable[[object], str]) -> Client:
    if role == "anonymous":
        return Client()
    return Client(headers={"authorization": f"Bearer {api_token_for(role_users[role])}"})


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_the_gateway_key_endpoints_for_each_role(
    role: str, role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    first = actions.gateway_key_issue(acting_user=None)
    client = _client(role, role_users, api_token_for)
    before = _state()
    denied_before = AuditRecord.objects.filter(action="permission.denied").count()

    issued = client.post(BASE)
    revoked = client.post(
        f"{BASE}/{first.key_id}/revoke", {"reason": "轮换后注销旧网关密钥"}, content_type="application/json"
    )

    if role == "system_admin":
        assert issued.status_code == 201, issued.content
        new = GatewayKey.objects.get(status="active")
        body = issued.json()
        assert (body["key_id"], body["identity"], body["status"], body["algorithm"]) == (
            new.key_id,
            "CN/GOV/PLATFORM/GATEWAY",
            "active",
            "SM2-SM3",
        )
        assert body["certificate_der_base64"]
        assert (body["revoked_at"], body["revoke_reason"]) == (None, "")
        assert new.created_by == role_users["system_admin"]
        assert revoked.status_code == 200, revoked.content
        assert (revoked.json()["status"], revoked.json()["revoke_reason"]) == (
            "revoked",
            "轮换后注销旧网关密钥",
        )
        assert revoked.json()["revoked_at"]
        first.refresh_from_db()
        assert (first.status, first.revoked_by) == ("revoked", role_users["system_admin"])
        assert AuditRecord.objects.filter(action="exchange.gateway_key_issued", object_id=new.key_id).exists()
        assert AuditRecord.objects.filter(
            action="exchange.gateway_key_revoked", object_id=first.key_id
        ).exists()
        # the public list shows the new key and no longer the revoked one
        listed = [row["key_id"] for row in Client().get("/api/v1/exchange/meta/gateway/keys").json()]
        assert new.key_id in listed
        assert first.key_id not in listed
        return
    expected = 401 if role == "anonymous" else 403
    assert (issued.status_code, revoked.status_code) == (expected, expected), role
    for response in (issued, revoked):
        assert response.json()["message_zh"]
        assert response.json()["message_en"]
    assert _state() == before
    if role != "anonymous":  # department administrators included: the gateway is the platform's
        assert AuditRecord.objects.filter(action="permission.denied").count() == denied_before + 2


def test_revoking_needs_a_reason_a_known_key_and_happens_once(
    role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    key = actions.gateway_key_issue(acting_user=None)
    client = _client("system_admin", role_users, api_token_for)
    before = _state()

    no_reason = client.post(f"{BASE}/{key.key_id}/revoke", {"reason": " "}, content_type="application/json")
    unknown = client.post(f"{BASE}/{'0' * 64}/revoke", {"reason": "泄露"}, content_type="application/json")

    assert (no_reason.status_code, no_reason.json()["code"]) == (422, "reason_required")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "key_not_found")
    assert _state() == before

    done = client.post(f"{BASE}/{key.key_id}/revoke", {"reason": "密钥泄露"}, content_type="application/json")
    again = client.post(f"{BASE}/{key.key_id}/revoke", {"reason": "再次"}, content_type="application/json")
    assert done.status_code == 200
    assert (again.status_code, again.json()["code"]) == (409, "key_already_revoked")
    assert GatewayKey.objects.get(pk=key.pk).revoke_reason == "密钥泄露"


def test_issuing_again_rotates_the_active_key(
    role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    client = _client("system_admin", role_users, api_token_for)
    first = client.post(BASE).json()
    second = client.post(BASE).json()
    assert first["key_id"] != second["key_id"]
    assert GatewayKey.objects.get(key_id=first["key_id"]).status == "retired"
    assert GatewayKey.objects.get(key_id=second["key_id"]).status == "active"


def test_the_endpoints_are_documented() -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    for path, status in ((BASE, "201"), (f"{BASE}/{{key_id}}/revoke", "200")):
        operation = paths[path]["post"]
        assert operation["summary"]
        assert {status, "401", "403", "404", "409", "422"} <= set(operation["responses"]), path
