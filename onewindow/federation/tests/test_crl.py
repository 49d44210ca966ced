"""Revoked certificates across nodes (docs/federation.md "Revoked certificates"; docs/signatures.md "The
platform CA"): revoking a subsystem, gateway or node key puts its certificate on this node's root CRL at
once; a peer's CRL is fetched, verified against its pinned root and applied, so a call or an event fetch
signed by a node key, or carrying a consumer certificate, that the peer revoked is refused
``certificate_revoked``."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from cryptography import x509
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.federation import actions, protocol
from onewindow.federation.crl import crl_state, peer_crl_refresh_all
from onewindow.federation.identity import node_key_active
from onewindow.federation.models import NodeKey, NodeKeyStatus, Peer, PeerCrl, PeerGrant
from onewindow.federation.tests.conftest import LOCAL, PURPOSE, Provider, peer_register
from onewindow.federation.tests.support import ENTITY_ITEMS, FakeNode, Party, PeerServer

pytestmark = pytest.mark.django_db


def _root_crl_serials() -> set[int]:
    response = Client().get("/seals/root-ca.crl")
    assert response.status_code == 200
    crl = x509.load_der_x509_crl(response.content)
    return {entry.serial_number for entry in crl}


# --- This node's keys on its root CRL -----------------------------------------------------------------------


def test_revoked_subsystem_gateway_and_node_keys_are_on_the_root_crl(local_node: str) -> None:
    from onewindow.exchange import actions as exchange_actions
    from onewindow.federation.tests.conftest import system
    from onewindow.organisations.tests.factories import DepartmentFactory

    department = DepartmentFactory.create(code="TAX", name="税务局")
    subsystem_key = exchange_actions.subsystem_key_issue(acting_user=None, system=system(department, "TAX"))
    gateway_key = exchange_actions.gateway_key_current()
    node_key = node_key_active()
    assert _root_crl_serials() == set()
    issued = AuditRecord.objects.filter(action="seals.crl_issued").count()

    exchange_actions.subsystem_key_revoke(acting_user=None, key=subsystem_key, reason="私钥泄露")
    assert _root_crl_serials() == {int(subsystem_key.certificate_serial, 16)}
    exchange_actions.gateway_key_revoke(acting_user=None, key_id=gateway_key.key_id, reason="更换")
    actions.node_key_revoke(acting_user=None, key=node_key, reason="节点私钥泄露")
    assert _root_crl_serials() == {
        int(subsystem_key.certificate_serial, 16),
        int(gateway_key.certificate_serial, 16),
        int(node_key.certificate_serial, 16),
    }
    # each revocation reissued the CRL in its transaction, audited with it
    assert AuditRecord.objects.filter(action="seals.crl_issued").count() == issued + 3
    revoked = NodeKey.objects.get(pk=node_key.pk)
    assert (revoked.status, revoked.revoke_reason) == (NodeKeyStatus.REVOKED, "节点私钥泄露")
    audit = AuditRecord.objects.get(action="federation.node_key_revoked")
    assert audit.details["certificate_serial"] == node_key.certificate_serial
    # the node signs with a new key from now on
    assert node_key_active().key_id != node_key.key_id


def test_a_node_key_revocation_needs_a_reason_and_happens_once(local_node: str) -> None:
    key = node_key_active()
    with pytest.raises(RuleViolation) as missing:
        actions.node_key_revoke(acting_user=None, key=key, reason="  ")
    assert missing.value.code == "reason_required"
    actions.node_key_revoke(acting_user=None, key=key, reason="泄露")
    with pytest.raises(RuleViolation) as again:
        actions.node_key_revoke(acting_user=None, key=key, reason="泄露")
    assert again.value.code == "node_key_already_revoked"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_system_administrators_revoke_a_node_key(
    role: str, role_users: dict[str, Any], local_node: str
) -> None:
    key = node_key_active()
    crls = AuditRecord.objects.filter(action="seals.crl_issued").count()
    if role == "system_admin":
        actions.node_key_revoke(acting_user=role_users[role], key=key, reason="泄露")
        assert NodeKey.objects.get(pk=key.pk).status == NodeKeyStatus.REVOKED
        return
    with pytest.raises(PermissionDenied):
        actions.node_key_revoke(acting_user=role_users[role], key=key, reason="泄露")
    assert NodeKey.objects.get(pk=key.pk).status == NodeKeyStatus.ACTIVE
    assert AuditRecord.objects.filter(action="seals.crl_issued").count() == crls
    assert AuditRecord.objects.filter(action="permission.denied").exists()


# --- A peer's CRL: fetched, verified, applied ---------------------------------------------------------------


class CrlServer:
    """The peer's address: its CRL at ``/seals/root-ca.crl`` (set by the test)."""

    def __init__(self, server: PeerServer) -> None:
        self.crl: bytes | None = None
        server.handler = self.handle

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if method == "GET" and path == "/seals/root-ca.crl" and self.crl is not None:
            return 200, {"Content-Type": "application/pkix-crl"}, self.crl
        return 404, {}, b"{}"


@pytest.fixture
def consumer(remote: FakeNode) -> Party:
    return remote.party("CN/GOV/11350100MB0000003X/CITY-SYS")


@pytest.fixture
def crl_server(peer_server: PeerServer) -> CrlServer:
    return CrlServer(peer_server)


@pytest.fixture
def granted(
    remote: FakeNode, provider: Provider, consumer: Party, peer_server: PeerServer, crl_server: CrlServer
) -> PeerGrant:
    peer = peer_register(
        remote,
        directions=["requests_in", "events_out"],
        export_topics=["entity.registered"],
        base_url=peer_server.url,
    )
    return actions.peer_grant_create(
        acting_user=None,
        peer=peer,
        service=provider.service,
        consumer=consumer.identity,
        items=ENTITY_ITEMS,
        until=timezone.localdate() + dt.timedelta(days=30),
    )


def _call(remote: FakeNode, provider: Provider, consumer: Party) -> Any:
    body = json.dumps({"query": {"credit_code": provider.entity_code}}).encode()
    path = protocol.INBOUND_PREFIX + provider.service_path
    envelope = remote.envelope(consumer, provider.service_path, body, PURPOSE)
    headers = remote.node_headers(path, body, target=LOCAL, purpose=PURPOSE, envelope=envelope)
    return Client().post(path, data=body, content_type="application/json", headers=headers)


def _pull(remote: FakeNode) -> Any:
    body = json.dumps({"ack": [], "limit": 10}).encode()
    headers = remote.node_headers(protocol.EVENTS_PATH, body, target=LOCAL, purpose=protocol.EVENTS_PURPOSE)
    return Client().post(protocol.EVENTS_PATH, data=body, content_type="application/json", headers=headers)


def _refused_revoked(response: Any) -> dict[str, Any]:
    assert response.status_code == 401, response.content
    body = json.loads(response.content)
    assert body["code"] == "certificate_revoked"
    assert body["message_zh"]
    assert body["message_en"]
    audit = AuditRecord.objects.get(action="federation.refused", details__exchange_id=body["exchange_id"])
    assert (audit.outcome, audit.details["code"]) == ("denied", "certificate_revoked")
    from onewindow.messagelog.models import MessageLogRecord

    assert MessageLogRecord.objects.get(exchange_id=body["exchange_id"]).error_code == "certificate_revoked"
    return dict(body)


def test_a_node_key_the_peer_revoked_is_accepted_until_the_crl_refresh_then_refused(
    granted: PeerGrant, remote: FakeNode, provider: Provider, consumer: Party, crl_server: CrlServer
) -> None:
    peer = granted.peer
    crl_server.crl = remote.crl([])
    assert crl_state(actions.peer_crl_refresh(acting_user=None, peer=peer)) == "ok"
    assert _call(remote, provider, consumer).status_code == 200
    # The peer revokes its node key: until this node refreshes the CRL, calls still pass
    crl_server.crl = remote.crl([remote.node], number=2)
    assert _call(remote, provider, consumer).status_code == 200
    assert _pull(remote).status_code == 200
    row = actions.peer_crl_refresh(acting_user=None, peer=peer)
    serial = x509.load_der_x509_certificate(remote.node.certificate_der).serial_number
    assert row.revoked_serials == [format(serial, "x")]
    body = _refused_revoked(_call(remote, provider, consumer))
    assert body["exchange_id"]
    _refused_revoked(_pull(remote))  # event fetches too
    # A new node key of the peer is accepted again
    remote.node = remote.party(protocol.node_subject(remote.instance))
    assert _call(remote, provider, consumer).status_code == 200
    assert AuditRecord.objects.filter(action="federation.crl_refreshed", object_id=peer.instance).count() == 2


def test_a_consumer_certificate_the_peer_revoked_is_refused(
    granted: PeerGrant, remote: FakeNode, provider: Provider, consumer: Party, crl_server: CrlServer
) -> None:
    assert _call(remote, provider, consumer).status_code == 200  # no CRL ever fetched: accepted
    crl_server.crl = remote.crl([consumer])
    actions.peer_crl_refresh(acting_user=None, peer=granted.peer)
    _refused_revoked(_call(remote, provider, consumer))
    other = remote.party("CN/GOV/11350100MB0000003X/CITY-SYS")  # the subsystem's new key
    assert _call(remote, provider, other).status_code == 200


def test_a_crl_that_does_not_verify_or_is_older_keeps_the_stored_one(
    granted: PeerGrant, remote: FakeNode, consumer: Party, crl_server: CrlServer
) -> None:
    peer = granted.peer
    crl_server.crl = remote.crl([consumer], number=5)
    stored = actions.peer_crl_refresh(acting_user=None, peer=peer)
    assert (stored.crl_number, len(stored.revoked_serials), stored.last_error) == (5, 1, "")
    impostor = FakeNode(remote.instance)
    for crl, problem in [
        (FakeNode("CN-36").crl([]), "not issued by the pinned root"),  # another root
        (impostor.crl([], number=6), "signature does not verify"),  # same name, another key
        (remote.crl([], number=6, signed_by=impostor.root_key), "signature does not verify"),
        (remote.crl([], number=4), "older than 5"),
        (b"not a CRL", "not a DER CRL"),
    ]:
        crl_server.crl = crl
        row = actions.peer_crl_refresh(acting_user=None, peer=peer)
        assert row.last_error.startswith("bad_crl")
        assert problem in row.last_error, row.last_error
        assert (row.crl_number, len(row.revoked_serials)) == (5, 1)
        assert crl_state(row) == "error"
    assert AuditRecord.objects.filter(action="federation.crl_refresh_failed").count() == 5
    crl_server.crl = None  # 404
    row = actions.peer_crl_refresh(acting_user=None, peer=peer)
    assert row.last_error.startswith("peer_unavailable")
    assert row.revoked_serials  # still applied


def test_a_stale_crl_is_kept_applied_and_reported(
    granted: PeerGrant, remote: FakeNode, provider: Provider, consumer: Party, crl_server: CrlServer
) -> None:
    crl_server.crl = remote.crl([consumer], next_update=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    row = actions.peer_crl_refresh(acting_user=None, peer=granted.peer)
    assert (crl_state(row), row.last_error) == ("stale", "")
    assert AuditRecord.objects.get(action="federation.crl_refreshed").details["stale"] is True
    _refused_revoked(_call(remote, provider, consumer))


def test_the_scheduled_job_and_the_command_refresh_every_active_peer(
    granted: PeerGrant, remote: FakeNode, crl_server: CrlServer
) -> None:
    from onewindow.federation.schedules import federation_crl_job

    crl_server.crl = remote.crl([])
    federation_crl_job()
    assert PeerCrl.objects.get(peer=granted.peer).fetched_at is not None
    assert peer_crl_refresh_all() == {remote.instance: "ok"}
    out = io.StringIO()
    call_command("federation", "crl-refresh", "--peer", remote.instance, "--json", stdout=out)
    rows = json.loads(out.getvalue())
    assert (rows[0]["instance"], rows[0]["state"]) == (remote.instance, "ok")
    call_command("federation", "node-key-revoke", node_key_active().key_id, "--reason", "泄露", stdout=out)
    assert NodeKey.objects.filter(status=NodeKeyStatus.REVOKED).count() == 1


def test_the_crl_refresh_job_runs_every_configured_minutes() -> None:
    from onewindow.core.schedule import autodiscover_schedules, default_schedule

    autodiscover_schedules()
    job = next(job for job in default_schedule.jobs() if job.name == "federation_crl_refresh")
    assert job.every_seconds == 15 * 60


def test_the_peer_page_shows_the_crl_state_and_warns_without_one(
    granted: PeerGrant,
    remote: FakeNode,
    consumer: Party,
    crl_server: CrlServer,
    role_users: dict[str, Any],
    client_for: Any,
) -> None:
    client = client_for(role_users["system_admin"])
    page = f"/federation/admin/peers/{remote.instance}/"
    content = client.get(page).content.decode()
    warning = "尚未取得该对端节点的证书吊销列表"  # No CRL of this peer could be fetched yet
    assert warning in content
    crl_server.crl = remote.crl([consumer], number=7)
    response = client.post(f"/federation/admin/peers/{remote.instance}/crl/refresh/")
    assert response.status_code == 302
    content = client.get(page).content.decode()
    assert warning not in content
    assert "吊销列表编号 7" in content  # CRL number 7
    audit = AuditRecord.objects.get(action="federation.crl_refreshed")
    assert audit.actor_id == role_users["system_admin"].pk
    assert Peer.objects.get(pk=granted.peer.pk).crl.revoked_serials
