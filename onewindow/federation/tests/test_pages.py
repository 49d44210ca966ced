"""The federation's admin pages (/federation/admin/…): every page and POST for every role, refusals change
nothing; what each page shows; the actions' refusals shown next to their fields; the workbench tile.

Only system administrators may use them (``may_manage_peers``); every other role is refused 403 (audited
``permission.denied``), anonymous visitors are sent to sign in. GB/T 22239-2019 §8.1.4.2 (access control on
management functions), §8.1.4.3 (keys and trust changes audited).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.federation import actions
from onewindow.federation.events import export_fanout
from onewindow.federation.models import ExportItem, NodeKey, Peer, PeerCrl, PeerGrant, PeerMember
from onewindow.federation.tests.conftest import Provider, peer_register, provider_world
from onewindow.federation.tests.support import ENTITY_ITEMS, FakeNode, PeerServer

pytestmark = pytest.mark.django_db

ADMIN = "/federation/admin"
CONSUMER = "CN/GOV/11350100MB0000003X/CITY-SYS"
REMOTE_MEMBER = "11350000MB0000009X"


def _state() -> dict[str, Any]:
    return {
        "peers": list(Peer.objects.order_by("pk").values_list("pk", "instance", "status", "revoke_reason")),
        "grants": list(PeerGrant.objects.order_by("pk").values_list("pk", "status", "revoke_reason")),
        "keys": list(NodeKey.objects.order_by("pk").values_list("pk", "status")),
        "members": list(PeerMember.objects.order_by("pk").values_list("pk", "credit_code")),
        "exports": list(ExportItem.objects.order_by("pk").values_list("pk", "status")),
        "crls": list(PeerCrl.objects.order_by("pk").values_list("pk", "crl_number", "attempted_at")),
        "audit": list(
            AuditRecord.objects.exclude(action="permission.denied").order_by("seq").values_list("action")
        ),
    }


def _json(data: Any) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, json.dumps(data, ensure_ascii=False).encode()


@pytest.fixture
def discovery(peer_server: PeerServer, remote: FakeNode) -> PeerServer:
    """The remote node's public answers: its node identity, one member with one service."""

    def answer(
        method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if path == "/api/v1/federation/meta/node":
            return _json({"instance": remote.instance, "root_certificate_pem": remote.root_pem, "keys": []})
        if path == "/api/v1/exchange/meta/members":
            return _json(
                [{"credit_code": REMOTE_MEMBER, "name": "省市场监管局", "name_en": "Provincial AMR"}]
            )
        if path == f"/api/v1/exchange/meta/members/{REMOTE_MEMBER}/services":
            service = f"CN/GOV/{REMOTE_MEMBER}/PROV-REG/entity-basic"
            return _json([{"service": service, "name": "法人基础信息查询", "resource_code": "X"}])
        if path == "/seals/root-ca.crl":
            return 200, {"Content-Type": "application/pkix-crl"}, remote.crl([])
        return 404, {}, b"{}"

    peer_server.handler = answer
    return peer_server


@pytest.fixture
def world(
    role_users: dict[str, Any], local_node: str, remote: FakeNode, discovery: PeerServer
) -> dict[str, Any]:
    """TDEPT provides a service; the remote node is a peer in all four directions at the discovery server,
    with one grant and one event acknowledged."""
    provider: Provider = provider_world("TDEPT")
    peer = peer_register(
        remote,
        directions=["requests_in", "requests_out", "events_out"],
        export_topics=["entity.*"],
        base_url=discovery.url,
    )
    grant = actions.peer_grant_create(
        acting_user=None,
        peer=peer,
        service=provider.service,
        consumer=CONSUMER,
        items=ENTITY_ITEMS,
        until=timezone.localdate() + dt.timedelta(days=30),
    )
    from onewindow.outbox.actions import outbox_append

    with transaction.atomic():
        event = outbox_append(topic="entity.registered", key="91350100MA00000010", payload={"n": 1})
    export_fanout(peer)
    ExportItem.objects.filter(peer=peer, event_id=event.pk).update(status="acked", acked_at=timezone.now())
    return {"provider": provider, "peer": peer, "grant": grant, "remote": remote}


def _requests(world: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, data): pages first, then changes, the peer revoked last (the grant needs it)."""
    instance = world["remote"].instance
    other = FakeNode("CN-3600")
    return [
        ("get", f"{ADMIN}/", {}),
        ("get", f"{ADMIN}/peers/", {}),
        ("get", f"{ADMIN}/peers/new/", {}),
        ("get", f"{ADMIN}/peers/{instance}/", {}),
        ("get", f"{ADMIN}/peers/{instance}/revoke/", {}),
        ("get", f"{ADMIN}/grants/", {}),
        ("get", f"{ADMIN}/grants/new/", {}),
        ("get", f"{ADMIN}/grants/{world['grant'].pk}/revoke/", {}),
        ("post", f"{ADMIN}/node/keys/issue/", {"algorithm": "Ed25519"}),
        (
            "post",
            f"{ADMIN}/peers/new/",
            {
                "instance": other.instance,
                "name": "江西节点",
                "base_url": "https://cn-3600.example",
                "fingerprint": "sha256:" + other.root_sha256,
                "root_certificate": other.root_pem,
                "directions": ["requests_in", "events_in"],
                "import_topics": "entity.*",
                "events_transport": "https",
            },
        ),
        ("post", f"{ADMIN}/peers/{instance}/refresh/", {}),
        ("post", f"{ADMIN}/peers/{instance}/crl/refresh/", {}),
        ("post", f"{ADMIN}/peers/{instance}/replay/", {"event_ids": ""}),
        (
            "post",
            f"{ADMIN}/grants/new/",
            {
                "peer": instance,
                "consumer": "CN/GOV/11350100MB0000003X",
                "service": world["provider"].service_path,
                "items": "名称、登记状态",
                "until": (timezone.localdate() + dt.timedelta(days=5)).isoformat(),
            },
        ),
        ("post", f"{ADMIN}/grants/{world['grant'].pk}/revoke/", {"reason": "合作结束"}),
        ("post", f"{ADMIN}/peers/{instance}/revoke/", {"reason": "对端根证书更换"}),
    ]


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_each_page_and_post_for_each_role(
    role: str, world: dict[str, Any], role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = Client() if role == "anonymous" else client_for(role_users[role])
    for method, path, data in _requests(world):
        before = _state()
        denied = AuditRecord.objects.filter(action="permission.denied").count()

        response = client.get(path) if method == "get" else client.post(path, data)

        if role == "system_admin":
            expected = 200 if method == "get" else 302
            assert response.status_code == expected, (path, response.content[:3000])
            continue
        if role == "anonymous":
            assert response.status_code == 302, path
            assert response["Location"].startswith("/accounts/login/"), path
        else:
            assert response.status_code == 403, (path, role)
            assert AuditRecord.objects.filter(action="permission.denied").count() == denied + 1, path
        assert _state() == before, path
    if role == "system_admin":
        # every change went through the audited actions
        done = set(AuditRecord.objects.values_list("action", flat=True))
        assert {
            "federation.node_key_issued",
            "federation.peer_registered",
            "federation.directory_refreshed",
            "federation.crl_refreshed",
            "federation.events_replayed",
            "federation.grant_created",
            "federation.grant_revoked",
            "federation.peer_revoked",
        } <= done
        assert NodeKey.objects.get(status="active").algorithm == "Ed25519"
        assert Peer.objects.get(instance="CN-3600").import_topics == ["entity.*"]
        assert Peer.objects.get(instance=world["remote"].instance).revoke_reason == "对端根证书更换"
        assert PeerGrant.objects.get(consumer="CN/GOV/11350100MB0000003X").item_names == ["名称", "登记状态"]
        assert ExportItem.objects.get().status == "pending"
        assert PeerMember.objects.get().credit_code == REMOTE_MEMBER


@pytest.fixture
def admin(
    world: dict[str, Any], role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> Client:
    return client_for(role_users["system_admin"])


def test_the_node_page_shows_the_fingerprints_and_keys_and_issues_nothing(admin: Client) -> None:
    from onewindow.federation.selectors import node_meta

    meta = node_meta()  # the public identity (issues the first key on first need)
    assert meta is not None
    keys_before = NodeKey.objects.count()

    page = admin.get(f"{ADMIN}/").content.decode()

    assert NodeKey.objects.count() == keys_before
    assert "CN-35" in page
    assert f'value="{meta.root_sha256}"' in page
    assert f'value="{meta.root_sm3}"' in page
    assert meta.keys[0].key_id in page
    assert "federation/copy.js" in page


def test_the_node_page_says_when_the_federation_is_not_configured(admin: Client, settings: Any) -> None:
    settings.FEDERATION_INSTANCE = ""
    response = admin.get(f"{ADMIN}/")
    assert response.status_code == 200
    assert "ONEWINDOW_FEDERATION_INSTANCE" in response.content.decode()
    issue = admin.post(f"{ADMIN}/node/keys/issue/", {"algorithm": "SM2-SM3"})
    assert issue.status_code == 422
    assert "ONEWINDOW_FEDERATION_INSTANCE" in issue.content.decode()
    assert not NodeKey.objects.filter(instance="").exists()


def test_the_peer_pages_show_the_directory_grants_and_export_queue(
    admin: Client, world: dict[str, Any]
) -> None:
    instance = world["remote"].instance
    admin.post(f"{ADMIN}/peers/{instance}/refresh/")
    actions.peer_revoke(
        acting_user=None, peer=peer_register(FakeNode("CN-3700"), directions=["requests_in"]), reason="旧"
    )

    listing = admin.get(f"{ADMIN}/peers/").content.decode()
    detail = admin.get(f"{ADMIN}/peers/{instance}/").content.decode()

    assert f'href="{ADMIN}/peers/{instance}/"' in listing
    assert "CN-3700" in listing
    assert "requests_out" in listing
    assert REMOTE_MEMBER in detail
    assert "法人基础信息查询" in detail
    assert CONSUMER in detail
    assert world["peer"].root_sha256 in detail
    assert f"{ADMIN}/peers/{instance}/revoke/" in detail
    assert f"{ADMIN}/grants/{world['grant'].pk}/revoke/" in detail
    # one acknowledged event (what a replay sends again), nothing waiting
    assert ExportItem.objects.filter(peer=world["peer"], status="acked").count() == 1


def test_a_wrong_fingerprint_is_shown_next_to_its_field(admin: Client, world: dict[str, Any]) -> None:
    other = FakeNode("CN-3600")
    before = _state()

    response = admin.post(
        f"{ADMIN}/peers/new/",
        {
            "instance": other.instance,
            "base_url": "https://cn-3600.example",
            "fingerprint": "00" * 32,
            "root_certificate": other.root_pem,
            "directions": ["requests_in"],
        },
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_fingerprint-error"' in page
    assert "根证书的指纹与登记的指纹（SHA-256 或 SM3）不符。" in page
    assert 'aria-describedby="id_fingerprint-error"' in page
    assert _state() == before


def test_without_a_pasted_root_it_is_fetched_from_the_peer(
    admin: Client, settings: Any, discovery: PeerServer, world: dict[str, Any]
) -> None:
    # given the remote node revoked, to be registered again at its address with its fingerprint only
    remote = world["remote"]
    actions.peer_revoke(acting_user=None, peer=world["peer"], reason="重新登记")

    response = admin.post(
        f"{ADMIN}/peers/new/",
        {
            "instance": remote.instance,
            "base_url": discovery.url,
            "fingerprint": remote.root_sha256,
            "directions": ["requests_out"],
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    peer = Peer.objects.get(instance=remote.instance, status="active")
    assert peer.root_sha256 == remote.root_sha256
    assert PeerMember.objects.filter(peer=peer, credit_code=REMOTE_MEMBER).exists()  # fetched at once


def test_an_unreachable_peer_without_a_pasted_root_is_refused_on_the_root_field(
    admin: Client, world: dict[str, Any]
) -> None:
    before = _state()
    response = admin.post(
        f"{ADMIN}/peers/new/",
        {
            "instance": "CN-3600",
            "base_url": "http://127.0.0.1:9",
            "fingerprint": "00" * 32,
            "directions": ["requests_out"],
        },
    )
    assert response.status_code == 422
    assert 'id="id_root_certificate-error"' in response.content.decode()
    assert _state() == before


def test_grant_refusals_are_shown_next_to_their_fields(admin: Client, world: dict[str, Any]) -> None:
    before = _state()
    response = admin.post(
        f"{ADMIN}/grants/new/",
        {
            "peer": world["remote"].instance,
            "consumer": "not a consumer",
            "service": world["provider"].service_path,
            "items": "名称, 不存在的信息项",
            "until": (timezone.localdate() + dt.timedelta(days=5)).isoformat(),
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_consumer-error"' in page
    assert 'id="id_items-error"' in page
    assert _state() == before


@pytest.mark.parametrize("kind", ["peer", "grant"])
def test_a_revocation_needs_a_reason(admin: Client, world: dict[str, Any], kind: str) -> None:
    path = (
        f"{ADMIN}/peers/{world['remote'].instance}/revoke/"
        if kind == "peer"
        else f"{ADMIN}/grants/{world['grant'].pk}/revoke/"
    )
    before = _state()
    response = admin.post(path, {"reason": "  "})
    assert response.status_code == 422
    assert 'id="id_reason-error"' in response.content.decode()
    assert _state() == before


def test_a_bad_event_id_replays_nothing(admin: Client, world: dict[str, Any]) -> None:
    before = _state()
    response = admin.post(
        f"{ADMIN}/peers/{world['remote'].instance}/replay/", {"event_ids": "nope"}, follow=True
    )
    assert "nothing was sent again" in response.content.decode() or "未重新发送" in response.content.decode()
    assert _state() == before


def test_unknown_peers_and_grants_are_404_for_the_administrator(admin: Client, world: dict[str, Any]) -> None:
    assert admin.get(f"{ADMIN}/peers/CN-9999/").status_code == 404
    assert admin.get(f"{ADMIN}/grants/999999/revoke/").status_code == 404


@pytest.fixture
def tiles(role_users: dict[str, Any]) -> dict[str, list[str]]:
    from onewindow.web import navigation

    return {
        role: [tile.url for tile in navigation.tiles_for(role_users[role], navigation.TILES["workbench"])]
        for role in ALL_ROLES
    }


def test_the_workbench_links_the_federation_for_system_administrators_only(
    tiles: dict[str, list[str]],
) -> None:
    for role, urls in tiles.items():
        assert (f"{ADMIN}/" in urls) == (role == "system_admin"), role
