"""calendar_import: one year's schedule replaced atomically and audited (Administrative Licensing Law Art. 82
needs the official calendar; MLPS 2.0 §8.1.4.3 needs the change audited)."""

from __future__ import annotations

from datetime import date
from typing import cast

import pytest
from django.core.exceptions import PermissionDenied

from onewindow.accounts.models import User
from onewindow.audit.models import AuditRecord
from onewindow.workcalendar.actions import CalendarImportResult, calendar_import
from onewindow.workcalendar.calendar import add_working_days
from onewindow.workcalendar.importing import CalendarImportError, ImportRow, parse_import_file
from onewindow.workcalendar.models import CalendarDay, CalendarYear, DayKind, Source
from onewindow.workcalendar.tests.helpers import FAKE_2027_CSV, calendar_state

pytestmark = pytest.mark.django_db


def test_importing_a_new_year(role_users: dict[str, object]) -> None:
    # Given no 2027 schedule and a valid file
    admin = cast(User, role_users["system_admin"])
    parsed = parse_import_file(FAKE_2027_CSV.encode())
    # When the system administrator imports it
    result = calendar_import(
        rows=parsed.rows,
        year=2027,
        source=Source.IMPORT,
        acting_user=admin,
        note="test data",
    )
    # Then 2027 is loaded with exactly those days
    assert result == CalendarImportResult(
        year=2027,
        source="import",
        holidays=3,
        workdays=1,
        replaced_holidays=0,
        replaced_workdays=0,
        previous_source="",
    )
    record = CalendarYear.objects.get(year=2027)
    assert (record.source, record.loaded_by, record.note) == ("import", admin, "test data")
    assert list(
        CalendarDay.objects.filter(date__year=2027).values_list("date", "kind", "name", "name_en")
    ) == [
        (date(2027, 1, 1), "holiday", "元旦", "New Year's Day"),
        (date(2027, 1, 2), "holiday", "元旦", "New Year's Day"),
        (date(2027, 1, 3), "holiday", "元旦", "New Year's Day"),
        (date(2027, 1, 9), "workday", "元旦", "New Year's Day"),
    ]
    # And the import is audited with its counts
    audit = AuditRecord.objects.get(action="calendar.import")
    assert (audit.actor_username, audit.object_type, audit.object_id, audit.outcome) == (
        "t_system_admin",
        "calendar_year",
        "2027",
        "success",
    )
    assert audit.details == {
        "source": "import",
        "previous_source": "",
        "holidays": 3,
        "workdays": 1,
        "replaced_holidays": 0,
        "replaced_workdays": 0,
        "note": "test data",
    }
    # And deadlines use it at once
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)


def test_reimporting_a_year_replaces_all_its_entries_and_nothing_else(role_users: dict[str, object]) -> None:
    # Given the seeded 2026 (33 holidays, 6 make-up working days)
    before_2025 = list(CalendarDay.objects.filter(date__year=2025).values_list("date", "kind"))
    rows = [ImportRow(date=date(2026, 10, 1), kind=DayKind.HOLIDAY, name="国庆节", name_en="National Day")]
    # When an administrator replaces it with one day
    result = calendar_import(
        rows=rows, year=2026, source=Source.ADMIN, acting_user=cast(User, role_users["system_admin"])
    )
    # Then the old 2026 entries are gone, 2025 is untouched, and the counts say so
    assert (result.replaced_holidays, result.replaced_workdays, result.previous_source) == (
        33,
        6,
        "chinese-calendar",
    )
    assert list(CalendarDay.objects.filter(date__year=2026).values_list("date", flat=True)) == [
        date(2026, 10, 1)
    ]
    assert list(CalendarDay.objects.filter(date__year=2025).values_list("date", "kind")) == before_2025
    assert CalendarYear.objects.get(year=2026).source == "admin"
    assert add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 12)  # Saturday 10 Oct no longer a workday


def test_invalid_rows_change_nothing(role_users: dict[str, object]) -> None:
    state = calendar_state()
    audits = AuditRecord.objects.count()
    rows = [
        ImportRow(date=date(2026, 10, 1), kind="holiday"),
        ImportRow(date=date(2026, 10, 8), kind="workday", line=3),  # a Thursday
    ]
    with pytest.raises(CalendarImportError) as raised:
        calendar_import(
            rows=rows, year=2026, source=Source.IMPORT, acting_user=cast(User, role_users["system_admin"])
        )
    assert [issue.code for issue in raised.value.issues] == ["workday_on_weekday"]
    assert calendar_state() == state
    assert AuditRecord.objects.count() == audits


def test_an_unknown_source_is_refused(role_users: dict[str, object]) -> None:
    state = calendar_state()
    rows = parse_import_file(FAKE_2027_CSV.encode()).rows
    with pytest.raises(CalendarImportError) as raised:
        calendar_import(
            rows=rows, year=2027, source="guess", acting_user=cast(User, role_users["system_admin"])
        )
    assert [issue.code for issue in raised.value.issues] == ["bad_source"]
    assert calendar_state() == state


@pytest.mark.parametrize(
    "role", ["resident", "window_clerk", "security_officer", "auditor", "department_admin"]
)
def test_only_system_administrators_may_import(role_users: dict[str, object], role: str) -> None:
    # Given a caller without Permission.MANAGE_SYSTEM
    state = calendar_state()
    rows = parse_import_file(FAKE_2027_CSV.encode()).rows
    # When they call the action directly
    with pytest.raises(PermissionDenied):
        calendar_import(rows=rows, year=2027, source=Source.IMPORT, acting_user=cast(User, role_users[role]))
    # Then nothing changed and the refusal is audited
    assert calendar_state() == state
    denial = AuditRecord.objects.get(action="permission.denied")
    assert (denial.actor_username, denial.object_type, denial.object_id, denial.outcome) == (
        f"t_{role}",
        "calendar_year",
        "2027",
        "denied",
    )


def test_the_command_line_operator_is_named_in_the_audit() -> None:
    rows = parse_import_file(FAKE_2027_CSV.encode()).rows
    calendar_import(rows=rows, year=2027, source=Source.IMPORT, acting_user=None, actor_label="cli:ops")
    audit = AuditRecord.objects.get(action="calendar.import")
    assert (audit.actor_id, audit.actor_username) == (None, "cli:ops")
    assert CalendarYear.objects.get(year=2027).loaded_by is None
