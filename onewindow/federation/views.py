"""The federation's signed endpoints: thin, the gateway and the event export do the work
(docs/federation.md). No cookies, no sessions: every request is signed by a key."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from onewindow.exchange import protocol as xp
from onewindow.federation import protocol
from onewindow.federation.events import federation_events_handle
from onewindow.federation.gateway import Answer, federation_inbound_handle, federation_outbound_handle

MAX_BODY_BYTES = 1024 * 1024
_HEADERS = (*xp.ALL_HEADERS, xp.EXCHANGE_ID, protocol.CERTIFICATE, protocol.CONSUMER)


def _answer(request: HttpRequest, handler: Callable[..., Answer]) -> HttpResponse:
    headers: Mapping[str, str] = {name: request.headers.get(name, "") for name in _HEADERS}
    body = request.body[: MAX_BODY_BYTES + 1]
    answer = handler(method=request.method or "", path=request.path, headers=headers, body=body)
    response = HttpResponse(answer.body, status=answer.status, content_type="application/json; charset=utf-8")
    for name, value in answer.headers.items():
        response[name] = value
    return response


@csrf_exempt
def outbound_call(request: HttpRequest, service_path: str) -> HttpResponse:
    """A local consumer's call of a peer's service (signed by the consumer's subsystem key)."""
    return _answer(request, federation_outbound_handle)


@csrf_exempt
def inbound_call(request: HttpRequest, service_path: str) -> HttpResponse:
    """A peer node forwarding its consumer's call (signed by the peer's node key and by the consumer)."""
    return _answer(request, federation_inbound_handle)


@csrf_exempt
def events_pull(request: HttpRequest) -> HttpResponse:
    """A peer node fetching (and acknowledging) this node's events (signed by the peer's node key)."""
    return _answer(request, federation_events_handle)
