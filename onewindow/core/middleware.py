"""Request-scoped middleware: request ids, client address, metrics."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from onewindow.core import metrics
from onewindow.core.context import RequestContext, reset_request_context, set_request_context

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_address(request: HttpRequest) -> str:
    """The client's address; ``X-Forwarded-For`` is trusted only behind a configured proxy."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


class RequestContextMiddleware:
    """Gives every request an id (the caller's ``X-Request-ID`` when well-formed) and binds it to logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        context = RequestContext(
            client_address=client_address(request),
            user_agent=request.headers.get("User-Agent", "")[:300],
            channel="api" if request.path.startswith("/api/") else "web",
            **({"request_id": incoming} if _REQUEST_ID.match(incoming) else {}),
        )
        token = set_request_context(context)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=context.request_id)
        request.request_id = context.request_id  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            reset_request_context(token)
        response["X-Request-ID"] = context.request_id
        return response


class RequestUserContextMiddleware:
    """Binds the authenticated username to structured logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            structlog.contextvars.bind_contextvars(user=user.get_username())
        return self.get_response(request)


class MetricsMiddleware:
    """Counts requests and their latency by view route (never by raw path: unbounded label values)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        metrics.HTTP_REQUESTS.labels(method=request.method or "", route=route, status=str(response.status_code)).inc()
        metrics.HTTP_LATENCY.labels(route=route).observe(time.perf_counter() - started)
        return response
