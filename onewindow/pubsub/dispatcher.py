"""The dispatcher: outbox → backend → delivery rows → webhooks (docs/pubsub.md "Dispatcher").

Run by ``manage.py pubsub_dispatch`` (``--loop`` for a long-running process; several may run at once)
and every minute by the scheduler (``pubsub.schedules``). Pull subscriptions are served by the API.

A round, in batches: fan out (or publish to and ingest from NATS) up to ``PUBSUB_BATCH_SIZE`` events;
claim up to that many due heads per push subscription and POST them concurrently
(``PUBSUB_PUSH_CONCURRENCY`` at once; a batch holds one delivery per key, so a key's events still go one
after the other); record all outcomes in one transaction; dead-letter leases that ran out on their last
attempt.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from onewindow.core.logging import get_logger
from onewindow.outbox.models import OutboxEvent
from onewindow.pubsub import metrics
from onewindow.pubsub.backends import Backend, backend_from_settings
from onewindow.pubsub.models import DeliveryMode, Subscription
from onewindow.pubsub.queue import backlog, deliveries_claim, deliveries_expired_dead, deliveries_record
from onewindow.pubsub.webhook import webhook_send

logger = get_logger(__name__)


@dataclass
class DispatchResult:
    published: int = 0
    ingested: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.published or self.ingested or self.delivered or self.failed)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _senders() -> ThreadPoolExecutor:
    """The process's webhook senders (threads; each keeps its own connections)."""
    global _pool
    size = max(1, settings.PUBSUB_PUSH_CONCURRENCY)
    with _pool_lock:
        if _pool is None or _pool._max_workers != size:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="pubsub-push")
        return _pool


def push_deliver(*, limit: int) -> DispatchResult:
    """Send one batch of due push deliveries concurrently and record the outcomes in one transaction."""
    result = DispatchResult()
    subscriptions = list(Subscription.objects.filter(active=True, mode=DeliveryMode.PUSH).order_by("pk"))
    claimed = deliveries_claim(subscriptions=subscriptions, limit=limit)
    if not claimed:
        return result
    events = OutboxEvent.objects.in_bulk([d.event_id for d in claimed])
    for delivery in claimed:
        delivery.event = events[delivery.event_id]
    # One delivery per key in a claim: sending them at once keeps each key's order.
    errors = list(_senders().map(webhook_send, claimed)) if len(claimed) > 1 else [webhook_send(claimed[0])]
    outcome = deliveries_record(
        delivered=[d for d, error in zip(claimed, errors, strict=True) if not error],
        failed=[(d, error) for d, error in zip(claimed, errors, strict=True) if error],
    )
    result.delivered, result.failed, result.dead = outcome.delivered, outcome.failed, outcome.dead
    return result


def dispatch_once(backend: Backend, *, batch: int | None = None) -> DispatchResult:
    """One round: publish (fan out), ingest, push, dead-letter expired last attempts."""
    size = batch or settings.PUBSUB_BATCH_SIZE
    result = DispatchResult()
    result.published = backend.publish(limit=size)
    result.ingested = backend.ingest(limit=size)
    pushed = push_deliver(limit=size)
    result.delivered, result.failed, result.dead = pushed.delivered, pushed.failed, pushed.dead
    result.dead += deliveries_expired_dead()
    return result


def backlog_refresh() -> None:
    pending = backlog()
    for subscription in Subscription.objects.only("pk", "code"):
        metrics.backlog_set(subscription.code, pending.get(subscription.pk, 0))


def dispatch_run(*, loop: bool = False, idle_sleep: float = 0.5, broker: str | None = None) -> DispatchResult:
    """Dispatch until nothing is left to do, or for ever (``loop``, sleeping ``idle_sleep`` when idle)."""
    backend = backend_from_settings(broker)
    total = DispatchResult()
    try:
        while True:
            try:
                result = dispatch_once(backend)
            except (OperationalError, InterfaceError) as error:
                if not loop:
                    raise
                # A lost connection or a deadlock victim: the round rolled back; the next one retries it.
                logger.warning("pubsub_dispatch_retry", error=type(error).__name__)
                connection.close()
                time.sleep(idle_sleep)
                continue
            for name in ("published", "ingested", "delivered", "failed", "dead"):
                setattr(total, name, getattr(total, name) + getattr(result, name))
            if result.busy:
                continue
            backlog_refresh()
            if not loop:
                break
            time.sleep(idle_sleep)
    finally:
        backend.close()
    logger.info(
        "pubsub_dispatched",
        backend=backend.name,
        published=total.published,
        delivered=total.delivered,
        failed=total.failed,
        dead=total.dead,
    )
    return total


def pubsub_dispatch_job() -> None:
    """The scheduler's job: work until idle (several minutes' backlog is drained in one run)."""
    dispatch_run()
