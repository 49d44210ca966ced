"""``/api/v1/calendar/``: loaded years, a year's days, deadline computation and (system admins) import."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django.http import HttpRequest
from ninja import File, Form, Query, Router
from ninja.files import UploadedFile
from ninja.params import FormEx, P, QueryEx

from onewindow.accounts.api_auth import api_auth
from onewindow.accounts.models import User
from onewindow.core.api_errors import ApiError
from onewindow.workcalendar.actions import calendar_import
from onewindow.workcalendar.calendar import Interval, explain_add_working_days
from onewindow.workcalendar.importing import (
    MAX_FILE_BYTES,
    MAX_YEAR,
    MIN_YEAR,
    CalendarImportError,
    ImportIssue,
    parse_import_file,
)
from onewindow.workcalendar.models import Source
from onewindow.workcalendar.schemas import (
    AddWorkingDaysOut,
    CalendarErrorOut,
    DayOut,
    ExplainedDayOut,
    ExplanationOut,
    ImportErrorOut,
    ImportOut,
    YearDaysOut,
    YearOut,
)
from onewindow.workcalendar.selectors import (
    calendar_days_for_user,
    calendar_year_for_user,
    require_calendar_admin,
    year_summaries,
)

router = Router(tags=["calendar"])

MAX_API_WORKING_DAYS = 3650
_ERRORS = {401: CalendarErrorOut, 403: CalendarErrorOut, 422: CalendarErrorOut}


@router.get(
    "/years", auth=api_auth, response={200: list[YearOut], **_ERRORS}, summary="Loaded calendar years"
)
def calendar_years(request: HttpRequest) -> list[YearOut]:
    """Every loaded year and the unloaded years up to next year (``missing``), newest first."""
    return [
        YearOut(
            year=summary.year,
            loaded=summary.loaded,
            missing=summary.missing,
            source=summary.source,
            loaded_at=summary.loaded_at,
            note=summary.note,
            holiday_count=summary.holiday_count,
            workday_count=summary.workday_count,
        )
        for summary in year_summaries(request.user)
    ]


@router.get("/days", auth=api_auth, response={200: YearDaysOut, **_ERRORS}, summary="A year's holidays")
def calendar_days(request: HttpRequest, year: QueryEx[int, P(ge=MIN_YEAR, le=MAX_YEAR)]) -> YearDaysOut:
    """The statutory holidays and make-up working days of ``year`` (``loaded`` false: none are known)."""
    record = calendar_year_for_user(request.user, year)
    listed = calendar_days_for_user(request.user, year) if record is not None else []
    return YearDaysOut(
        year=year,
        loaded=record is not None,
        days=[DayOut(date=day.date, kind=day.kind, name=day.name, name_en=day.name_en) for day in listed],
    )


def _interval(text: str) -> Interval:
    first_text, separator, last_text = text.partition("/")
    try:
        first = date.fromisoformat(first_text)
        last = date.fromisoformat(last_text) if separator else first
    except ValueError:
        first = last = date.min
    if first == date.min or last < first:
        raise ApiError(
            422,
            "invalid_suspension",
            f"暂停区间“{text}”无效，应为 YYYY-MM-DD/YYYY-MM-DD 且结束日不早于开始日。",
            f"suspension interval '{text}' is not valid: use YYYY-MM-DD/YYYY-MM-DD, "
            "ending on or after its start.",
        )
    return first, last


@router.get(
    "/add-working-days",
    auth=api_auth,
    response={200: AddWorkingDaysOut, **_ERRORS},
    summary="Deadline after N working days",
    description=(
        "The day on which the `days`-th working day after `start` ends (`start` is not counted; `days=0` "
        "returns `start`). Statutory holidays and weekends are skipped, make-up working days count "
        "(Administrative Licensing Law Art. 82). `suspended` (repeatable, `YYYY-MM-DD/YYYY-MM-DD`, "
        "inclusive) stops the clock. `fallback_years` lists years with no loaded schedule, counted with "
        "weekends only."
    ),
)
def calendar_add_working_days(
    request: HttpRequest,
    start: date,
    days: QueryEx[int, P(ge=0, le=MAX_API_WORKING_DAYS)],
    suspended: Query[list[str] | None] = None,
) -> AddWorkingDaysOut:
    intervals = [_interval(text) for text in suspended or ()]
    explanation = explain_add_working_days(start, days, suspended=intervals)

    def out(items: tuple[object, ...]) -> list[ExplainedDayOut]:
        return [ExplainedDayOut.model_validate(item, from_attributes=True) for item in items]

    return AddWorkingDaysOut(
        start=start,
        days=days,
        due_date=explanation.end,
        fallback_years=list(explanation.fallback_years),
        explanation=ExplanationOut(
            summary_zh=explanation.summary_zh(),
            summary_en=explanation.summary_en(),
            counted_days=list(explanation.counted_days),
            holidays=out(explanation.holidays),
            makeup_workdays=out(explanation.makeup_workdays),
            weekend_days=list(explanation.weekend_days),
            suspended_days=list(explanation.suspended_days),
            days=out(explanation.days),
        ),
    )


class CalendarFileError(ApiError):
    """422 ``invalid_calendar_file``: the standard error body plus ``issues``, one per line or entry."""

    def __init__(self, issues: tuple[ImportIssue, ...]) -> None:
        super().__init__(
            422,
            "invalid_calendar_file",
            f"日历文件有 {len(issues)} 处问题，未作任何更改。",
            f"The calendar file has {len(issues)} problem(s); nothing was changed.",
        )
        self.issues = issues

    def body(self) -> dict[str, Any]:
        return {**super().body(), "issues": [issue.as_dict() for issue in self.issues]}


@router.post(
    "/import",
    auth=api_auth,
    response={200: ImportOut, 401: CalendarErrorOut, 403: CalendarErrorOut, 422: ImportErrorOut},
    summary="Import a year's schedule (system administrators)",
    description=(
        "Multipart upload of one year's schedule, CSV (`date,kind,name`) or JSON (docs/calendar-import.md). "
        "Replaces that year's entries atomically; `dry_run=true` only checks. Problems come back as 422 "
        "`invalid_calendar_file` with `issues`, each naming its line (CSV) or entry (JSON)."
    ),
)
def calendar_import_file(
    request: HttpRequest,
    file: File[UploadedFile],
    year: FormEx[int | None, P(ge=MIN_YEAR, le=MAX_YEAR)] = None,
    dry_run: Form[bool] = False,
    note: FormEx[str, P(max_length=500)] = "",
) -> ImportOut:
    acting_user = require_calendar_admin(cast(User, request.user))
    content = file.read(MAX_FILE_BYTES + 1)
    parsed = parse_import_file(content, filename=file.name or "", year=year)
    if not parsed.ok or parsed.year is None:
        raise CalendarFileError(parsed.issues)
    replaced_holidays = replaced_workdays = 0
    if not dry_run:
        try:
            result = calendar_import(
                rows=parsed.rows, year=parsed.year, source=Source.IMPORT, acting_user=acting_user, note=note
            )
        except CalendarImportError as error:
            raise CalendarFileError(error.issues) from error
        replaced_holidays, replaced_workdays = result.replaced_holidays, result.replaced_workdays
    return ImportOut(
        year=parsed.year,
        dry_run=dry_run,
        file_format=parsed.file_format,
        holidays=parsed.holiday_count,
        workdays=parsed.workday_count,
        replaced_holidays=replaced_holidays,
        replaced_workdays=replaced_workdays,
    )
