"""``manage.py calendar_import FILE [--year N] [--dry-run]`` (also ``onewindow calendar import FILE``).

Loads one year's holidays and make-up working days from a CSV or JSON file (docs/calendar-import.md),
replacing that year's entries. Every problem is printed with its line, in Chinese and English; the exit
status is non-zero when the file was refused.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from onewindow.workcalendar.actions import calendar_import
from onewindow.workcalendar.importing import (
    MAX_FILE_BYTES,
    CalendarImportError,
    ImportIssue,
    parse_import_file,
)
from onewindow.workcalendar.models import Source


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry for the uid (containers)
        return "cli"


class Command(BaseCommand):
    help = "Load one year's statutory holidays and make-up working days from a CSV or JSON file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV (date,kind,name) or JSON file, UTF-8, one year")
        parser.add_argument("--year", type=int, default=None, help="The year the file must describe")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and report; change nothing"
        )
        parser.add_argument(
            "--note", default="", help="Recorded with the year, e.g. the State Council notice"
        )

    def _report(self, issues: tuple[ImportIssue, ...]) -> CommandError:
        for issue in issues:
            self.stderr.write(f"{issue.message_zh}\n  {issue.message_en}")
        return CommandError(
            f"日历文件有 {len(issues)} 处问题，未作任何更改 / {len(issues)} problem(s), nothing changed"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            with path.open("rb") as handle:
                content = handle.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            message = f"无法读取文件 / cannot read {path}: {error.strerror}"
            raise CommandError(message) from error
        parsed = parse_import_file(content, filename=path.name, year=options["year"])
        if not parsed.ok or parsed.year is None:
            raise self._report(parsed.issues)
        summary = (
            f"{parsed.year}: {parsed.holiday_count} 天法定节假日 / holidays, "
            f"{parsed.workday_count} 天调休上班日 / make-up working days"
        )
        if options["dry_run"]:
            self.stdout.write(f"{summary}\n试运行，未作更改 / dry run: nothing changed")
            return
        try:
            result = calendar_import(
                rows=parsed.rows,
                year=parsed.year,
                source=Source.IMPORT,
                acting_user=None,
                note=options["note"],
                actor_label=_operator(),
            )
        except CalendarImportError as error:
            raise self._report(error.issues) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"{summary}\n已载入，替换原有 {result.replaced_holidays + result.replaced_workdays} 条 / "
                f"loaded, replacing {result.replaced_holidays + result.replaced_workdays} previous entries"
            )
        )
