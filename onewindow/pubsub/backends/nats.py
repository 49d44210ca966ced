"""The NATS JetStream backend (``ONEWINDOW_EXCHANGE_BROKER=nats://…``; docs/pubsub.md "NATS JetStream").

* One stream per topic family (``{PREFIX}_ENTITY`` on ``{prefix}.events.entity.>``, ``{PREFIX}_PERSON``),
  file storage, kept ``ONEWINDOW_PUBSUB_NATS_MAX_AGE_DAYS``.
* Publish: the dispatcher sends unpublished outbox events with ``Nats-Msg-Id`` = the event id (JetStream
  drops a second copy inside its duplicate window) and marks them published once every publish is
  acknowledged; a crash in between publishes them again, which the fan-out's unique (subscription, event)
  absorbs.
* One durable pull consumer per subscription and family, explicit acknowledgements: a message is
  acknowledged only after its delivery row committed, so a killed dispatcher's messages are redelivered
  after ``ack_wait`` (and the unique (subscription, event) makes a second copy harmless). Known limit: a
  key's events fetched by a dispatcher killed before it committed arrive ``ack_wait`` later, possibly
  after that key's next event (docs/pubsub.md "Ordering").

The asyncio client runs on a private event loop; the ORM is only called between its steps (never from a
coroutine).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from onewindow.pubsub.filters import FAMILIES, topic_matches
from onewindow.pubsub.models import Subscription
from onewindow.pubsub.queue import (
    EventData,
    active_subscriptions,
    deliveries_create,
    lock_take,
    outbox_mark_published,
    outbox_unpublished,
)

FAN_OUT_LOCK = "fan-out"
PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
FETCH_TIMEOUT_SECONDS = 0.2
REQUEST_TIMEOUT_SECONDS = 5.0


def _import_nats() -> Any:
    import nats

    return nats


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
        self._pulls: dict[str, Any] = {}

    # --- names ---------------------------------------------------------------------------------------------

    def stream_name(self, family: str) -> str:
        return f"{self.prefix}_{family}".upper()

    def subject(self, topic: str) -> str:
        return f"{self.prefix}.events.{topic}"

    def consumer_name(self, subscription: Subscription, family: str) -> str:
        return f"{self.prefix}-sub-{subscription.pk}-{family}"

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
            self._js = self._nc.jetstream(timeout=REQUEST_TIMEOUT_SECONDS)
        return self._js

    def _stream(self, family: str) -> str:
        name = self.stream_name(family)
        if name not in self._streams:
            from nats.js.api import StorageType, StreamConfig

            js = self._connect()
            config = StreamConfig(
                name=name,
                subjects=[f"{self.prefix}.events.{family}.>"],
                storage=StorageType.FILE,
                max_age=settings.PUBSUB_NATS_MAX_AGE_DAYS * 86400.0,
                duplicate_window=120.0,
            )
            self._run(js.add_stream(config))  # idempotent for an identical configuration
            self._streams.add(name)
        return name

    def _pull(self, subscription: Subscription, family: str) -> Any:
        name = self.consumer_name(subscription, family)
        if name not in self._pulls:
            from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

            js = self._connect()
            stream = self._stream(family)
            config = ConsumerConfig(
                durable_name=name,
                filter_subject=f"{self.prefix}.events.{family}.>",
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.NEW,
                ack_wait=float(settings.PUBSUB_NATS_ACK_WAIT_SECONDS),
                max_ack_pending=20000,
            )
            self._run(js.add_consumer(stream, config))
            self._pulls[name] = self._run(js.pull_subscribe_bind(durable=name, stream=stream))
        return self._pulls[name]

    def consumers_ensure(self, subscriptions: list[Subscription]) -> None:
        """Create the durable consumers before events are published, so none is missed."""
        for subscription in subscriptions:
            for family in _families(subscription):
                self._pull(subscription, family)

    # --- the backend interface -----------------------------------------------------------------------------

    def publish(self, *, limit: int) -> int:
        subscriptions = active_subscriptions()
        self.consumers_ensure(subscriptions)
        with transaction.atomic():
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
                    ).encode(),
                    str(event.pk),
                )
                for event in events
            ]
            for family in {event.topic.split(".")[0] for event in events}:
                self._stream(family)
            self._run(self._publish_all(messages))
            outbox_mark_published(e.pk for e in events)
        return len(events)

    async def _publish_all(self, messages: list[tuple[str, bytes, str]]) -> None:
        futures = [
            await self._js.publish_async(subject, body, headers={"Nats-Msg-Id": event_id})
            for subject, body, event_id in messages
        ]
        await asyncio.wait_for(asyncio.gather(*futures), timeout=REQUEST_TIMEOUT_SECONDS * 4)

    def ingest(self, *, limit: int) -> int:
        total = 0
        for subscription in active_subscriptions():
            for family in _families(subscription):
                total += self._ingest_one(subscription, family, limit)
        return total

    def _ingest_one(self, subscription: Subscription, family: str, limit: int) -> int:
        pull = self._pull(subscription, family)
        with transaction.atomic():
            if not lock_take(self.consumer_name(subscription, family)):
                return 0
            messages = self._run(self._fetch(pull, limit))
            events = [_event(message.data) for message in messages]
            deliveries_create(
                [event for event in events if topic_matches(subscription.topics, event.topic)],
                [subscription],
            )
        self._run(self._ack(messages))
        return len(messages)

    async def _fetch(self, pull: Any, limit: int) -> list[Any]:
        from nats.errors import TimeoutError as NatsTimeout

        try:
            return list(await pull.fetch(limit, timeout=FETCH_TIMEOUT_SECONDS))
        except (TimeoutError, NatsTimeout):
            return []

    async def _ack(self, messages: list[Any]) -> None:
        for message in messages:
            await message.ack()
        await self._nc.flush(timeout=int(REQUEST_TIMEOUT_SECONDS))

    def streams_delete(self) -> None:
        """Remove this prefix's streams (tests and benchmarks)."""
        js = self._connect()
        for family in FAMILIES:
            with contextlib.suppress(Exception):  # absent already
                self._run(js.delete_stream(self.stream_name(family)))
        self._streams.clear()
        self._pulls.clear()

    def close(self) -> None:
        if self._nc is not None:
            self._run(self._nc.close())
            self._nc = None
            self._js = None
        self._loop.close()


def _families(subscription: Subscription) -> list[str]:
    return sorted({topic.split(".")[0] for topic in subscription.topics} & set(FAMILIES))


def _event(data: bytes) -> EventData:
    body = json.loads(data)
    return EventData(
        id=body["id"],
        topic=body["topic"],
        key=body["key"],
        payload=body["payload"],
        created_at=datetime.fromisoformat(body["created_at"]),
    )
