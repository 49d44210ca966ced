"""Events across nodes through NATS JetStream (docs/federation.md "NATS"): this node publishes its events
for a peer as messages signed by its node key; it takes in a peer's messages only when they verify under
the peer's pinned root, once each. Runs against the machine's NATS server (skipped when none listens on
127.0.0.1:4222), with a stream prefix of its own."""

from __future__ import annotations

import datetime as dt
import json
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from django.db import transaction
from django.utils import timezone

from onewindow.exchange import protocol as xp
from onewindow.federation import protocol
from onewindow.federation.events_nats import NatsLink, message_problem, nats_sync, stream_name, subject
from onewindow.federation.identity import own_root
from onewindow.federation.models import ExportItem, ImportedEvent, Peer
from onewindow.federation.tests.conftest import LOCAL, peer_register
from onewindow.federation.tests.support import FakeNode, Party
from onewindow.outbox.actions import outbox_append
from onewindow.outbox.models import OutboxEvent

NATS_URL = "nats://127.0.0.1:4222"


def _nats_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=1):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not _nats_reachable(), reason="no NATS server at 127.0.0.1:4222"),
]


@pytest.fixture
def nats(settings: Any, local_node: str) -> Iterator[NatsLink]:
    settings.FEDERATION_NATS_URL = NATS_URL
    settings.FEDERATION_NATS_PREFIX = f"owfed_{uuid.uuid4().hex[:8]}"
    link = NatsLink(NATS_URL)
    link.jetstream()
    try:
        yield link
    finally:
        link.run(link.jetstream().delete_stream(stream_name()))
        link.close()


def _read(link: NatsLink, on: str, count: int) -> list[Any]:
    js = link.jetstream()
    pull = link.run(js.pull_subscribe(on, durable=None, stream=stream_name()))
    return list(link.run(pull.fetch(count, timeout=2)))


def test_this_node_events_are_published_signed_for_the_peer(nats: NatsLink, remote: FakeNode) -> None:
    peer = peer_register(
        remote, directions=["events_out"], export_topics=["entity.registered"], events_transport="nats"
    )
    with transaction.atomic():
        event = outbox_append(
            topic="entity.registered", key="91350100MA0000001A", payload={"name": "新设企业"}
        )
    result = nats_sync(peer)
    assert (result.error, result.published) == ("", 1)
    assert ExportItem.objects.get().status == "acked"
    [message] = _read(nats, subject(LOCAL, remote.instance), 1)
    document = json.loads(message.data)
    assert (document["event_id"], document["origin_instance"]) == (str(event.pk), LOCAL)
    # What the peer checks: signed by this node's node key, certified by this node's root
    me = Peer(
        instance=LOCAL,
        root_certificate_der=own_root().public_bytes(serialization.Encoding.DER),
        root_sha256="me",
    )
    headers = dict(message.headers)
    assert message_problem(me, remote.instance, message.subject, headers, message.data) == ""
    assert (
        message_problem(me, remote.instance, message.subject, headers, message.data + b" ")
        == "digest mismatch"
    )
    # Nothing new: nothing published again
    assert nats_sync(peer).published == 0
    # The published batch is in this node's message log (metadata, the message's signature, 1 event)
    from onewindow.federation.models import FederatedCall
    from onewindow.messagelog.models import MessageLogRecord

    [call] = FederatedCall.objects.filter(service="federation/events")
    record = MessageLogRecord.objects.get(exchange_id=call.exchange_id)
    assert (call.direction, call.event_count) == ("in", 1)
    assert (record.consumer, record.provider) == (remote.instance, LOCAL)
    assert record.response_signature == headers[xp.SIGNATURE]


def _publish(link: NatsLink, remote: FakeNode, signer: Party, event_id: str) -> None:
    to = subject(remote.instance, LOCAL)
    body = json.dumps(
        {
            "event_id": event_id,
            "topic": "entity.registered",
            "key": "91350000MA0000001A",
            "occurred_at": timezone.now().isoformat(),
            "created_at": timezone.now().isoformat(),
            "payload": {"name": "省级新设企业"},
            "origin_instance": remote.instance,
        }
    ).encode()
    signed = xp.SignedHeaders(
        client=remote.instance,
        timestamp=xp.format_timestamp(dt.datetime.now(dt.UTC)),
        nonce=xp.new_nonce(),
        digest=xp.body_digest(body),
        purpose=xp.encode_purpose(protocol.EVENTS_PURPOSE),
        key_id=signer.signer.key_id,
    )
    signature = signer.signer.sign(protocol.event_message_canonical(to, signed, target=LOCAL))
    headers = {
        **signed.as_headers(signature),
        protocol.CERTIFICATE: protocol.certificate_b64(signer.certificate_der),
    }
    link.run(link.jetstream().publish(to, body, headers=headers, stream=stream_name()))


def test_a_peer_events_are_taken_once_and_forged_ones_refused(nats: NatsLink, remote: FakeNode) -> None:
    peer = peer_register(
        remote, directions=["events_in"], import_topics=["entity.*"], events_transport="nats"
    )
    genuine, forged = str(uuid.uuid4()), str(uuid.uuid4())
    _publish(nats, remote, remote.node, genuine)
    _publish(nats, remote, remote.node, genuine)  # a second copy (a publisher's retry)
    _publish(nats, remote, FakeNode(remote.instance).node, forged)  # not certified by the pinned root
    result = nats_sync(peer)
    assert (result.error, result.imported, result.duplicates) == ("", 1, 1)
    assert [str(row.origin_event_id) for row in ImportedEvent.objects.all()] == [genuine]
    assert OutboxEvent.objects.get().payload["origin_event_id"] == genuine
    # Acknowledged (or terminated): a second run finds nothing
    assert nats_sync(peer).received == 0
    # The batch taken in is in the message log: the two verified messages, the forged one counted refused
    from onewindow.federation.models import FederatedCall
    from onewindow.messagelog.models import MessageLogRecord

    [call] = FederatedCall.objects.filter(service="federation/events")
    record = MessageLogRecord.objects.get(exchange_id=call.exchange_id)
    assert (call.direction, call.event_count, record.error_code) == ("out", 2, "bad_peer_response")
    assert (record.consumer, record.provider, record.service) == (LOCAL, remote.instance, "federation/events")
