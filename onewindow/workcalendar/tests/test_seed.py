"""The data migration seeds 2004-2026 from the State Council's notices (via chinese-calendar)."""

from __future__ import annotations

from datetime import date

import chinese_calendar
import pytest

from onewindow.workcalendar.models import CalendarDay, CalendarYear, DayKind, Source
from onewindow.workcalendar.seed import holiday_name_pair, known_holiday_names

pytestmark = pytest.mark.django_db


def test_every_year_from_2004_to_2026_is_loaded_from_the_package() -> None:
    assert list(CalendarYear.objects.values_list("year", flat=True)) == list(range(2004, 2027))
    assert set(CalendarYear.objects.values_list("source", flat=True)) == {Source.CHINESE_CALENDAR}
    assert CalendarYear.objects.filter(loaded_by__isnull=True).count() == 23


def test_the_seed_holds_exactly_the_package_data() -> None:
    holidays = set(CalendarDay.objects.filter(kind=DayKind.HOLIDAY).values_list("date", flat=True))
    workdays = set(CalendarDay.objects.filter(kind=DayKind.WORKDAY).values_list("date", flat=True))
    assert holidays == {day for day in chinese_calendar.holidays if 2004 <= day.year <= 2026}
    assert workdays == {day for day in chinese_calendar.workdays if 2004 <= day.year <= 2026}


def test_days_carry_chinese_and_english_names() -> None:
    national_day = CalendarDay.objects.get(date=date(2026, 10, 1))
    assert (national_day.kind, national_day.name, national_day.name_en) == (
        "holiday",
        "国庆节",
        "National Day",
    )
    make_up = CalendarDay.objects.get(date=date(2026, 10, 10))
    assert (make_up.kind, make_up.name, make_up.name_en) == ("workday", "国庆节", "National Day")
    qingming = CalendarDay.objects.get(date=date(2026, 4, 5))
    assert (qingming.name, qingming.name_en) == ("清明节", "Tomb-sweeping Day")
    assert CalendarDay.objects.filter(name="").count() == 0


def test_holiday_names_are_known_in_both_languages() -> None:
    assert [pair.zh for pair in known_holiday_names()][:3] == ["元旦", "春节", "清明节"]
    assert holiday_name_pair("端午") == holiday_name_pair("Dragon Boat Festival")
    assert holiday_name_pair("端午节") is not None
    assert holiday_name_pair("Christmas") is None
