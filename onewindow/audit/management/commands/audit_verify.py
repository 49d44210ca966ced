"""``manage.py audit_verify``: check the whole audit chain; exit 0 when intact, 1 when broken.

``onewindow audit verify`` runs this command.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from onewindow.audit.protection import protection_complete
from onewindow.audit.verify import DEFAULT_CHUNK_SIZE, verify_chain


class Command(BaseCommand):
    help = "Verify the audit chain and the latest head anchor / 校验审计记录链及最新锚点"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="records read per query"
        )
        parser.add_argument(
            "--anchor-file", type=Path, default=None, help="anchor file (default: settings.AUDIT_ANCHOR_FILE)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify_chain(chunk_size=options["chunk_size"], anchor_path=options["anchor_file"])
        if not protection_complete():
            self.stderr.write(
                self.style.WARNING(
                    "警告：审计表的防篡改触发器不完整。/ "
                    "Warning: the audit table's protection triggers are incomplete."
                )
            )
        anchor = f"#{result.anchor_seq}" if result.anchor_seq is not None else "-"
        if result.intact:
            self.stdout.write(
                self.style.SUCCESS(
                    f"审计记录链完整：已校验 {result.checked} 条记录，锚点 {anchor}。\n"
                    f"Audit chain intact: {result.checked} records checked, anchor {anchor}."
                )
            )
            return
        self.stderr.write(
            self.style.ERROR(
                f"审计记录链已损坏：{result.problem_zh}（已校验 {result.checked} 条记录）。\n"
                f"Audit chain broken: {result.problem_en} ({result.checked} records checked)."
            )
        )
        sys.exit(1)
