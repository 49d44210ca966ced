"""The delivery queue in the database, shared by both backends (docs/pubsub.md "Delivery").

Every function here is a system job's step (no acting user, no audit record: the admins' actions on the
queue — replay, pull, acknowledge — are audited in :mod:`onewindow.pubsub.actions`).

Per-key ordering: a delivery is due only when no earlier pending delivery of the same subscription and key
exists (earlier = ``(event_created_at, event_id)``). A dead delivery no longer blocks its key: one poison
event must not stop a company's later changes reaching tax; replaying it delivers it after them, and
consumers see the payload's ``version`` to tell (documented in docs/pubsub.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from onewindow.outbox.models import OutboxEvent
from onewindow.pubsub import metrics
from onewindow.pubsub.filters import filters_match, topic_matches
from onewindow.pubsub.models import Delivery, DeliveryStatus, DispatcherLock, Subscription
from onewindow.registry.actions import REGISTRY_POPULATION_DEPARTMENT
from onewindow.registry.entities import REGISTRY_ENTITY_DEPARTMENT

MAX_BACKOFF_SECONDS = 3600
ERROR_MAX_LENGTH = 200


@dataclass(frozen=True)
class EventData:
    """What fan-out needs of an outbox event, from the database or from a NATS message."""

    id: str
    topic: str
    key: str
    payload: dict[str, object]
    created_at: datetime


def publisher_of(topic: str, payload: dict[str, object]) -> str:
    if topic.startswith("person."):
        return REGISTRY_POPULATION_DEPARTMENT
    authority = payload.get("registration_authority")
    return authority if isinstance(authority, str) and authority else REGISTRY_ENTITY_DEPARTMENT


def active_subscriptions() -> list[Subscription]:
    return list(Subscription.objects.filter(active=True).order_by("pk"))


def deliveries_create(events: Sequence[EventData], subscriptions: Sequence[Subscription]) -> int:
    """Fan ``events`` out to the matching ``subscriptions`` (idempotent: existing pairs are kept)."""
    now = timezone.now()
    rows = [
        Delivery(
            subscription=subscription,
            event_id=event.id,
            topic=event.topic,
            key=event.key,
            publisher=publisher_of(event.topic, event.payload),
            event_created_at=event.created_at,
            next_attempt_at=now,
            created_at=now,
        )
        for event in events
        for subscription in subscriptions
        if topic_matches(subscription.topics, event.topic)
        and filters_match(subscription.filters, event.payload)
    ]
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(rows)


def lock_take(name: str) -> bool:
    """Take the named lock for the current transaction; False if another dispatcher holds it.

    PostgreSQL: a row lock with SKIP LOCKED. SQLite: the IMMEDIATE transaction already has the only writer.
    """
    DispatcherLock.objects.get_or_create(name=name)
    return DispatcherLock.objects.select_for_update(skip_locked=True).filter(name=name).exists()


def outbox_unpublished(limit: int) -> QuerySet[OutboxEvent]:
    return OutboxEvent.objects.filter(published_at__isnull=True).order_by("created_at", "id")[:limit]


def outbox_mark_published(event_ids: Iterable[object]) -> None:
    OutboxEvent.objects.filter(pk__in=list(event_ids)).update(published_at=timezone.now())


def _earlier_pending() -> Exists:
    return Exists(
        Delivery.objects.filter(
            subscription=OuterRef("subscription"), key=OuterRef("key"), status=DeliveryStatus.PENDING
        ).filter(
            Q(event_created_at__lt=OuterRef("event_created_at"))
            | Q(event_created_at=OuterRef("event_created_at"), event_id__lt=OuterRef("event_id"))
        )
    )


def deliveries_claim(
    *, subscriptions: Sequence[Subscription], limit: int, lease_seconds: int | None = None
) -> list[Delivery]:
    """Lease the due deliveries at the head of their keys (one transaction); each claim is an attempt.

    Several dispatchers at once: PostgreSQL skips rows another holds (SKIP LOCKED), and a leased delivery
    is not due, so no delivery is handed to two at once while its lease runs.
    """
    if not subscriptions:
        return []
    now = timezone.now()
    lease = timedelta(seconds=lease_seconds or settings.PUBSUB_LEASE_SECONDS)
    with transaction.atomic():
        claimed = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                subscription__in=subscriptions,
                status=DeliveryStatus.PENDING,
                next_attempt_at__lte=now,
            )
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
            .exclude(_earlier_pending())
            .order_by("event_created_at", "event_id")[:limit]
        )
        if claimed:
            Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
                leased_until=now + lease, attempts=F("attempts") + 1
            )
            for delivery in claimed:
                delivery.attempts += 1
                delivery.leased_until = now + lease
    by_id = {subscription.pk: subscription for subscription in subscriptions}
    for delivery in claimed:
        delivery.subscription = by_id[delivery.subscription_id]
    return claimed


def deliveries_succeeded(deliveries: Sequence[Delivery]) -> int:
    """Mark leased deliveries delivered (a late success after a dead letter still counts as delivered)."""
    if not deliveries:
        return 0
    now = timezone.now()
    count = Delivery.objects.filter(
        pk__in=[d.pk for d in deliveries], status__in=[DeliveryStatus.PENDING, DeliveryStatus.DEAD]
    ).update(status=DeliveryStatus.DELIVERED, delivered_at=now, leased_until=None, last_error="")
    for delivery in deliveries:
        metrics.delivered(delivery.subscription.code, (now - delivery.event_created_at).total_seconds())
    return count


def backoff_seconds(attempts: int) -> float:
    return float(min(settings.PUBSUB_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def delivery_failed(delivery: Delivery, error: str) -> DeliveryStatus:
    """Schedule the next attempt with exponential backoff, or make it a dead letter after the last."""
    now = timezone.now()
    error = error[:ERROR_MAX_LENGTH]
    metrics.failed(delivery.subscription.code)
    if delivery.attempts >= delivery.subscription.max_attempts:
        Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.DEAD, dead_at=now, leased_until=None, last_error=error
        )
        metrics.dead(delivery.subscription.code)
        return DeliveryStatus.DEAD
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(
        next_attempt_at=now + timedelta(seconds=backoff_seconds(delivery.attempts)),
        leased_until=None,
        last_error=error,
    )
    return DeliveryStatus.PENDING


def deliveries_expired_dead() -> int:
    """Leases that ran out on their last attempt (a pull never acknowledged, a dispatcher killed): dead."""
    now = timezone.now()
    return Delivery.objects.filter(
        status=DeliveryStatus.PENDING,
        leased_until__lte=now,
        attempts__gte=F("subscription__max_attempts"),
    ).update(status=DeliveryStatus.DEAD, dead_at=now, leased_until=None, last_error="lease expired")


def backlog() -> dict[int, int]:
    """Pending deliveries per subscription id."""
    rows = (
        Delivery.objects.filter(status=DeliveryStatus.PENDING)
        .values_list("subscription_id")
        .order_by()
        .annotate(n=Count("id"))
    )
    return dict(rows)
