"""Events across nodes (docs/federation.md, "Events across nodes"): at least once, signed, deduplicated.

Export (the publishing node, B). Each peer allowed ``events_out`` has a queue of :class:`ExportItem` rows,
filled from this node's outbox by :func:`export_fanout`: the events of the peer's ``export_topics`` created
since the peer was registered, that originated here (events taken in from another node are not passed on).
The scan keeps a high-water mark per peer and looks back ``ONEWINDOW_FEDERATION_EXPORT_LOOKBACK_SECONDS``
behind it each time, because an outbox event becomes visible when its transaction commits, which can be
after a later-created event was already seen; the unique (peer, event) makes the overlap harmless.

* HTTPS: the peer fetches ``POST /federation/v1/events/pull`` signed by its node key, with ``{"ack": [ids],
  "limit": n}``; this node marks the acknowledged ids, then leases the next batch (in event order) for
  ``ONEWINDOW_FEDERATION_LEASE_SECONDS`` and answers it signed by its node key. One batch is in flight per
  peer: while a lease runs, a second fetch gets nothing, so a key's events arrive in order; an
  unacknowledged batch is served again after its lease.
* NATS: :mod:`onewindow.federation.events_nats` publishes the same events as signed messages.

Import (the subscribing node, A): :func:`events_import` checks nothing twice — the caller verified the
carrier's signature against the peer's pinned root — and appends each new event (by the origin's event id)
of the peer's ``import_topics`` to this node's outbox with ``origin_instance`` and ``origin_event_id`` in
its payload, in one transaction with the :class:`ImportedEvent` rows, so the local subscriptions receive it
once. Events of other topics are acknowledged and dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from onewindow.audit.actions import audit_append
from onewindow.exchange import protocol as xp
from onewindow.federation import protocol
from onewindow.federation.gateway import (
    ERRORS,
    EVENTS_SERVICE,
    NO_PURPOSE,
    Answer,
    Refusal,
    answer_sign,
    call_log,
    new_call,
    node_request_headers,
    peer_answer_problem,
    peer_path,
    peer_request_authenticate,
    refusal_audit,
)
from onewindow.federation.identity import FederationNotConfigured, instance_id, node_key_active, node_signer
from onewindow.federation.models import (
    CallDirection,
    ExportItem,
    ExportStatus,
    ImportedEvent,
    Peer,
    PeerStatus,
)
from onewindow.federation.transport import HttpAnswer, PeerUnreachable, http_post

ORIGIN_INSTANCE = "origin_instance"
ORIGIN_EVENT_ID = "origin_event_id"
PULL_MAX = 500
SYNC_ROUNDS_MAX = 50


def _topics_of(patterns: Sequence[str]) -> list[str]:
    from onewindow.pubsub.filters import TOPICS, topic_matches

    return [topic for topic in TOPICS if topic_matches(list(patterns), topic)]


# --- Export (this node publishes) ---------------------------------------------------------------------------


def export_scan_query(peer: Peer, topics: Sequence[str], start: dt.datetime) -> QuerySet[Any, Any]:
    """The outbox events to queue for ``peer``: a range on ``created_at`` in ``(created_at, id)`` order, so
    the outbox's ``outbox_created_idx`` serves it (range, order and limit) however large the outbox grows."""
    from onewindow.outbox.models import OutboxEvent

    return (
        OutboxEvent.objects.filter(created_at__gte=start, topic__in=topics)
        .exclude(payload__has_key=ORIGIN_INSTANCE)
        .exclude(Exists(ExportItem.objects.filter(peer=peer, event_id=OuterRef("pk"))))
        .order_by("created_at", "id")
        .values_list("id", "topic", "key", "created_at")[:10_000]
    )


def export_fanout(peer: Peer, *, now: dt.datetime | None = None) -> int:
    """Queue this node's new outbox events of the peer's topics for ``peer`` (call with its row locked)."""
    if peer.status != PeerStatus.ACTIVE or not peer.events_out:
        return 0
    topics = _topics_of(peer.export_topics)
    if not topics:
        return 0
    now = now or timezone.now()
    lookback = dt.timedelta(seconds=int(settings.FEDERATION_EXPORT_LOOKBACK_SECONDS))
    start = peer.export_since
    if peer.export_scanned_until is not None:
        start = max(start, peer.export_scanned_until - lookback)
    rows = list(export_scan_query(peer, topics, start))
    if rows:
        ExportItem.objects.bulk_create(
            [
                ExportItem(
                    peer=peer,
                    event_id=event_id,
                    topic=topic,
                    key=key,
                    event_created_at=created,
                    created_at=now,
                )
                for event_id, topic, key, created in rows
            ],
            ignore_conflicts=True,
            batch_size=1000,
        )
        high = max(row[3] for row in rows)
        if peer.export_scanned_until is None or high > peer.export_scanned_until:
            Peer.objects.filter(pk=peer.pk).update(export_scanned_until=high)
            peer.export_scanned_until = high
    return len(rows)


def event_documents(items: Sequence[ExportItem], origin: str) -> list[dict[str, Any]]:
    """The events of ``items`` as sent to a peer (items whose outbox event is gone are left out)."""
    from onewindow.outbox.models import OutboxEvent

    events = OutboxEvent.objects.in_bulk([item.event_id for item in items])
    documents = []
    for item in items:
        event = events.get(item.event_id)
        if event is None:
            continue
        documents.append(
            {
                "event_id": str(event.pk),
                "topic": event.topic,
                "key": event.key,
                "occurred_at": event.occurred_at.isoformat(),
                "created_at": event.created_at.isoformat(),
                "payload": event.payload,
                ORIGIN_INSTANCE: origin,
            }
        )
    return documents


def _ids(values: object) -> list[uuid.UUID]:
    if not isinstance(values, list):
        raise Refusal("bad_request", problem="ack must be a list of event ids")
    checked = []
    for value in values[:PULL_MAX]:
        try:
            checked.append(uuid.UUID(str(value)))
        except ValueError:
            raise Refusal("bad_request", problem="ack holds an id that is not a UUID") from None
    return checked


def export_serve(peer: Peer, *, ack: Sequence[uuid.UUID], limit: int) -> tuple[list[ExportItem], int]:
    """Mark ``ack`` acknowledged, queue new events, lease the next batch: (batch, acknowledged count).

    Nothing is leased while an earlier batch's lease runs (one batch in flight per peer, in event order).
    """
    now = timezone.now()
    with transaction.atomic():
        locked = Peer.objects.select_for_update().get(pk=peer.pk)
        acknowledged = 0
        if ack:
            acknowledged = ExportItem.objects.filter(
                peer=locked, event_id__in=list(ack), status=ExportStatus.PENDING
            ).update(status=ExportStatus.ACKNOWLEDGED, acked_at=now, leased_until=None)
        export_fanout(locked, now=now)
        if limit <= 0:
            return [], acknowledged
        pending = ExportItem.objects.filter(peer=locked, status=ExportStatus.PENDING)
        if pending.filter(leased_until__gt=now).exists():
            return [], acknowledged
        batch = list(pending.order_by("event_created_at", "event_id")[: min(limit, PULL_MAX)])
        lease = now + dt.timedelta(seconds=int(settings.FEDERATION_LEASE_SECONDS))
        if batch:
            from django.db.models import F

            ExportItem.objects.filter(pk__in=[item.pk for item in batch]).update(
                leased_until=lease, attempts=F("attempts") + 1
            )
    return batch, acknowledged


def federation_events_handle(*, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
    """Answer a peer's signed event fetch (``POST /federation/v1/events/pull``)."""
    now = timezone.now()
    call = new_call(CallDirection.INBOUND, path, protocol.EVENTS_PATH, body)
    call.service_path = EVENTS_SERVICE
    call.remote_exchange_id = str(headers.get(xp.EXCHANGE_ID, ""))[:64]
    ack: list[uuid.UUID] = []
    events: list[dict[str, Any]] = []
    try:
        call.instance = instance_id()
    except FederationNotConfigured:
        status, zh, en = ERRORS["federation_not_configured"]
        body = protocol.json_body(
            {"code": "federation_not_configured", "message": zh, "message_zh": zh, "message_en": en}
        )
        return Answer(status, body, error_code="federation_not_configured")
    signed = xp.SignedHeaders.from_headers(headers)
    call.headers = signed
    request_nonce = signed.nonce if signed else ""
    purpose = signed.purpose if signed else NO_PURPOSE
    try:
        if method.upper() != "POST":
            raise Refusal("bad_request", problem="POST only")
        request = peer_request_authenticate(
            method=method,
            path=path,
            raw=headers,
            body=body,
            direction="events_out",
            own_instance=call.instance,
            envelope_value="",
            now=now,
        )
        call.peer, call.purpose, call.provider = request.peer, request.purpose, call.instance
        call.signature, call.node_key_id = request.signature, request.headers.key_id
        call.node_signature = request.signature
        try:
            document = json.loads(body) if body else {}
        except ValueError:
            raise Refusal("bad_request", problem="body is not JSON") from None
        if not isinstance(document, dict):
            raise Refusal("bad_request", problem='body must be {"ack": [...], "limit": n}')
        ack = _ids(document.get("ack", []))
        limit = document.get("limit", 100)
        if not isinstance(limit, int) or limit < 0:
            raise Refusal("bad_request", problem="limit must be a whole number")
        batch, acknowledged = export_serve(request.peer, ack=ack, limit=limit)
        events = event_documents(batch, call.instance)
        gone = {item.event_id for item in batch} - {uuid.UUID(event["event_id"]) for event in events}
        if gone:  # pruned from the outbox: nothing left to send
            ExportItem.objects.filter(peer=request.peer, event_id__in=gone).update(
                status=ExportStatus.ACKNOWLEDGED, acked_at=now, leased_until=None
            )
        status, answer_body = (
            200,
            protocol.json_body({"instance": call.instance, "acknowledged": acknowledged, "events": events}),
        )
        error_code = ""
    except Refusal as refusal:
        if isinstance(refusal.extra.get("peer"), Peer):
            call.peer = refusal.extra["peer"]
        refusal_audit(call, refusal)
        status, zh, en = ERRORS[refusal.code]
        shown = {key: str(value) for key, value in refusal.extra.items() if key == "problem"}
        answer_body = protocol.json_body(
            {
                "code": refusal.code,
                "message": zh,
                "message_zh": zh,
                "message_en": en,
                "exchange_id": call.exchange_id,
                **shown,
            }
        )
        error_code = refusal.code
    key = node_key_active()
    answer_headers = answer_sign(
        signer=node_signer(key),
        certificate_der=bytes(key.certificate_der),
        client=call.instance,
        status=status,
        path=path,
        body=answer_body,
        purpose=purpose,
        request_nonce=request_nonce,
        exchange_id=call.exchange_id,
    )
    answer = Answer(status, answer_body, answer_headers, error_code)
    if status != 200 or ack or events:  # an empty poll is not an exchange worth a record
        call_log(call, answer, event_count=len(events))
    return answer


# --- Import (this node subscribes) --------------------------------------------------------------------------


@dataclass(frozen=True)
class Carrier:
    """What carried events here: the batch's (or message's) digest and the peer node's signature."""

    digest: str
    key_id: str
    signature: str


@dataclass
class SyncResult:
    peer: str
    received: int = 0
    imported: int = 0
    duplicates: int = 0
    dropped: int = 0
    acknowledged: int = 0
    published: int = 0
    error: str = ""
    imported_ids: list[str] = field(default_factory=list)


def _event_fields(document: object) -> tuple[uuid.UUID, str, str, dt.datetime, dict[str, Any]] | None:
    from onewindow.outbox.models import KEY_MAX_LENGTH

    if not isinstance(document, dict):
        return None
    try:
        event_id = uuid.UUID(str(document["event_id"]))
        topic, key, payload = document["topic"], document["key"], document["payload"]
        occurred = dt.datetime.fromisoformat(str(document["occurred_at"]))
    except (KeyError, ValueError, TypeError):
        return None
    if not isinstance(topic, str) or not isinstance(key, str) or not isinstance(payload, dict):
        return None
    if not key or len(key) > KEY_MAX_LENGTH or len(topic) > 100 or timezone.is_naive(occurred):
        return None
    return event_id, topic, key, occurred, payload


def events_import(
    peer: Peer, documents: Sequence[object], carriers: Sequence[Carrier], result: SyncResult
) -> list[str]:
    """Append the new events of ``documents`` (already verified as sent by ``peer``; ``carriers[i]`` carried
    ``documents[i]``, or one carrier carried them all) to this node's outbox, once each, in one transaction;
    return the ids to acknowledge (every well-formed one: duplicates and dropped topics included)."""
    if len(carriers) == 1 and len(documents) > 1:
        carriers = [carriers[0]] * len(documents)
    from onewindow.outbox.actions import outbox_append
    from onewindow.pubsub.filters import topic_matches

    parsed = [
        (carrier, _event_fields(document)) for document, carrier in zip(documents, carriers, strict=True)
    ]
    acknowledge = [str(fields[0]) for _carrier, fields in parsed if fields is not None]
    result.received += len(documents)
    with transaction.atomic():
        locked = Peer.objects.select_for_update().get(pk=peer.pk)
        if locked.status != PeerStatus.ACTIVE or not locked.events_in:
            return []
        seen = set(
            ImportedEvent.objects.filter(
                origin_instance=locked.instance,
                origin_event_id__in=[fields[0] for _d, fields in parsed if fields],
            ).values_list("origin_event_id", flat=True)
        )
        now = timezone.now()
        imported = []
        for carrier, fields in parsed:
            if fields is None:
                continue
            event_id, topic, key, occurred, payload = fields
            if event_id in seen:
                result.duplicates += 1
                continue
            if not topic_matches(list(locked.import_topics), topic):
                result.dropped += 1
                continue
            seen.add(event_id)
            local = outbox_append(
                topic=topic,
                key=key,
                payload={**payload, ORIGIN_INSTANCE: locked.instance, ORIGIN_EVENT_ID: str(event_id)},
                occurred_at=occurred,
            )
            imported.append(
                ImportedEvent(
                    origin_instance=locked.instance,
                    origin_event_id=event_id,
                    topic=topic,
                    key=key,
                    local_event_id=local.pk,
                    carrier_digest=carrier.digest[:80],
                    carrier_key_id=carrier.key_id[:64],
                    carrier_signature=carrier.signature,
                    received_at=now,
                )
            )
        if imported:
            ImportedEvent.objects.bulk_create(imported)
            audit_append(
                action="federation.events_imported",
                acting_user=None,
                actor_username="system",
                object_type="federation_peer",
                object_id=locked.instance,
                details={
                    "count": len(imported),
                    "topics": sorted({row.topic for row in imported}),
                    "carriers": sorted({row.carrier_digest for row in imported})[:20],
                },
            )
        result.imported += len(imported)
        result.imported_ids.extend(str(row.origin_event_id) for row in imported)
    return acknowledge


def _sync_record(peer: Peer, error: str) -> None:
    Peer.objects.filter(pk=peer.pk).update(last_sync_at=timezone.now(), last_sync_error=error[:200])


def _error_code(error: str) -> str:
    return error.split(":", 1)[0][:40]


def _carrier(answer: HttpAnswer) -> Carrier:
    return Carrier(
        digest=answer.header(xp.DIGEST),
        key_id=answer.header(xp.KEY_ID),
        signature=answer.header(xp.SIGNATURE),
    )


def _pull_round(
    peer: Peer, answer: HttpAnswer, request_nonce: str, path: str, result: SyncResult
) -> tuple[list[Any] | None, bool]:
    """The events of one fetch's answer, checked against the peer's pinned root: (events or None when the
    answer is not usable, whether to stop); the reason is in ``result.error``."""
    problem = peer_answer_problem(
        peer,
        answer,
        path=path,
        request_nonce=request_nonce,
        signers={peer.instance: protocol.node_subject(peer.instance)},
    )
    if problem:
        result.error = f"bad_peer_response: {problem}"
        return None, True
    try:
        document = json.loads(answer.body)
    except ValueError:
        result.error = "bad_peer_response: not JSON"
        return None, True
    if answer.status != 200 or not isinstance(document, dict):
        code = document.get("code", "") if isinstance(document, dict) else ""
        result.error = f"{code or answer.status}"
        return None, True
    result.acknowledged += int(document.get("acknowledged", 0) or 0)
    events = document.get("events")
    if not isinstance(events, list):
        result.error = "bad_peer_response: no events list"
        return None, True
    return events, not events  # an empty batch: this request carried the last acknowledgements


def events_pull(peer: Peer, *, limit: int | None = None) -> SyncResult:
    """Fetch ``peer``'s events over HTTPS until it has none left, importing and acknowledging each batch."""
    result = SyncResult(peer=peer.instance)
    size = max(1, min(limit or int(settings.FEDERATION_BATCH_SIZE), PULL_MAX))
    url, path = peer_path(peer, protocol.EVENTS_PATH)
    ack: list[str] = []
    try:
        for _round in range(SYNC_ROUNDS_MAX):
            body = protocol.json_body({"ack": ack, "limit": size})
            call = new_call(CallDirection.OUTBOUND, path, protocol.EVENTS_PATH, body)
            call.service_path, call.peer, call.purpose = EVENTS_SERVICE, peer, protocol.EVENTS_PURPOSE
            call.consumer = call.instance = instance_id()
            headers, signed = node_request_headers(
                peer=peer, path=path, body=body, purpose=xp.encode_purpose(protocol.EVENTS_PURPOSE)
            )
            headers[xp.EXCHANGE_ID] = call.exchange_id
            call.signature = call.node_signature = headers[xp.SIGNATURE]
            call.node_key_id = signed.key_id
            answer = http_post(url, headers, body, timeout=float(settings.FEDERATION_TIMEOUT_SECONDS))
            call.remote_exchange_id = answer.header(xp.EXCHANGE_ID)[:64]
            taken, stop = _pull_round(peer, answer, signed.nonce, path, result)
            if answer.status != 200 or ack or taken is None or taken:
                logged = Answer(answer.status, answer.body, {}, _error_code(result.error))
                call.remote_response_signature = answer.header(xp.SIGNATURE)
                call_log(call, logged, event_count=len(taken or []))
            if stop or not taken:
                break
            ack = events_import(peer, taken, [_carrier(answer)], result)
            if not ack:  # the peer was revoked meanwhile (or sent nothing usable)
                break
    except PeerUnreachable as error:
        result.error = f"peer_unavailable: {error}"
    _sync_record(peer, result.error)
    return result


def peers_sync(instance: str = "") -> list[SyncResult]:
    """Take in the events of every active peer this node takes events from (or of ``instance``), and send
    this node's events to those reached through NATS."""
    from onewindow.federation.models import EventTransport

    peers = Peer.objects.filter(status=PeerStatus.ACTIVE).order_by("instance")
    if instance:
        peers = peers.filter(instance=instance)
    results = []
    for peer in peers:
        if peer.events_transport == EventTransport.NATS:
            from onewindow.federation.events_nats import nats_sync

            results.append(nats_sync(peer))
        elif peer.events_in:
            results.append(events_pull(peer))
    return results


def export_purge(*, days: int = 7) -> int:
    """Delete export rows acknowledged more than ``days`` ago (the replay window)."""
    cutoff = timezone.now() - dt.timedelta(days=days)
    deleted, _ = ExportItem.objects.filter(status=ExportStatus.ACKNOWLEDGED, acked_at__lt=cutoff).delete()
    return deleted
