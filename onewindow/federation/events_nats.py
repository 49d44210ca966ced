"""Events across nodes through NATS JetStream (docs/federation.md, "NATS"), for peers registered with the
``nats`` event transport; the nodes reach one NATS system (one server, a cluster, or leaf nodes) at
``ONEWINDOW_FEDERATION_NATS_URL`` (default: ``ONEWINDOW_EXCHANGE_BROKER`` when that is ``nats://…``).

* One stream ``{PREFIX}_FEDERATION`` on ``{prefix}.federation.>`` (file storage, kept
  ``ONEWINDOW_PUBSUB_NATS_MAX_AGE_DAYS``, duplicate window two minutes); every node creates it with the same
  configuration (idempotent).
* Publishing node B → peer A: each event of B's export queue for A is one message on
  ``{prefix}.federation.B.A``, ``Nats-Msg-Id`` ``B:A:{event id}:{send}`` (a replay is a new send),
  signed by B's node key over ``OW-FEDERATION-1 EVENT``, the subject, the six signed headers and the
  target instance, with B's node certificate. The queue rows are marked acknowledged once JetStream has
  stored the messages; a crash in between sends them again (JetStream drops a copy inside its duplicate
  window, A's deduplication the rest).
* Subscribing node A: a durable pull consumer ``{prefix}-fed-A-from-B`` with explicit acknowledgements
  (ack wait ``ONEWINDOW_FEDERATION_LEASE_SECONDS``). Each message is checked against B's pinned root, the
  batch is imported (:func:`~onewindow.federation.events.events_import`) in one transaction, and only then
  acknowledged; a message that does not verify is acknowledged-and-terminated and logged (it would never
  verify), so it cannot block the consumer.

The asyncio client runs on a private event loop; the ORM is called only between its steps.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from onewindow.core.logging import get_logger
from onewindow.crypto.keys import load_verifier
from onewindow.exchange import protocol as xp
from onewindow.federation import protocol
from onewindow.federation.crl import certificate_revoked
from onewindow.federation.events import (
    Carrier,
    SyncResult,
    _sync_record,
    event_documents,
    events_import,
    export_fanout,
)
from onewindow.federation.gateway import EVENTS_SERVICE, Answer, call_log, new_call, peer_root
from onewindow.federation.identity import instance_id, node_key_active, node_signer
from onewindow.federation.models import CallDirection, ExportItem, ExportStatus, Peer

logger = get_logger(__name__)

PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
TIMEOUT_SECONDS = 5.0
FETCH_TIMEOUT_SECONDS = 0.5
ROUNDS_MAX = 50


def _prefix() -> str:
    prefix = str(settings.FEDERATION_NATS_PREFIX)
    if not PREFIX.fullmatch(prefix):
        message = "ONEWINDOW_FEDERATION_NATS_PREFIX: lower-case letters, digits and _, starting with a letter"
        raise ValueError(message)
    return prefix


def stream_name() -> str:
    return f"{_prefix()}_FEDERATION".upper()


def subject(origin: str, target: str) -> str:
    return f"{_prefix()}.federation.{origin}.{target}"


def consumer_name(origin: str, target: str) -> str:
    return f"{_prefix()}-fed-{target}-from-{origin}"


class NatsLink:
    """One connection to NATS on a private event loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._loop = asyncio.new_event_loop()
        self._nc: Any = None
        self._js: Any = None

    def run(self, coroutine: Any) -> Any:
        return self._loop.run_until_complete(coroutine)

    def jetstream(self) -> Any:
        if self._js is None:
            import nats
            from nats.js.api import StorageType, StreamConfig

            self._nc = self.run(
                nats.connect(
                    self.url,
                    connect_timeout=TIMEOUT_SECONDS,
                    allow_reconnect=False,
                    name="onewindow-federation",
                )
            )
            self._js = self._nc.jetstream(timeout=TIMEOUT_SECONDS)
            config = StreamConfig(
                name=stream_name(),
                subjects=[f"{_prefix()}.federation.>"],
                storage=StorageType.FILE,
                max_age=float(settings.PUBSUB_NATS_MAX_AGE_DAYS) * 86400.0,
                duplicate_window=120.0,
            )
            self.run(self._js.add_stream(config))  # idempotent for an identical configuration
        return self._js

    def close(self) -> None:
        try:
            if self._nc is not None:
                self.run(self._nc.close())
        finally:
            self._loop.close()


def _signed_message(
    origin: str, target: str, document: dict[str, Any], *, send: int
) -> tuple[str, bytes, dict[str, str]]:
    key = node_key_active()
    signer = node_signer(key)
    body = protocol.json_body(document)
    to = subject(origin, target)
    signed = xp.SignedHeaders(
        client=origin,
        timestamp=xp.format_timestamp(timezone.now()),
        nonce=xp.new_nonce(),
        digest=xp.body_digest(body),
        purpose=xp.encode_purpose(protocol.EVENTS_PURPOSE),
        key_id=key.key_id,
    )
    signature = signer.sign(protocol.event_message_canonical(to, signed, target=target))
    headers = {
        **signed.as_headers(signature),
        protocol.CERTIFICATE: protocol.certificate_b64(bytes(key.certificate_der)),
        # The same send of an event after a crash is dropped by JetStream; a replay is a new send.
        "Nats-Msg-Id": f"{origin}:{target}:{document['event_id']}:{send}",
    }
    return to, body, headers


def message_problem(peer: Peer, own: str, message_subject: str, headers: dict[str, str], body: bytes) -> str:
    """Why a message claiming to come from ``peer`` cannot be trusted ("" when it can)."""
    signed = xp.SignedHeaders.from_headers(headers)
    signature = xp.decode_signature(headers.get(xp.SIGNATURE, ""))
    certificate = protocol.certificate_from_b64(headers.get(protocol.CERTIFICATE, ""))
    if signed is None or signature is None or certificate is None:
        return "unsigned message"
    if signed.client != peer.instance or message_subject != subject(peer.instance, own):
        return "message from another node or on another subject"
    try:
        spki = protocol.certificate_check(
            certificate, peer_root(peer), subject=protocol.node_subject(peer.instance), now=timezone.now()
        )
    except protocol.CertificateProblem as problem:
        return f"node certificate {problem}"
    revoked = certificate_revoked(peer, certificate)
    if revoked:
        return f"certificate_revoked: node certificate {revoked} is on the peer's CRL"
    verifier = load_verifier(spki)
    if verifier.key_id != signed.key_id:
        return "the key id is not the certificate's key"
    if xp.body_digest(body) != signed.digest:
        return "digest mismatch"
    try:
        verifier.verify(signature, protocol.event_message_canonical(message_subject, signed, target=own))
    except (InvalidSignature, ValueError):
        return "bad signature"
    return ""


def _batch_log(
    direction: str,
    peer: Peer,
    own: str,
    messages: list[tuple[str, bytes, dict[str, str]]],
    *,
    refused: int = 0,
) -> None:
    """One message-log record for a NATS batch, as for an HTTPS fetch: published here (``in``: this node
    serves the peer) or taken in (``out``). There is no request; the response is the batch's messages
    (bodies joined by newlines, digest over that), its signature the messages' signatures, one a line."""
    if not messages and not refused:
        return
    call = new_call(direction, EVENTS_SERVICE, EVENTS_SERVICE, b"")
    call.service_path, call.peer, call.instance = EVENTS_SERVICE, peer, own
    call.purpose = protocol.EVENTS_PURPOSE
    signatures = "\n".join(headers.get(xp.SIGNATURE, "") for _subject, _body, headers in messages)
    key_ids = sorted({headers.get(xp.KEY_ID, "") for _subject, _body, headers in messages})
    call.node_key_id, call.node_signature = ",".join(key_ids)[:64], signatures
    if direction == CallDirection.INBOUND:
        call.provider = own
    else:
        call.consumer, call.remote_response_signature = own, signatures
    body = b"\n".join(data for _subject, data, _headers in messages)
    error_code = "bad_peer_response" if refused else ""
    answer = Answer(200, body, {xp.SIGNATURE: signatures}, error_code)
    call_log(call, answer, event_count=len(messages))


def _publish(link: NatsLink, peer: Peer, own: str, result: SyncResult) -> None:
    js = link.jetstream()
    batch_size = int(settings.FEDERATION_BATCH_SIZE)
    for _round in range(ROUNDS_MAX):
        with transaction.atomic():
            locked = Peer.objects.select_for_update().get(pk=peer.pk)
            export_fanout(locked)
            items = list(
                ExportItem.objects.filter(peer=locked, status=ExportStatus.PENDING).order_by(
                    "event_created_at", "event_id"
                )[:batch_size]
            )
        if not items:
            return
        sends = {str(item.event_id): item.attempts + 1 for item in items}
        messages = [
            _signed_message(own, peer.instance, document, send=sends[document["event_id"]])
            for document in event_documents(items, own)
        ]

        async def send_all(batch: list[tuple[str, bytes, dict[str, str]]] = messages) -> None:
            for to, body, headers in batch:  # in order: JetStream stores them as sent
                await js.publish(to, body, headers=headers, stream=stream_name())

        link.run(send_all())
        _batch_log(CallDirection.INBOUND, peer, own, messages)
        ExportItem.objects.filter(pk__in=[item.pk for item in items]).update(
            status=ExportStatus.ACKNOWLEDGED,
            acked_at=timezone.now(),
            leased_until=None,
            attempts=F("attempts") + 1,
        )
        result.published += len(items)


def _consume(link: NatsLink, peer: Peer, own: str, result: SyncResult) -> None:
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    js = link.jetstream()
    name = consumer_name(peer.instance, own)
    config = ConsumerConfig(
        durable_name=name,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=float(settings.FEDERATION_LEASE_SECONDS),
        filter_subject=subject(peer.instance, own),
    )
    pull = link.run(
        js.pull_subscribe(subject(peer.instance, own), durable=name, stream=stream_name(), config=config)
    )
    batch_size = int(settings.FEDERATION_BATCH_SIZE)
    for _round in range(ROUNDS_MAX):
        try:
            messages = link.run(pull.fetch(batch_size, timeout=FETCH_TIMEOUT_SECONDS))
        except (TimeoutError, NatsTimeout):
            return
        if not messages:
            return
        documents: list[object] = []
        carriers: list[Carrier] = []
        rejected = []
        for message in messages:
            headers = dict(message.headers or {})
            problem = message_problem(peer, own, message.subject, headers, message.data)
            if problem:
                logger.warning("federation_event_message_refused", peer=peer.instance, problem=problem)
                rejected.append(message)
                continue
            try:
                documents.append(json.loads(message.data))
            except ValueError:
                rejected.append(message)
                continue
            carriers.append(
                Carrier(
                    digest=headers.get(xp.DIGEST, ""),
                    key_id=headers.get(xp.KEY_ID, ""),
                    signature=headers.get(xp.SIGNATURE, ""),
                )
            )
        accepted = [message for message in messages if message not in rejected]
        acknowledge = set(events_import(peer, documents, carriers, result)) if documents else set()
        _batch_log(
            CallDirection.OUTBOUND,
            peer,
            own,
            [(message.subject, message.data, dict(message.headers or {})) for message in accepted],
            refused=len(rejected),
        )

        async def settle(
            done: list[Any] = accepted, bad: list[Any] = rejected, ids: set[str] = acknowledge
        ) -> None:
            for message in done:
                try:
                    event_id = str(json.loads(message.data).get("event_id", ""))
                except ValueError:
                    event_id = ""
                if event_id in ids:
                    await message.ack()
            for message in bad:
                await message.term()

        link.run(settle())
        result.acknowledged += len(acknowledge)
        if documents and not acknowledge:  # revoked meanwhile: leave the rest in the stream
            return


def nats_sync(peer: Peer) -> SyncResult:
    """Send this node's queued events to ``peer`` and take in the peer's, through NATS."""
    result = SyncResult(peer=peer.instance)
    url = str(settings.FEDERATION_NATS_URL)
    if not url:
        result.error = "no NATS server configured (ONEWINDOW_FEDERATION_NATS_URL)"
        _sync_record(peer, result.error)
        return result
    from nats.errors import Error as NatsError

    own = instance_id()
    link = NatsLink(url)
    try:
        if peer.events_out:
            _publish(link, peer, own, result)
        if peer.events_in:
            _consume(link, peer, own, result)
    except (OSError, NatsError) as error:  # recorded on the peer; the next run tries again
        logger.warning("federation_nats_failed", peer=peer.instance, error=repr(error))
        result.error = f"nats: {type(error).__name__}"
    finally:
        link.close()
    _sync_record(peer, result.error)
    return result
