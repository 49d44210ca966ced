"""Trust on configuration and the node key (docs/federation.md "Trust set-up"): a peer is registered only
with a self-signed root whose SHA-256 or SM3 fingerprint is the one exchanged out of band; the node key's
certificate comes from this node's root and names the instance; grants are checked against the catalog."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.utils import timezone

from onewindow.audit.models import AuditRecord
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.federation import actions, protocol
from onewindow.federation.identity import node_key_active, own_root
from onewindow.federation.models import NodeKey, Peer
from onewindow.federation.tests.conftest import Provider, peer_register
from onewindow.federation.tests.support import FakeNode

pytestmark = pytest.mark.django_db


def _codes(error: FieldErrors) -> list[str]:
    return [problem.code for problem in error.errors]


def test_a_peer_is_pinned_by_its_sha256_or_sm3_fingerprint(local_node: str, remote: FakeNode) -> None:
    der = remote.root.public_bytes(serialization.Encoding.DER)
    sha256, sm3 = protocol.fingerprints(der)
    peer = actions.peer_register(
        acting_user=None,
        instance=remote.instance,
        name="",
        base_url="https://cn-3501.example/",
        root_certificate=remote.root_pem,
        fingerprint="SM3:" + ":".join(sm3[i : i + 2].upper() for i in range(0, 64, 2)),
        directions=["requests_out", "events_in"],
        import_topics=["entity.*"],
    )
    assert (peer.root_sha256, peer.root_sm3, peer.base_url) == (sha256, sm3, "https://cn-3501.example")
    assert peer.events_transport == "https"
    audit = AuditRecord.objects.get(action="federation.peer_registered")
    assert audit.details["root_sha256"] == sha256
    # One active registration per instance; after a revocation it may be registered again
    with pytest.raises(RuleViolation) as taken:
        peer_register(remote, directions=["requests_out"])
    assert taken.value.code == "peer_exists"
    actions.peer_revoke(acting_user=None, peer=peer, reason="换发根证书")
    assert peer_register(remote, directions=["requests_out"]).pk != peer.pk


def test_a_wrong_fingerprint_a_non_ca_certificate_or_bad_fields_are_refused(
    local_node: str, remote: FakeNode
) -> None:
    options: dict[str, Any] = {
        "acting_user": None,
        "name": "",
        "base_url": "https://cn-3501.example",
        "root_certificate": remote.root_pem,
        "fingerprint": remote.root_sha256,
        "directions": ["requests_out"],
    }
    with pytest.raises(FieldErrors) as wrong:
        actions.peer_register(**options | {"instance": remote.instance, "fingerprint": "ab" * 32})
    assert _codes(wrong.value) == ["fingerprint_mismatch"]
    leaf = x509.load_der_x509_certificate(remote.node.certificate_der).public_bytes(
        serialization.Encoding.PEM
    )
    with pytest.raises(FieldErrors) as not_ca:
        actions.peer_register(**options | {"instance": remote.instance, "root_certificate": leaf.decode()})
    assert "root_certificate_invalid" in _codes(not_ca.value)
    with pytest.raises(FieldErrors) as fields:
        actions.peer_register(
            **options
            | {
                "instance": "CN-35",
                "base_url": "ftp://x",
                "directions": ["sideways"],
                "events_transport": "nats",
            }
        )
    assert sorted(_codes(fields.value)) == [
        "base_url_invalid",
        "directions_invalid",
        "instance_invalid",
        "transport_invalid",
    ]
    with pytest.raises(FieldErrors) as topics:
        actions.peer_register(**options | {"instance": remote.instance, "directions": ["events_out"]})
    assert _codes(topics.value) == ["topic_unknown"]
    assert not Peer.objects.exists()


def test_the_node_key_is_certified_by_this_node_root_and_rotates(local_node: str, db: None) -> None:
    first = node_key_active()
    spki = protocol.certificate_check(
        bytes(first.certificate_der), own_root(), subject=protocol.node_subject("CN-35"), now=timezone.now()
    )
    assert spki == bytes(first.public_key_der)
    second = actions.node_key_issue(acting_user=None, algorithm="Ed25519")
    first.refresh_from_db()
    assert (first.status, second.status) == ("retired", "active")
    assert NodeKey.objects.filter(status="active").get() == second
    with pytest.raises(RuleViolation):
        actions.node_key_issue(acting_user=None, algorithm="RSA")


def test_without_an_instance_id_nothing_is_configured(settings: Any, db: None, remote: FakeNode) -> None:
    settings.FEDERATION_INSTANCE = ""
    with pytest.raises(RuleViolation) as refused:
        peer_register(remote, directions=["requests_out"])
    assert refused.value.code == "federation_not_configured"


def test_a_grant_names_a_consumer_shareable_items_and_a_future_date(
    provider: Provider, remote: FakeNode
) -> None:
    peer = peer_register(remote, directions=["requests_in"])
    options: dict[str, Any] = {
        "acting_user": None,
        "peer": peer,
        "service": provider.service,
        "consumer": "CN/GOV/11350100MB0000003X/SYS",
        "items": ["名称"],
        "until": timezone.localdate(),
    }
    with pytest.raises(FieldErrors) as bad:
        actions.peer_grant_create(
            **options
            | {
                "consumer": "GOV/x",
                "items": ["不存在的信息项"],
                "until": timezone.localdate() - dt.timedelta(days=1),
            }
        )
    assert sorted(_codes(bad.value)) == ["consumer_invalid", "items_invalid", "until_past"]
    grant = actions.peer_grant_create(**options)
    with pytest.raises(RuleViolation) as twice:
        actions.peer_grant_create(**options)
    assert twice.value.code == "grant_exists"
    actions.peer_grant_revoke(acting_user=None, grant=grant, reason="到期")
    assert actions.peer_grant_create(**options).pk != grant.pk
