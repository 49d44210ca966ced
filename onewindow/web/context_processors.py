"""Values every page's layout needs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def platform(request: HttpRequest) -> dict[str, Any]:
    return {
        "onewindow_env": settings.ONEWINDOW_ENV,
        "large_text": request.COOKIES.get("ow_large_text") == "1",
    }
