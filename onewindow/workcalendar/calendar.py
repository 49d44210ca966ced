"""Working days under China's official calendar (Administrative Licensing Law Art. 82).

Time limits in administrative licensing are counted in working days, excluding statutory holidays
(《行政许可法》第八十二条). A working day is a Monday to Friday that is not a statutory holiday, or a
weekend day the State Council has made a working day (调休, e.g. Saturday 2026-10-10).

Counting convention (the same for every function here):

* The start day is never counted. ``add_working_days(start, n)`` returns the day on which the n-th
  working day *after* ``start`` ends: the first counted day is the first working day strictly after
  ``start``. ``add_working_days(start, 0)`` returns ``start`` itself.
* ``working_days_between(start, end)`` counts the working days in the half-open interval
  ``(start, end]``, so ``working_days_between(start, add_working_days(start, n)) == n``; if ``end`` is
  before ``start`` the result is the negative of ``working_days_between(end, start)``.
* ``suspended`` is a sequence of ``(first_day, last_day)`` inclusive intervals during which the clock is
  stopped (waiting for the applicant's supplement, a hearing, expert review: Art. 45); no day inside one
  is counted, even a working day.
* A year with no loaded schedule (no ``CalendarYear`` row) is counted with weekends only. That fallback is
  never silent: it is logged (``calendar_year_not_loaded``), counted in the Prometheus counter
  ``onewindow_calendar_fallback_total{year}`` and reported in ``fallback_years`` of every explanation.

The table is read into a per-process snapshot (one dictionary of exceptions per loaded year) and reused
until the calendar version kept in Django's cache changes: the actions that write the table bump it. Each
public call looks the version up once; a reload costs two queries, a cached call none.
"""

from __future__ import annotations

import bisect
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from onewindow.core import metrics
from onewindow.core.logging import get_logger

logger = get_logger(__name__)

Interval = tuple[date, date]

CACHE_VERSION_KEY = "workcalendar:version"
# A process whose Django cache is not shared with the process that imported (the default LocMemCache)
# still sees the change after this long.
SNAPSHOT_MAX_AGE_SECONDS = 300.0

SATURDAY = 5
ONE_DAY = timedelta(days=1)


class DayStatus(StrEnum):
    """Why a day was or was not counted."""

    WORKING_DAY = "working_day"  # Monday to Friday, not a holiday: counted
    MAKEUP_WORKDAY = "makeup_workday"  # weekend day made a working day (调休): counted
    HOLIDAY = "holiday"  # statutory holiday: not counted
    WEEKEND = "weekend"  # ordinary Saturday or Sunday: not counted
    SUSPENDED = "suspended"  # inside a suspension interval: not counted

    @property
    def counted(self) -> bool:
        return self in {DayStatus.WORKING_DAY, DayStatus.MAKEUP_WORKDAY}


@dataclass(frozen=True)
class CalendarException:
    kind: str  # "holiday" | "workday"
    name: str
    name_en: str


@dataclass(frozen=True)
class ExplainedDay:
    date: date
    status: DayStatus
    name: str = ""
    name_en: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "date": self.date.isoformat(),
            "status": str(self.status),
            "name": self.name,
            "name_en": self.name_en,
        }


@dataclass(frozen=True)
class WorkingDaysExplanation:
    """Every day between ``start`` (excluded) and ``end`` (included), and why it was counted or not."""

    start: date
    end: date
    working_days: int
    days: tuple[ExplainedDay, ...]
    suspended: tuple[Interval, ...] = ()
    fallback_years: tuple[int, ...] = ()

    def _with(self, *statuses: DayStatus) -> tuple[ExplainedDay, ...]:
        return tuple(day for day in self.days if day.status in statuses)

    @property
    def counted_days(self) -> tuple[date, ...]:
        return tuple(day.date for day in self.days if day.status.counted)

    @property
    def makeup_workdays(self) -> tuple[ExplainedDay, ...]:
        return self._with(DayStatus.MAKEUP_WORKDAY)

    @property
    def holidays(self) -> tuple[ExplainedDay, ...]:
        return self._with(DayStatus.HOLIDAY)

    @property
    def weekend_days(self) -> tuple[date, ...]:
        return tuple(day.date for day in self._with(DayStatus.WEEKEND))

    @property
    def suspended_days(self) -> tuple[date, ...]:
        return tuple(day.date for day in self._with(DayStatus.SUSPENDED))

    def summary_zh(self) -> str:
        parts = [
            f"自 {self.start.isoformat()}（当日不计）至 {self.end.isoformat()}，"
            f"共计 {abs(self.working_days)} 个工作日。"
        ]
        if self.holidays:
            ranges = "、".join(
                f"{name or '法定节假日'} {_span(first, last, '至')}"
                for name, _en, first, last in self._holiday_runs()
            )
            parts.append(f"不计法定节假日 {len(self.holidays)} 天（{ranges}）。")
        if self.weekend_days:
            parts.append(f"不计周末 {len(self.weekend_days)} 天。")
        if self.makeup_workdays:
            listed = "、".join(day.date.isoformat() for day in self.makeup_workdays)
            parts.append(f"调休上班日 {len(self.makeup_workdays)} 天计入（{listed}）。")
        if self.suspended_days:
            parts.append(f"暂停计时（如补正、听证、专家评审）{len(self.suspended_days)} 天不计。")
        if self.fallback_years:
            years = "、".join(str(year) for year in self.fallback_years)
            parts.append(f"注意：{years} 年的节假日安排尚未载入，按仅扣除周末计算，结果可能不准确。")
        return "".join(parts)

    def summary_en(self) -> str:
        plural = "" if abs(self.working_days) == 1 else "s"
        parts = [
            f"From {self.start.isoformat()} (not counted) to {self.end.isoformat()}: "
            f"{abs(self.working_days)} working day{plural}."
        ]
        if self.holidays:
            ranges = ", ".join(
                f"{name_en or 'statutory holiday'} {_span(first, last, 'to')}"
                for _zh, name_en, first, last in self._holiday_runs()
            )
            parts.append(f" {len(self.holidays)} statutory holiday day(s) not counted ({ranges}).")
        if self.weekend_days:
            parts.append(f" {len(self.weekend_days)} weekend day(s) not counted.")
        if self.makeup_workdays:
            listed = ", ".join(day.date.isoformat() for day in self.makeup_workdays)
            parts.append(f" {len(self.makeup_workdays)} make-up working day(s) counted ({listed}).")
        if self.suspended_days:
            parts.append(
                f" {len(self.suspended_days)} day(s) not counted while the clock was suspended "
                "(supplement, hearing, expert review)."
            )
        if self.fallback_years:
            years = ", ".join(str(year) for year in self.fallback_years)
            parts.append(
                f" Warning: no holiday schedule is loaded for {years}; weekends only were excluded, "
                "so the result may be wrong."
            )
        return "".join(parts)

    def _holiday_runs(self) -> list[tuple[str, str, date, date]]:
        """Consecutive holidays of the same name, as (name, name_en, first, last)."""
        runs: list[tuple[str, str, date, date]] = []
        for day in self.holidays:
            if runs and runs[-1][0] == day.name and runs[-1][3] + ONE_DAY == day.date:
                runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2], day.date)
            else:
                runs.append((day.name, day.name_en, day.date, day.date))
        return runs

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "working_days": self.working_days,
            "summary_zh": self.summary_zh(),
            "summary_en": self.summary_en(),
            "counted_days": [day.isoformat() for day in self.counted_days],
            "holidays": [day.as_dict() for day in self.holidays],
            "makeup_workdays": [day.as_dict() for day in self.makeup_workdays],
            "weekend_days": [day.isoformat() for day in self.weekend_days],
            "suspended_days": [day.isoformat() for day in self.suspended_days],
            "suspended": [[first.isoformat(), last.isoformat()] for first, last in self.suspended],
            "fallback_years": list(self.fallback_years),
            "days": [day.as_dict() for day in self.days],
        }


def _span(first: date, last: date, joiner: str) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()} {joiner} {last.isoformat()}"


# --- The process cache ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    version: str
    loaded_monotonic: float
    # year -> {date -> exception}; a year is loaded exactly when it is a key (even with no exceptions).
    years: dict[int, dict[date, CalendarException]] = field(default_factory=dict)


_snapshot: _Snapshot | None = None


def _cache_version() -> str:
    version = cache.get(CACHE_VERSION_KEY)
    if version is None:
        # A fresh or evicted cache: agree on one version for every process sharing the cache.
        cache.add(CACHE_VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(CACHE_VERSION_KEY) or "unversioned"
    return str(version)


def _load(version: str) -> _Snapshot:
    from onewindow.workcalendar.models import CalendarDay, CalendarYear

    years: dict[int, dict[date, CalendarException]] = {
        year: {} for year in CalendarYear.objects.values_list("year", flat=True)
    }
    for day, kind, name, name_en in CalendarDay.objects.values_list("date", "kind", "name", "name_en"):
        exceptions = years.get(day.year)
        if exceptions is not None:  # rows of a year without a CalendarYear row are not a schedule
            exceptions[day] = CalendarException(kind=kind, name=name, name_en=name_en)
    return _Snapshot(version=version, loaded_monotonic=time.monotonic(), years=years)


def _current_snapshot() -> _Snapshot:
    global _snapshot
    version = _cache_version()
    snapshot = _snapshot
    if (
        snapshot is None
        or snapshot.version != version
        or time.monotonic() - snapshot.loaded_monotonic > SNAPSHOT_MAX_AGE_SECONDS
    ):
        snapshot = _load(version)
        _snapshot = snapshot
    return snapshot


def clear_process_cache() -> None:
    """Forget this process's snapshot (tests; the version check makes it unnecessary elsewhere)."""
    global _snapshot
    _snapshot = None


def calendar_changed() -> None:
    """Tell every process the table changed: call from inside the writing transaction.

    The version is bumped at once (so this process and the rest of its transaction see the change) and
    again on commit (so a process that reloaded between the two does not keep the uncommitted view).
    """

    def bump() -> None:
        cache.set(CACHE_VERSION_KEY, uuid.uuid4().hex, timeout=None)

    clear_process_cache()
    bump()
    transaction.on_commit(bump)


# --- Classifying days ------------------------------------------------------------------------------


class _Classifier:
    """Classifies days against one snapshot, remembering the years that fell back to weekends only."""

    def __init__(self, snapshot: _Snapshot, suspended: Sequence[Interval] = ()) -> None:
        self._years = snapshot.years
        self.fallback_years: set[int] = set()
        self.suspended = _merge_intervals(suspended)
        self._suspension_starts = [first for first, _last in self.suspended]

    def is_suspended(self, day: date) -> bool:
        index = bisect.bisect_right(self._suspension_starts, day) - 1
        return index >= 0 and self.suspended[index][1] >= day

    def calendar_day(self, day: date) -> ExplainedDay:
        """The day's status ignoring suspension."""
        exceptions = self._years.get(day.year)
        if exceptions is None:
            self.fallback_years.add(day.year)
            exception = None
        else:
            exception = exceptions.get(day)
        weekend = day.weekday() >= SATURDAY
        if exception is not None and exception.kind == "holiday":
            return ExplainedDay(day, DayStatus.HOLIDAY, exception.name, exception.name_en)
        if exception is not None and exception.kind == "workday":
            status = DayStatus.MAKEUP_WORKDAY if weekend else DayStatus.WORKING_DAY
            return ExplainedDay(day, status, exception.name, exception.name_en)
        return ExplainedDay(day, DayStatus.WEEKEND if weekend else DayStatus.WORKING_DAY)

    def explain(self, day: date) -> ExplainedDay:
        if self.is_suspended(day):
            plain = self.calendar_day(day)
            return ExplainedDay(day, DayStatus.SUSPENDED, plain.name, plain.name_en)
        return self.calendar_day(day)

    def report_fallback(self) -> tuple[int, ...]:
        """Log and count each year that fell back, once per call."""
        years = tuple(sorted(self.fallback_years))
        for year in years:
            logger.warning("calendar_year_not_loaded", year=year)
            metrics.CALENDAR_FALLBACK.labels(year=str(year)).inc()
        return years


def _merge_intervals(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    ordered: list[Interval] = []
    for first, last in intervals:
        if last < first:
            message = f"suspension interval ends before it starts: {first.isoformat()} > {last.isoformat()}"
            raise ValueError(message)
        ordered.append((first, last))
    ordered.sort()
    merged: list[Interval] = []
    for first, last in ordered:
        if merged and first <= merged[-1][1] + ONE_DAY:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return tuple(merged)


# --- Public functions --------------------------------------------------------------------------------


def explain_day(day: date) -> ExplainedDay:
    """Why ``day`` is or is not a working day (no suspension)."""
    classifier = _Classifier(_current_snapshot())
    explained = classifier.calendar_day(day)
    classifier.report_fallback()
    return explained


def is_working_day(day: date) -> bool:
    """True if ``day`` is a working day under the loaded calendar (weekends only for unloaded years)."""
    return explain_day(day).status.counted


def explain_add_working_days(
    start: date, n: int, *, suspended: Sequence[Interval] = ()
) -> WorkingDaysExplanation:
    """The deadline ``n`` working days after ``start``, with every day examined (see the module docstring)."""
    if n < 0:
        message = f"the number of working days must not be negative, got {n}"
        raise ValueError(message)
    classifier = _Classifier(_current_snapshot(), suspended)
    days: list[ExplainedDay] = []
    counted = 0
    day = start
    while counted < n:
        day += ONE_DAY
        explained = classifier.explain(day)
        days.append(explained)
        counted += explained.status.counted
    return WorkingDaysExplanation(
        start=start,
        end=day,
        working_days=n,
        days=tuple(days),
        suspended=classifier.suspended,
        fallback_years=classifier.report_fallback(),
    )


def add_working_days(start: date, n: int, *, suspended: Sequence[Interval] = ()) -> date:
    """The date on which the ``n``-th working day after ``start`` ends; ``start`` itself is not counted.

    ``n == 0`` returns ``start``. Days inside a ``suspended`` interval (inclusive) are not counted.
    """
    return explain_add_working_days(start, n, suspended=suspended).end


def explain_working_days_between(
    start: date, end: date, *, suspended: Sequence[Interval] = ()
) -> WorkingDaysExplanation:
    """The working days in ``(start, end]`` with every day examined; negative when ``end < start``."""
    classifier = _Classifier(_current_snapshot(), suspended)
    first, last, sign = (start, end, 1) if end >= start else (end, start, -1)
    days = tuple(classifier.explain(first + ONE_DAY * offset) for offset in range(1, (last - first).days + 1))
    counted = sum(1 for day in days if day.status.counted)
    return WorkingDaysExplanation(
        start=start,
        end=end,
        working_days=sign * counted,
        days=days,
        suspended=classifier.suspended,
        fallback_years=classifier.report_fallback(),
    )


def working_days_between(start: date, end: date, *, suspended: Sequence[Interval] = ()) -> int:
    """The number of working days in ``(start, end]`` (negative when ``end`` is before ``start``)."""
    return explain_working_days_between(start, end, suspended=suspended).working_days


def loaded_years() -> frozenset[int]:
    """The years that have a loaded schedule."""
    return frozenset(_current_snapshot().years)


def missing_years(horizon_years: int = 1, *, today: date | None = None) -> list[int]:
    """The years from this year to ``horizon_years`` ahead that have no loaded schedule (oldest first)."""
    current = (today or timezone.localdate()).year
    loaded = _current_snapshot().years
    return [year for year in range(current, current + horizon_years + 1) if year not in loaded]


__all__ = [
    "CalendarException",
    "DayStatus",
    "ExplainedDay",
    "Interval",
    "WorkingDaysExplanation",
    "add_working_days",
    "calendar_changed",
    "clear_process_cache",
    "explain_add_working_days",
    "explain_day",
    "explain_working_days_between",
    "is_working_day",
    "loaded_years",
    "missing_years",
    "working_days_between",
]
