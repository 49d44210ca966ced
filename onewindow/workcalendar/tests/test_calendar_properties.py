"""Properties of the working-day arithmetic (Administrative Licensing Law Arts. 82 and 45).

The 2004-2026 schedules are those of the State Council's annual holiday notices, as published in the
chinese-calendar package; that package's own ``is_workday`` is used as an independent oracle.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onewindow.workcalendar.calendar import Interval, add_working_days, is_working_day, working_days_between

pytestmark = pytest.mark.django_db

# Stay inside the loaded years so the fallback (tested separately) does not fire.
starts = st.dates(min_value=date(2004, 1, 1), max_value=date(2025, 12, 31))
counts = st.integers(min_value=0, max_value=200)
suspensions = st.lists(
    st.tuples(st.integers(min_value=-30, max_value=300), st.integers(min_value=0, max_value=60)),
    max_size=3,
)
# The database fixture is set up once per test; every example only reads the seeded calendar.
examples = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _intervals(start: date, raw: list[tuple[int, int]]) -> list[Interval]:
    return [
        (start + timedelta(days=offset), start + timedelta(days=offset + length)) for offset, length in raw
    ]


@examples
@given(start=starts, n=counts)
def test_working_days_between_inverts_add_working_days(start: date, n: int) -> None:
    assert working_days_between(start, add_working_days(start, n)) == n


@examples
@given(start=starts, n=counts, raw=suspensions)
def test_the_inverse_holds_with_suspensions(start: date, n: int, raw: list[tuple[int, int]]) -> None:
    suspended = _intervals(start, raw)
    due = add_working_days(start, n, suspended=suspended)
    assert working_days_between(start, due, suspended=suspended) == n
    # The deadline of a positive count is itself a counted working day outside every suspension
    if n > 0:
        assert is_working_day(due)
        assert not any(first <= due <= last for first, last in suspended)


@examples
@given(start=starts, n=counts, raw=suspensions)
def test_suspension_never_brings_a_deadline_forward(start: date, n: int, raw: list[tuple[int, int]]) -> None:
    assert add_working_days(start, n, suspended=_intervals(start, raw)) >= add_working_days(start, n)


@examples
@given(day=st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31)))
def test_is_working_day_agrees_with_the_official_data(day: date) -> None:
    assert is_working_day(day) is chinese_calendar.is_workday(day)
