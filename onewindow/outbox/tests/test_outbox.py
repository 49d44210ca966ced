"""The transactional outbox (issue #5 item 7): an event is written in the transaction of the change it
records, so a failed action leaves no event and a committed one always has its event.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from onewindow.outbox.actions import outbox_append
from onewindow.outbox.models import OutboxEvent

KEY = "a" * 64  # a blind index, never a plaintext ID number


class ActionFailedError(Exception):
    pass


@pytest.mark.django_db
def test_an_event_is_appended_with_its_payload_and_times() -> None:
    # given an event that took effect earlier than it is recorded, with dates and decimals in the payload
    occurred = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    before = timezone.now()

    # when it is appended inside the action's transaction
    with transaction.atomic():
        event = outbox_append(
            topic="person.moved",
            key=KEY,
            payload={
                "from": "350102",
                "to": "350104",
                "effective_on": dt.date(2026, 3, 1),
                "fee": Decimal("0"),
            },
            occurred_at=occurred,
        )

    # then it is stored unpublished, with JSON-ready payload values
    stored = OutboxEvent.objects.get(pk=event.pk)
    assert isinstance(stored.id, uuid.UUID)
    assert (stored.topic, stored.key, stored.occurred_at) == ("person.moved", KEY, occurred)
    assert stored.payload == {"from": "350102", "to": "350104", "effective_on": "2026-03-01", "fee": "0"}
    assert before <= stored.created_at <= timezone.now()
    assert (stored.published_at, stored.attempts) == (None, 0)
    assert str(stored) == f"person.moved {KEY} 2026-03-01T09:30:00+00:00"


@pytest.mark.django_db
def test_occurred_at_defaults_to_the_time_it_is_recorded() -> None:
    with transaction.atomic():
        event = outbox_append(topic="entity.registered", key="91350100M000100Y43", payload={})

    assert event.occurred_at == event.created_at


@pytest.mark.django_db
def test_events_come_back_oldest_first() -> None:
    with transaction.atomic():
        first = outbox_append(topic="person.born", key=KEY, payload={"n": 1})
        second = outbox_append(topic="person.renamed", key=KEY, payload={"n": 2})

    assert list(OutboxEvent.objects.filter(published_at__isnull=True)) == [first, second]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_append_is_refused_and_nothing_is_written() -> None:
    # given autocommit (no atomic block): the event could outlive a change that rolls back
    with pytest.raises(RuntimeError, match=r"inside the transaction of the change it records"):
        outbox_append(topic="person.deceased", key=KEY, payload={})

    assert OutboxEvent.objects.count() == 0


def _action_failing_after_its_event() -> None:
    with transaction.atomic():
        outbox_append(topic="person.deceased", key=KEY, payload={"date": "2026-03-01"})
        raise ActionFailedError


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_action_leaves_no_event() -> None:
    # when the action fails after appending its event
    with pytest.raises(ActionFailedError):
        _action_failing_after_its_event()

    # then the event went with it, while a committed action keeps its event
    assert OutboxEvent.objects.count() == 0
    with transaction.atomic():
        outbox_append(topic="person.deceased", key=KEY, payload={"date": "2026-03-01"})
    assert OutboxEvent.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"topic": "PersonMoved"}, "topic must look like"),
        ({"topic": "person"}, "topic must look like"),
        ({"key": ""}, "key must be 1-128"),
        ({"key": "k" * 129}, "key must be 1-128"),
        ({"occurred_at": dt.datetime(2026, 3, 1, 9, 30)}, "timezone-aware"),  # noqa: DTZ001 - the naive case
    ],
)
def test_malformed_events_are_refused(arguments: dict[str, object], error: str) -> None:
    values: dict[str, object] = {"topic": "person.moved", "key": KEY, "payload": {}} | arguments

    with pytest.raises(ValueError, match=error), transaction.atomic():
        outbox_append(**values)  # type: ignore[arg-type]

    assert OutboxEvent.objects.count() == 0
