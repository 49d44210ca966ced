"""``manage.py messagelog_archive [--before DATE]``: move older message log records into archive segments.
``onewindow exchange archive-log`` runs this command."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from onewindow.messagelog.archive import message_log_archive


class Command(BaseCommand):
    help = (
        "Archive message log records recorded before DATE (default: ONEWINDOW_MESSAGELOG_LIVE_DAYS ago) "
        "into chained, compressed segments / 将早于指定日期的报文日志记录归档"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--before", default="", help="YYYY-MM-DD (local midnight) or an ISO 8601 time")
        parser.add_argument("--max-records", type=int, default=None, help="most records per segment")

    def handle(self, *args: Any, **options: Any) -> None:
        before: dt.datetime | None = None
        if options["before"]:
            try:
                before = dt.datetime.fromisoformat(options["before"])
            except ValueError:
                message = (
                    "--before 须为日期或 ISO 8601 时间 / --before must be a date or ISO 8601 time: "
                    f"{options['before']!r}"
                )
                raise CommandError(message) from None
            if timezone.is_naive(before):
                before = timezone.make_aware(before)
        segments = message_log_archive(before=before, max_records=options["max_records"])
        records = sum(segment.record_count for segment in segments)
        self.stdout.write(
            self.style.SUCCESS(
                f"已归档 {records} 条记录，{len(segments)} 个归档段。\n"
                f"Archived {records} records into {len(segments)} segments."
            )
        )
        for segment in segments:
            self.stdout.write(
                f"  #{segment.number}: seq {segment.first_seq}-{segment.last_seq} {segment.file_name} "
                f"sm3={segment.file_sm3}"
            )
