"""Shared test data: a made-up schedule for 2027 (NOT the official one, which is not yet published).

The dates are chosen only to exercise the rules (a holiday on a weekend, a make-up working day on a
Saturday); they must never be shipped as data.
"""

from __future__ import annotations

from datetime import date

from onewindow.workcalendar.models import CalendarDay, CalendarYear

FAKE_2027_CSV = (
    "date,kind,name\n"
    "2027-01-01,holiday,元旦\n"
    "2027-01-02,holiday,元旦\n"
    "2027-01-03,holiday,元旦\n"
    "2027-01-09,workday,元旦\n"
)


def calendar_state() -> tuple[list[tuple[date, str, str, str]], list[tuple[int, str, str]]]:
    """Everything in the calendar tables, to show that a refused call changed nothing."""
    days = list(CalendarDay.objects.order_by("date").values_list("date", "kind", "name", "name_en"))
    years = list(CalendarYear.objects.order_by("year").values_list("year", "source", "note"))
    return days, years
