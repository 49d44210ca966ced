"""Reads of the calendar tables for pages and the API, with the caller's access checked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count
from django.db.models.functions import ExtractYear
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, require_permission
from onewindow.accounts.roles import Permission
from onewindow.workcalendar.models import CalendarDay, CalendarYear, DayKind


@dataclass(frozen=True)
class YearSummary:
    year: int
    loaded: bool
    missing: bool  # not loaded and within the warning horizon (this year and the next)
    source: str
    source_label: str
    loaded_at: datetime | None
    loaded_by: str
    note: str
    holiday_count: int
    workday_count: int


def _require_signed_in(user: User | AnonymousUser) -> User:
    """The calendar is public information, but the API and pages serve it to signed-in callers only."""
    if isinstance(user, User) and user.is_authenticated and user.is_active:
        return user
    raise permission_denied(user, "signed_in", object_type="calendar_year")


def year_summaries(
    user: User | AnonymousUser, *, horizon_years: int = 1, today: date | None = None
) -> list[YearSummary]:
    """Every loaded year and every unloaded year up to ``horizon_years`` ahead, newest first (2 queries)."""
    _require_signed_in(user)
    current = (today or timezone.localdate()).year
    loaded = {row.year: row for row in CalendarYear.objects.select_related("loaded_by")}
    counts: dict[tuple[int, str], int] = {
        (row["year"], row["kind"]): row["count"]
        for row in CalendarDay.objects.order_by()
        .annotate(year=ExtractYear("date"))
        .values("year", "kind")
        .annotate(count=Count("id"))
    }
    first = min([*loaded, current])
    summaries: list[YearSummary] = []
    for year in range(current + horizon_years, first - 1, -1):
        row = loaded.get(year)
        summaries.append(
            YearSummary(
                year=year,
                loaded=row is not None,
                missing=row is None and year >= current,
                source=row.source if row else "",
                source_label=str(row.get_source_display()) if row else "",
                loaded_at=row.loaded_at if row else None,
                loaded_by=row.loaded_by.get_username() if row and row.loaded_by else "",
                note=row.note if row else "",
                holiday_count=counts.get((year, DayKind.HOLIDAY), 0) if row else 0,
                workday_count=counts.get((year, DayKind.WORKDAY), 0) if row else 0,
            )
        )
    return summaries


def calendar_year_for_user(user: User | AnonymousUser, year: int) -> CalendarYear | None:
    """The year's load record (None if the year is not loaded)."""
    _require_signed_in(user)
    return CalendarYear.objects.select_related("loaded_by").filter(year=year).first()


def calendar_days_for_user(user: User | AnonymousUser, year: int) -> list[CalendarDay]:
    """The holidays and make-up working days of a loaded year, in date order (empty if not loaded)."""
    _require_signed_in(user)
    if not CalendarYear.objects.filter(year=year).exists():
        return []
    return list(CalendarDay.objects.filter(date__year=year).order_by("date"))


def require_calendar_admin(user: User | AnonymousUser) -> User:
    """The caller if they may load calendars (Permission.MANAGE_SYSTEM); a refusal is audited."""
    return require_permission(user, Permission.MANAGE_SYSTEM, object_type="calendar_year")


__all__ = [
    "YearSummary",
    "calendar_days_for_user",
    "calendar_year_for_user",
    "require_calendar_admin",
    "year_summaries",
]
