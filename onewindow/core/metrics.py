"""Prometheus metrics of the platform (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "onewindow_http_requests_total",
    "HTTP requests by method, route and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram("onewindow_http_request_seconds", "HTTP request latency by route", ["route"])
AUDIT_RECORDS = Counter("onewindow_audit_records_total", "Audit records appended", ["outcome"])
CALENDAR_FALLBACK = Counter(
    "onewindow_calendar_fallback_total",
    "Working-day computations that fell back to weekends only because a year has no loaded schedule",
    ["year"],
)
LOGIN_EVENTS = Counter("onewindow_login_events_total", "Login events", ["event"])
