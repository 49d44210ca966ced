"""A per-address limit on public licence verifications (pages and API): enough for any honest use, and it
keeps anyone from walking the number space quickly. Counted in the cache by minute (per process with the
default in-memory cache; shared once a shared cache is configured)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from onewindow.core.middleware import client_address

_WINDOW_SECONDS = 60


def verification_rate_exceeded(request: HttpRequest) -> bool:
    """Count this verification; True once the address made more than ``LICENCE_VERIFY_PER_MINUTE``."""
    limit = int(settings.LICENCE_VERIFY_PER_MINUTE)
    if limit <= 0:
        return False
    window = int(time.time() // _WINDOW_SECONDS)
    key = f"licences:verify:{client_address(request)}:{window}"
    if cache.add(key, 1, timeout=_WINDOW_SECONDS * 2):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=_WINDOW_SECONDS * 2)
        return False
    return count > limit
