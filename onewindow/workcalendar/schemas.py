"""API bodies of the working-day calendar."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema


class CalendarErrorOut(Schema):
    code: str
    message: str
    message_zh: str
    message_en: str


class YearOut(Schema):
    year: int
    loaded: bool
    missing: bool = Field(
        description="Not loaded and this year or next: deadlines fall back to weekends only"
    )
    source: str = Field(description="chinese-calendar | import | admin; empty when not loaded")
    loaded_at: datetime | None
    note: str
    holiday_count: int
    workday_count: int


class DayOut(Schema):
    date: date
    kind: str = Field(description="holiday | workday (a weekend day made a working day)")
    name: str
    name_en: str


class YearDaysOut(Schema):
    year: int
    loaded: bool
    days: list[DayOut]


class ExplainedDayOut(Schema):
    date: date
    status: str = Field(description="working_day | makeup_workday | holiday | weekend | suspended")
    name: str
    name_en: str


class ExplanationOut(Schema):
    summary_zh: str
    summary_en: str
    counted_days: list[date]
    holidays: list[ExplainedDayOut]
    makeup_workdays: list[ExplainedDayOut]
    weekend_days: list[date]
    suspended_days: list[date]
    days: list[ExplainedDayOut]


class AddWorkingDaysOut(Schema):
    start: date
    days: int
    due_date: date = Field(description="The day on which the last counted working day ends")
    fallback_years: list[int] = Field(
        description="Years with no loaded schedule, counted with weekends only (the date may be wrong)"
    )
    explanation: ExplanationOut


class ImportIssueOut(Schema):
    code: str
    line: int | None
    entry: str
    message_zh: str
    message_en: str


class ImportOut(Schema):
    year: int
    dry_run: bool
    file_format: str
    holidays: int
    workdays: int
    replaced_holidays: int = Field(description="Entries of the year removed by the import (0 on a dry run)")
    replaced_workdays: int


class ImportErrorOut(CalendarErrorOut):
    issues: list[ImportIssueOut]
