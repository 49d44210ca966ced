"""The database backend (default): the dispatcher fans outbox events straight into delivery rows."""

from __future__ import annotations

from onewindow.pubsub.queue import (
    EventData,
    active_subscriptions,
    deliveries_create,
    lock_take,
    outbox_mark_published,
    outbox_unpublished,
    queue_transaction,
)

FAN_OUT_LOCK = "fan-out"


class DatabaseBackend:
    name = "database"

    def publish(self, *, limit: int) -> int:
        """One transaction: the deliveries of a batch of events, and the events marked published.

        One dispatcher fans out at a time (the lock), so a key's events become deliveries in order; a
        crash rolls the whole batch back and the next run takes it again.
        """
        with queue_transaction():
            if not lock_take(FAN_OUT_LOCK):
                return 0
            events = list(outbox_unpublished(limit))
            if not events:
                return 0
            deliveries_create(
                [EventData(str(e.pk), e.topic, e.key, e.payload, e.created_at) for e in events],
                active_subscriptions(),
            )
            outbox_mark_published(e.pk for e in events)
        return len(events)

    def ingest(self, *, limit: int) -> int:
        return 0

    def close(self) -> None:
        return None
