"""``manage.py seals_init_ca [--name NAME]``: create the platform root certificate (once).

Without it the root is created on first need, when the first seal is issued, named by
``ONEWINDOW_SEAL_CA_NAME``. Prints the SHA-256 fingerprint to publish next to the root's PEM, so that those
who install it as a trust anchor can compare it (docs/signatures.md, "The platform CA").
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from onewindow.core.context import RequestContext, reset_request_context, set_request_context
from onewindow.core.errors import RuleViolation
from onewindow.seals.actions import authority_create


class Command(BaseCommand):
    help = "Create the platform root certificate / 创建平台根证书"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default="", help="common name (default: ONEWINDOW_SEAL_CA_NAME)")

    def handle(self, *args: Any, **options: Any) -> None:
        token = set_request_context(RequestContext(channel="cli"))
        try:
            authority = authority_create(name=options["name"])
        except RuleViolation as error:
            raise CommandError(f"{error.message_zh} / {error.message_en}") from None
        finally:
            reset_request_context(token)
        self.stdout.write(
            f"根证书已创建 / Root certificate created: {authority.name}\n"
            f"SHA-256: {authority.fingerprint_sha256}\n"
            f"valid until / 有效期至: {authority.not_after.isoformat()}"
        )
