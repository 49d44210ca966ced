"""``manage.py calendar_import FILE [--year N] [--dry-run]`` (what ``onewindow calendar import`` calls)."""

from __future__ import annotations

from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from onewindow.audit.models import AuditRecord
from onewindow.workcalendar.models import CalendarDay, CalendarYear
from onewindow.workcalendar.tests.helpers import FAKE_2027_CSV, calendar_state

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("calendar_import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_a_file(tmp_path: Path) -> None:
    path = tmp_path / "2027.csv"
    path.write_text(FAKE_2027_CSV, encoding="utf-8")
    out, _err = _run(str(path), "--year", "2027", "--note", "made-up test data")
    assert out == (
        "2027: 3 天法定节假日 / holidays, 1 天调休上班日 / make-up working days\n"
        "已载入，替换原有 0 条 / loaded, replacing 0 previous entries\n"
    )
    assert CalendarYear.objects.get(year=2027).note == "made-up test data"
    assert CalendarDay.objects.filter(date__year=2027).count() == 4
    audit = AuditRecord.objects.get(action="calendar.import")
    assert audit.actor_username.startswith("cli")
    assert audit.object_id == "2027"


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    state = calendar_state()
    path = tmp_path / "2027.csv"
    path.write_text(FAKE_2027_CSV, encoding="utf-8")
    out, _err = _run(str(path), "--dry-run")
    assert out == (
        "2027: 3 天法定节假日 / holidays, 1 天调休上班日 / make-up working days\n"
        "试运行，未作更改 / dry run: nothing changed\n"
    )
    assert calendar_state() == state
    assert not AuditRecord.objects.filter(action="calendar.import").exists()


def test_problems_are_printed_by_line_and_nothing_changes(tmp_path: Path) -> None:
    state = calendar_state()
    path = tmp_path / "bad.csv"
    path.write_text(
        "date,kind,name\n2027-01-01,holiday,\n2027-01-04,workday,\n2027-13-01,holiday,\n", "utf-8"
    )
    err = StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command("calendar_import", str(path), stdout=StringIO(), stderr=err)
    assert err.getvalue().splitlines() == [
        "第 3 行：2027-01-04 是星期一，本来就是工作日，不能登记为调休上班日（workday）。",
        "  Line 3: 2027-01-04 is a Monday, already a working day; a workday entry must fall on a Saturday "
        "or Sunday.",
        "第 4 行：日期“2027-13-01”无效，应为 YYYY-MM-DD 格式的有效日期。",
        "  Line 4: date '2027-13-01' is not a valid date in the form YYYY-MM-DD.",
    ]
    assert calendar_state() == state


def test_year_option_must_match_the_file(tmp_path: Path) -> None:
    state = calendar_state()
    path = tmp_path / "2027.json"
    path.write_text('{"year": 2027, "holidays": [{"date": "2027-01-01", "name": "元旦"}]}', "utf-8")
    with pytest.raises(CommandError):
        call_command("calendar_import", str(path), "--year", "2028", stdout=StringIO(), stderr=StringIO())
    assert calendar_state() == state
    _run(str(path))
    assert list(CalendarDay.objects.filter(date__year=2027).values_list("date", flat=True)) == [
        date(2027, 1, 1)
    ]


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        call_command("calendar_import", str(tmp_path / "nope.csv"), stdout=StringIO(), stderr=StringIO())
