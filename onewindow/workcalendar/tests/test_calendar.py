"""Working-day arithmetic under the official calendar.

Administrative Licensing Law Art. 82: time limits are counted in working days, excluding statutory
holidays; Art. 45: hearings, expert review and the like are not counted (suspension). The 2026 dates come
from the State Council General Office's notice on the 2026 holiday arrangements (国务院办公厅关于2026年部分
节假日安排的通知), as carried by the chinese-calendar package and seeded by the data migration.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.cache import cache
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from onewindow.workcalendar import calendar
from onewindow.workcalendar.actions import calendar_import
from onewindow.workcalendar.calendar import (
    CACHE_VERSION_KEY,
    DayStatus,
    add_working_days,
    explain_add_working_days,
    explain_working_days_between,
    is_working_day,
    missing_years,
    working_days_between,
)
from onewindow.workcalendar.importing import parse_import_file
from onewindow.workcalendar.models import Source
from onewindow.workcalendar.tests.helpers import FAKE_2027_CSV

pytestmark = pytest.mark.django_db


def _fallback_count(year: int) -> float:
    return REGISTRY.get_sample_value("onewindow_calendar_fallback_total", {"year": str(year)}) or 0.0


def test_national_day_2026_five_working_days_count_the_saturday_make_up_day() -> None:
    # Given the 2026 notice: 1-7 October off, Saturday 10 October a working day
    # When five working days are added to Wednesday 30 September (not counted itself)
    explanation = explain_add_working_days(date(2026, 9, 30), 5)
    # Then 8, 9, 10 (Saturday, make-up), 12 and 13 October are counted: the deadline is 13 October
    assert explanation.end == date(2026, 10, 13)
    assert add_working_days(date(2026, 9, 30), 5) == date(2026, 10, 13)
    assert explanation.counted_days == (
        date(2026, 10, 8),
        date(2026, 10, 9),
        date(2026, 10, 10),
        date(2026, 10, 12),
        date(2026, 10, 13),
    )
    assert [(day.date, day.name, day.name_en) for day in explanation.holidays] == [
        (date(2026, 10, day), "国庆节", "National Day") for day in range(1, 8)
    ]
    assert [day.date for day in explanation.makeup_workdays] == [date(2026, 10, 10)]
    assert explanation.weekend_days == (date(2026, 10, 11),)
    assert explanation.suspended_days == ()
    assert explanation.fallback_years == ()
    assert explanation.summary_en() == (
        "From 2026-09-30 (not counted) to 2026-10-13: 5 working days. 7 statutory holiday day(s) not counted "
        "(National Day 2026-10-01 to 2026-10-07). 1 weekend day(s) not counted. 1 make-up working day(s) "
        "counted (2026-10-10)."
    )
    assert explanation.summary_zh() == (
        "自 2026-09-30（当日不计）至 2026-10-13，共计 5 个工作日。不计法定节假日 7 天（国庆节 2026-10-01 至 "
        "2026-10-07）。不计周末 1 天。调休上班日 1 天计入（2026-10-10）。"
    )


def test_saturday_10_october_2026_is_a_working_day_and_1_october_is_not() -> None:
    assert is_working_day(date(2026, 10, 10)) is True  # Saturday, make-up working day
    assert is_working_day(date(2026, 10, 1)) is False  # Thursday, National Day
    assert is_working_day(date(2026, 10, 11)) is False  # ordinary Sunday
    assert is_working_day(date(2026, 10, 8)) is True


def test_spring_festival_2026() -> None:
    # Given the 2026 notice: 15-23 February off, Saturdays 14 and 28 February working days
    # When five working days are added to Thursday 12 February
    explanation = explain_add_working_days(date(2026, 2, 12), 5)
    # Then 13 and 14 (Saturday, make-up) February count, the festival is skipped, then 24-26 February
    assert explanation.end == date(2026, 2, 26)
    assert explanation.counted_days == (
        date(2026, 2, 13),
        date(2026, 2, 14),
        date(2026, 2, 24),
        date(2026, 2, 25),
        date(2026, 2, 26),
    )
    assert [day.date.day for day in explanation.holidays] == list(range(15, 24))
    assert {day.name for day in explanation.holidays} == {"春节"}
    assert [day.date for day in explanation.makeup_workdays] == [date(2026, 2, 14)]
    assert working_days_between(date(2026, 2, 14), date(2026, 2, 28)) == 5  # 24, 25, 26, 27 and Sat 28


def test_zero_working_days_returns_the_start_even_on_a_holiday() -> None:
    assert add_working_days(date(2026, 10, 1), 0) == date(2026, 10, 1)
    assert explain_add_working_days(date(2026, 10, 1), 0).days == ()


def test_negative_working_days_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        add_working_days(date(2026, 3, 2), -1)


def test_twenty_working_day_decision_limit_art_42() -> None:
    # Art. 42: a decision within 20 working days of acceptance. Accepted Monday 2026-09-21:
    # Sep 22-24 (3), Sep 25-27 Mid-autumn, Sep 28-30 (6), Oct 1-7 National Day, Oct 8-9 (8), Sat Oct 10 (9),
    # Oct 12-16 (14), Oct 19-23 (19), Oct 26 (20).
    assert add_working_days(date(2026, 9, 21), 20) == date(2026, 10, 26)


def test_suspension_stops_the_clock() -> None:
    # Given a supplement request that suspended the clock from 8 to 12 October 2026 inclusive (Art. 45)
    suspended = [(date(2026, 10, 8), date(2026, 10, 12))]
    # When five working days are added to 30 September
    explanation = explain_add_working_days(date(2026, 9, 30), 5, suspended=suspended)
    # Then 8, 9, 10 and 12 October are not counted; 13-16 and 19 October are
    assert explanation.end == date(2026, 10, 19)
    assert explanation.counted_days == (
        date(2026, 10, 13),
        date(2026, 10, 14),
        date(2026, 10, 15),
        date(2026, 10, 16),
        date(2026, 10, 19),
    )
    assert explanation.suspended_days == tuple(date(2026, 10, day) for day in range(8, 13))
    assert explanation.suspended == ((date(2026, 10, 8), date(2026, 10, 12)),)
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 19), suspended=suspended) == 5
    assert "5 day(s) not counted while the clock was suspended" in explanation.summary_en()


def test_overlapping_and_adjacent_suspensions_are_merged() -> None:
    suspended = [
        (date(2026, 3, 10), date(2026, 3, 12)),
        (date(2026, 3, 2), date(2026, 3, 4)),
        (date(2026, 3, 5), date(2026, 3, 11)),
    ]
    explanation = explain_working_days_between(date(2026, 3, 1), date(2026, 3, 13), suspended=suspended)
    assert explanation.suspended == ((date(2026, 3, 2), date(2026, 3, 12)),)
    assert explanation.working_days == 1  # only Friday 13 March


def test_a_suspension_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        add_working_days(date(2026, 3, 2), 3, suspended=[(date(2026, 3, 5), date(2026, 3, 4))])


def test_working_days_between_is_half_open_and_antisymmetric() -> None:
    assert working_days_between(date(2026, 9, 30), date(2026, 9, 30)) == 0
    assert working_days_between(date(2026, 9, 29), date(2026, 9, 30)) == 1  # (29, 30]: 30 counts
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 13)) == 5
    assert working_days_between(date(2026, 10, 13), date(2026, 9, 30)) == -5


def test_year_2027_falls_back_to_weekends_only_loudly() -> None:
    # Given no schedule loaded for 2027 (the package and the seed stop at 2026)
    before = _fallback_count(2027)
    # When three working days are added to Wednesday 30 December 2026
    with capture_logs() as logs:
        explanation = explain_add_working_days(date(2026, 12, 30), 3)
    # Then 31 December, Friday 1 January 2027 (weekday: counted by the fallback) and Monday 4 January count
    assert explanation.end == date(2027, 1, 4)
    assert explanation.fallback_years == (2027,)
    # And the fallback is logged once per call, counted in the metric and reported in the explanation
    assert [entry for entry in logs if entry["event"] == "calendar_year_not_loaded"] == [
        {"event": "calendar_year_not_loaded", "year": 2027, "log_level": "warning"}
    ]
    assert _fallback_count(2027) == before + 1
    assert "no holiday schedule is loaded for 2027" in explanation.summary_en()
    assert "2027 年的节假日安排尚未载入" in explanation.summary_zh()
    assert missing_years(today=date(2026, 11, 27)) == [2027]
    assert missing_years(2, today=date(2026, 11, 27)) == [2027, 2028]
    assert missing_years(0, today=date(2026, 11, 27)) == []


def test_is_working_day_reports_the_fallback_too() -> None:
    before = _fallback_count(2030)
    with capture_logs() as logs:
        assert is_working_day(date(2030, 1, 1)) is True  # a Tuesday; no 2030 schedule
    assert [entry["year"] for entry in logs if entry["event"] == "calendar_year_not_loaded"] == [2030]
    assert _fallback_count(2030) == before + 1


def test_loaded_years_do_not_fall_back() -> None:
    with capture_logs() as logs:
        add_working_days(date(2026, 1, 5), 30)
    assert [entry for entry in logs if entry["event"] == "calendar_year_not_loaded"] == []


def test_an_import_is_seen_by_the_next_computation() -> None:
    # Given a snapshot loaded while 2027 was missing
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 1)
    # When 2027 is imported (made-up test data: 1-3 January off)
    parsed = parse_import_file(FAKE_2027_CSV.encode())
    calendar_import(rows=parsed.rows, year=2027, source=Source.IMPORT, acting_user=None)
    # Then the next computation uses it without any manual cache clearing
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert missing_years(today=date(2026, 11, 27)) == []


def test_add_working_days_queries_at_most_twice_whatever_n(django_assert_max_num_queries: Any) -> None:
    # A cold process loads the calendar in two queries, whatever the number of days
    with django_assert_max_num_queries(2):
        add_working_days(date(2026, 1, 5), 200)
    calendar.clear_process_cache()
    with django_assert_max_num_queries(2):
        add_working_days(date(2026, 1, 5), 1)
    # A warm one queries nothing
    with django_assert_max_num_queries(0):
        add_working_days(date(2026, 9, 30), 20)
        working_days_between(date(2004, 1, 1), date(2026, 12, 31))
        is_working_day(date(2026, 10, 10))
        missing_years()


def test_another_process_bumping_the_version_makes_this_one_reload(django_assert_num_queries: Any) -> None:
    add_working_days(date(2026, 1, 5), 1)
    cache.set(CACHE_VERSION_KEY, "bumped-elsewhere", timeout=None)
    with django_assert_num_queries(2):
        add_working_days(date(2026, 1, 5), 1)
    with django_assert_num_queries(0):
        add_working_days(date(2026, 1, 5), 1)


def test_a_stale_snapshot_is_reloaded_after_its_maximum_age(
    monkeypatch: pytest.MonkeyPatch, django_assert_num_queries: Any
) -> None:
    # A process whose cache is not shared (LocMemCache) never sees the bump: the age limit covers it
    add_working_days(date(2026, 1, 5), 1)
    monkeypatch.setattr(calendar, "SNAPSHOT_MAX_AGE_SECONDS", -1.0)
    with django_assert_num_queries(2):
        add_working_days(date(2026, 1, 5), 1)


def test_day_statuses_in_an_explanation() -> None:
    explanation = explain_working_days_between(date(2026, 10, 7), date(2026, 10, 11))
    assert [(day.date.day, day.status) for day in explanation.days] == [
        (8, DayStatus.WORKING_DAY),
        (9, DayStatus.WORKING_DAY),
        (10, DayStatus.MAKEUP_WORKDAY),
        (11, DayStatus.WEEKEND),
    ]
    assert explanation.as_dict()["counted_days"] == ["2026-10-08", "2026-10-09", "2026-10-10"]
