"""The delivery queue in the database, shared by both backends (docs/pubsub.md "Delivery").

Every function here is a system job's step (no acting user, no audit record: the admins' actions on the
queue — replay, pull, acknowledge — are audited in :mod:`onewindow.pubsub.actions`).

**A keyed queue.** Per-key order is kept by a *head* per (subscription, key): the oldest pending delivery
of the key (in fan-out order, i.e. by id) carries ``is_head``, and only heads are claimed. A claim is then
one index range scan over the due heads (``pubsub_delivery_head_idx``) that reads what it takes, however
long the backlog behind the heads is — no anti-join over the pending rows. When a head completes
(delivered, or dead) the key's next pending delivery becomes its head, in the same transaction.

Every write that changes a key's head — fan-out, completion, replay — first locks the key's
:class:`~onewindow.pubsub.models.PendingKey` row (``SELECT … FOR UPDATE`` in id order, so two writers
never deadlock on each other), then reads the key's state. So a fan-out never decides "no head yet" while
a completion is choosing the next head, and a key never has two heads (the partial unique constraint
``pubsub_delivery_one_head`` would refuse it) nor pending deliveries without one. Claims take no key lock:
they lease heads with ``FOR UPDATE SKIP LOCKED``, so several dispatchers never send the same delivery at
once. SQLite ignores the row locks; its IMMEDIATE transactions have the only writer anyway.

A dead delivery no longer holds its key: one poison event must not stop all later news of a company. A
replayed dead letter becomes its key's head if the key has none, else it is next after the current head
(it is the oldest waiting); consumers see the payload's ``version`` to tell a stale event.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from onewindow.outbox.models import OutboxEvent
from onewindow.pubsub import metrics
from onewindow.pubsub.filters import filters_match, topic_matches
from onewindow.pubsub.models import Delivery, DeliveryStatus, DispatcherLock, PendingKey, Subscription
from onewindow.registry.actions import REGISTRY_POPULATION_DEPARTMENT
from onewindow.registry.entities import REGISTRY_ENTITY_DEPARTMENT

MAX_BACKOFF_SECONDS = 3600
ERROR_MAX_LENGTH = 200
# Keys per statement when locking or settling many keys (SQLite allows 32,766 parameters per statement).
KEYS_PER_STATEMENT = 500
EXPIRED_PER_ROUND = 1000

Pair = tuple[int, str]
# What sending, pulling and recording an outcome read of a claimed delivery.
CLAIMED_FIELDS = ("id", "subscription_id", "event_id", "topic", "key", "attempts", "event_created_at")


@dataclass(frozen=True)
class EventData:
    """What fan-out needs of an outbox event, from the database or from a NATS message."""

    id: str
    topic: str
    key: str
    payload: dict[str, object]
    created_at: datetime


@dataclass
class Outcome:
    """What a batch of attempts came to."""

    delivered: int = 0
    failed: int = 0
    dead: int = 0


@contextmanager
def queue_transaction() -> Iterator[None]:
    """A transaction of the queue's own bookkeeping; on PostgreSQL, committed without waiting for the WAL
    flush (``synchronous_commit = off``) when it is the outermost one.

    Safe for at-least-once delivery: PostgreSQL may lose the last few hundred milliseconds of such commits
    when the *server* crashes, but only whole transactions, in order — a fan-out with the events it marked
    published, a NATS batch with its stream position, a claim, or an outcome. Each is then simply done
    again (fanned out again, re-read, claimed again, sent again). An action that audits (pull,
    acknowledge, replay) wraps these in its own transaction, which commits synchronously as always.
    """
    connection = transaction.get_connection()
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def publisher_of(topic: str, payload: dict[str, object]) -> str:
    if topic.startswith("person."):
        return REGISTRY_POPULATION_DEPARTMENT
    authority = payload.get("registration_authority")
    return authority if isinstance(authority, str) and authority else REGISTRY_ENTITY_DEPARTMENT


def active_subscriptions() -> list[Subscription]:
    return list(Subscription.objects.filter(active=True).order_by("pk"))


def _chunks(pairs: Iterable[Pair]) -> list[list[Pair]]:
    ordered = sorted(pairs)
    return [ordered[i : i + KEYS_PER_STATEMENT] for i in range(0, len(ordered), KEYS_PER_STATEMENT)]


def _pending_keys(pairs: Sequence[Pair]) -> QuerySet[PendingKey]:
    """The pending-key rows of ``pairs`` (and perhaps a few more: subscriptions × keys is a superset)."""
    return PendingKey.objects.filter(
        subscription_id__in={subscription for subscription, _ in pairs}, key__in={key for _, key in pairs}
    )


def _keys_lock(pairs: Iterable[Pair]) -> None:
    """Lock the pending-key rows of ``pairs`` for the caller's transaction, creating the missing ones.

    One upsert per chunk (``INSERT … ON CONFLICT DO UPDATE``: a new row is inserted, an existing one
    locked), the rows in (subscription, key) order: every writer takes its keys in that one order, so two
    writers with overlapping keys queue rather than deadlock. A row being deleted by a completion (its
    key had just emptied) is inserted again once that commits.
    """
    if not transaction.get_connection().in_atomic_block:
        message = "pending keys are locked inside the caller's transaction"
        raise RuntimeError(message)
    for chunk in _chunks(pairs):
        PendingKey.objects.bulk_create(
            [PendingKey(subscription_id=subscription, key=key) for subscription, key in chunk],
            update_conflicts=True,
            unique_fields=["subscription", "key"],
            update_fields=["key"],
        )


def _heads_of(pairs: Sequence[Pair]) -> set[Pair]:
    """Which of ``pairs`` have a head now."""
    rows = Delivery.objects.filter(
        status=DeliveryStatus.PENDING,
        is_head=True,
        subscription_id__in={subscription for subscription, _ in pairs},
        key__in={key for _, key in pairs},
    ).values_list("subscription_id", "key")
    return set(rows) & set(pairs)


def _heads_settle(pairs: Iterable[Pair]) -> None:
    """Under the keys' locks: each key with pending deliveries gets a head (its first); keys with none
    lose their pending-key row."""
    for chunk in _chunks(pairs):
        missing = set(chunk) - _heads_of(chunk)
        if not missing:
            continue
        first_pending = (
            Delivery.objects.filter(
                subscription_id=OuterRef("subscription_id"),
                key=OuterRef("key"),
                status=DeliveryStatus.PENDING,
            )
            .order_by("pk")
            .values("pk")[:1]
        )
        rows = (
            _pending_keys(sorted(missing))
            .annotate(first=Subquery(first_pending))
            .values_list("pk", "subscription_id", "key", "first")
        )
        heads: list[int] = []
        empty: list[int] = []
        for pk, subscription, key, first in rows:
            if (subscription, key) not in missing:
                continue
            if first is None:
                empty.append(pk)
            else:
                heads.append(first)
        if heads:
            Delivery.objects.filter(pk__in=heads).update(is_head=True)
        if empty:
            PendingKey.objects.filter(pk__in=empty).delete()


def deliveries_create(events: Sequence[EventData], subscriptions: Sequence[Subscription]) -> int:
    """Fan ``events`` (in their order) out to the matching ``subscriptions``; return the rows created.

    Idempotent: an (event, subscription) pair that has its delivery already is skipped (a redelivered NATS
    message). A key's first new delivery becomes its head if the key has none. One transaction (the
    caller's, if any), bulk statements only.
    """
    candidates = [
        (event, subscription)
        for event in events
        for subscription in subscriptions
        if topic_matches(subscription.topics, event.topic)
        and filters_match(subscription.filters, event.payload)
    ]
    if not candidates:
        return 0
    now = timezone.now()
    with queue_transaction():
        pairs = {(subscription.pk, event.key) for event, subscription in candidates}
        _keys_lock(pairs)
        existing = {
            (subscription, str(event))
            for subscription, event in Delivery.objects.filter(
                subscription_id__in={subscription.pk for _, subscription in candidates},
                event_id__in=[uuid.UUID(event.id) for event in events],
            ).values_list("subscription_id", "event_id")
        }
        headed = _heads_of(sorted(pairs))
        rows: list[_NewDelivery] = []
        for event, subscription in candidates:
            if (subscription.pk, event.id) in existing:
                continue
            pair = (subscription.pk, event.key)
            rows.append(
                _NewDelivery(
                    subscription.pk,
                    event.id,
                    event.topic,
                    event.key,
                    publisher_of(event.topic, event.payload),
                    event.created_at,
                    pair not in headed,
                )
            )
            headed.add(pair)
        _deliveries_insert(rows, now)
    return len(rows)


@dataclass(frozen=True)
class _NewDelivery:
    subscription_id: int
    event_id: str
    topic: str
    key: str
    publisher: str
    event_created_at: datetime
    is_head: bool


_INSERT_COLUMNS = (
    "subscription_id",
    "event_id",
    "topic",
    "key",
    "publisher",
    "event_created_at",
    "is_head",
    "status",
    "attempts",
    "last_error",
    "next_attempt_at",
    "created_at",
)


def _deliveries_insert(rows: Sequence[_NewDelivery], now: datetime) -> None:
    """Insert new pending deliveries in the given order (ids ascending: a key's queue order).

    The fan-out's hot path, so one statement without model instances: PostgreSQL inserts from arrays
    (``UNNEST … WITH ORDINALITY``, ordered), SQLite runs one prepared statement per row.
    """
    if not rows:
        return
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    table = quote(Delivery._meta.db_table)
    columns = ", ".join(quote(column) for column in _INSERT_COLUMNS)
    if connection.vendor == "postgresql":
        sql = (
            f"INSERT INTO {table} ({columns}) "  # noqa: S608 - names from the model, values bound
            "SELECT s, e, t, k, p, c, h, %s, 0, '', %s, %s FROM UNNEST("
            "%s::bigint[], %s::uuid[], %s::varchar[], %s::varchar[], %s::varchar[], %s::timestamptz[], "
            "%s::boolean[]) WITH ORDINALITY AS u(s, e, t, k, p, c, h, n) ORDER BY n"
        )
        params: list[object] = [DeliveryStatus.PENDING.value, now, now]
        params += [
            [r.subscription_id for r in rows],
            [uuid.UUID(r.event_id) for r in rows],
            [r.topic for r in rows],
            [r.key for r in rows],
            [r.publisher for r in rows],
            [r.event_created_at for r in rows],
            [r.is_head for r in rows],
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    adapt = connection.ops.adapt_datetimefield_value
    native_uuid = connection.features.has_native_uuid_field
    placeholders = ", ".join(["%s"] * len(_INSERT_COLUMNS))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 - names from the model
    created = adapt(now)
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [
                (
                    r.subscription_id,
                    uuid.UUID(r.event_id) if native_uuid else uuid.UUID(r.event_id).hex,
                    r.topic,
                    r.key,
                    r.publisher,
                    adapt(r.event_created_at),
                    r.is_head,
                    DeliveryStatus.PENDING.value,
                    0,
                    "",
                    created,
                    created,
                )
                for r in rows
            ],
        )


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


def deliveries_claim(
    *, subscriptions: Sequence[Subscription], limit: int, lease_seconds: int | None = None
) -> list[Delivery]:
    """Lease up to ``limit`` due heads of each subscription (one transaction); each claim is an attempt.

    Only heads are claimed, so a batch holds at most one delivery per key and its deliveries may be sent
    concurrently. A claimed delivery is not due again until its lease ends (``next_attempt_at`` is moved
    to the lease's end); one whose lease ran out on its last attempt is left to
    :func:`deliveries_expired_dead`. Several dispatchers at once: PostgreSQL skips rows another holds
    (SKIP LOCKED).
    """
    if not subscriptions:
        return []
    now = timezone.now()
    lease_end = now + timedelta(seconds=lease_seconds or settings.PUBSUB_LEASE_SECONDS)
    claimed: list[Delivery] = []
    with queue_transaction():
        for subscription in subscriptions:
            rows = list(
                Delivery.objects.select_for_update(skip_locked=True)
                .only(*CLAIMED_FIELDS)
                .filter(
                    subscription=subscription,
                    status=DeliveryStatus.PENDING,
                    is_head=True,
                    next_attempt_at__lte=now,
                    attempts__lt=subscription.max_attempts,
                )
                .order_by("next_attempt_at", "id")[:limit]
            )
            for delivery in rows:
                delivery.subscription = subscription
            claimed += rows
        if claimed:
            Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
                leased_until=lease_end, next_attempt_at=lease_end, attempts=F("attempts") + 1
            )
            for delivery in claimed:
                delivery.attempts += 1
                delivery.leased_until = delivery.next_attempt_at = lease_end
    return claimed


def backoff_seconds(attempts: int) -> float:
    return float(min(settings.PUBSUB_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def deliveries_record(
    *, delivered: Sequence[Delivery] = (), failed: Sequence[tuple[Delivery, str]] = ()
) -> Outcome:
    """Record a batch of outcomes in one transaction: delivered ones, and failed attempts (retried with
    exponential backoff, or dead letters after the subscription's last attempt).

    A delivered or dead head hands its key to the key's next pending delivery. A late success after a dead
    letter still counts as delivered. A failure reported for an attempt that is no longer the latest (the
    lease ran out and another dispatcher claimed it again) is ignored: that dispatcher reports its own.
    """
    outcome = Outcome()
    if not delivered and not failed:
        return outcome
    now = timezone.now()
    dead = [(d, e[:ERROR_MAX_LENGTH]) for d, e in failed if d.attempts >= d.subscription.max_attempts]
    retried = [(d, e[:ERROR_MAX_LENGTH]) for d, e in failed if d.attempts < d.subscription.max_attempts]
    with queue_transaction():
        pairs = {(d.subscription_id, d.key) for d in delivered} | {
            (d.subscription_id, d.key) for d, _ in dead
        }
        _keys_lock(pairs)
        if delivered:
            outcome.delivered = Delivery.objects.filter(
                pk__in=[d.pk for d in delivered], status__in=[DeliveryStatus.PENDING, DeliveryStatus.DEAD]
            ).update(
                status=DeliveryStatus.DELIVERED,
                delivered_at=now,
                leased_until=None,
                last_error="",
                is_head=False,
            )
        for (attempts, error), group in _grouped(dead).items():
            outcome.dead += Delivery.objects.filter(
                pk__in=group, status=DeliveryStatus.PENDING, attempts=attempts
            ).update(
                status=DeliveryStatus.DEAD, dead_at=now, leased_until=None, last_error=error, is_head=False
            )
        for (attempts, error), group in _grouped(retried).items():
            Delivery.objects.filter(pk__in=group, status=DeliveryStatus.PENDING, attempts=attempts).update(
                next_attempt_at=now + timedelta(seconds=backoff_seconds(attempts)),
                leased_until=None,
                last_error=error,
            )
        _heads_settle(pairs)
    outcome.failed = len(failed)
    for delivery in delivered:
        metrics.delivered(delivery.subscription.code, (now - delivery.event_created_at).total_seconds())
    for delivery, _ in failed:
        metrics.failed(delivery.subscription.code)
    for delivery, _ in dead:
        metrics.dead(delivery.subscription.code)
    return outcome


def _grouped(failures: Sequence[tuple[Delivery, str]]) -> dict[tuple[int, str], list[int]]:
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for delivery, error in failures:
        groups[(delivery.attempts, error)].append(delivery.pk)
    return groups


def deliveries_expired_dead() -> int:
    """Leases that ran out on their last attempt (a pull never acknowledged, a dispatcher killed): dead.

    Reads only the leased deliveries (``pubsub_delivery_leased_idx``), a batch per call.
    """
    now = timezone.now()
    expired = list(
        Delivery.objects.filter(
            status=DeliveryStatus.PENDING,
            leased_until__lte=now,
            attempts__gte=F("subscription__max_attempts"),
        )
        .select_related("subscription")
        .order_by("leased_until")[:EXPIRED_PER_ROUND]
    )
    if not expired:
        return 0
    with queue_transaction():
        pairs = {(d.subscription_id, d.key) for d in expired}
        _keys_lock(pairs)
        count = Delivery.objects.filter(
            pk__in=[d.pk for d in expired], status=DeliveryStatus.PENDING, leased_until__lte=now
        ).update(
            status=DeliveryStatus.DEAD,
            dead_at=now,
            leased_until=None,
            last_error="lease expired",
            is_head=False,
        )
        _heads_settle(pairs)
    for delivery in expired:
        metrics.dead(delivery.subscription.code)
    return count


def deliveries_requeue(dead: QuerySet[Delivery]) -> int:
    """Put dead letters back in their keys' queues (attempts reset), in the caller's transaction."""
    now = timezone.now()
    rows = list(dead.filter(status=DeliveryStatus.DEAD).values_list("pk", "subscription_id", "key"))
    if not rows:
        return 0
    with transaction.atomic():
        pairs = {(subscription, key) for _, subscription, key in rows}
        _keys_lock(pairs)
        count = 0
        ids = [pk for pk, _, _ in rows]
        for start in range(0, len(ids), KEYS_PER_STATEMENT):
            count += Delivery.objects.filter(
                pk__in=ids[start : start + KEYS_PER_STATEMENT], status=DeliveryStatus.DEAD
            ).update(
                status=DeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                leased_until=None,
                dead_at=None,
                is_head=False,
            )
        _heads_settle(pairs)
    return count


def backlog() -> dict[int, int]:
    """Pending deliveries per subscription id."""
    rows = (
        Delivery.objects.filter(status=DeliveryStatus.PENDING)
        .values_list("subscription_id")
        .order_by()
        .annotate(n=Count("id"))
    )
    return dict(rows)
