"""Checking a schedule file (docs/calendar-import.md): every problem named with its line, in both languages.

The State Council publishes one notice per year listing the statutory holidays and the weekend days made
working days; an import file holds exactly one such year.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from onewindow.workcalendar.importing import (
    MAX_FILE_BYTES,
    ImportRow,
    check_rows,
    detect_format,
    parse_import_file,
    rows_to_csv,
)
from onewindow.workcalendar.tests.helpers import FAKE_2027_CSV


def _codes(content: str | bytes, **kwargs: object) -> list[tuple[str, int | None, str]]:
    raw = content.encode() if isinstance(content, str) else content
    parsed = parse_import_file(raw, **kwargs)  # type: ignore[arg-type]
    return [(issue.code, issue.line, issue.entry) for issue in parsed.issues]


def test_a_valid_csv_is_read_with_names_completed() -> None:
    parsed = parse_import_file(FAKE_2027_CSV.encode(), filename="2027.csv")
    assert parsed.ok
    assert (parsed.file_format, parsed.year, parsed.holiday_count, parsed.workday_count) == (
        "csv",
        2027,
        3,
        1,
    )
    assert parsed.rows[0] == ImportRow(
        date=date(2027, 1, 1), kind="holiday", name="元旦", name_en="New Year's Day", line=2, entry=""
    )
    assert parsed.rows[3].line == 5


def test_csv_with_bom_name_en_column_blank_lines_and_a_holiday_on_a_weekend() -> None:
    content = "\ufeffdate,kind,name,name_en\n\n2027-10-02,holiday,国庆节,\n2027-10-09,Workday,,Special\n"
    parsed = parse_import_file(content.encode())
    assert parsed.issues == ()
    assert [(row.date, row.kind, row.name, row.name_en, row.line) for row in parsed.rows] == [
        (date(2027, 10, 2), "holiday", "国庆节", "National Day", 3),  # Saturday holiday: fine
        (date(2027, 10, 9), "workday", "", "Special", 4),
    ]


def test_a_valid_json_file() -> None:
    content = json.dumps(
        {
            "year": 2027,
            "holidays": [{"date": "2027-01-01", "name": "元旦"}, "2027-01-02"],
            "workdays": [{"date": "2027-01-09", "name": "New Year's Day"}],
        }
    )
    parsed = parse_import_file(content.encode(), filename="2027.json")
    assert parsed.ok
    assert [(row.date.isoformat(), row.kind, row.name, row.name_en, row.entry) for row in parsed.rows] == [
        ("2027-01-01", "holiday", "元旦", "New Year's Day", "holidays[0]"),
        ("2027-01-02", "holiday", "", "", "holidays[1]"),
        ("2027-01-09", "workday", "元旦", "New Year's Day", "workdays[0]"),
    ]


def test_format_detection() -> None:
    assert detect_format(b"{}", "") == "json"
    assert detect_format(b"\xef\xbb\xbf  {", "") == "json"
    assert detect_format(b"date,kind,name", "") == "csv"
    assert detect_format(b"{", "x.CSV") == "csv"
    assert detect_format(b"date", "x.json") == "json"


def test_bad_date_names_the_line() -> None:
    parsed = parse_import_file(
        b"date,kind,name\n2027-01-01,holiday,\n2027-02-30,holiday,\n20270301,holiday,\n"
    )
    assert [(issue.code, issue.line) for issue in parsed.issues] == [("bad_date", 3), ("bad_date", 4)]
    assert parsed.issues[0].message_zh == "第 3 行：日期“2027-02-30”无效，应为 YYYY-MM-DD 格式的有效日期。"
    assert (
        parsed.issues[0].message_en == "Line 3: date '2027-02-30' is not a valid date in the form YYYY-MM-DD."
    )
    assert not parsed.ok


def test_date_outside_the_year() -> None:
    content = "date,kind,name\n2027-01-01,holiday,\n2028-01-01,holiday,\n"
    parsed = parse_import_file(content.encode())
    assert [(issue.code, issue.line) for issue in parsed.issues] == [("date_outside_year", 3)]
    assert parsed.issues[0].message_en == "Line 3: date 2028-01-01 is not in 2027 (one year per file)."
    assert (
        parsed.issues[0].message_zh == "第 3 行：日期 2028-01-01 不在 2027 年内（每个文件只能包含一个年度）。"
    )
    # With an explicit year every date of another year is refused
    assert _codes(FAKE_2027_CSV, year=2026) == [
        ("date_outside_year", 2, ""),
        ("date_outside_year", 3, ""),
        ("date_outside_year", 4, ""),
        ("date_outside_year", 5, ""),
    ]


def test_workday_on_a_weekday_is_an_error_but_a_holiday_on_a_weekend_is_fine() -> None:
    content = "date,kind,name\n2027-01-02,holiday,元旦\n2027-01-04,workday,\n"
    parsed = parse_import_file(content.encode())
    assert [(issue.code, issue.line) for issue in parsed.issues] == [("workday_on_weekday", 3)]
    assert parsed.issues[0].message_en == (
        "Line 3: 2027-01-04 is a Monday, already a working day; a workday entry must fall on a Saturday "
        "or Sunday."
    )
    assert parsed.issues[0].message_zh == (
        "第 3 行：2027-01-04 是星期一，本来就是工作日，不能登记为调休上班日（workday）。"
    )


def test_duplicate_dates_name_both_lines() -> None:
    content = "date,kind,name\n2027-01-01,holiday,\n2027-01-02,holiday,\n2027-01-01,holiday,\n"
    parsed = parse_import_file(content.encode())
    assert [(issue.code, issue.line) for issue in parsed.issues] == [("duplicate_date", 4)]
    assert parsed.issues[0].message_en == "Line 4: date 2027-01-01 is listed twice (also at line 2)."
    assert parsed.issues[0].message_zh == "第 4 行：日期 2027-01-01 重复（已出现在第 2 行）。"


def test_unknown_kind() -> None:
    parsed = parse_import_file(b"date,kind,name\n2027-01-01,holiday,\n2027-01-02,day-off,\n")
    assert [(issue.code, issue.line) for issue in parsed.issues] == [("unknown_kind", 3)]
    assert parsed.issues[0].message_en == "Line 3: kind 'day-off' is not known; use holiday or workday."
    assert parsed.issues[0].message_zh == (
        "第 3 行：类型“day-off”无效，应为 holiday（法定节假日）或 workday（调休上班日）。"
    )


def test_bad_header_columns_encoding_size_and_names() -> None:
    assert _codes("day,type\n2027-01-01,holiday\n") == [("bad_header", 1, "")]
    assert _codes("date,kind,name\n2027-01-01\n2027-01-02,holiday,a,b\n2027-01-03,holiday\n") == [
        ("bad_columns", 2, ""),
        ("bad_columns", 3, ""),
    ]
    assert _codes(b"date,kind,name\n2027-01-01,holiday,\xe5\x85\x83\xff\n") == [("bad_encoding", 2, "")]
    assert _codes(b"date,kind,name\n" + b"x" * MAX_FILE_BYTES) == [("file_too_large", None, "")]
    assert _codes(f"date,kind,name\n2027-01-01,holiday,{'元' * 101}\n") == [("name_too_long", 2, "")]
    assert _codes("date,kind,name\n") == [("empty", None, "")]
    assert _codes("date,kind,name\n", year=2027) == [("empty", None, "")]
    assert _codes(FAKE_2027_CSV, year=1999) == [("bad_year", None, "")]
    assert _codes("date,kind,name\n1999-01-01,holiday,\n") == [("bad_year", None, "")]


def test_json_errors_name_the_entry() -> None:
    assert _codes("{not json", filename="x.json") == [("bad_json", None, "")]
    assert _codes("[]", filename="x.json") == [("bad_json", None, "")]
    assert _codes('{"holidays": []}', filename="x.json") == [("bad_year", None, "")]
    assert _codes('{"year": 2027, "holidays": ["2027-01-01"]}', year=2028) == [("year_mismatch", None, "")]
    content = json.dumps(
        {
            "year": 2027,
            "holidays": [{"date": "2027-01-01"}, {"name": "x"}, {"date": "2026-12-31"}],
            "workdays": [{"date": "2027-01-05"}, {"date": "2027-01-01"}],
        }
    )
    parsed = parse_import_file(content.encode())
    assert [(issue.code, issue.entry) for issue in parsed.issues] == [
        ("bad_json", "holidays[1]"),
        ("date_outside_year", "holidays[2]"),
        ("workday_on_weekday", "workdays[0]"),
        ("workday_on_weekday", "workdays[1]"),  # 2027-01-01 is a Friday
        ("duplicate_date", "workdays[1]"),
    ]
    assert parsed.issues[4].message_en == (
        "Entry workdays[1]: date 2027-01-01 is listed twice (also at entry holidays[0])."
    )
    assert _codes('{"year": 2027, "holidays": {}}') == [("empty", None, ""), ("bad_json", None, "holidays")]


def test_check_rows_is_the_rule_set_the_action_applies() -> None:
    rows = [
        ImportRow(date=date(2027, 1, 1), kind="holiday"),
        ImportRow(date=date(2027, 1, 4), kind="workday"),
        ImportRow(date=date(2027, 1, 9), kind="bonus"),
    ]
    assert [issue.code for issue in check_rows(rows, 2027)] == ["workday_on_weekday", "unknown_kind"]


def test_rows_to_csv_round_trips() -> None:
    parsed = parse_import_file(FAKE_2027_CSV.encode())
    again = parse_import_file(rows_to_csv(parsed.rows).encode())
    assert [(row.date, row.kind, row.name, row.name_en) for row in again.rows] == [
        (row.date, row.kind, row.name, row.name_en) for row in parsed.rows
    ]


@pytest.mark.parametrize("kind", ["holiday", "workday"])
def test_every_issue_is_bilingual(kind: str) -> None:
    parsed = parse_import_file(f"date,kind,name\n2027-01-0x,{kind},\n".encode())
    assert all(issue.message_zh.startswith("第 2 行：") for issue in parsed.issues)
    assert all(issue.message_en.startswith("Line 2: ") for issue in parsed.issues)


def test_the_documented_2026_example_is_the_official_schedule() -> None:
    # docs/calendar-import.md ships the State Council's 2026 schedule as the example file
    from django.conf import settings

    from onewindow.workcalendar.seed import package_days

    text = (settings.BASE_DIR / "docs" / "calendar-import.md").read_text(encoding="utf-8")
    example = text.split("## Example: 2026", 1)[1].split("```csv\n", 1)[1].split("```", 1)[0]
    parsed = parse_import_file(example.encode(), filename="2026.csv")
    assert parsed.ok
    assert [(row.date, row.kind, row.name, row.name_en) for row in parsed.rows] == [
        (day.date, day.kind, day.name, day.name_en) for day in package_days(2026)
    ]
