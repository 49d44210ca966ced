"""A lean WSGI path for signed exchange calls (``/exchange/v1/...``; docs/exchange.md "Performance").

Exchange calls are signed by subsystem keys: no cookies, sessions, CSRF tokens, users, locales or templates.
Django's full stack (URL resolution and 17 middleware classes: sessions, authentication, OTP, locale, CSP,
axes …) cost more per call than all of the exchange's own database work, so :func:`exchange_wsgi` wraps the
project's WSGI application and answers these paths itself with what they need:

* Django's own request object and its rules: host validation against ``ALLOWED_HOSTS``, the HTTPS check, the
  script prefix, the body size limit (``DATA_UPLOAD_MAX_MEMORY_SIZE``);
* Django's ``request_started`` / ``request_finished`` signals (database connection age and health checks);
* the request context (request id, client address: the audit records of refusals carry them), the
  ``X-Request-ID`` header and the one log line per request, as ``RequestContextMiddleware`` writes them;
* the HTTP request counter and latency histogram ``MetricsMiddleware`` keeps, under the same route label;
* the security headers the middleware adds (nosniff, referrer policy, opener policy, frame options, HSTS when
  configured) and a content security policy for a JSON answer.

Whatever it would not handle exactly as Django does — a host that is not allowed, plain HTTP when
``SECURE_SSL_REDIRECT`` is on, a body over the upload limit — goes to Django unchanged, as does every other
path. The view (``views.exchange_call``) stays, for the test client and for deployments that serve
``config.wsgi`` some other way.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

import structlog
from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.core.handlers.wsgi import WSGIRequest

from onewindow.core import metrics
from onewindow.core.context import RequestContext, reset_request_context, set_request_context
from onewindow.core.middleware import _REQUEST_ID, client_address  # the same request-id rule
from onewindow.exchange import protocol
from onewindow.exchange.gateway import exchange_handle
from onewindow.exchange.views import MAX_BODY_BYTES

StartResponse = Callable[..., Any]
WSGIApplication = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

logger = logging.getLogger(__name__)
request_logger = structlog.get_logger("onewindow.request")

# The route label Django's resolver gives these calls (onewindow/exchange/urls.py under "exchange/").
ROUTE = "/exchange/v1/(?P<service_path>CN/.+)$"
_PATH_INFO_PREFIX = protocol.PATH_PREFIX + "CN/"
_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_SERVER_ERROR = json.dumps(
    {
        "code": "server_error",
        "message": "服务器内部错误。",
        "message_zh": "服务器内部错误。",
        "message_en": "Internal server error.",
    },
    ensure_ascii=False,
).encode("utf-8")


def _security_headers(request: WSGIRequest) -> list[tuple[str, str]]:
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", str(settings.X_FRAME_OPTIONS)),
        ("Content-Security-Policy", _CONTENT_SECURITY_POLICY),
    ]
    if settings.SECURE_REFERRER_POLICY:
        headers.append(("Referrer-Policy", str(settings.SECURE_REFERRER_POLICY)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", str(settings.SECURE_CROSS_ORIGIN_OPENER_POLICY)))
    if settings.SECURE_HSTS_SECONDS and request.is_secure():
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append(("Strict-Transport-Security", value))
    return headers


class ExchangeWSGI:
    """Answers ``/exchange/v1/CN/...`` through the gateway; hands everything else to ``application``."""

    def __init__(self, application: WSGIApplication) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not str(environ.get("PATH_INFO", "")).startswith(_PATH_INFO_PREFIX):
            return self.application(environ, start_response)
        request = WSGIRequest(environ)
        try:
            request.get_host()  # ALLOWED_HOSTS
            body = request.body[: MAX_BODY_BYTES + 1]
        except (DisallowedHost, RequestDataTooBig):
            return self.application(environ, start_response)  # Django answers 400 as it always does
        if settings.SECURE_SSL_REDIRECT and not request.is_secure():
            return self.application(environ, start_response)  # Django redirects
        return self._answer(request, body, start_response)

    def _answer(self, request: WSGIRequest, body: bytes, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        signals.request_started.send(sender=self.__class__, environ=request.environ)
        incoming = request.headers.get("X-Request-ID", "")
        context = RequestContext(
            client_address=client_address(request),
            user_agent=request.headers.get("User-Agent", "")[:300],
            channel="api",
            **({"request_id": incoming} if _REQUEST_ID.match(incoming) else {}),
        )
        token = set_request_context(context)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=context.request_id)
        try:
            headers = {name: request.headers.get(name, "") for name in protocol.ALL_HEADERS}
            try:
                answer = exchange_handle(
                    method=request.method or "", path=request.path, headers=headers, body=body
                )
                status, content = answer.status, answer.body
                response_headers = list(answer.headers.items())
            except Exception:  # the WSGI boundary: Django's handler would log it and answer 500 too
                logger.exception("exchange_call_failed", extra={"path": request.path})
                status, content = 500, _SERVER_ERROR
                response_headers = [("Content-Type", "application/json; charset=utf-8")]
            seconds = time.perf_counter() - started
            metrics.HTTP_REQUESTS.labels(method=request.method or "", route=ROUTE, status=str(status)).inc()
            metrics.HTTP_LATENCY.labels(route=ROUTE).observe(seconds)
            request_logger.info(
                "request_finished",
                method=request.method,
                route=ROUTE,
                status=status,
                duration_ms=round(seconds * 1000, 1),
                user="",
                client_address=context.client_address,
            )
        finally:
            reset_request_context(token)
            structlog.contextvars.clear_contextvars()
            signals.request_finished.send(sender=self.__class__)
        response_headers += [
            *_security_headers(request),
            ("X-Request-ID", context.request_id),
            ("Content-Length", str(len(content))),
        ]
        start_response(f"{status} {HTTPStatus(status).phrase}", response_headers)
        return [content]


def exchange_wsgi(application: WSGIApplication) -> ExchangeWSGI:
    """``application`` with the lean exchange path in front (config/wsgi.py)."""
    return ExchangeWSGI(application)
