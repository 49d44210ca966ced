"""``manage.py registry_import persons|entities FILE``: bulk import into the population or legal-entity
register.

Options: ``--batch-size N`` (rows per transaction, default 5000), ``--workers N`` (checking processes,
default one per core, 0 = none), ``--rejects PATH`` (default ``FILE.rejects.csv``), ``--user USERNAME`` (the
staff member doing it, who needs ``HANDLE_TASKS`` in PSB or AMR; default: the platform itself),
``--no-progress`` (no progress bar on stderr, for logs).

Exit codes: 0 every row of the file is in (or the file was imported in full before: nothing added); 3 the
import finished but this run refused some rows (see the rejects file); 1 the file was refused as a whole
(missing, not UTF-8, wrong header, being imported by another run), the user may not import, or the import
failed part-way (run the same command again to resume). docs/registry.md, "Bulk import".
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from onewindow.accounts.models import User
from onewindow.core.context import RequestContext, reset_request_context, set_request_context
from onewindow.core.errors import RuleViolation
from onewindow.registry.importing import (
    DEFAULT_BATCH_SIZE,
    MAX_BATCH_SIZE,
    ImportResult,
    entities_import,
    persons_import,
)

EXIT_REJECTS = 3


class _ProgressBar:
    """A progress bar by bytes on ``stream`` (rich when it is installed, else a line every 5 %)."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.bar: Any = None
        self.task: Any = None
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )
        except ImportError:  # pragma: no cover - rich is normally installed
            percent = done * 100 // total if total else 100
            if percent // 5 != self.shown // 5:
                self.shown = percent
                self.stream.write(f"{self.label}: {percent}%\n")
            return
        if self.bar is None:
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total, completed=done)
        else:
            self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def summary(result: ImportResult) -> str:
    """The bilingual report of a run."""
    if result.already_imported:
        return (
            f"该文件已完整导入过（导入作业 #{result.job_id}：导入 {result.imported_total} 行，拒绝 "
            f"{result.rejected_total} 行），本次未添加任何数据。\n"
            f"This file was imported in full before (import job #{result.job_id}: "
            f"{result.imported_total} rows imported, {result.rejected_total} refused); nothing was added."
        )
    lines = [
        f"导入作业 #{result.job_id} 完成：本次导入 {result.imported_now} 行，拒绝 {result.rejected_now} 行，"
        f"用时 {result.seconds:.1f} 秒（{result.rows_per_second:.0f} 行/秒）。",
        f"Import job #{result.job_id} finished: {result.imported_now} rows imported and "
        f"{result.rejected_now} refused in this run, in {result.seconds:.1f} s "
        f"({result.rows_per_second:.0f} rows/s).",
    ]
    if result.resumed_from_line is not None:
        lines.append(
            f"从第 {result.resumed_from_line} 行之后续传；作业合计导入 {result.imported_total} 行，拒绝 "
            f"{result.rejected_total} 行。 / Resumed after line {result.resumed_from_line}; the job imported "
            f"{result.imported_total} rows and refused {result.rejected_total} in all."
        )
    if result.rejected_total:
        lines.append(f"被拒绝的行及原因 / Refused rows and reasons: {result.rejects_path}")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Bulk import of persons or legal entities from CSV / 从 CSV 批量导入户籍人员或市场主体"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["persons", "entities"], help="persons (户籍) or entities (法人)")
        parser.add_argument("file", help="the CSV file (UTF-8, header row)")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"rows per transaction (default {DEFAULT_BATCH_SIZE})",
        )
        parser.add_argument(
            "--workers", type=int, default=None, help="checking processes (default: one per core; 0: none)"
        )
        parser.add_argument("--rejects", default=None, help="the rejects file (default FILE.rejects.csv)")
        parser.add_argument("--user", default="", help="username of the staff member importing")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["batch_size"] <= MAX_BATCH_SIZE:
            message = (
                f"--batch-size 应为 1–{MAX_BATCH_SIZE} / --batch-size must be between 1 and {MAX_BATCH_SIZE}"
            )
            raise CommandError(message)
        if options["workers"] is not None and options["workers"] < 0:
            message = "--workers 不能为负数 / --workers cannot be negative"
            raise CommandError(message)
        acting_user = None
        if options["user"]:
            acting_user = User.objects.filter(username=options["user"]).first()
            if acting_user is None:
                message = f"用户 {options['user']} 不存在 / No user {options['user']!r}"
                raise CommandError(message)
        run = persons_import if options["kind"] == "persons" else entities_import
        progress = (
            None
            if options["no_progress"]
            else _ProgressBar(getattr(self.stderr, "_out", sys.stderr), options["kind"])
        )
        token = set_request_context(RequestContext(channel="cli"))
        try:
            result = run(
                options["file"],
                acting_user=acting_user,
                batch_size=options["batch_size"],
                workers=options["workers"],
                progress=progress,
                rejects_path=options["rejects"],
            )
        except RuleViolation as refusal:
            raise CommandError(f"{refusal.message_zh}\n{refusal.message_en}") from None
        except PermissionDenied:
            message = (
                "该用户无权导入（须为公安户籍部门或市场监管部门的经办人员）。\n"
                "This user may not import (public-security or market-regulation handlers only)."
            )
            raise CommandError(message) from None
        finally:
            if progress is not None:
                progress.close()
            reset_request_context(token)
        self.stdout.write(summary(result))
        if result.rejected_now:
            message = (
                f"本次有 {result.rejected_now} 行被拒绝，见 {result.rejects_path}。\n"
                f"{result.rejected_now} rows were refused in this run; see {result.rejects_path}."
            )
            raise CommandError(message, returncode=EXIT_REJECTS)
