"""Prometheus metrics of the signed synchronous exchange, per service (issue #8 item 9; docs/exchange.md
"Monitoring").

The gateway calls :func:`observe_call` once per answered call. Labels are the service id
(``CN/GOV/{credit code}/{system}/{code}``, only for a registered service: the gateway passes ``None`` for a
path that names no service, counted as ``unknown``) and the outcome code (``ok`` or one of the gateway's
refusal codes; anything else is ``other``). Never payloads, purposes, ID numbers, consumers or key ids.
With ``PROMETHEUS_MULTIPROC_DIR`` set, prometheus_client writes every worker's values to files there and the
``/metrics`` scrape adds them up (``core.exposition.process_registry``): counters and histograms need
nothing more.
"""

from __future__ import annotations

import functools
import logging
import threading

from prometheus_client import Counter, Histogram

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"  # a path that names no registered service
OTHER = "other"  # a code outside the gateway's list, or a service beyond MAX_SERVICES
OK = "ok"
PROVIDER_ERROR_CODES = frozenset({"provider_unavailable"})
# Bounds the label set of one process even if a caller passed unvetted paths.
MAX_SERVICES = 2000

CALLS = Counter(
    "onewindow_exchange_calls_total",
    "Signed exchange calls answered, by service and outcome code (ok or the refusal code)",
    ["service", "code"],
)
DURATION = Histogram(
    "onewindow_exchange_call_duration_seconds",
    "Time to answer a signed exchange call (checks, provider, signing, message log), by service",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PROVIDER_ERRORS = Counter(
    "onewindow_exchange_provider_errors_total",
    "Calls refused because the provider failed after its retries or its circuit was open, by service",
    ["service"],
)

_seen_services: set[str] = set()
_seen_lock = threading.Lock()


@functools.cache
def known_codes() -> frozenset[str]:
    """``ok`` and the gateway's refusal codes (read lazily: the gateway imports this module)."""
    from onewindow.exchange.gateway import ERRORS

    return frozenset({OK, *ERRORS})


def service_label(service_id: str | None) -> str:
    """The service id for a registered service, ``unknown`` without one, ``other`` past the bound."""
    if not service_id:
        return UNKNOWN
    if service_id in _seen_services:
        return service_id
    from onewindow.exchange.protocol import parse_service_path

    if parse_service_path(service_id) is None:
        return UNKNOWN
    with _seen_lock:
        if len(_seen_services) >= MAX_SERVICES:
            return OTHER
        _seen_services.add(service_id)
    return service_id


def code_label(code: str) -> str:
    code = code or OK
    return code if code in known_codes() else OTHER


def observe_call(service_id: str | None, code: str, seconds: float) -> None:
    """Count one answered call of ``service_id`` (None: no such service) with outcome ``code`` ("" or
    ``ok`` for success) that took ``seconds``. Never raises: monitoring must not fail a call."""
    try:
        service = service_label(service_id)
        outcome = code_label(code)
        CALLS.labels(service, outcome).inc()
        DURATION.labels(service).observe(max(seconds, 0.0))
        if outcome in PROVIDER_ERROR_CODES:
            PROVIDER_ERRORS.labels(service).inc()
    except (OSError, ValueError) as error:  # multiprocess files unwritable, a broken label
        logger.warning("exchange_metrics_failed", extra={"problem": str(error)})
