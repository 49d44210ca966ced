"""Sign-in, sign-out, two-factor enrolment and verification pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse


def lockout_response(request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any) -> HttpResponse:
    return JsonResponse(
        {"code": "account_locked", "message": "账户已锁定 / Account locked"}, status=429
    )
