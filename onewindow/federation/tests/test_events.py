"""Events across nodes over signed HTTPS (issue #8 item 7; docs/federation.md "Events across nodes"):
this node's events are served to a peer in order, leased until acknowledged and served again after the
lease; a peer's events are taken in once each (by the origin's event id) into this node's outbox, so the
local subscriptions receive them, and only when the batch verifies under the peer's pinned root."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from onewindow.audit.models import AuditRecord
from onewindow.federation import actions, protocol
from onewindow.federation.events import events_pull
from onewindow.federation.models import ExportItem, ExportStatus, ImportedEvent, Peer
from onewindow.federation.tests.conftest import LOCAL, peer_register
from onewindow.federation.tests.support import FakeNode, PeerServer, json_answer
from onewindow.outbox.actions import outbox_append
from onewindow.outbox.models import OutboxEvent

pytestmark = pytest.mark.django_db


def _event(key: str, *, topic: str = "entity.registered", **payload: Any) -> OutboxEvent:
    with transaction.atomic():
        return outbox_append(topic=topic, key=key, payload={"credit_code": key, **payload})


def _pull(remote: FakeNode, *, ack: list[str] | None = None, limit: int = 100) -> Any:
    body = json.dumps({"ack": ack or [], "limit": limit}).encode()
    headers = remote.node_headers(protocol.EVENTS_PATH, body, target=LOCAL, purpose=protocol.EVENTS_PURPOSE)
    response = Client().post(
        protocol.EVENTS_PATH, data=body, content_type="application/json", headers=headers
    )
    return response, json.loads(response.content)


# --- This node exports -----------------------------------------------------------------------------------


@pytest.fixture
def exporting(db: None, local_node: str, remote: FakeNode) -> Peer:
    _event("91350100MA0000000A")  # before the peer was registered: not sent
    return peer_register(remote, directions=["events_out"], export_topics=["entity.registered"])


def test_events_of_the_peer_topics_are_served_in_order_signed_and_once_acknowledged(
    exporting: Peer, remote: FakeNode
) -> None:
    first, second = _event("91350100MA0000001A"), _event("91350100MA0000002A")
    _event("91350100MA0000003A", topic="entity.changed")  # not a topic of the peer
    _event("91350100MA0000004A", origin_instance="CN-36")  # taken in from another node: not passed on
    response, body = _pull(remote)
    assert response.status_code == 200, body
    assert [event["event_id"] for event in body["events"]] == [str(first.pk), str(second.pk)]
    assert body["events"][0]["origin_instance"] == LOCAL
    assert body["events"][0]["payload"]["credit_code"] == "91350100MA0000001A"
    assert response.headers["X-OW-Client"] == LOCAL  # signed by this node's node key
    # While the batch is leased nothing else is handed out (one batch in flight: keys stay in order)
    third = _event("91350100MA0000005A")
    assert _pull(remote)[1]["events"] == []
    # Acknowledged, the next batch comes
    response, body = _pull(remote, ack=[str(first.pk), str(second.pk)])
    assert body["acknowledged"] == 2
    assert [event["event_id"] for event in body["events"]] == [str(third.pk)]
    assert set(
        ExportItem.objects.filter(status=ExportStatus.ACKNOWLEDGED).values_list("event_id", flat=True)
    ) == {
        first.pk,
        second.pk,
    }


def test_an_unacknowledged_batch_is_served_again_after_its_lease(exporting: Peer, remote: FakeNode) -> None:
    event = _event("91350100MA0000001A")
    assert [e["event_id"] for e in _pull(remote)[1]["events"]] == [str(event.pk)]
    ExportItem.objects.update(leased_until=timezone.now() - dt.timedelta(seconds=1))  # the lease ran out
    assert [e["event_id"] for e in _pull(remote)[1]["events"]] == [str(event.pk)]
    assert ExportItem.objects.get().attempts == 2


def test_a_late_commit_behind_the_high_water_mark_is_still_sent(exporting: Peer, remote: FakeNode) -> None:
    seen = _event("91350100MA0000001A")
    _pull(remote)
    # An event created earlier whose transaction committed only now (inside the look-back window)
    late = _event("91350100MA0000002A")
    earlier = seen.created_at - (seen.created_at - exporting.export_since) / 2  # still after registration
    OutboxEvent.objects.filter(pk=late.pk).update(created_at=earlier)
    body = _pull(remote, ack=[str(seen.pk)])[1]
    assert [e["event_id"] for e in body["events"]] == [str(late.pk)]


def test_a_replay_sends_acknowledged_events_again(exporting: Peer, remote: FakeNode) -> None:
    event = _event("91350100MA0000001A")
    _pull(remote)
    _pull(remote, ack=[str(event.pk)])
    assert actions.export_replay(acting_user=None, peer=exporting, event_ids=[str(event.pk)]) == 1
    assert [e["event_id"] for e in _pull(remote)[1]["events"]] == [str(event.pk)]
    assert AuditRecord.objects.filter(action="federation.events_replayed", object_id=remote.instance).exists()


def test_fetches_of_revoked_unknown_or_not_allowed_peers_are_refused(
    exporting: Peer, remote: FakeNode
) -> None:
    _event("91350100MA0000001A")
    stranger = FakeNode("CN-3599")
    response, body = _pull(stranger)
    assert (response.status_code, body["code"]) == (401, "unknown_peer")
    actions.peer_revoke(acting_user=None, peer=exporting, reason="撤销")
    response, body = _pull(remote)
    assert (response.status_code, body["code"]) == (403, "peer_revoked")
    assert body["message_zh"]
    assert body["message_en"]
    peer_register(remote, directions=["requests_in"])
    response, body = _pull(remote)
    assert (response.status_code, body["code"]) == (403, "direction_not_allowed")
    assert ExportItem.objects.filter(peer__status="active").count() == 0


# --- This node imports -----------------------------------------------------------------------------------


class Publisher:
    """The peer's event export, played behind a real HTTP server."""

    def __init__(self, remote: FakeNode, server: PeerServer) -> None:
        self.remote, self.server = remote, server
        self.pending: list[dict[str, Any]] = []
        self.acknowledged: list[str] = []
        self.signer = remote.node
        server.handler = self.handle

    def event(self, topic: str = "entity.registered", key: str = "91350000MA0000001A") -> str:
        event_id = str(uuid.uuid4())
        self.pending.append(
            {
                "event_id": event_id,
                "topic": topic,
                "key": key,
                "occurred_at": timezone.now().isoformat(),
                "created_at": timezone.now().isoformat(),
                "payload": {"credit_code": key, "name": "省级新设企业"},
                "origin_instance": self.remote.instance,
            }
        )
        return event_id

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        request = json.loads(body)
        self.acknowledged += request["ack"]
        batch = [event for event in self.pending if event["event_id"] not in self.acknowledged][
            : request["limit"]
        ]
        answer = json_answer(
            {"instance": self.remote.instance, "acknowledged": len(request["ack"]), "events": batch}
        )
        signed = self.remote.answer(
            self.signer,
            status=200,
            path=path,
            body=answer,
            request_nonce=headers["X-OW-Nonce"],
            purpose=headers["X-OW-Purpose"],
        )
        return 200, signed, answer


@pytest.fixture
def importing(db: None, local_node: str, remote: FakeNode, peer_server: PeerServer) -> tuple[Peer, Publisher]:
    peer = peer_register(
        remote, directions=["events_in"], import_topics=["entity.*"], base_url=peer_server.url
    )
    return peer, Publisher(remote, peer_server)


def test_a_peer_event_is_appended_once_to_the_outbox_with_its_origin(
    importing: tuple[Peer, Publisher],
) -> None:
    peer, publisher = importing
    event_id = publisher.event()
    result = events_pull(peer)
    assert (result.error, result.imported, result.received) == ("", 1, 1)
    assert publisher.acknowledged == [event_id]
    local = OutboxEvent.objects.get(topic="entity.registered")
    assert local.payload["origin_instance"] == "CN-3501"
    assert local.payload["origin_event_id"] == event_id
    assert local.payload["name"] == "省级新设企业"
    imported = ImportedEvent.objects.get()
    assert imported.local_event_id == local.pk
    assert imported.carrier_key_id == publisher.remote.node.signer.key_id
    assert AuditRecord.objects.filter(action="federation.events_imported", object_id="CN-3501").exists()
    # Sent again (the acknowledgement lost): taken once
    publisher.acknowledged.clear()
    again = events_pull(peer)
    assert (again.received, again.duplicates, again.imported) == (1, 1, 0)
    assert OutboxEvent.objects.count() == 1


def test_local_subscriptions_receive_the_peer_events(importing: tuple[Peer, Publisher]) -> None:
    from onewindow.organisations.tests.factories import DepartmentFactory
    from onewindow.pubsub.actions import subscription_create
    from onewindow.pubsub.dispatcher import dispatch_run
    from onewindow.pubsub.models import Delivery

    peer, publisher = importing
    DepartmentFactory.create(code="CTAX")
    subscription_create(
        acting_user=None,
        department_code="CTAX",
        code="ctax-province",
        name="省级企业",
        topics=["entity.registered"],
        mode="pull",
        filters=[{"field": "origin_instance", "op": "eq", "value": "CN-3501"}],
    )
    publisher.event()
    events_pull(peer)
    dispatch_run(broker="")
    assert Delivery.objects.filter(subscription__code="ctax-province").count() == 1


def test_topics_not_taken_are_acknowledged_and_dropped(importing: tuple[Peer, Publisher]) -> None:
    peer, publisher = importing
    Peer.objects.filter(pk=peer.pk).update(import_topics=["entity.changed"])
    publisher.event("entity.registered")
    result = events_pull(Peer.objects.get(pk=peer.pk))
    assert (result.dropped, result.imported) == (1, 0)
    assert len(publisher.acknowledged) == 1
    assert OutboxEvent.objects.count() == 0


def test_a_batch_not_signed_under_the_peer_root_is_not_taken(importing: tuple[Peer, Publisher]) -> None:
    peer, publisher = importing
    publisher.signer = FakeNode(publisher.remote.instance).node  # an impostor's key
    publisher.event()
    result = events_pull(peer)
    assert result.error.startswith("bad_peer_response")
    assert "pinned root" in result.error
    assert OutboxEvent.objects.count() == 0
    assert publisher.acknowledged == []
    assert Peer.objects.get(pk=peer.pk).last_sync_error.startswith("bad_peer_response")


def test_an_unreachable_peer_is_recorded(importing: tuple[Peer, Publisher]) -> None:
    peer, _publisher = importing
    Peer.objects.filter(pk=peer.pk).update(base_url="http://127.0.0.1:9")
    result = events_pull(Peer.objects.get(pk=peer.pk))
    assert result.error.startswith("peer_unavailable")


# --- Both nodes log each event batch in their message logs -------------------------------------------------


def _batches() -> list[tuple[Any, Any]]:
    from onewindow.federation.models import FederatedCall
    from onewindow.messagelog.models import MessageLogRecord

    return [
        (call, MessageLogRecord.objects.get(exchange_id=call.exchange_id))
        for call in FederatedCall.objects.filter(service="federation/events").order_by("created_at", "id")
    ]


def test_each_batch_served_is_in_the_message_log_with_its_count_and_signatures(
    exporting: Peer, remote: FakeNode
) -> None:
    from onewindow.crypto.sm3 import sm3_hex
    from onewindow.messagelog.verify import message_log_verify

    first, second = _event("91350100MA0000001A"), _event("91350100MA0000002A")
    response, body = _pull(remote)
    assert len(body["events"]) == 2
    [(call, record)] = _batches()
    assert (record.service, record.consumer, record.provider) == ("federation/events", "CN-3501", LOCAL)
    assert (call.direction, call.peer_instance, call.event_count, call.status) == ("in", "CN-3501", 2, 200)
    assert record.response_digest == sm3_hex(response.content)
    assert record.response_signature == response.headers["X-OW-Signature"]  # the batch's signature
    assert record.request_signature == call.node_signature  # the peer node's, over its fetch
    assert call.node_key_id == remote.node.signer.key_id
    assert record.purpose == protocol.EVENTS_PURPOSE
    # metadata only (the default policy, as for calls): the events' payloads are not kept
    assert (record.request_payload_state, record.response_payload_state) == ("not_logged", "not_logged")
    assert record.response_payload is None
    # an empty poll is not logged; the fetch carrying acknowledgements is, with 0 events
    _pull(remote)
    assert len(_batches()) == 1
    _pull(remote, ack=[str(first.pk), str(second.pk)])
    assert [call.event_count for call, _record in _batches()] == [2, 0]
    # refusals are logged as before
    Peer.objects.filter(pk=exporting.pk).update(events_out=False)
    _pull(remote)
    assert _batches()[-1][1].error_code == "direction_not_allowed"
    assert message_log_verify().intact


def test_each_batch_taken_in_is_in_the_message_log_of_the_fetching_node(
    importing: tuple[Peer, Publisher],
) -> None:
    from onewindow.messagelog.verify import message_log_verify

    peer, publisher = importing
    publisher.event()
    publisher.event(key="91350000MA0000002A")
    result = events_pull(peer)
    assert result.imported == 2
    rows = _batches()
    # the batch (2 events) and the fetch acknowledging it (0 events)
    assert [(call.direction, call.event_count) for call, _record in rows] == [("out", 2), ("out", 0)]
    call, record = rows[0]
    assert (record.service, record.consumer, record.provider) == ("federation/events", LOCAL, "CN-3501")
    assert record.response_signature == ImportedEvent.objects.first().carrier_signature  # type: ignore[union-attr]
    assert record.request_signature == call.node_signature
    assert call.remote_exchange_id == "f" * 32  # the peer's exchange id (the fake's)
    sent = publisher.server.requests[0]
    assert sent["headers"]["X-OW-Exchange-Id"] == record.exchange_id
    assert record.response_payload_state == "not_logged"
    # Nothing new: an empty poll adds no record
    events_pull(peer)
    assert len(_batches()) == 2
    assert message_log_verify().intact
