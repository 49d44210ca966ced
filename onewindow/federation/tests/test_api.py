"""The federation API for every role (STYLE rule 9): peers and the node key for system administrators,
grants of a service to a peer's consumers for the providing department's administrators and system
administrators, the node's identity for anyone; everyone else 401/403, audited, and nothing changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.federation import actions
from onewindow.federation.models import NodeKey, Peer, PeerCrl, PeerGrant
from onewindow.federation.tests.conftest import Provider, peer_register, provider_world
from onewindow.federation.tests.support import ENTITY_ITEMS, FakeNode

pytestmark = pytest.mark.django_db

BASE = "/api/v1/federation"
CONSUMER = "CN/GOV/11350100MB0000003X/CITY-SYS"


def _client(role: str, users: dict[str, Any], api_token_for: Callable[[object], str]) -> Client:
    if role == "anonymous":
        return Client()
    return Client(headers={"authorization": f"Bearer {api_token_for(users[role])}"})


def _state() -> dict[str, Any]:
    return {
        "peers": list(Peer.objects.order_by("pk").values_list("pk", "instance", "status")),
        "grants": list(PeerGrant.objects.order_by("pk").values_list("pk", "status")),
        "keys": list(NodeKey.objects.order_by("pk").values_list("pk", "status")),
        "crls": list(PeerCrl.objects.order_by("pk").values_list("pk", "attempted_at")),
        "audit": list(
            AuditRecord.objects.exclude(action="permission.denied")
            .order_by("seq")
            .values_list("action", "object_id")
        ),
    }


@pytest.fixture
def world(role_users: dict[str, Any], local_node: str, remote: FakeNode) -> dict[str, Any]:
    """The test department (``TDEPT``, whose administrator is ``t_department_admin``) provides the service."""
    provider: Provider = provider_world("TDEPT")
    peer = peer_register(remote, directions=["requests_in", "events_out"], export_topics=["entity.*"])
    grant = actions.peer_grant_create(
        acting_user=None,
        peer=peer,
        service=provider.service,
        consumer=CONSUMER,
        items=ENTITY_ITEMS,
        until=timezone.localdate() + dt.timedelta(days=30),
    )
    return {"provider": provider, "peer": peer, "grant": grant, "remote": remote}


# In this order: the grant needs the peer still active, so the peer is revoked last.
PEER_ENDPOINTS = [
    "node_key",
    "node_key_revoke",
    "list",
    "register",
    "detail",
    "refresh",
    "crl_refresh",
    "replay",
]
GRANT_ENDPOINTS = ["grants", "grant", "grant_revoke"]
OPERATIONS = [*PEER_ENDPOINTS, *GRANT_ENDPOINTS, "revoke"]


def _call(client: Client, operation: str, world: dict[str, Any]) -> Any:
    instance = world["remote"].instance
    other = FakeNode("CN-3600")
    key = NodeKey.objects.exclude(status="revoked").first()
    key_id = key.key_id if key is not None else "0" * 64
    requests: dict[str, tuple[str, str, dict[str, Any] | None]] = {
        "node_key": ("post", f"{BASE}/node/keys", {"algorithm": "Ed25519"}),
        "node_key_revoke": ("post", f"{BASE}/node/keys/{key_id}/revoke", {"reason": "私钥泄露"}),
        "list": ("get", f"{BASE}/peers", None),
        "register": (
            "post",
            f"{BASE}/peers",
            {
                "instance": other.instance,
                "base_url": "https://cn-3600.example",
                "root_certificate_pem": other.root_pem,
                "fingerprint": other.root_sha256,
                "directions": ["requests_out"],
            },
        ),
        "detail": ("get", f"{BASE}/peers/{instance}", None),
        "revoke": ("post", f"{BASE}/peers/{instance}/revoke", {"reason": "测试"}),
        "refresh": ("post", f"{BASE}/peers/{instance}/refresh", {}),
        "crl_refresh": ("post", f"{BASE}/peers/{instance}/crl/refresh", {}),
        "replay": ("post", f"{BASE}/peers/{instance}/replay", {}),
        "grants": ("get", f"{BASE}/grants", None),
        "grant": (
            "post",
            f"{BASE}/grants",
            {
                "peer": instance,
                "service": world["provider"].service_path,
                "consumer": "CN/GOV/11350100MB0000003X",
                "items": ["名称"],
                "until": (timezone.localdate() + dt.timedelta(days=5)).isoformat(),
            },
        ),
        "grant_revoke": ("post", f"{BASE}/grants/{world['grant'].pk}/revoke", {"reason": "到期"}),
    }
    method, path, payload = requests[operation]
    if method == "get":
        return client.get(path)
    return client.post(path, payload, content_type="application/json")


SUCCESS = {
    "node_key": 201,
    "node_key_revoke": 200,
    "crl_refresh": 200,  # allowed; the failure (nothing answers) is recorded on the peer's CRL row
    "list": 200,
    "register": 201,
    "detail": 200,
    "revoke": 200,
    "refresh": 503,  # allowed; the peer's address answers nothing
    "replay": 200,
    "grants": 200,
    "grant": 201,
    "grant_revoke": 200,
}


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_each_endpoint_for_each_role(
    world: dict[str, Any], role_users: dict[str, Any], api_token_for: Callable[[object], str], role: str
) -> None:
    client = _client(role, role_users, api_token_for)
    for operation in OPERATIONS:
        allowed = {"system_admin"} | ({"department_admin"} if operation in GRANT_ENDPOINTS else set())
        before = _state()
        denied = AuditRecord.objects.filter(action="permission.denied").count()
        response = _call(client, operation, world)
        if role in allowed:
            assert response.status_code == SUCCESS[operation], (operation, response.content)
            continue
        assert response.status_code == (401 if role == "anonymous" else 403), (operation, response.content)
        body = response.json()
        assert body["message_zh"]
        assert body["message_en"]
        assert _state() == before, operation
        if role != "anonymous":
            assert AuditRecord.objects.filter(action="permission.denied").count() == denied + 1, operation


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_the_node_identity_is_public(
    world: dict[str, Any], role_users: dict[str, Any], api_token_for: Callable[[object], str], role: str
) -> None:
    response = _client(role, role_users, api_token_for).get(f"{BASE}/meta/node")
    assert response.status_code == 200
    body = response.json()
    assert body["instance"] == "CN-35"
    assert body["root_certificate_pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert len(body["root_fingerprint_sha256"]) == len(body["root_fingerprint_sm3"]) == 64
    assert body["keys"][0]["status"] == "active"


def test_a_department_administrator_sees_and_grants_only_its_own_services(
    world: dict[str, Any], role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    # Another department's service: refused
    other = provider_world("AMR", "AMR-REG")
    client = _client("department_admin", role_users, api_token_for)
    response = client.post(
        f"{BASE}/grants",
        {
            "peer": world["remote"].instance,
            "service": other.service_path,
            "consumer": CONSUMER,
            "items": ["名称"],
            "until": timezone.localdate().isoformat(),
        },
        content_type="application/json",
    )
    assert response.status_code == 403
    assert [grant["id"] for grant in client.get(f"{BASE}/grants").json()] == [world["grant"].pk]


def test_a_peer_with_a_wrong_fingerprint_is_refused_field_by_field(
    world: dict[str, Any], role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    other = FakeNode("CN-3600")
    response = _client("system_admin", role_users, api_token_for).post(
        f"{BASE}/peers",
        {
            "instance": other.instance,
            "base_url": "https://cn-3600.example",
            "root_certificate_pem": other.root_pem,
            "fingerprint": "00" * 32,
            "directions": ["requests_out"],
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    assert [error["code"] for error in response.json()["errors"]] == ["fingerprint_mismatch"]
    assert not Peer.objects.filter(instance="CN-3600").exists()
