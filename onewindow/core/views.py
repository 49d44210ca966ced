"""Operations endpoints: liveness, readiness and Prometheus metrics (no sign-in; see docs/operations.md)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from onewindow.core.exposition import metrics_access_allowed, metrics_exposition
from onewindow.core.health import readiness


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Alive: the process answers. Touches nothing else, so a database outage never restarts web workers."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready: 200 when the database, the migrations and the worker heartbeat are all fine, else 503."""
    result = readiness()
    return JsonResponse(
        result, status=200 if result["status"] == "ok" else 503, json_dumps_params={"ensure_ascii": False}
    )


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition, for allowed addresses or the metrics bearer token only."""
    if not metrics_access_allowed(request):
        return HttpResponse(
            "禁止访问：指标仅对监控地址或持有指标令牌的请求开放。\n"
            "Forbidden: metrics are served to monitoring addresses or with the metrics token only.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    body, content_type = metrics_exposition()
    return HttpResponse(body, content_type=content_type)
