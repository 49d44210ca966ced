"""``POST /exchange/v1/{service path}``: thin; the gateway does the work (docs/exchange.md)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from onewindow.exchange import protocol
from onewindow.exchange.gateway import exchange_handle

MAX_BODY_BYTES = 1024 * 1024


@csrf_exempt  # signed by the consumer subsystem's key; no cookies, no session
def exchange_call(request: HttpRequest, service_path: str) -> HttpResponse:
    headers = {name: request.headers.get(name, "") for name in protocol.ALL_HEADERS}
    body = request.body[: MAX_BODY_BYTES + 1]
    answer = exchange_handle(method=request.method or "", path=request.path, headers=headers, body=body)
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response
