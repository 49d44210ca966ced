"""The NATS JetStream backend (``ONEWINDOW_EXCHANGE_BROKER=nats://…``; docs/pubsub.md "NATS JetStream").

* One stream per topic family (``{PREFIX}_ENTITY`` on ``{prefix}.events.entity.>``, ``{PREFIX}_PERSON``),
  file storage, kept ``ONEWINDOW_PUBSUB_NATS_MAX_AGE_DAYS``, a two-minute duplicate window.
* **Publish**, under the fan-out lock: a batch of unpublished outbox events is sent in outbox order with
  asynchronous acknowledgements (``publish_async``: all sent, then all acknowledgements awaited), each with
  ``Nats-Msg-Id`` = the event id, and marked published once JetStream acknowledged every one. A crash in
  between publishes the batch again; JetStream drops the copies inside its duplicate window, and the
  fan-out skips an (event, subscription) that has its delivery already.
* **Ingest**: the stream's position (:class:`~onewindow.pubsub.models.StreamPosition`, the last sequence
  fanned out) is locked (``FOR UPDATE SKIP LOCKED``: one dispatcher per stream at a time), the messages
  after it are fetched in a batch from an ephemeral pull consumer that starts there (no acknowledgements:
  the database position is the consumer's state), fanned out to the active subscriptions in stream order,
  and the position advanced — in one transaction. A killed dispatcher's batch is rolled back and read
  again from the same position: nothing is lost, nothing is fanned out twice, and a key's events keep the
  order they were published in (no redelivery can overtake a later message).
* The position row of a stream is created (at the stream's last sequence) before this process publishes
  to it, so nothing published is ever behind a new position.

The asyncio client runs on a private event loop; the ORM is only called between its steps (never from a
coroutine).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from onewindow.core.logging import get_logger
from onewindow.pubsub.filters import FAMILIES
from onewindow.pubsub.models import StreamPosition, Subscription
from onewindow.pubsub.queue import (
    EventData,
    active_subscriptions,
    deliveries_create,
    lock_take,
    outbox_mark_published,
    outbox_unpublished,
    queue_transaction,
)

logger = get_logger(__name__)

FAN_OUT_LOCK = "fan-out"
PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
FETCH_TIMEOUT_SECONDS = 1.0
REQUEST_TIMEOUT_SECONDS = 5.0
# An idle reader's consumer is removed by the server after this long (a dispatcher that died).
READER_INACTIVE_SECONDS = 120.0
PUBLISH_PENDING_MAX = 20_000


def _import_nats() -> Any:
    import nats

    return nats


@dataclass
class _Reader:
    """An ephemeral pull consumer of one stream and the sequence it hands out next."""

    subscription: Any
    consumer: str
    next_sequence: int


class NatsBackend:
    name = "nats"

    def __init__(self, url: str, *, prefix: str | None = None) -> None:
        self.url = url
        self.prefix = prefix or settings.PUBSUB_NATS_PREFIX
        if not PREFIX.fullmatch(self.prefix):
            message = "ONEWINDOW_PUBSUB_NATS_PREFIX: lower-case letters, digits and _, starting with a letter"
            raise ValueError(message)
        self._loop = asyncio.new_event_loop()
        self._nc: Any = None
        self._js: Any = None
        self._streams: set[str] = set()
        self._readers: dict[str, _Reader] = {}

    # --- names ---------------------------------------------------------------------------------------------

    def stream_name(self, family: str) -> str:
        return f"{self.prefix}_{family}".upper()

    def subject(self, topic: str) -> str:
        return f"{self.prefix}.events.{topic}"

    # --- connection ----------------------------------------------------------------------------------------

    def _run(self, coroutine: Any) -> Any:
        return self._loop.run_until_complete(coroutine)

    def _connect(self) -> Any:
        if self._js is None:
            nats = _import_nats()
            self._nc = self._run(
                nats.connect(
                    self.url,
                    connect_timeout=REQUEST_TIMEOUT_SECONDS,
                    allow_reconnect=True,
                    max_reconnect_attempts=3,
                    name="onewindow-pubsub",
                )
            )
            self._js = self._nc.jetstream(
                timeout=REQUEST_TIMEOUT_SECONDS, publish_async_max_pending=PUBLISH_PENDING_MAX
            )
        return self._js

    def streams_ensure(self) -> None:
        """Create the family streams and their positions (each committed before anything is published)."""
        missing = [family for family in FAMILIES if self.stream_name(family) not in self._streams]
        if not missing:
            return
        from nats.js.api import StorageType, StreamConfig

        js = self._connect()
        for family in missing:
            name = self.stream_name(family)
            config = StreamConfig(
                name=name,
                subjects=[f"{self.prefix}.events.{family}.>"],
                storage=StorageType.FILE,
                max_age=settings.PUBSUB_NATS_MAX_AGE_DAYS * 86400.0,
                duplicate_window=120.0,
            )
            info = self._run(js.add_stream(config))  # idempotent for an identical configuration
            last = int(info.state.last_seq)
            position, _ = StreamPosition.objects.get_or_create(stream=name, defaults={"sequence": last})
            if position.sequence > last:
                # The stream was deleted and made again: its sequences started over.
                logger.warning("pubsub_stream_reset", stream=name, position=position.sequence, last=last)
                StreamPosition.objects.filter(stream=name, sequence__gt=last).update(sequence=last)
            self._streams.add(name)

    # --- the backend interface -----------------------------------------------------------------------------

    def publish(self, *, limit: int) -> int:
        self.streams_ensure()
        with queue_transaction():
            if not lock_take(FAN_OUT_LOCK):
                return 0
            events = list(outbox_unpublished(limit))
            if not events:
                return 0
            messages = [
                (
                    self.subject(event.topic),
                    json.dumps(
                        {
                            "id": str(event.pk),
                            "topic": event.topic,
                            "key": event.key,
                            "payload": event.payload,
                            "created_at": event.created_at.isoformat(),
                        },
                        separators=(",", ":"),
                        default=str,
                    ).encode(),
                    str(event.pk),
                )
                for event in events
                if event.topic.split(".")[0] in FAMILIES
            ]
            if messages:
                self._run(self._publish_all(messages))
            outbox_mark_published(e.pk for e in events)
        return len(events)

    async def _publish_all(self, messages: list[tuple[str, bytes, str]]) -> None:
        """Send every message, then wait for all the acknowledgements (JetStream stores them in order)."""
        futures = [
            await self._js.publish_async(subject, body, headers={"Nats-Msg-Id": event_id})
            for subject, body, event_id in messages
        ]
        await asyncio.wait_for(asyncio.gather(*futures), timeout=REQUEST_TIMEOUT_SECONDS * 4)

    def ingest(self, *, limit: int) -> int:
        self.streams_ensure()
        subscriptions = active_subscriptions()
        return sum(self._ingest_stream(family, subscriptions, limit) for family in FAMILIES)

    def _ingest_stream(self, family: str, subscriptions: list[Subscription], limit: int) -> int:
        name = self.stream_name(family)
        state = self._run(self._js.stream_info(name)).state
        first, last = int(state.first_seq), int(state.last_seq)
        if StreamPosition.objects.filter(stream=name, sequence__gte=last).exists():
            return 0  # nothing new (read without a lock: the idle case costs one request and one query)
        try:
            with queue_transaction():
                position = (
                    StreamPosition.objects.select_for_update(skip_locked=True).filter(stream=name).first()
                )
                if position is None or position.sequence >= last:
                    return 0  # another dispatcher holds this stream, or took what was new
                start = position.sequence + 1
                if start < first:
                    # Older than the stream's max age: gone from JetStream before anyone fanned them out.
                    logger.warning("pubsub_stream_gap", stream=name, position=position.sequence, first=first)
                    start = first
                messages = self._run(self._read(name, family, start, limit))
                if not messages:
                    return 0
                deliveries_create(
                    [_event(data) for _, data in messages],
                    [s for s in subscriptions if family in subscription_families(s)],
                )
                StreamPosition.objects.filter(stream=name).update(sequence=messages[-1][0])
        except BaseException:
            # The reader has moved past what this transaction rolled back: start it again from the position.
            self._reader_drop(name)
            raise
        self._readers[name].next_sequence = messages[-1][0] + 1
        return len(messages)

    async def _reader(self, name: str, family: str, start: int) -> _Reader:
        reader = self._readers.get(name)
        if reader is not None and reader.next_sequence == start:
            return reader
        if reader is not None:
            await self._reader_delete(name, reader)
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=READER_INACTIVE_SECONDS,
            filter_subject=f"{self.prefix}.events.{family}.>",
        )
        subscription = await self._js.pull_subscribe(
            f"{self.prefix}.events.{family}.>",
            durable=None,
            stream=name,
            config=config,
            pending_msgs_limit=100_000,
        )
        reader = _Reader(subscription=subscription, consumer=config.name or "", next_sequence=start)
        self._readers[name] = reader
        return reader

    async def _read(self, name: str, family: str, start: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` messages from sequence ``start`` on, in stream order, as (sequence, data)."""
        from nats.errors import TimeoutError as NatsTimeout

        reader = await self._reader(name, family, start)
        try:
            messages = await reader.subscription.fetch(limit, timeout=FETCH_TIMEOUT_SECONDS)
        except (TimeoutError, NatsTimeout):
            return []
        read = [(int(m.metadata.sequence.stream), m.data) for m in messages]
        if read and read[0][0] != start:
            logger.warning("pubsub_stream_gap", stream=name, expected=start, got=read[0][0])
        return [(sequence, data) for sequence, data in read if sequence >= start]

    async def _reader_delete(self, name: str, reader: _Reader) -> None:
        with contextlib.suppress(Exception):  # gone already, or the server will expire it
            await reader.subscription.unsubscribe()
        with contextlib.suppress(Exception):
            await self._js.delete_consumer(name, reader.consumer)

    def _reader_drop(self, name: str) -> None:
        reader = self._readers.pop(name, None)
        if reader is not None and self._nc is not None and not self._loop.is_closed():
            with contextlib.suppress(Exception):
                self._run(self._reader_delete(name, reader))

    def streams_delete(self) -> None:
        """Remove this prefix's streams and their positions (tests and benchmarks)."""
        js = self._connect()
        for name in list(self._readers):
            self._reader_drop(name)
        for family in FAMILIES:
            with contextlib.suppress(Exception):  # absent already
                self._run(js.delete_stream(self.stream_name(family)))
        StreamPosition.objects.filter(stream__in=[self.stream_name(f) for f in FAMILIES]).delete()
        self._streams.clear()

    def close(self) -> None:
        for name in list(self._readers):
            self._reader_drop(name)
        if self._nc is not None:
            with contextlib.suppress(Exception):
                self._run(self._nc.close())
            self._nc = None
            self._js = None
        self._loop.close()


def subscription_families(subscription: Subscription) -> set[str]:
    return {topic.split(".")[0] for topic in subscription.topics} & set(FAMILIES)


def _event(data: bytes) -> EventData:
    body = json.loads(data)
    return EventData(
        id=body["id"],
        topic=body["topic"],
        key=body["key"],
        payload=body["payload"],
        created_at=datetime.fromisoformat(body["created_at"]),
    )
