"""The ``/metrics`` exposition: process metrics plus gauges read from the database on each scrape.

Under gunicorn each web worker is its own process with its own counters. Without
``PROMETHEUS_MULTIPROC_DIR`` a scrape shows the counters of whichever worker answered; with it set (as
``onewindow serve`` and ``onewindow demo`` do when the variable is given) every worker writes its values to
files in that directory and the scrape adds them up (prometheus_client multiprocess mode; the gunicorn hooks
in ``config/gunicorn.py`` empty the directory at start and mark dead workers).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Min
from django.http import HttpRequest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from onewindow.core.health import heartbeat_age_seconds
from onewindow.core.middleware import client_address
from onewindow.core.models import WorkerHeartbeat


class DatabaseCollector(Collector):
    """Gauges computed from the database at scrape time, so every web worker reports the same values."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("onewindow_metrics_database_up", "1 if the database answered this scrape")
        heartbeat_age = GaugeMetricFamily(
            "onewindow_process_heartbeat_age_seconds",
            "Seconds since the background process last recorded its heartbeat",
            labels=["name", "kind"],
        )
        tasks = GaugeMetricFamily(
            "onewindow_tasks",
            "Background task results stored, by queue and status",
            labels=["queue", "status"],
        )
        oldest_ready = GaugeMetricFamily(
            "onewindow_tasks_oldest_ready_age_seconds",
            "Seconds since the oldest task now ready to run was enqueued (0 when none waits)",
        )
        now = timezone.now()
        try:
            for heartbeat in WorkerHeartbeat.objects.order_by("name"):
                heartbeat_age.add_metric(
                    [heartbeat.name, heartbeat.kind], heartbeat_age_seconds(heartbeat, now=now)
                )
            counts = DBTaskResult.objects.values("queue_name", "status").annotate(count=Count("id"))
            for row in counts.order_by("queue_name", "status"):
                tasks.add_metric([row["queue_name"], row["status"]], row["count"])
            oldest = DBTaskResult.objects.ready().aggregate(oldest=Min("enqueued_at"))["oldest"]
            oldest_ready.add_metric([], (now - oldest).total_seconds() if oldest is not None else 0.0)
        except DatabaseError:
            # A scrape must still answer (with the process metrics) when the database is down.
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (up, heartbeat_age, tasks, oldest_ready)


def process_registry() -> CollectorRegistry:
    """The default registry, or one aggregating all workers' files in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


# Other apps' collectors read from the database at scrape time (e.g. pub/sub backlogs): served next to
# DatabaseCollector, so they are on /metrics with and without PROMETHEUS_MULTIPROC_DIR.
_SCRAPE_TIME_COLLECTORS: list[Collector] = []


def scrape_time_collector_register(collector: Collector) -> None:
    """Serve ``collector`` (database gauges computed at scrape time) on /metrics (an app's ``ready``)."""
    if collector not in _SCRAPE_TIME_COLLECTORS:
        _SCRAPE_TIME_COLLECTORS.append(collector)


def metrics_exposition() -> tuple[bytes, str]:
    """The text exposition of the process metrics followed by the database gauges, and its content type."""
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector())
    for collector in _SCRAPE_TIME_COLLECTORS:
        database.register(collector)
    return generate_latest(process_registry()) + generate_latest(database), CONTENT_TYPE_LATEST


def metrics_access_allowed(request: HttpRequest) -> bool:
    """Scrapers come from ONEWINDOW_METRICS_ALLOWED_IPS or present ``Authorization: Bearer <token>``."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    # Constant-time comparison: the token must not leak through response timing.
    if (
        token
        and header.startswith("Bearer ")
        and hmac.compare_digest(header.removeprefix("Bearer ").strip().encode(), token.encode())
    ):
        return True
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in settings.METRICS_ALLOWED_IPS)
