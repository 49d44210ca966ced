"""Writes to the working-day calendar. Every write is one audited transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import require_permission
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.core.logging import get_logger
from onewindow.workcalendar.calendar import calendar_changed
from onewindow.workcalendar.importing import CalendarImportError, ImportIssue, ImportRow, check_rows
from onewindow.workcalendar.models import CalendarDay, CalendarYear, DayKind, Source

logger = get_logger(__name__)


@dataclass(frozen=True)
class CalendarImportResult:
    year: int
    source: str
    holidays: int
    workdays: int
    replaced_holidays: int
    replaced_workdays: int
    previous_source: str  # "" when the year was not loaded before


def calendar_import(
    *,
    rows: Sequence[ImportRow],
    year: int,
    source: str,
    acting_user: User | None,
    note: str = "",
    actor_label: str = "",
) -> CalendarImportResult:
    """Replace ``year``'s holidays and make-up working days with ``rows``, atomically, and audit it.

    ``acting_user`` needs Permission.MANAGE_SYSTEM; ``None`` is the operator at the server's command line
    (``manage.py calendar_import``), named in the audit record by ``actor_label``. The rows are checked
    again here (dates in ``year``, make-up working days on weekends, no duplicates), so every caller gets
    the same rules; a failure raises :class:`CalendarImportError` and writes nothing.
    """
    if acting_user is not None:
        require_permission(
            acting_user, Permission.MANAGE_SYSTEM, object_type="calendar_year", object_id=str(year)
        )
    if source not in Source.values:
        raise CalendarImportError(
            [
                ImportIssue(
                    code="bad_source",
                    message_zh=f"来源“{source}”无效。",
                    message_en=f"source '{source}' is not known.",
                )
            ]
        )
    issues = check_rows(rows, year)
    if issues:
        raise CalendarImportError(issues)

    with transaction.atomic():
        # Creating or locking the year's row first serialises two imports of the same year.
        calendar_year, created = CalendarYear.objects.select_for_update().get_or_create(
            year=year,
            defaults={"source": source, "loaded_at": timezone.now(), "loaded_by": acting_user, "note": note},
        )
        previous_source = "" if created else calendar_year.source
        in_year = CalendarDay.objects.filter(date__year=year)
        replaced = dict(
            in_year.order_by().values("kind").annotate(count=Count("id")).values_list("kind", "count")
        )
        in_year.delete()
        CalendarDay.objects.bulk_create(
            CalendarDay(date=row.date, kind=row.kind, name=row.name, name_en=row.name_en) for row in rows
        )
        if not created:
            calendar_year.source = source
            calendar_year.loaded_at = timezone.now()
            calendar_year.loaded_by = acting_user
            calendar_year.note = note
            calendar_year.save(update_fields=["source", "loaded_at", "loaded_by", "note"])
        result = CalendarImportResult(
            year=year,
            source=source,
            holidays=sum(1 for row in rows if row.kind == DayKind.HOLIDAY),
            workdays=sum(1 for row in rows if row.kind == DayKind.WORKDAY),
            replaced_holidays=replaced.get(DayKind.HOLIDAY, 0),
            replaced_workdays=replaced.get(DayKind.WORKDAY, 0),
            previous_source=previous_source,
        )
        audit_append(
            action="calendar.import",
            acting_user=acting_user,
            object_type="calendar_year",
            object_id=year,
            actor_username=actor_label,
            details={
                "source": source,
                "previous_source": previous_source,
                "holidays": result.holidays,
                "workdays": result.workdays,
                "replaced_holidays": result.replaced_holidays,
                "replaced_workdays": result.replaced_workdays,
                "note": note[:200],
            },
        )
        calendar_changed()
    logger.info(
        "calendar_year_loaded", year=year, source=source, holidays=result.holidays, workdays=result.workdays
    )
    return result
