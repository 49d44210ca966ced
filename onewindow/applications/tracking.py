"""Tracking numbers (办件编号): ``<division 6><date YYYYMMDD 8><daily sequence 6><check 1>``, 21 characters.

The date is the receiving day in Asia/Shanghai; the sequence restarts at 000001 each day for each receiving
division and comes from :class:`~onewindow.applications.models.TrackingCounter`, incremented by one
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement (PostgreSQL, and SQLite ≥ 3.35), so two
concurrent submissions can never read the same value: the row lock is held until the submitting transaction
commits. The check character is ISO 7064 MOD 11-2 over the first 20 digits (the algorithm of the resident
ID number, GB 11643-1999): ``0``-``9`` or ``X``. See docs/applications.md.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

from onewindow.applications.models import TrackingCounter

CHINA = ZoneInfo("Asia/Shanghai")
TRACKING_NO = re.compile(r"^\d{20}[0-9X]$")
MAX_DAILY_SEQUENCE = 999_999

_TABLE = TrackingCounter._meta.db_table
_NEXT_SQL = (
    f"INSERT INTO {_TABLE} (division_code, day, value) VALUES (%s, %s, 1) "  # noqa: S608 - constant names
    f"ON CONFLICT (division_code, day) DO UPDATE SET value = {_TABLE}.value + 1 RETURNING value"
)


def mod11_2_check(digits: str) -> str:
    """ISO 7064 MOD 11-2 check character of a string of decimal digits."""
    remainder = 0
    for character in digits:
        remainder = ((remainder + int(character)) * 2) % 11
    value = (12 - remainder) % 11
    return "X" if value == 10 else str(value)


def is_valid_tracking_no(value: str) -> bool:
    """True when ``value`` has the tracking number's shape and a correct check character."""
    return bool(TRACKING_NO.match(value)) and mod11_2_check(value[:20]) == value[20]


def china_date(moment: datetime) -> date:
    """The calendar day of ``moment`` in Asia/Shanghai (tracking numbers and deadlines use it)."""
    return moment.astimezone(CHINA).date()


def tracking_sequence_next(division_code: str, day: date) -> int:
    """Increment and return the day's sequence for ``division_code``; call inside the submit transaction."""
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_SQL, [division_code, connection.ops.adapt_datefield_value(day)])
        row = cursor.fetchone()
    return int(row[0])


def tracking_no_next(*, now: datetime | None = None, division_code: str | None = None) -> str:
    """The next tracking number for the receiving division (``settings.TRACKING_DIVISION_CODE``)."""
    division = division_code or settings.TRACKING_DIVISION_CODE
    if not re.fullmatch(r"\d{6}", division):
        message = f"TRACKING_DIVISION_CODE must be 6 digits, got {division!r}"
        raise ValueError(message)
    day = china_date(now or timezone.now())
    sequence = tracking_sequence_next(division, day)
    if sequence > MAX_DAILY_SEQUENCE:
        message = f"more than {MAX_DAILY_SEQUENCE} applications on {day} for division {division}"
        raise OverflowError(message)
    body = f"{division}{day:%Y%m%d}{sequence:06d}"
    return body + mod11_2_check(body)
