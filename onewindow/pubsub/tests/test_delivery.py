"""At-least-once delivery from the outbox on both backends (issue #8 item 4; docs/pubsub.md).

The same cases run on the database backend and on NATS JetStream (the machine's server at 4222).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.organisations.models import Department
from onewindow.outbox.models import OutboxEvent
from onewindow.pubsub.actions import (
    deliveries_acknowledge,
    deliveries_pull,
    deliveries_replay,
    subscription_create,
)
from onewindow.pubsub.backends import Backend
from onewindow.pubsub.models import Delivery, DeliveryStatus, Subscription
from onewindow.pubsub.queue import backoff_seconds
from onewindow.pubsub.selectors import dead_letters
from onewindow.pubsub.tests.conftest import Receiver, dispatch_until_idle, entity_event
from onewindow.pubsub.webhook import signature_verify

pytestmark = pytest.mark.django_db


def _pull_subscription(code: str, department: str, **kwargs: object) -> Subscription:
    subscription, secret = subscription_create(
        acting_user=None,
        department_code=department,
        code=code,
        name=code,
        topics=kwargs.pop("topics", ["entity.registered", "entity.changed"]),  # type: ignore[arg-type]
        mode="pull",
        **kwargs,  # type: ignore[arg-type]
    )
    assert secret == ""
    return subscription


def _push_subscription(code: str, url: str, **kwargs: object) -> tuple[Subscription, str]:
    return subscription_create(
        acting_user=None,
        department_code="TAX",
        code=code,
        name=code,
        topics=["entity.*"],
        mode="push",
        webhook_url=url,
        **kwargs,  # type: ignore[arg-type]
    )


def _due_now() -> None:
    """Skip the backoff wait: every pending delivery is due and no lease runs."""
    Delivery.objects.filter(status=DeliveryStatus.PENDING).update(
        next_attempt_at=timezone.now(), leased_until=None
    )


def _lease_expire() -> None:
    """The leases of every claimed delivery run out now."""
    past = timezone.now() - timedelta(seconds=1)
    Delivery.objects.filter(leased_until__isnull=False).update(leased_until=past, next_attempt_at=past)


def test_each_event_reaches_only_the_matching_subscriptions_and_is_pulled_once_acknowledged(
    backend: Backend, departments: dict[str, Department], role_users: dict[str, object]
) -> None:
    # Given a tax subscription to all new companies and a quality-inspection one filtered on a district
    tax = _pull_subscription("tax-entities", "TAX")
    qi = _pull_subscription(
        "qi-gulou", "QI", filters=[{"field": "division_code", "op": "prefix", "value": "350102"}]
    )
    cancelled_only = _pull_subscription("tax-cancelled", "TAX", topics=["entity.cancelled"])
    first = entity_event("91350100M000100Y43", division_code="350102")
    second = entity_event("91350100M000200Y11", division_code="350103")
    # When the dispatcher runs
    dispatch_until_idle(backend)
    # Then tax has both, quality inspection the Gulou one, the cancellation subscription nothing
    assert sorted(str(d.event_id) for d in tax.deliveries.all()) == sorted([str(first.pk), str(second.pk)])
    assert [str(d.event_id) for d in qi.deliveries.all()] == [str(first.pk)]
    assert not cancelled_only.deliveries.exists()
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 0
    # And a tax administrator pulls both, in order, with their payloads
    admin = _admin("TAX")
    pulled = deliveries_pull(acting_user=admin, subscription=tax, limit=10)
    assert [str(d.event_id) for d in pulled] == [str(first.pk), str(second.pk)]
    assert pulled[0].event.payload["credit_code"] == "91350100M000100Y43"
    # A second pull inside the lease gets nothing; the acknowledgement delivers them
    assert deliveries_pull(acting_user=admin, subscription=tax, limit=10) == []
    assert (
        deliveries_acknowledge(acting_user=admin, subscription=tax, event_ids=[str(first.pk), str(second.pk)])
        == 2
    )
    assert set(tax.deliveries.values_list("status", flat=True)) == {"delivered"}
    # A second run of the dispatcher adds nothing (idempotent fan-out)
    dispatch_until_idle(backend)
    assert Delivery.objects.count() == 3


def _admin(department: str) -> User:
    from onewindow.accounts.roles import Role
    from onewindow.accounts.tests.factories import staff_user

    return staff_user(Role.DEPARTMENT_ADMIN, department_code=department, username=f"adm_{department.lower()}")


def test_an_unacknowledged_pull_is_handed_out_again_and_dies_after_the_last_attempt(
    backend: Backend, departments: dict[str, Department]
) -> None:
    tax = _pull_subscription("tax-entities", "TAX", max_attempts=2)
    event = entity_event()
    dispatch_until_idle(backend)
    admin = _admin("TAX")
    assert len(deliveries_pull(acting_user=admin, subscription=tax)) == 1
    # The lease runs out without an acknowledgement: the event comes again (at least once)
    _lease_expire()
    (again,) = deliveries_pull(acting_user=admin, subscription=tax)
    assert (str(again.event_id), again.attempts) == (str(event.pk), 2)
    # Its last lease runs out: a dead letter
    _lease_expire()
    dispatch_until_idle(backend)
    assert Delivery.objects.get().status == DeliveryStatus.DEAD


def test_push_is_signed_with_the_subscription_secret_and_carries_the_event_id(
    backend: Backend, departments: dict[str, Department], receiver: Receiver
) -> None:
    subscription, secret = _push_subscription("tax-hook", receiver.url)
    assert len(secret) == 64
    event = entity_event()
    result = dispatch_until_idle(backend)
    assert result.delivered == 1
    (request,) = receiver.requests
    headers = request["headers"]
    assert headers["X-OneWindow-Event-Id"] == str(event.pk)
    assert headers["X-OneWindow-Topic"] == "entity.registered"
    assert signature_verify(
        secret,
        headers["X-OneWindow-Timestamp"],
        str(event.pk),
        request["body"],
        headers["X-OneWindow-Signature"],
    )
    assert not signature_verify(
        "0" * 64,
        headers["X-OneWindow-Timestamp"],
        str(event.pk),
        request["body"],
        headers["X-OneWindow-Signature"],
    )
    assert request["json"]["payload"]["credit_code"] == event.key
    delivery = subscription.deliveries.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    assert delivery.delivered_at is not None


@override_settings(PUBSUB_BACKOFF_SECONDS=10)
def test_failures_are_retried_with_exponential_backoff_then_dead_and_replayed(
    backend: Backend, departments: dict[str, Department], receiver: Receiver
) -> None:
    subscription, _ = _push_subscription("tax-hook", receiver.url, max_attempts=3)
    event = entity_event()
    receiver.always_fail = True
    before = timezone.now()
    dispatch_until_idle(backend)
    delivery = subscription.deliveries.get()
    # First failure: the next attempt waits the base backoff
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 500")
    assert delivery.next_attempt_at >= before + timedelta(seconds=10)
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    _due_now()
    dispatch_until_idle(backend)
    _due_now()
    dispatch_until_idle(backend)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("dead", 3)
    assert [str(d.event_id) for d in dead_letters(subscription)] == [str(event.pk)]
    # The receiver is fixed; the administrator replays the dead letter
    receiver.always_fail = False
    assert deliveries_replay(acting_user=None, subscription=subscription, event_ids=[str(event.pk)]) == 1
    dispatch_until_idle(backend)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    assert receiver.event_ids() == [str(event.pk)]


def test_a_keys_next_event_waits_until_the_previous_is_delivered_or_dead(
    backend: Backend, departments: dict[str, Department], receiver: Receiver
) -> None:
    subscription, _ = _push_subscription("tax-hook", receiver.url, max_attempts=2)
    first = entity_event("91350100M000100Y43", version=1)
    second = entity_event("91350100M000100Y43", topic="entity.changed", version=2)
    other = entity_event("91350100M000200Y11")
    receiver.fail[str(first.pk)] = 1
    dispatch_until_idle(backend)
    # The first event failed: the same company's change waits, another company's event does not
    assert receiver.event_ids() == [str(other.pk)]
    assert subscription.deliveries.get(event=second).status == "pending"
    _due_now()
    dispatch_until_idle(backend)
    assert receiver.event_ids() == [str(other.pk), str(first.pk), str(second.pk)]
    # A dead letter does not hold its key: the next change goes on (documented choice)
    third = entity_event("91350100M000100Y43", topic="entity.changed", version=3)
    fourth = entity_event("91350100M000100Y43", topic="entity.changed", version=4)
    receiver.fail[str(third.pk)] = 2
    dispatch_until_idle(backend)
    _due_now()
    dispatch_until_idle(backend)
    assert subscription.deliveries.get(event=third).status == "dead"
    assert receiver.event_ids()[-1] == str(fourth.pk)


def test_a_paused_subscription_gets_no_new_events(
    backend: Backend, departments: dict[str, Department]
) -> None:
    from onewindow.pubsub.actions import subscription_active_set

    tax = _pull_subscription("tax-entities", "TAX")
    subscription_active_set(acting_user=None, subscription=tax, active=False)
    entity_event()
    dispatch_until_idle(backend)
    assert not Delivery.objects.exists()


@override_settings(PUBSUB_PUSH_CONCURRENCY=4)
def test_pushes_go_out_concurrently_yet_each_keys_events_arrive_in_order(
    backend: Backend, departments: dict[str, Department], receiver: Receiver
) -> None:
    # Given four companies with three changes each, interleaved
    _push_subscription("tax-hook", receiver.url)
    written: dict[str, list[str]] = {}
    for version in (1, 2, 3):
        for company in range(4):
            key = f"91350100M000{company}00Y43"
            event = entity_event(key, topic="entity.changed", version=version)
            written.setdefault(key, []).append(str(event.pk))
    # When the dispatcher sends them with four webhook requests in flight at once
    result = dispatch_until_idle(backend)
    # Then all arrived, and each company's changes in the order they were made
    assert result.delivered == 12
    arrived: dict[str, list[str]] = {}
    for request in receiver.requests:
        arrived.setdefault(request["json"]["key"], []).append(request["headers"]["X-OneWindow-Event-Id"])
    assert arrived == written
