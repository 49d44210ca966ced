"""Reading and checking a year's schedule file (format: docs/calendar-import.md).

Two forms, one year per file, UTF-8:

* CSV with the header ``date,kind,name`` (an optional fourth column ``name_en``); ``kind`` is ``holiday``
  or ``workday`` (a weekend day made a working day);
* JSON ``{"year": 2027, "holidays": [{"date": ..., "name": ...}], "workdays": [...]}``.

Every problem is reported with the line (CSV) or entry (JSON) it is on, in Chinese and English, so an
administrator can fix the whole file at once. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from onewindow.workcalendar.seed import holiday_name_pair

MAX_FILE_BYTES = 64 * 1024
MIN_YEAR = 2000
MAX_YEAR = 2100
NAME_MAX_LENGTH = 100
KINDS = ("holiday", "workday")
CSV_HEADER = ["date", "kind", "name"]
SATURDAY = 5
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

FileFormat = Literal["csv", "json"]


@dataclass(frozen=True)
class ImportRow:
    """One holiday or make-up working day to load; ``line`` (CSV) or ``entry`` (JSON) says where it was."""

    date: date
    kind: str  # "holiday" | "workday"
    name: str = ""
    name_en: str = ""
    line: int | None = None
    entry: str = ""


@dataclass(frozen=True)
class ImportIssue:
    code: str
    message_zh: str
    message_en: str
    line: int | None = None
    entry: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "line": self.line,
            "entry": self.entry,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


@dataclass(frozen=True)
class ParsedImport:
    file_format: FileFormat
    year: int | None
    rows: tuple[ImportRow, ...]
    issues: tuple[ImportIssue, ...]

    @property
    def ok(self) -> bool:
        return not self.issues and self.year is not None

    @property
    def holiday_count(self) -> int:
        return sum(1 for row in self.rows if row.kind == "holiday")

    @property
    def workday_count(self) -> int:
        return sum(1 for row in self.rows if row.kind == "workday")


class CalendarImportError(Exception):
    """The rows cannot be loaded; ``issues`` says why, line by line."""

    def __init__(self, issues: Sequence[ImportIssue]) -> None:
        super().__init__("; ".join(issue.message_en for issue in issues))
        self.issues = tuple(issues)


def _where(line: int | None, entry: str) -> tuple[str, str]:
    if line is not None:
        return f"第 {line} 行：", f"Line {line}: "
    if entry:
        return f"条目 {entry}：", f"Entry {entry}: "
    return "", ""


def _issue(code: str, zh: str, en: str, *, line: int | None = None, entry: str = "") -> ImportIssue:
    where_zh, where_en = _where(line, entry)
    return ImportIssue(code=code, message_zh=where_zh + zh, message_en=where_en + en, line=line, entry=entry)


def _complete_names(name: str, name_en: str) -> tuple[str, str]:
    """Fill the other language's name of a known holiday ("国庆节" ↔ "National Day")."""
    if name and name_en:
        return name, name_en
    pair = holiday_name_pair(name or name_en) if (name or name_en) else None
    if pair is None:
        return name, name_en
    return pair.zh, pair.en


def _parse_date(text: str, *, line: int | None, entry: str) -> tuple[date | None, ImportIssue | None]:
    if _ISO_DATE.match(text):
        try:
            return date.fromisoformat(text), None
        except ValueError:
            pass
    return None, _issue(
        "bad_date",
        f"日期“{text}”无效，应为 YYYY-MM-DD 格式的有效日期。",
        f"date '{text}' is not a valid date in the form YYYY-MM-DD.",
        line=line,
        entry=entry,
    )


def _year_issue(year: int) -> ImportIssue | None:
    if MIN_YEAR <= year <= MAX_YEAR:
        return None
    return _issue(
        "bad_year",
        f"年份 {year} 超出允许范围（{MIN_YEAR}–{MAX_YEAR}）。",
        f"year {year} is outside the accepted range ({MIN_YEAR}-{MAX_YEAR}).",
    )


def check_rows(rows: Sequence[ImportRow], year: int) -> list[ImportIssue]:
    """The problems that stop ``rows`` from being ``year``'s schedule (empty list: they can be loaded)."""
    issues: list[ImportIssue] = []
    year_problem = _year_issue(year)
    if year_problem is not None:
        issues.append(year_problem)
    if not rows:
        issues.append(
            _issue(
                "empty",
                f"文件中没有 {year} 年的节假日或调休上班日。",
                f"the file lists no holidays or make-up working days for {year}.",
            )
        )
    seen: dict[date, ImportRow] = {}
    for row in rows:
        day = row.date.isoformat()
        if row.kind not in KINDS:
            issues.append(
                _issue(
                    "unknown_kind",
                    f"类型“{row.kind}”无效，应为 holiday（法定节假日）或 workday（调休上班日）。",
                    f"kind '{row.kind}' is not known; use holiday or workday.",
                    line=row.line,
                    entry=row.entry,
                )
            )
        if row.date.year != year:
            issues.append(
                _issue(
                    "date_outside_year",
                    f"日期 {day} 不在 {year} 年内（每个文件只能包含一个年度）。",
                    f"date {day} is not in {year} (one year per file).",
                    line=row.line,
                    entry=row.entry,
                )
            )
        if row.kind == "workday" and row.date.weekday() < SATURDAY:
            issues.append(
                _issue(
                    "workday_on_weekday",
                    f"{day} 是星期{'一二三四五'[row.date.weekday()]}，本来就是工作日，"
                    "不能登记为调休上班日（workday）。",
                    f"{day} is a {row.date.strftime('%A')}, already a working day; a workday entry must "
                    "fall on a Saturday or Sunday.",
                    line=row.line,
                    entry=row.entry,
                )
            )
        if len(row.name) > NAME_MAX_LENGTH or len(row.name_en) > NAME_MAX_LENGTH:
            issues.append(
                _issue(
                    "name_too_long",
                    f"名称超过 {NAME_MAX_LENGTH} 个字符。",
                    f"the name is longer than {NAME_MAX_LENGTH} characters.",
                    line=row.line,
                    entry=row.entry,
                )
            )
        earlier = seen.get(row.date)
        if earlier is not None:
            zh_where, en_where = _where(earlier.line, earlier.entry)
            issues.append(
                _issue(
                    "duplicate_date",
                    f"日期 {day} 重复（已出现在{zh_where.rstrip('：')}）。",
                    f"date {day} is listed twice (also at {en_where.rstrip(': ').lower()}).",
                    line=row.line,
                    entry=row.entry,
                )
            )
        else:
            seen[row.date] = row
    return issues


def _decode(content: bytes) -> tuple[str | None, ImportIssue | None]:
    if len(content) > MAX_FILE_BYTES:
        return None, _issue(
            "file_too_large",
            f"文件超过 {MAX_FILE_BYTES // 1024} KB。",
            f"the file is larger than {MAX_FILE_BYTES // 1024} KB.",
        )
    try:
        return content.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        return None, _issue(
            "bad_encoding",
            "文件不是 UTF-8 编码：此行有无法识别的字节。",
            "the file is not UTF-8: this line has bytes that cannot be decoded.",
            line=line,
        )


def _parse_csv(text: str, year: int | None) -> ParsedImport:
    issues: list[ImportIssue] = []
    candidates: list[ImportRow] = []
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    normalised = [cell.strip().lower() for cell in header or []]
    if normalised not in (CSV_HEADER, [*CSV_HEADER, "name_en"]):
        found = ",".join(header or [])
        issues.append(
            _issue(
                "bad_header",
                f"表头应为 date,kind,name（可加 name_en），实际为“{found}”。",
                f"the header must be date,kind,name (optionally name_en), found '{found}'.",
                line=1,
            )
        )
        return ParsedImport("csv", year, (), tuple(issues))
    for cells in reader:
        line = reader.line_num
        stripped = [cell.strip() for cell in cells]
        if not any(stripped):
            continue
        if not 2 <= len(stripped) <= len(normalised):
            issues.append(
                _issue(
                    "bad_columns",
                    f"应有 2 至 {len(normalised)} 列（date,kind,name），实际为 {len(stripped)} 列。",
                    f"expected 2 to {len(normalised)} columns (date,kind,name), found {len(stripped)}.",
                    line=line,
                )
            )
            continue
        values = dict(zip(normalised, stripped, strict=False))
        row = _row(values.get("date", ""), values.get("kind", ""), values, line=line, entry="", issues=issues)
        if row is not None:
            candidates.append(row)
    return _finish("csv", year, candidates, issues, year_from_rows=year is None)


def _row(
    date_text: str,
    kind_text: str,
    values: dict[str, Any],
    *,
    line: int | None,
    entry: str,
    issues: list[ImportIssue],
) -> ImportRow | None:
    day, problem = _parse_date(date_text, line=line, entry=entry)
    kind = kind_text.strip().lower()
    if problem is not None:
        issues.append(problem)
    if kind not in KINDS:
        issues.append(
            _issue(
                "unknown_kind",
                f"类型“{kind_text}”无效，应为 holiday（法定节假日）或 workday（调休上班日）。",
                f"kind '{kind_text}' is not known; use holiday or workday.",
                line=line,
                entry=entry,
            )
        )
    if day is None or kind not in KINDS:
        return None
    name, name_en = _complete_names(
        str(values.get("name") or "").strip(), str(values.get("name_en") or "").strip()
    )
    return ImportRow(date=day, kind=kind, name=name, name_en=name_en, line=line, entry=entry)


def _finish(
    file_format: FileFormat,
    year: int | None,
    candidates: list[ImportRow],
    issues: list[ImportIssue],
    *,
    year_from_rows: bool,
) -> ParsedImport:
    if year is None and year_from_rows and candidates:
        year = candidates[0].date.year
    if year is not None:
        issues.extend(check_rows(candidates, year))
    elif not issues:
        issues.append(_issue("empty", "文件中没有任何日期。", "the file lists no dates."))
    ordered = sorted(issues, key=lambda issue: (issue.line or 0, issue.entry))
    return ParsedImport(file_format, year, tuple(candidates), tuple(ordered))


def _parse_json(text: str, year: int | None) -> ParsedImport:
    def fail(code: str, zh: str, en: str) -> ParsedImport:
        return ParsedImport("json", year, (), (_issue(code, zh, en),))

    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return fail(
            "bad_json",
            f"JSON 格式错误（第 {error.lineno} 行第 {error.colno} 列）：{error.msg}。",
            f"the JSON is not valid (line {error.lineno}, column {error.colno}): {error.msg}.",
        )
    if not isinstance(data, dict):
        return fail("bad_json", "JSON 顶层应为对象。", "the JSON must be an object at the top level.")
    declared = data.get("year")
    if not isinstance(declared, int) or isinstance(declared, bool):
        return fail("bad_year", "JSON 中缺少整数字段 year。", "the JSON needs an integer field 'year'.")
    if year is not None and declared != year:
        return fail(
            "year_mismatch",
            f"文件中的年份 {declared} 与指定的年份 {year} 不一致。",
            f"the file's year {declared} is not the year given ({year}).",
        )
    issues: list[ImportIssue] = []
    candidates: list[ImportRow] = []
    for key, kind in (("holidays", "holiday"), ("workdays", "workday")):
        entries = data.get(key, [])
        if not isinstance(entries, list):
            issues.append(_issue("bad_json", f"{key} 应为数组。", f"'{key}' must be an array.", entry=key))
            continue
        for index, item in enumerate(entries):
            entry = f"{key}[{index}]"
            values: dict[str, Any] = {"date": item} if isinstance(item, str) else item
            if not isinstance(values, dict) or not isinstance(values.get("date"), str):
                issues.append(
                    _issue(
                        "bad_json",
                        "应为含字符串字段 date 的对象。",
                        "expected an object with a string field 'date'.",
                        entry=entry,
                    )
                )
                continue
            row = _row(values["date"].strip(), kind, values, line=None, entry=entry, issues=issues)
            if row is not None:
                candidates.append(row)
    return _finish("json", declared, candidates, issues, year_from_rows=False)


def detect_format(content: bytes, filename: str = "") -> FileFormat:
    if filename.lower().endswith(".json"):
        return "json"
    if filename.lower().endswith(".csv"):
        return "csv"
    return "json" if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"


def parse_import_file(content: bytes, *, filename: str = "", year: int | None = None) -> ParsedImport:
    """Read and check a schedule file; ``year`` (when given) is the year the file must describe."""
    file_format = detect_format(content, filename)
    text, problem = _decode(content)
    if text is None:
        return ParsedImport(file_format, year, (), (problem,) if problem else ())
    if year is not None and (year_problem := _year_issue(year)) is not None:
        return ParsedImport(file_format, year, (), (year_problem,))
    if file_format == "json":
        return _parse_json(text, year)
    return _parse_csv(text, year)


def rows_to_csv(rows: Sequence[ImportRow]) -> str:
    """The CSV form of ``rows`` (used to write the example file from the package data)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CSV_HEADER, "name_en"])
    for row in sorted(rows, key=lambda item: item.date):
        writer.writerow([row.date.isoformat(), row.kind, row.name, row.name_en])
    return buffer.getvalue()
