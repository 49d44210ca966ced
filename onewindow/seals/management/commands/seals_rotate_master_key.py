"""``manage.py seals_rotate_master_key [--batch-size N]``: re-encrypt the seals' private keys, then the
exchange's subsystem private keys (``exchange.keystore.exchange_keys_reseal``), under the current master key.

Run after making a new master key current in ``ONEWINDOW_SEAL_MASTER_KEY_FILE`` (the old one still in the
ring); drop the old key only once this reports 0 (docs/signatures.md, "Master key rotation").
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from onewindow.core.context import RequestContext, reset_request_context, set_request_context
from onewindow.exchange.keystore import ExchangeKeyError, exchange_keys_reseal
from onewindow.seals.keystore import SealKeyDecryptionError, current_master_key_id, master_key_rotate


class Command(BaseCommand):
    help = "Re-encrypt seal and exchange keys under the current master key / 用当前主密钥重新加密私钥"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=100, help="keys per transaction (default 100)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            message = "--batch-size 至少为 1 / --batch-size must be at least 1"
            raise CommandError(message)
        token = set_request_context(RequestContext(channel="cli"))
        try:
            changed = master_key_rotate(batch_size=options["batch_size"])
            resealed = exchange_keys_reseal(batch_size=options["batch_size"])
        except (SealKeyDecryptionError, ExchangeKeyError) as error:
            message = f"轮换中止，已完成的批次保留。/ Rotation stopped; finished batches are kept.\n{error}"
            raise CommandError(message) from None
        finally:
            reset_request_context(token)
        self.stdout.write(
            f"{changed} 个私钥已用主密钥 {current_master_key_id()} 重新加密 / "
            f"{changed} keys re-encrypted under master key {current_master_key_id()}"
        )
        self.stdout.write(f"{resealed} 个交换私钥已重新加密 / {resealed} exchange keys re-encrypted")
