"""``manage.py registry_rotate_keys [--batch-size N]``: re-encrypt registry data under the current key.

Run after making a new key current in ``ONEWINDOW_REGISTRY_KEY_FILE`` (old keys still listed); remove an old
key only once this reports 0 values left (docs/registry.md, "Key rotation"). Interrupted runs resume.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from onewindow.core.context import RequestContext, reset_request_context, set_request_context
from onewindow.registry.protection import RegistryDecryptionError, current_key_id, keys_rotate


class Command(BaseCommand):
    help = "Re-encrypt registry data under the current key / 用当前密钥重新加密户籍和法人库数据"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="rows per transaction (default 1000)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            message = "--batch-size 至少为 1 / --batch-size must be at least 1"
            raise CommandError(message)
        token = set_request_context(RequestContext(channel="cli"))
        try:
            changed = keys_rotate(batch_size=options["batch_size"])
        except RegistryDecryptionError as error:
            message = (
                f"密钥轮换中止，已完成的批次保留。/ Rotation stopped; finished batches are kept.\n{error}"
            )
            raise CommandError(message) from None
        finally:
            reset_request_context(token)
        current = current_key_id()
        self.stdout.write(
            self.style.SUCCESS(
                f"已用密钥 {current} 重新加密 {changed} 个值。\n"
                f"Re-encrypted {changed} values under key {current}."
            )
        )
