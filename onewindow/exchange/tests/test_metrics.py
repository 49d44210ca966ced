"""Prometheus metrics per exchange service (issue #8 item 9: counts, latency, errors; never payloads).

GB/T 22239-2019 §8.1.5.4 c: the running state of the exchange is monitored centrally. Labels are the
service id of a registered service (``unknown`` otherwise) and the outcome code, so the label set stays
small whatever callers send; purposes, ID numbers, consumers and bodies never appear.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from onewindow.exchange import metrics
from onewindow.exchange.tests.conftest import World

# The exchange tests' autouse fixture clears the cache, which lives in the database.
pytestmark = pytest.mark.django_db

SERVICE = "CN/GOV/11350100MB0000001X/AMR-REG/entity-basic"


def _calls(service: str, code: str) -> float:
    value = REGISTRY.get_sample_value("onewindow_exchange_calls_total", {"service": service, "code": code})
    return value or 0.0


def _observations(service: str) -> float:
    value = REGISTRY.get_sample_value("onewindow_exchange_call_duration_seconds_count", {"service": service})
    return value or 0.0


def _provider_errors(service: str) -> float:
    value = REGISTRY.get_sample_value("onewindow_exchange_provider_errors_total", {"service": service})
    return value or 0.0


def test_a_call_is_counted_by_service_and_code_with_its_duration() -> None:
    before_ok, before_refused, before_seen = (
        _calls(SERVICE, "ok"),
        _calls(SERVICE, "no_grant"),
        _observations(SERVICE),
    )

    metrics.observe_call(SERVICE, "", 0.012)
    metrics.observe_call(SERVICE, "no_grant", 0.004)

    assert _calls(SERVICE, "ok") == before_ok + 1
    assert _calls(SERVICE, "no_grant") == before_refused + 1
    assert _observations(SERVICE) == before_seen + 2
    bucket = REGISTRY.get_sample_value(
        "onewindow_exchange_call_duration_seconds_bucket", {"service": SERVICE, "le": "0.005"}
    )
    assert bucket is not None
    assert bucket >= 1


def test_labels_stay_few_whatever_the_caller_passes() -> None:
    # a call of no registered service, a path that is no service id, and an unexpected code
    before_unknown = _calls("unknown", "unknown_service")
    before_other = _calls(SERVICE, "other")

    metrics.observe_call(None, "unknown_service", 0.001)
    metrics.observe_call("../../etc/passwd", "unknown_service", 0.001)
    metrics.observe_call(SERVICE, "11010519491231002X", 0.001)  # never a label value

    assert _calls("unknown", "unknown_service") == before_unknown + 2
    assert _calls(SERVICE, "other") == before_other + 1
    assert "11010519491231002X" not in generate_latest(REGISTRY).decode()


def test_the_number_of_service_labels_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "MAX_SERVICES", len(metrics._seen_services))
    before = _calls("other", "ok")

    metrics.observe_call("CN/GOV/91350100M000100Y43/NEW-SYS/never-seen", "ok", 0.001)

    assert _calls("other", "ok") == before + 1


def test_provider_failures_are_counted_as_provider_errors() -> None:
    before = _provider_errors(SERVICE)

    metrics.observe_call(SERVICE, "provider_unavailable", 5.0)
    metrics.observe_call(SERVICE, "record_not_found", 0.01)  # an answer, not a provider failure

    assert _provider_errors(SERVICE) == before + 1


@override_settings(METRICS_ALLOWED_IPS=["127.0.0.1"], METRICS_TOKEN="")
def test_the_gateway_counts_every_answered_call(world: World) -> None:
    # given a signed call that succeeds, one asking for items outside the grant, and one of no service
    path = world.service_path
    before = (_calls(path, "ok"), _calls(path, "items_not_granted"), _calls("unknown", "unknown_service"))
    purpose = "ZW2026000999"

    ok = world.client.call(path, {"credit_code": world.entity_code}, purpose=purpose)
    refused = world.client.call(path, {"credit_code": world.entity_code}, purpose=purpose, items=["住所"])
    missing = world.client.call(f"{path}-nope", {"credit_code": world.entity_code}, purpose=purpose)

    # then each is counted once under its service and code
    assert (ok.status, refused.status, missing.status) == (200, 403, 404)
    assert _calls(path, "ok") == before[0] + 1
    assert _calls(path, "items_not_granted") == before[1] + 1
    assert _calls("unknown", "unknown_service") == before[2] + 1
    # and /metrics serves them, without the purpose, the query or the consumer
    text = Client().get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert f'onewindow_exchange_calls_total{{code="ok",service="{path}"}}' in text
    assert "onewindow_exchange_call_duration_seconds_bucket" in text
    assert purpose not in text
    assert world.entity_code not in text
    assert world.consumer.code not in text


# One interpreter (Django set up once) forks a second worker; each process counts two calls.
_WORKERS = """
import os
import django
django.setup()
from onewindow.exchange.metrics import observe_call
child = os.fork()
observe_call({service!r}, "", 0.02)
observe_call({service!r}, "rate_limited", 0.002)
if child:
    os.waitpid(child, 0)
else:
    os._exit(0)
"""


def test_in_multiprocess_mode_every_workers_calls_are_added_up(tmp_path: Path) -> None:
    # given two worker processes writing to the multiprocess directory, as gunicorn's workers do
    environment = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    subprocess.run(
        [sys.executable, "-c", _WORKERS.format(service=SERVICE)],
        cwd=settings.BASE_DIR,
        env=environment,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per process

    # when a scrape reads the directory (core.exposition.process_registry does this)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))  # type: ignore[no-untyped-call]

    # then the counts of both processes are summed
    labels = {"service": SERVICE}
    assert registry.get_sample_value("onewindow_exchange_calls_total", {**labels, "code": "ok"}) == 2
    assert (
        registry.get_sample_value("onewindow_exchange_calls_total", {**labels, "code": "rate_limited"}) == 2
    )
    assert registry.get_sample_value("onewindow_exchange_call_duration_seconds_count", labels) == 4
