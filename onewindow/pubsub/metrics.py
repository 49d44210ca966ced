"""Prometheus metrics of publish/subscribe, per subscription code (never payloads, keys or event ids)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DELIVERED = Counter(
    "onewindow_pubsub_delivered_total", "Events delivered to a subscription", ["subscription"]
)
FAILED = Counter(
    "onewindow_pubsub_failed_total", "Failed delivery attempts (retried or dead)", ["subscription"]
)
DEAD = Counter("onewindow_pubsub_dead_total", "Deliveries that became dead letters", ["subscription"])
BACKLOG = Gauge("onewindow_pubsub_backlog", "Pending deliveries of a subscription", ["subscription"])
LATENCY = Histogram(
    "onewindow_pubsub_delivery_latency_seconds",
    "From the event's commit to its delivery",
    ["subscription"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600),
)


def delivered(subscription: str, latency_seconds: float) -> None:
    DELIVERED.labels(subscription).inc()
    LATENCY.labels(subscription).observe(max(latency_seconds, 0.0))


def failed(subscription: str) -> None:
    FAILED.labels(subscription).inc()


def dead(subscription: str) -> None:
    DEAD.labels(subscription).inc()


def backlog_set(subscription: str, pending: int) -> None:
    BACKLOG.labels(subscription).set(pending)
