"""Each test starts and ends with an empty per-process calendar snapshot and a fresh cache version.

Tests run inside a transaction that is rolled back, so a snapshot loaded in one test (say, after an
import of 2027) must not leak into the next.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from onewindow.workcalendar.calendar import CACHE_VERSION_KEY, clear_process_cache


@pytest.fixture(autouse=True)
def _fresh_calendar_cache() -> Iterator[None]:
    clear_process_cache()
    cache.delete(CACHE_VERSION_KEY)
    yield
    clear_process_cache()
    cache.delete(CACHE_VERSION_KEY)
