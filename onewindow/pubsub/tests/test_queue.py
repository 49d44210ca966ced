"""The keyed queue (docs/pubsub.md "Per-key ordering"; issue #8 item 4: per-key ordering, a claim whose cost
does not grow with the backlog, several dispatchers at once).

Invariants checked after every scenario: a (subscription, key) with pending deliveries has exactly one head
and a pending-key row; one without has neither.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import defaultdict
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onewindow.organisations.models import Department
from onewindow.outbox.actions import outbox_append
from onewindow.outbox.models import OutboxEvent
from onewindow.pubsub.actions import deliveries_replay, subscription_create
from onewindow.pubsub.backends.database import DatabaseBackend
from onewindow.pubsub.models import Delivery, DeliveryStatus, PendingKey, Subscription
from onewindow.pubsub.queue import deliveries_claim, deliveries_record
from onewindow.pubsub.tests.conftest import entity_event


def _subscription(code: str = "tax-entities", department: str = "TAX") -> Subscription:
    subscription, _ = subscription_create(
        acting_user=None, department_code=department, code=code, name=code, topics=["entity.*"], mode="pull"
    )
    return subscription


def _invariants_hold() -> None:
    pending: dict[tuple[int, str], list[Delivery]] = defaultdict(list)
    for delivery in Delivery.objects.filter(status=DeliveryStatus.PENDING).order_by("pk"):
        pending[(delivery.subscription_id, delivery.key)].append(delivery)
    for pair, rows in pending.items():
        assert sum(row.is_head for row in rows) == 1, pair
    assert set(PendingKey.objects.values_list("subscription_id", "key")) == set(pending)


def _claim(subscription: Subscription, limit: int = 100) -> list[Delivery]:
    return deliveries_claim(subscriptions=[subscription], limit=limit)


@pytest.mark.django_db
def test_only_a_keys_head_is_claimed_and_its_next_event_follows_the_acknowledgement(
    departments: dict[str, Department],
) -> None:
    # Given three changes of one company and one of another
    subscription = _subscription()
    company = [entity_event("91350100M000100Y43", version=v) for v in (1, 2, 3)]
    other = entity_event("91350100M000200Y11")
    DatabaseBackend().publish(limit=100)
    _invariants_hold()
    # When the subscriber fetches: the first of each company, never two of one company at once
    first = _claim(subscription)
    assert [str(d.event_id) for d in first] == [str(company[0].pk), str(other.pk)]
    assert _claim(subscription) == []
    # Then each acknowledgement hands the company's key to its next change, in order
    deliveries_record(delivered=first)
    _invariants_hold()
    (second,) = _claim(subscription)
    assert str(second.event_id) == str(company[1].pk)
    deliveries_record(delivered=[second])
    (third,) = _claim(subscription)
    assert str(third.event_id) == str(company[2].pk)
    deliveries_record(delivered=[third])
    # And the queue's bookkeeping is empty once nothing waits
    assert not Delivery.objects.filter(status=DeliveryStatus.PENDING).exists()
    assert not PendingKey.objects.exists()


@pytest.mark.django_db
def test_a_claim_reads_the_due_heads_only_in_two_statements_however_long_the_backlog(
    departments: dict[str, Department],
) -> None:
    # Given 300 pending changes of one company behind its head, and two other companies
    subscription = _subscription()
    with transaction.atomic():
        for version in range(300):
            outbox_append(topic="entity.changed", key="91350100M000100Y43", payload={"version": version})
    entity_event("91350100M000200Y11")
    entity_event("91350100M000300Y22")
    DatabaseBackend().publish(limit=1000)
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 302
    # When a dispatcher claims
    with CaptureQueriesContext(connection) as queries:
        claimed = _claim(subscription, limit=500)
    # Then it took the three heads with one indexed read and one update, no anti-join over the backlog
    assert len(claimed) == 3
    statements = [q["sql"] for q in queries.captured_queries if "pubsub_delivery" in q["sql"]]
    assert len(statements) == 2
    assert "is_head" in statements[0]
    assert "EXISTS" not in statements[0].upper()
    assert "LIMIT 500" in statements[0]


@pytest.mark.django_db
def test_a_dead_head_frees_its_key_and_a_replayed_one_goes_next_after_the_current_head(
    departments: dict[str, Department],
) -> None:
    # Given a company's first change that dies on its only attempt
    subscription, _ = subscription_create(
        acting_user=None,
        department_code="TAX",
        code="tax-once",
        name="once",
        topics=["entity.*"],
        mode="pull",
        max_attempts=1,
    )
    first, second, third = (entity_event("91350100M000100Y43", version=v) for v in (1, 2, 3))
    DatabaseBackend().publish(limit=100)
    (head,) = _claim(subscription)
    deliveries_record(failed=[(head, "HTTP 500")])
    assert Delivery.objects.get(event=first).status == DeliveryStatus.DEAD
    _invariants_hold()
    # Then the next change is the head now, and is claimed
    (now_head,) = _claim(subscription)
    assert str(now_head.event_id) == str(second.pk)
    # When the dead letter is replayed while that head is out
    assert deliveries_replay(acting_user=None, subscription=subscription, event_ids=[str(first.pk)]) == 1
    _invariants_hold()
    # Then it waits for the head, then goes before the later change (it is the oldest waiting)
    assert _claim(subscription) == []
    deliveries_record(delivered=[now_head])
    (replayed,) = _claim(subscription)
    assert str(replayed.event_id) == str(first.pk)
    deliveries_record(delivered=[replayed])
    (last,) = _claim(subscription)
    assert str(last.event_id) == str(third.pk)


@pytest.mark.django_db
def test_an_outcome_reported_for_an_attempt_that_is_no_longer_the_latest_is_ignored(
    departments: dict[str, Department],
) -> None:
    subscription = _subscription()
    entity_event()
    DatabaseBackend().publish(limit=100)
    (slow,) = _claim(subscription)
    # The lease runs out; another dispatcher claims the delivery again
    past = timezone.now() - timedelta(seconds=1)
    Delivery.objects.update(next_attempt_at=past, leased_until=past)
    (again,) = _claim(subscription)
    assert again.attempts == 2
    # The slow dispatcher's failure does not undo the new lease
    deliveries_record(failed=[(slow, "TimeoutError")])
    delivery = Delivery.objects.get()
    assert (delivery.last_error, delivery.leased_until) == ("", again.leased_until)


@pytest.mark.django_db
def test_random_fan_out_claims_outcomes_and_replays_keep_the_invariants(
    departments: dict[str, Department],
) -> None:
    # Given two subscriptions, one giving up after two attempts, and events on eight keys
    subscriptions = [
        _subscription("tax-entities", "TAX"),
        subscription_create(
            acting_user=None,
            department_code="QI",
            code="qi-entities",
            name="qi",
            topics=["entity.*"],
            mode="pull",
            max_attempts=2,
        )[0],
    ]
    rng = random.Random(4)
    backend = DatabaseBackend()
    delivered_order: dict[tuple[int, str], list[int]] = defaultdict(list)
    versions: dict[str, int] = defaultdict(int)
    replayed: set[int] = set()
    # When events, fan-outs, claims, successes, failures, lease expiries and replays come in random order
    for _ in range(150):
        step = rng.random()
        if step < 0.3:
            key = f"91350100M0000{rng.randrange(8)}0Y43"
            versions[key] += 1
            entity_event(key, topic="entity.changed", version=versions[key])
        elif step < 0.45:
            backend.publish(limit=rng.randrange(1, 6))
        elif step < 0.85:
            subscription = rng.choice(subscriptions)
            claimed = _claim(subscription, limit=rng.randrange(1, 5))
            ok = [d for d in claimed if rng.random() < 0.7]
            failed = [(d, "HTTP 503") for d in claimed if d not in ok]
            for delivery in ok:
                delivered_order[(delivery.subscription_id, delivery.key)].append(delivery.pk)
            deliveries_record(delivered=ok, failed=failed)
            Delivery.objects.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=timezone.now())
        elif step < 0.95:
            past = timezone.now() - timedelta(seconds=1)
            Delivery.objects.filter(leased_until__isnull=False).update(
                leased_until=past, next_attempt_at=past
            )
        else:
            subscription = rng.choice(subscriptions)
            replayed |= set(
                subscription.deliveries.filter(status=DeliveryStatus.DEAD).values_list("pk", flat=True)
            )
            deliveries_replay(acting_user=None, subscription=subscription)
        # Then after every step each key with pending deliveries has exactly one head
        _invariants_hold()
    # And deliveries that were never replayed were delivered in fan-out order per key
    assert sum(len(order) for order in delivered_order.values()) > 20
    for order in delivered_order.values():
        plain = [pk for pk in order if pk not in replayed]
        assert plain == sorted(plain)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need a server (SQLite has one writer)"
)
def test_fan_out_and_acknowledgements_racing_on_the_same_keys_never_strand_a_key(
    departments: dict[str, Department],
) -> None:
    # Given a subscription and a dispatcher fanning out while two consumers acknowledge, on five keys
    subscription = _subscription()
    events = 600
    keys = [f"91350100M00{n:04d}0Y43" for n in range(5)]
    written_done = threading.Event()
    fanned_done = threading.Event()
    errors: list[str] = []
    received: dict[str, list[int]] = defaultdict(list)
    lock = threading.Lock()

    def produce() -> None:
        try:
            for start in range(0, events, 20):
                with transaction.atomic():
                    for number in range(start, start + 20):
                        outbox_append(
                            topic="entity.changed", key=keys[number % 5], payload={"version": number}
                        )
        finally:
            written_done.set()
            connection.close()

    def fan_out() -> None:
        backend = DatabaseBackend()
        try:
            while True:
                finished = written_done.is_set()
                if not backend.publish(limit=7) and finished:
                    break
        except Exception as error:  # reported by the test
            errors.append(repr(error))
        finally:
            fanned_done.set()
            connection.close()

    def consume() -> None:
        deadline = time.monotonic() + 120  # a stranded key would keep a consumer waiting for ever
        try:
            while time.monotonic() < deadline:
                finished = fanned_done.is_set()
                claimed = deliveries_claim(subscriptions=[subscription], limit=3)
                if not claimed:
                    pending = Delivery.objects.filter(status=DeliveryStatus.PENDING).exists()
                    if finished and not pending:
                        break
                    continue
                payloads = OutboxEvent.objects.in_bulk([d.event_id for d in claimed])
                with lock:
                    for delivery in claimed:
                        received[delivery.key].append(payloads[delivery.event_id].payload["version"])
                deliveries_record(delivered=claimed)
        except Exception as error:  # reported by the test
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=t) for t in (produce, fan_out, consume, consume)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    # When everything settled: every event delivered once, each key in order, nothing stranded
    assert errors == []
    assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == events
    assert not PendingKey.objects.exists()
    for versions in received.values():
        assert versions == sorted(versions)
    assert sum(len(v) for v in received.values()) == events
    assert (
        len({str(uuid.UUID(str(e))) for e in Delivery.objects.values_list("event_id", flat=True)}) == events
    )
