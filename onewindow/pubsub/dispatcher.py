"""The dispatcher: outbox → backend → delivery rows → webhooks (docs/pubsub.md "Dispatcher").

Run by ``manage.py pubsub_dispatch`` (``--loop`` for a long-running process; several may run at once)
and every minute by the scheduler (``pubsub.schedules``). Pull subscriptions are served by the API.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from onewindow.core.logging import get_logger
from onewindow.pubsub import metrics
from onewindow.pubsub.backends import Backend, backend_from_settings
from onewindow.pubsub.models import DeliveryMode, Subscription
from onewindow.pubsub.queue import (
    backlog,
    deliveries_claim,
    deliveries_expired_dead,
    deliveries_succeeded,
    delivery_failed,
)
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


def push_deliver(*, limit: int) -> DispatchResult:
    """Send one batch of due push deliveries and record the outcomes."""
    result = DispatchResult()
    subscriptions = list(Subscription.objects.filter(active=True, mode=DeliveryMode.PUSH))
    claimed = deliveries_claim(subscriptions=subscriptions, limit=limit)
    if not claimed:
        return result
    from onewindow.outbox.models import OutboxEvent

    events = OutboxEvent.objects.in_bulk([d.event_id for d in claimed])
    succeeded = []
    failures = []
    for delivery in claimed:
        delivery.event = events[delivery.event_id]
        error = webhook_send(delivery)
        (failures.append((delivery, error)) if error else succeeded.append(delivery))
    with transaction.atomic():
        result.delivered = deliveries_succeeded(succeeded)
        for delivery, error in failures:
            result.failed += 1
            result.dead += delivery_failed(delivery, error) == "dead"
    return result


def dispatch_once(backend: Backend, *, batch: int | None = None) -> DispatchResult:
    """One round: publish, ingest, push, dead-letter expired last attempts."""
    size = batch or settings.PUBSUB_BATCH_SIZE
    result = push_deliver(limit=size)
    result.published = backend.publish(limit=size)
    result.ingested = backend.ingest(limit=size)
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
            result = dispatch_once(backend)
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
