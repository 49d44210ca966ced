"""A peer's consumer calls a service of this node (issue #8 item 7; docs/federation.md "A call across
nodes"): the peer node's signature and certificate are checked against its pinned root, the consumer's
own signature too, then this node's grant to that consumer *of that peer*; the answer is signed by the
provider subsystem. Every refusal has its code, is audited and is in the message log."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from onewindow.audit.models import AuditRecord
from onewindow.crypto.keys import load_verifier
from onewindow.exchange import protocol as xp
from onewindow.federation import actions, protocol
from onewindow.federation.identity import own_root
from onewindow.federation.models import FederatedCall, PeerGrant
from onewindow.federation.tests.conftest import LOCAL, PURPOSE, Provider, peer_register
from onewindow.federation.tests.support import ENTITY_ITEMS, FakeNode, Party

pytestmark = pytest.mark.django_db


@pytest.fixture
def consumer(remote: FakeNode) -> Party:
    return remote.party("CN/GOV/11350100MB0000003X/CITY-SYS")


@pytest.fixture
def granted(remote: FakeNode, provider: Provider, consumer: Party) -> PeerGrant:
    peer = peer_register(remote, directions=["requests_in"])
    return actions.peer_grant_create(
        acting_user=None,
        peer=peer,
        service=provider.service,
        consumer=consumer.identity,
        items=ENTITY_ITEMS,
        until=timezone.localdate() + dt.timedelta(days=30),
    )


def _body(provider: Provider, items: list[str] | None = None) -> bytes:
    document: dict[str, Any] = {"query": {"credit_code": provider.entity_code}}
    if items is not None:
        document["items"] = items
    return json.dumps(document, separators=(",", ":")).encode()


def _forward(
    remote: FakeNode,
    provider: Provider,
    consumer: Party,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    **options: Any,
) -> Any:
    body = body if body is not None else _body(provider)
    path = protocol.INBOUND_PREFIX + provider.service_path
    if headers is None:
        envelope = remote.envelope(consumer, provider.service_path, body, PURPOSE)
        options.setdefault("target", LOCAL)
        headers = remote.node_headers(path, body, purpose=PURPOSE, envelope=envelope, **options)
    return Client().post(path, data=body, content_type="application/json", headers=headers), headers


def _answer_signer(response: Any, subject: str) -> str:
    """The answer's signer, checked against this node's root; the check fails the test when it does not."""
    headers = {name: response.headers.get(name, "") for name in (*xp.ALL_HEADERS, xp.EXCHANGE_ID)}
    signed = xp.SignedHeaders.from_headers(headers)
    assert signed is not None
    certificate = base64.b64decode(response.headers[protocol.CERTIFICATE])
    spki = protocol.certificate_check(certificate, own_root(), subject=subject, now=timezone.now())
    assert xp.body_digest(response.content) == signed.digest
    return signed.client if spki else ""


def _refused(response: Any, code: str, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = json.loads(response.content)
    assert body["code"] == code
    assert body["message_zh"]
    assert body["message_en"]
    audit = AuditRecord.objects.get(action="federation.refused", details__exchange_id=body["exchange_id"])
    assert audit.outcome == "denied"
    assert audit.details["code"] == code
    call = FederatedCall.objects.get(exchange_id=body["exchange_id"])
    assert call.error_code == code
    from onewindow.messagelog.models import MessageLogRecord

    assert MessageLogRecord.objects.get(exchange_id=body["exchange_id"]).error_code == code
    return dict(body)


def test_a_granted_consumer_of_the_peer_gets_the_items_signed_by_the_provider(
    granted: PeerGrant, remote: FakeNode, provider: Provider, consumer: Party
) -> None:
    response, headers = _forward(remote, provider, consumer)
    assert response.status_code == 200, response.content
    assert json.loads(response.content)["data"] == {
        "名称": "福州闽江科技有限公司",
        "登记状态": "active",
        "统一社会信用代码": provider.entity_code,
    }
    # Signed by the provider subsystem, whose certificate chains to this node's root
    assert _answer_signer(response, provider.provider_path) == provider.provider_path
    signed = xp.SignedHeaders.from_headers({name: response.headers[name] for name in xp.SIGNED_HEADERS})
    assert signed is not None
    spki = protocol.spki_of(base64.b64decode(response.headers[protocol.CERTIFICATE]))
    load_verifier(spki).verify(
        base64.b64decode(response.headers[xp.SIGNATURE]),
        xp.response_canonical(
            200,
            protocol.INBOUND_PREFIX + provider.service_path,
            signed,
            request_nonce=headers[xp.NONCE],
            exchange_id=response.headers[xp.EXCHANGE_ID],
        ),
    )
    # The message log names the consumer as vouched for by the peer, with the consumer's own signature
    from onewindow.messagelog.models import MessageLogRecord

    record = MessageLogRecord.objects.get(exchange_id=response.headers[xp.EXCHANGE_ID])
    assert record.consumer == protocol.qualified("CN-3501", consumer.identity)
    assert record.consumer.startswith("CN-3501/GOV/")
    assert record.provider == provider.provider_path
    assert record.status == 200
    envelope = protocol.Envelope.decode(headers[protocol.CONSUMER])
    assert envelope is not None
    assert record.request_signature == envelope.signature
    call = FederatedCall.objects.get(exchange_id=record.exchange_id)
    assert (call.direction, call.peer_instance, call.node_key_id) == (
        "in",
        "CN-3501",
        remote.node.signer.key_id,
    )
    assert call.node_signature == headers[xp.SIGNATURE]


def test_a_grant_to_the_member_covers_its_subsystems_and_a_subset_is_answered(
    remote: FakeNode, provider: Provider
) -> None:
    peer = peer_register(remote, directions=["requests_in"])
    actions.peer_grant_create(
        acting_user=None,
        peer=peer,
        service=provider.service,
        consumer="CN/GOV/11350100MB0000003X",
        items=["名称"],
        until=timezone.localdate(),
    )
    other = remote.party("CN/GOV/11350100MB0000003X/OTHER-SYS")
    response, _ = _forward(remote, provider, other, body=_body(provider, ["名称"]))
    assert response.status_code == 200, response.content
    assert json.loads(response.content)["data"] == {"名称": "福州闽江科技有限公司"}


def test_without_a_grant_or_outside_it_the_call_is_refused(
    granted: PeerGrant, remote: FakeNode, provider: Provider
) -> None:
    stranger = remote.party("CN/GOV/11350100MB0000009X/STRANGER")
    response, _ = _forward(remote, provider, stranger)
    _refused(response, "no_grant", 403)
    consumer = remote.party(granted.consumer)
    response, _ = _forward(remote, provider, consumer, body=_body(provider, ["名称", "法定代表人"]))
    assert _refused(response, "items_not_granted", 403)["items"] == ["法定代表人"]
    # Refusals about a known service are signed by the provider too
    assert _answer_signer(response, provider.provider_path) == provider.provider_path


def test_a_revoked_grant_stops_the_next_call(
    granted: PeerGrant, remote: FakeNode, provider: Provider
) -> None:
    consumer = remote.party(granted.consumer)
    assert _forward(remote, provider, consumer)[0].status_code == 200
    actions.peer_grant_revoke(acting_user=None, grant=granted, reason="共享协议终止")
    _refused(_forward(remote, provider, consumer)[0], "no_grant", 403)


def test_the_same_identifier_through_another_peer_matches_no_grant(
    granted: PeerGrant, provider: Provider, consumer: Party
) -> None:
    # Another node claims the granted consumer's identifier: the grant belongs to the first peer only
    other = FakeNode("CN-3502")
    peer_register(other, directions=["requests_in"])
    impostor = other.party(consumer.identity)
    _refused(_forward(other, provider, impostor)[0], "no_grant", 403)


def test_an_unknown_peer_is_refused(provider: Provider, remote: FakeNode, consumer: Party) -> None:
    body = _refused(_forward(remote, provider, consumer)[0], "unknown_peer", 401)
    assert body["exchange_id"]


def test_a_revoked_peer_is_refused_at_once(granted: PeerGrant, remote: FakeNode, provider: Provider) -> None:
    consumer = remote.party(granted.consumer)
    assert _forward(remote, provider, consumer)[0].status_code == 200
    actions.peer_revoke(acting_user=None, peer=granted.peer, reason="安全事件")
    response, _ = _forward(remote, provider, consumer)
    _refused(response, "peer_revoked", 403)
    # Before a service is known, refusals are signed by this node's node key
    assert _answer_signer(response, protocol.node_subject(LOCAL)) == LOCAL


def test_a_peer_not_allowed_to_send_requests_is_refused(
    remote: FakeNode, provider: Provider, consumer: Party
) -> None:
    peer_register(remote, directions=["events_in"], import_topics=["entity.*"])
    _refused(_forward(remote, provider, consumer)[0], "direction_not_allowed", 403)


def test_a_node_key_not_certified_by_the_pinned_root_is_refused(
    granted: PeerGrant, remote: FakeNode, provider: Provider, consumer: Party
) -> None:
    # A key certified by another root (an attacker's), claiming to be the peer
    forger = FakeNode(remote.instance)
    response, _ = _forward(remote, provider, consumer, node=forger.node)
    assert "pinned root" in _refused(response, "untrusted_certificate", 401)["problem"]
    # A certificate of the right root naming another party (a consumer's, not the node's)
    response, _ = _forward(remote, provider, consumer, node=consumer)
    assert "does not name" in _refused(response, "untrusted_certificate", 401)["problem"]
    # An expired node certificate
    expired = remote.party(protocol.node_subject(remote.instance), expired=True)
    response, _ = _forward(remote, provider, consumer, node=expired)
    assert "validity" in _refused(response, "untrusted_certificate", 401)["problem"]


def test_bad_signatures_digests_timestamps_and_replays_are_refused(
    granted: PeerGrant, remote: FakeNode, provider: Provider, consumer: Party
) -> None:
    # Signed for another node: the target instance is in what the node signs
    _refused(_forward(remote, provider, consumer, target="CN-36")[0], "bad_signature", 401)
    # The body changed after signing
    body = _body(provider)
    path = protocol.INBOUND_PREFIX + provider.service_path
    envelope = remote.envelope(consumer, provider.service_path, body, PURPOSE)
    headers = remote.node_headers(path, body, target=LOCAL, purpose=PURPOSE, envelope=envelope)
    _refused(
        _forward(remote, provider, consumer, body=body + b" ", headers=headers)[0], "digest_mismatch", 400
    )
    # A timestamp outside the window
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    _refused(_forward(remote, provider, consumer, timestamp=old)[0], "stale_timestamp", 401)
    # The same request twice
    response, headers = _forward(remote, provider, consumer)
    assert response.status_code == 200
    _refused(_forward(remote, provider, consumer, headers=headers)[0], "replayed_nonce", 409)
    # Missing headers
    _refused(Client().post(path, data=body, content_type="application/json"), "unsigned", 401)


def test_the_consumer_signature_is_checked_and_used_once(
    granted: PeerGrant, remote: FakeNode, provider: Provider, consumer: Party
) -> None:
    body = _body(provider)
    path = protocol.INBOUND_PREFIX + provider.service_path
    # The consumer signed a call of another service
    envelope = remote.envelope(consumer, provider.service_path, body, PURPOSE, signed_service="CN/GOV/X/Y/z")
    headers = remote.node_headers(path, body, target=LOCAL, purpose=PURPOSE, envelope=envelope)
    _refused(_forward(remote, provider, consumer, headers=headers)[0], "bad_consumer_signature", 401)
    # A consumer certificate from another root
    forged = FakeNode(remote.instance).party(consumer.identity)
    envelope = remote.envelope(forged, provider.service_path, body, PURPOSE)
    headers = remote.node_headers(path, body, target=LOCAL, purpose=PURPOSE, envelope=envelope)
    _refused(_forward(remote, provider, consumer, headers=headers)[0], "bad_consumer_signature", 401)
    # No envelope at all
    headers = remote.node_headers(path, body, target=LOCAL, purpose=PURPOSE)
    _refused(_forward(remote, provider, consumer, headers=headers)[0], "bad_consumer_signature", 401)
    # One consumer request forwarded twice under two node nonces: answered once
    envelope = remote.envelope(consumer, provider.service_path, body, PURPOSE)
    first = remote.node_headers(path, body, target=LOCAL, purpose=PURPOSE, envelope=envelope)
    second = remote.node_headers(path, body, target=LOCAL, purpose=PURPOSE, envelope=envelope)
    assert _forward(remote, provider, consumer, headers=first)[0].status_code == 200
    _refused(_forward(remote, provider, consumer, headers=second)[0], "replayed_nonce", 409)


def test_an_unknown_service_is_refused_signed_by_the_node(
    granted: PeerGrant, remote: FakeNode, provider: Provider, consumer: Party
) -> None:
    missing = provider.service_path.rsplit("/", 1)[0] + "/no-such-service"
    body = _body(provider)
    path = protocol.INBOUND_PREFIX + missing
    envelope = remote.envelope(consumer, missing, body, PURPOSE)
    headers = remote.node_headers(path, body, target=LOCAL, purpose=PURPOSE, envelope=envelope)
    response = Client().post(path, data=body, content_type="application/json", headers=headers)
    _refused(response, "unknown_service", 404)
    assert _answer_signer(response, protocol.node_subject(LOCAL)) == LOCAL


def test_without_an_instance_id_the_node_federates_with_nobody(
    settings: Any, granted: PeerGrant, remote: FakeNode, provider: Provider, consumer: Party
) -> None:
    settings.FEDERATION_INSTANCE = ""
    response, _ = _forward(remote, provider, consumer)
    assert response.status_code == 503
    assert json.loads(response.content)["code"] == "federation_not_configured"
