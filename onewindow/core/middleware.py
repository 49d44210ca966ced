"""Request-scoped middleware: request ids, client address, the request log line, metrics."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from onewindow.core import metrics
from onewindow.core.context import RequestContext, reset_request_context, set_request_context

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

# Probes hit these every few seconds; their lines would drown the log, so they are logged at DEBUG.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

request_logger = structlog.get_logger("onewindow.request")


def client_address(request: HttpRequest) -> str:
    """The client's address; ``X-Forwarded-For`` is trusted only behind a configured proxy.

    Each proxy appends the address it received the request from, and a client can put anything at the
    front, so the address is read from the right: with ``TRUSTED_PROXY_HOPS`` = 1 (one nginx in front) it
    is the last entry, the one our own proxy wrote.
    """
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        header: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
        forwarded = [part.strip() for part in header.split(",") if part.strip()]
        hops = max(1, int(getattr(settings, "TRUSTED_PROXY_HOPS", 1)))
        if forwarded:
            return forwarded[-hops] if len(forwarded) >= hops else forwarded[0]
    return str(request.META.get("REMOTE_ADDR", ""))


def _route(request: HttpRequest) -> str:
    """The URL pattern that answered (``/cases/<int:case_id>/``), or ``unmatched`` for a 404 on no pattern."""
    match = getattr(request, "resolver_match", None)
    return f"/{match.route}" if match is not None else "unmatched"


def _username(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    return user.get_username() if user is not None and user.is_authenticated else ""


class RequestContextMiddleware:
    """Gives every request an id (the caller's ``X-Request-ID`` when well-formed) and binds it to logs.

    It also writes the one log line per request (method, route, status, duration, user), which replaces a
    web server access log: it knows the request id and the signed-in user, which gunicorn cannot.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
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
            request_logger.log(
                logging.DEBUG if request.path in PROBE_PATHS else logging.INFO,
                "request_finished",
                method=request.method,
                route=_route(request),
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                user=_username(request),
                client_address=context.client_address,
            )
        finally:
            reset_request_context(token)
            structlog.contextvars.clear_contextvars()
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
        route = _route(request)
        metrics.HTTP_REQUESTS.labels(
            method=request.method or "", route=route, status=str(response.status_code)
        ).inc()
        metrics.HTTP_LATENCY.labels(route=route).observe(time.perf_counter() - started)
        return response


_NUL_MARKERS = (b"\x00", b"%00", b"\\u0000")


class RejectNulCharactersMiddleware:
    """Refuses requests carrying NUL characters (U+0000) in the path, query string or body with a 400.

    No legitimate form field, identifier or query contains one, and PostgreSQL text columns cannot store
    it, so such a value would otherwise surface as a server error deep inside an action.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        target = (request.path + "?" + request.META.get("QUERY_STRING", "")).encode("utf-8", "replace")
        # Only JSON and URL-encoded bodies are read here: multipart uploads stream to files and are checked
        # by content elsewhere, and reading them into memory would defeat that.
        content_type = request.content_type or ""
        checked_body = content_type in {"application/json", "application/x-www-form-urlencoded"}
        body = request.body if checked_body and request.method in {"POST", "PUT", "PATCH", "DELETE"} else b""
        if any(marker in target for marker in _NUL_MARKERS[:2]) or any(
            marker in body for marker in _NUL_MARKERS
        ):
            return JsonResponse(
                {
                    "code": "nul_character",
                    "message": "请求中含有不允许的空字符（U+0000）。",
                    "message_zh": "请求中含有不允许的空字符（U+0000）。",
                    "message_en": "The request contains a NUL character (U+0000), which is not allowed.",
                },
                status=400,
            )
        return self.get_response(request)
