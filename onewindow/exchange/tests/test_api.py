"""Key administration per role and discovery (issue #8 items 1 and 5): the owning department's
administrators and system administrators manage a subsystem's keys; everyone else is refused (audited,
nothing changed); discovery is public."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from django.test import Client

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.exchange.models import SubsystemKey
from onewindow.exchange.tests.conftest import World

pytestmark = pytest.mark.django_db

BASE = "/api/v1/exchange"
ALLOWED = {"department_admin", "system_admin"}


def _client(role: str, users: dict[str, Any], api_token_for: Callable[[object], str]) -> Client:
    if role == "anonymous":
        return Client()
    return Client(headers={"authorization": f"Bearer {api_token_for(users[role])}"})


def _state() -> dict[str, Any]:
    return {
        "keys": list(SubsystemKey.objects.order_by("pk").values_list("pk", "status", "revoked_at")),
        "audit": list(
            AuditRecord.objects.exclude(action="permission.denied")
            .order_by("seq")
            .values_list("action", "object_id")
        ),
    }


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
@pytest.mark.parametrize("operation", ["list", "issue", "revoke"])
def test_key_administration_for_each_role(
    world: World,
    role_users: dict[str, Any],
    api_token_for: Callable[[object], str],
    role: str,
    operation: str,
) -> None:
    client = _client(role, role_users, api_token_for)
    before = _state()
    code = world.consumer.code
    if operation == "list":
        response = client.get(f"{BASE}/systems/{code}/keys")
    elif operation == "issue":
        response = client.post(
            f"{BASE}/systems/{code}/keys", {"algorithm": "Ed25519"}, content_type="application/json"
        )
    else:
        response = client.post(
            f"{BASE}/keys/{world.consumer_key.key_id}/revoke",
            {"reason": "轮换后注销"},
            content_type="application/json",
        )
    if role == "anonymous":
        assert response.status_code == 401
    elif role not in ALLOWED:
        assert response.status_code == 403, response.content
    else:
        assert response.status_code == {"list": 200, "issue": 201, "revoke": 200}[operation], response.content
        if operation == "issue":
            body = response.json()
            assert body["algorithm"] == "Ed25519"
            assert body["status"] == "active"
            world.consumer_key.refresh_from_db()
            assert world.consumer_key.status == "retired"
        if operation == "revoke":
            assert response.json()["status"] == "revoked"
        return
    assert _state() == before


def test_discovery_is_public(world: World) -> None:
    client = Client()
    members = client.get(f"{BASE}/meta/members").json()
    credit = world.provider.department.credit_code
    assert {member["credit_code"] for member in members} >= {credit, world.consumer.department.credit_code}
    services = client.get(f"{BASE}/meta/members/{credit}/services").json()
    assert [service["service"] for service in services] == [world.service_path]
    openapi = client.get(services[0]["openapi_url"])
    assert openapi.status_code == 200
    assert f"/exchange/v1/{world.service_path}" in openapi.json()["paths"]
    keys = client.get(f"{BASE}/meta/members/{credit}/subsystems/{world.provider.code}/keys").json()
    assert [key["key_id"] for key in keys] == [world.provider_key.key_id]
    assert client.get(f"{BASE}/meta/members/000000000000000000/services").status_code == 404


def test_sm2_key_certificate_is_issued_by_the_platform_root(world: World) -> None:
    from onewindow.exchange.certificates import certificate_verify
    from onewindow.seals.actions import authority_certificate, authority_current

    key = world.consumer_key
    certificate = x509.load_der_x509_certificate(bytes(key.certificate_der))
    certificate_verify(certificate, authority_certificate(authority_current()))
    assert bytes(key.public_key_der) in certificate.tbs_certificate_bytes  # the SM2 key, not the placeholder
    assert key.algorithm == "SM2-SM3"
    assert base64.b64encode(bytes(key.public_key_der))
    assert "exchange" not in key.private_key_token
    assert key.private_key_token.startswith("sm4gcm1.")
