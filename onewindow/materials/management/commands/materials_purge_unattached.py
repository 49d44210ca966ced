"""``manage.py materials_purge_unattached [--days N]``: delete uploads never attached to an application.

Run it daily (cron or a systemd timer). Attached materials are kept with their application.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from onewindow.core.context import RequestContext, reset_request_context, set_request_context
from onewindow.core.errors import RuleViolation
from onewindow.materials.actions import material_purge_unattached

DEFAULT_DAYS = 30


class Command(BaseCommand):
    help = "Delete uploads never attached to an application / 清除未附到申请上的过期上传文件"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=DEFAULT_DAYS,
            help=f"older than this many days (default {DEFAULT_DAYS})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        token = set_request_context(RequestContext(channel="cli"))
        try:
            count = material_purge_unattached(acting_user=None, older_than_days=options["days"])
        except RuleViolation as error:
            raise CommandError(f"{error.message_zh}\n{error.message_en}") from None
        finally:
            reset_request_context(token)
        self.stdout.write(
            self.style.SUCCESS(f"已清除 {count} 个未使用的材料。/ Purged {count} unattached materials.")
        )
