"""``manage.py pubsub_dispatch [--loop] [--broker URL]``: deliver the outbox's events to subscriptions."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from onewindow.pubsub.dispatcher import dispatch_run


class Command(BaseCommand):
    help = "Fan outbox events out to subscriptions and push due webhooks (until idle, or --loop for ever)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running; sleep when idle")
        parser.add_argument("--idle-sleep", type=float, default=0.5, help="seconds to sleep when idle")
        parser.add_argument("--broker", default=None, help="override ONEWINDOW_EXCHANGE_BROKER")

    def handle(self, *args: Any, **options: Any) -> None:
        result = dispatch_run(
            loop=options["loop"], idle_sleep=options["idle_sleep"], broker=options["broker"]
        )
        self.stdout.write(
            f"published {result.published}, ingested {result.ingested}, delivered {result.delivered}, "
            f"failed {result.failed}, dead {result.dead}"
        )
