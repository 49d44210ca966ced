"""Values every page's layout needs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from onewindow.web.navigation import nav_items

LARGE_TEXT_COOKIE = "ow_large_text"


def url_or_path(name: str, fallback: str) -> str:
    """``reverse(name)``, or ``fallback`` while the app that owns the name is not installed."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


def platform(request: HttpRequest) -> dict[str, Any]:
    # Error pages can be rendered before the authentication middleware ran (a 400 for a bad Host).
    user = getattr(request, "user", None) or AnonymousUser()
    current_path = request.get_full_path()
    return {
        "onewindow_env": settings.ONEWINDOW_ENV,
        "large_text": request.COOKIES.get(LARGE_TEXT_COOKIE) == "1",
        # Lazy: htmx fragments render through the same processors and never show the navigation.
        "nav_items": SimpleLazyObject(lambda: nav_items(user, request.path)),
        "current_path": current_path,
        "login_url": url_or_path("accounts:login", "/accounts/login/"),
        "logout_url": url_or_path("accounts:logout", "/accounts/logout/"),
        "source_code_url": getattr(settings, "ONEWINDOW_SOURCE_URL", ""),
    }
