"""``manage.py audit_purge --before DATE``: delete audit records older than the retention period.

Dates inside ``settings.AUDIT_RETENTION_DAYS`` (at least 180 days) are refused. The date is a local date
(``TIME_ZONE``); records recorded before its midnight are deleted from the start of the chain.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from onewindow.audit.actions import AuditRetentionError, audit_purge
from onewindow.core.context import RequestContext, reset_request_context, set_request_context


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        message = f"日期格式应为 YYYY-MM-DD / the date must be YYYY-MM-DD, got {value!r}"
        raise CommandError(message) from None


class Command(BaseCommand):
    help = "Delete audit records older than the retention period / 清除超过保存期的审计记录"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--before", type=_date, required=True, help="local date YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        before = timezone.make_aware(dt.datetime.combine(options["before"], dt.time.min))
        token = set_request_context(RequestContext(channel="cli"))
        try:
            result = audit_purge(before=before, acting_user=None)
        except AuditRetentionError as error:
            raise CommandError(f"{error.message_zh}\n{error.message_en}") from None
        finally:
            reset_request_context(token)
        if result.deleted == 0:
            self.stdout.write("没有可清除的审计记录。/ No audit records to purge.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"已清除审计记录 #{result.from_seq}-#{result.to_seq}（{result.deleted} 条），"
                f"清除记录为 #{result.record.seq if result.record else '-'}。\n"
                f"Purged audit records #{result.from_seq}-#{result.to_seq} ({result.deleted}); "
                f"purge record #{result.record.seq if result.record else '-'}."
            )
        )
