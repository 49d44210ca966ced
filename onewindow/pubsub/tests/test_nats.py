"""The NATS JetStream backend's own guarantees (docs/pubsub.md "NATS JetStream"; issue #8 item 4): a batch
read from a stream and rolled back is read again from the stream position, exactly once and in order, by
whichever dispatcher comes next; a republished event is not fanned out twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from onewindow.organisations.models import Department
from onewindow.outbox.models import OutboxEvent
from onewindow.pubsub import queue
from onewindow.pubsub.actions import subscription_create
from onewindow.pubsub.backends.nats import NatsBackend
from onewindow.pubsub.models import Delivery, StreamPosition
from onewindow.pubsub.tests.conftest import NATS_URL, entity_event, nats_reachable

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not nats_reachable(), reason="no NATS server at 127.0.0.1:4222"),
]


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"owtest_{uuid.uuid4().hex[:10]}"
    yield name
    cleanup = NatsBackend(NATS_URL, prefix=name)
    cleanup.streams_delete()
    cleanup.close()


def test_a_batch_rolled_back_is_read_again_from_the_position_in_order_by_the_next_dispatcher(
    departments: dict[str, Department], prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a subscription and five changes of one company published to JetStream
    subscription, _ = subscription_create(
        acting_user=None, department_code="TAX", code="tax", name="tax", topics=["entity.*"], mode="pull"
    )
    first = NatsBackend(NATS_URL, prefix=prefix)
    events = [entity_event("91350100M000100Y43", topic="entity.changed", version=v) for v in range(5)]
    assert first.publish(limit=100) == 5
    # When the first dispatcher's fan-out fails half-way (a crash rolls back the same way)
    real_create = queue.deliveries_create

    def failing(*args: object, **kwargs: object) -> int:
        raise RuntimeError("killed")

    monkeypatch.setattr("onewindow.pubsub.backends.nats.deliveries_create", failing)
    with pytest.raises(RuntimeError):
        first.ingest(limit=3)
    assert not Delivery.objects.exists()
    assert StreamPosition.objects.get(stream=first.stream_name("entity")).sequence == 0
    # Then a second dispatcher reads the same messages again, and the first goes on after it
    monkeypatch.setattr("onewindow.pubsub.backends.nats.deliveries_create", real_create)
    second = NatsBackend(NATS_URL, prefix=prefix)
    assert second.ingest(limit=3) == 3
    assert first.ingest(limit=10) == 2
    assert first.ingest(limit=10) == 0
    assert [str(e) for e in subscription.deliveries.order_by("pk").values_list("event_id", flat=True)] == [
        str(e.pk) for e in events
    ]
    assert StreamPosition.objects.get(stream=first.stream_name("entity")).sequence == 5
    second.close()
    first.close()


def test_an_event_published_twice_is_fanned_out_once(departments: dict[str, Department], prefix: str) -> None:
    # Given an event published, then (a crash before it was marked published) published again later
    subscription_create(
        acting_user=None, department_code="TAX", code="tax", name="tax", topics=["entity.*"], mode="pull"
    )
    backend = NatsBackend(NATS_URL, prefix=prefix)
    event = entity_event()
    assert backend.publish(limit=10) == 1
    OutboxEvent.objects.filter(pk=event.pk).update(published_at=None)
    assert backend.publish(limit=10) == 1
    # When the dispatcher ingests
    backend.ingest(limit=10)
    # Then there is one delivery (JetStream dropped the copy; the fan-out would skip it anyway)
    assert Delivery.objects.filter(event=event).count() == 1
    backend.close()


def test_a_subscription_hears_of_events_published_after_the_stream_position_was_made(
    departments: dict[str, Department], prefix: str
) -> None:
    # Given events already fanned out before quality inspection subscribed
    subscription_create(
        acting_user=None, department_code="TAX", code="tax", name="tax", topics=["entity.*"], mode="pull"
    )
    backend = NatsBackend(NATS_URL, prefix=prefix)
    early = entity_event("91350100M000100Y43")
    backend.publish(limit=10)
    backend.ingest(limit=10)
    qi, _ = subscription_create(
        acting_user=None, department_code="QI", code="qi", name="qi", topics=["entity.*"], mode="pull"
    )
    late = entity_event("91350100M000200Y11")
    backend.publish(limit=10)
    backend.ingest(limit=10)
    # Then quality inspection gets the later event only; tax both
    assert [str(d.event_id) for d in qi.deliveries.all()] == [str(late.pk)]
    assert Delivery.objects.filter(event=early).count() == 1
    backend.close()
