"""Publish/subscribe gauges read from the database on each ``/metrics`` scrape (docs/pubsub.md "Monitoring").

Per subscription (its code and department; never payloads, keys or event ids): pending deliveries, dead
letters and the age of the oldest pending event, from one grouped query over the pending and dead rows
(index ``pubsub_delivery_sub_idx``; delivered rows are not counted, so the scrape stays cheap as history
grows). Every web worker reports the same values, with or without ``PROMETHEUS_MULTIPROC_DIR``: served by
``onewindow.core.exposition`` next to its database gauges (registered by ``PubsubConfig.ready``); the
dispatcher's counters (``onewindow_pubsub_delivered_total`` …) are served by
whichever process runs the dispatcher.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from onewindow.pubsub.models import Delivery, DeliveryStatus, Subscription

LABELS = ["subscription", "department"]


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            "onewindow_pubsub_pending", "Deliveries of a subscription waiting to be delivered", labels=LABELS
        ),
        GaugeMetricFamily(
            "onewindow_pubsub_dead_letters", "Dead letters of a subscription (until replayed)", labels=LABELS
        ),
        GaugeMetricFamily(
            "onewindow_pubsub_oldest_pending_age_seconds",
            "Seconds since the oldest pending event of a subscription was committed (0 when none waits)",
            labels=LABELS,
        ),
    )


class PubsubCollector(Collector):
    """Backlog and dead letters per subscription, computed at scrape time."""

    def describe(self) -> Iterator[Metric]:
        # Registration must not query the database (it may not be migrated yet).
        yield from _families()

    def collect(self) -> Iterator[Metric]:
        pending, dead, oldest_age = _families()
        now = timezone.now()
        try:
            subscriptions = list(Subscription.objects.values_list("pk", "code", "department__code"))
            rows = (
                Delivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.DEAD])
                .values_list("subscription_id", "status")
                .order_by()
                .annotate(count=Count("id"), oldest=Min("event_created_at"))
            )
            counts = {(sub, status): (count, oldest) for sub, status, count, oldest in rows}
        except DatabaseError:
            # The core collector reports onewindow_metrics_database_up 0; the scrape still answers.
            return
        for pk, code, department in subscriptions:
            labels = [code, department]
            waiting, first = counts.get((pk, DeliveryStatus.PENDING), (0, None))
            pending.add_metric(labels, waiting)
            dead.add_metric(labels, counts.get((pk, DeliveryStatus.DEAD), (0, None))[0])
            oldest_age.add_metric(labels, (now - first).total_seconds() if first is not None else 0.0)
        yield from (pending, dead, oldest_age)


def collector_register() -> None:
    """Serve the collector on /metrics next to the core database gauges (``PubsubConfig.ready``), so it
    is there in prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) too."""
    from onewindow.core.exposition import scrape_time_collector_register

    scrape_time_collector_register(_COLLECTOR)


_COLLECTOR = PubsubCollector()
