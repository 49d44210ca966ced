"""``manage.py demo_load``: load (or refresh) the demo dataset and write var/demo-accounts.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from onewindow.core.context import RequestContext, reset_request_context, set_request_context
from onewindow.demo.accounts_file import default_accounts_path
from onewindow.demo.actions import DemoRefusedError, demo_load


class Command(BaseCommand):
    help = (
        "Load the demo city, departments, service points and one account per role (idempotent); "
        "passwords and TOTP secrets go to var/demo-accounts.json (mode 0600)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--accounts-file",
            type=Path,
            default=None,
            help="Where to keep the demo accounts (default: $ONEWINDOW_VAR_DIR/demo-accounts.json).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        accounts_path: Path = options["accounts_file"] or default_accounts_path()
        token = set_request_context(RequestContext(channel="cli"))
        try:
            result = demo_load(accounts_path=accounts_path)
        except DemoRefusedError as error:
            raise CommandError(str(error)) from error
        finally:
            reset_request_context(token)
        summary = (
            f"Demo data: {result.created} created, {result.updated} updated; "
            f"{len(result.accounts)} accounts in {result.accounts_path}"
        )
        self.stdout.write(self.style.SUCCESS(summary) if result.changed else summary + " (nothing changed)")
