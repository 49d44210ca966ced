"""``manage.py messagelog_verify``: check the whole message log (archive segments and live records); exit 0
when intact, 1 when broken. ``onewindow exchange verify-log`` runs this command."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from onewindow.messagelog.verify import DEFAULT_CHUNK_SIZE, message_log_verify


class Command(BaseCommand):
    help = "Verify the exchange message log chain and its archive segments / 校验交换报文日志链及归档段"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="live records read per query"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = message_log_verify(chunk_size=options["chunk_size"])
        if result.intact:
            self.stdout.write(
                self.style.SUCCESS(
                    f"报文日志链完整：已校验 {result.checked} 条记录（{result.segments} 个归档段）。\n"
                    f"Message log intact: {result.checked} records checked "
                    f"({result.segments} archive segments)."
                )
            )
            return
        self.stderr.write(
            self.style.ERROR(
                f"报文日志链已损坏：{result.problem_zh}"
                f"（首个问题记录 #{result.problem_seq}，已校验 {result.checked} 条）。\n"
                f"Message log broken: {result.problem_en} (first broken seq #{result.problem_seq}, "
                f"{result.checked} records checked)."
            )
        )
        sys.exit(1)
