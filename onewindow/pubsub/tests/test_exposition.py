"""/metrics serves each subscription's backlog and dead letters, read from the database at scrape time.

Issue #8 item 9 (monitoring: backlog per subscription, never payloads); GB/T 22239-2019 §8.1.5.4 c
(the running state is monitored centrally). /metrics answers the monitoring addresses only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from onewindow.pubsub.actions import subscription_create
from onewindow.pubsub.backends.database import DatabaseBackend
from onewindow.pubsub.exposition import PubsubCollector
from onewindow.pubsub.models import Delivery, DeliveryStatus
from onewindow.pubsub.tests.conftest import dispatch_until_idle, entity_event

pytestmark = pytest.mark.django_db


def _value(text: str, name: str, subscription: str) -> float:
    match = re.search(
        rf'^{name}{{department="([A-Z]+)",subscription="{subscription}"}} ([0-9.e+]+)$', text, re.MULTILINE
    ) or re.search(
        rf'^{name}{{subscription="{subscription}",department="([A-Z]+)"}} ([0-9.e+]+)$', text, re.MULTILINE
    )
    assert match is not None, (name, subscription)
    return float(match.group(2))


@override_settings(METRICS_ALLOWED_IPS=["127.0.0.1"], METRICS_TOKEN="")
def test_metrics_show_backlog_and_dead_letters_per_subscription(departments: dict[str, Any]) -> None:
    # given two subscriptions: tax with two pending and one dead delivery, quality inspection with none
    subscription_create(
        acting_user=None,
        department_code="TAX",
        code="tax-entities",
        name="税务",
        topics=["entity.*"],
        mode="pull",
    )
    subscription_create(
        acting_user=None,
        department_code="QI",
        code="qi-person",
        name="质监",
        topics=["person.*"],
        mode="pull",
    )
    for code in ("91350100M000100Y43", "91350100M000200Y11", "91350100M000300Y22"):
        entity_event(code)
    dispatch_until_idle(DatabaseBackend())
    Delivery.objects.filter(key="91350100M000300Y22").update(status=DeliveryStatus.DEAD)

    # when the monitoring system scrapes /metrics
    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")

    # then each subscription's backlog and dead letters are there, with its department
    text = response.content.decode()
    assert response.status_code == 200
    assert _value(text, "onewindow_pubsub_pending", "tax-entities") == 2
    assert _value(text, "onewindow_pubsub_dead_letters", "tax-entities") == 1
    assert _value(text, "onewindow_pubsub_oldest_pending_age_seconds", "tax-entities") >= 0
    assert _value(text, "onewindow_pubsub_pending", "qi-person") == 0
    assert _value(text, "onewindow_pubsub_oldest_pending_age_seconds", "qi-person") == 0
    assert text.count("# TYPE onewindow_pubsub_pending gauge") == 1
    # and no key or payload appears
    assert "91350100M000100Y43" not in text
    assert "福州测试有限公司" not in text


@override_settings(METRICS_ALLOWED_IPS=["127.0.0.1"], METRICS_TOKEN="")
def test_the_gauges_are_served_in_multiprocess_mode_too(
    departments: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given gunicorn workers aggregating their metrics through files (prometheus_client multiprocess mode)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    subscription_create(
        acting_user=None,
        department_code="TAX",
        code="tax-entities",
        name="税务",
        topics=["entity.*"],
        mode="pull",
    )
    entity_event("91350100M000100Y43")
    dispatch_until_idle(DatabaseBackend())

    # when the monitoring system scrapes /metrics
    text = Client().get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()

    # then the backlog read from the database is there, once, next to the core database gauges
    assert _value(text, "onewindow_pubsub_pending", "tax-entities") == 1
    assert _value(text, "onewindow_pubsub_dead_letters", "tax-entities") == 0
    assert text.count("# TYPE onewindow_pubsub_pending gauge") == 1
    assert "onewindow_metrics_database_up 1.0" in text


@override_settings(METRICS_ALLOWED_IPS=["127.0.0.1"], METRICS_TOKEN="")
def test_metrics_refuse_other_addresses_without_reading_subscriptions(departments: dict[str, Any]) -> None:
    response = Client().get("/metrics", REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 403
    assert "onewindow_pubsub_pending" not in response.content.decode()


def test_the_collector_reads_the_deliveries_in_one_grouped_query(departments: dict[str, Any]) -> None:
    for code in ("a-sub", "b-sub", "c-sub"):
        subscription_create(
            acting_user=None, department_code="TAX", code=code, name=code, topics=["entity.*"], mode="pull"
        )
    entity_event()
    dispatch_until_idle(DatabaseBackend())
    with CaptureQueriesContext(connection) as queries:
        families = list(PubsubCollector().collect())
    delivery_queries = [q["sql"] for q in queries.captured_queries if "pubsub_delivery" in q["sql"]]
    assert len(delivery_queries) == 1
    assert "GROUP BY" in delivery_queries[0]
    assert "payload" not in delivery_queries[0]
    assert {family.name for family in families} == {
        "onewindow_pubsub_pending",
        "onewindow_pubsub_dead_letters",
        "onewindow_pubsub_oldest_pending_age_seconds",
    }


def test_dispatcher_counters_are_served_by_the_process_that_dispatched(departments: dict[str, Any]) -> None:
    # given a dispatcher run in this process delivering to a push receiver that answers 500 (a failure)
    from prometheus_client import REGISTRY, generate_latest

    subscription_create(
        acting_user=None,
        department_code="TAX",
        code="tax-push",
        name="税务推送",
        topics=["entity.*"],
        mode="push",
        webhook_url="http://127.0.0.1:9/hook",
    )
    entity_event()
    dispatch_until_idle(DatabaseBackend(), rounds=3)
    # then this process's registry has the failure counter for the subscription
    text = generate_latest(REGISTRY).decode()
    assert 'onewindow_pubsub_failed_total{subscription="tax-push"}' in text
