"""The backend interface: how outbox events reach the subscriptions' delivery rows.

Delivery itself (leases, retries, dead letters, per-key order, pull, webhooks) works on the
:class:`~onewindow.pubsub.models.Delivery` rows whichever backend carried the event (``pubsub.queue``).
"""

from __future__ import annotations

from typing import Protocol


class Backend(Protocol):
    name: str

    def publish(self, *, limit: int) -> int:
        """Take up to ``limit`` unpublished outbox events to the transport; return how many."""

    def ingest(self, *, limit: int) -> int:
        """Turn up to ``limit`` transported events per consumer into delivery rows; return how many."""

    def close(self) -> None:
        """Release connections."""
