"""``manage.py exchange_gateway_key show|issue|revoke`` (``onewindow exchange gateway-key …``): the exchange
gateway's own signing key (docs/exchange.md, "The adapter protocol").

* ``show`` — the active key's id and certificate, and the platform root certificate (PEM): what a department
  configures its adapter with (or it fetches ``/api/v1/exchange/meta/gateway/keys``). Issues the first key
  when there is none yet.
* ``issue`` — rotation: a new key; the active one is retired and still verifies until revoked.
* ``revoke KEY_ID --reason TEXT`` — final and immediate.

Acts as the system (audited ``system``, channel ``cli``): whoever runs it already holds the server.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.core.management.base import BaseCommand, CommandError, CommandParser

from onewindow.core.context import RequestContext, reset_request_context, set_request_context
from onewindow.core.errors import RuleViolation
from onewindow.exchange import actions
from onewindow.exchange.adapter import GATEWAY_IDENTITY
from onewindow.exchange.models import GatewayKey


def _pem(certificate_der: bytes) -> str:
    return x509.load_der_x509_certificate(certificate_der).public_bytes(Encoding.PEM).decode("ascii")


class Command(BaseCommand):
    help = "Show, rotate or revoke the exchange gateway's signing key / 查看、轮换、注销交换网关签名密钥"

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="operation", required=True, metavar="show|issue|revoke")
        commands.add_parser("show", help="the active key with its certificate and the platform root (PEM)")
        commands.add_parser("issue", help="a new key; the active one is retired (still verifies)")
        revoke = commands.add_parser("revoke", help="revoke a key at once (final)")
        revoke.add_argument("key_id", help="the key's id (SM3 hex)")
        revoke.add_argument("--reason", required=True, help="why (recorded in the audit trail)")

    def handle(self, *args: Any, **options: Any) -> None:
        token = set_request_context(RequestContext(channel="cli"))
        try:
            if options["operation"] == "show":
                self._show(actions.gateway_key_current())
            elif options["operation"] == "issue":
                key = actions.gateway_key_issue(acting_user=None)
                self.stdout.write(f"已签发 / Issued gateway key {key.key_id} ({GATEWAY_IDENTITY})")
            else:
                revoked = actions.gateway_key_revoke(
                    acting_user=None, key_id=options["key_id"], reason=options["reason"]
                )
                self.stdout.write(f"已注销 / Revoked gateway key {revoked.key_id}")
        except RuleViolation as error:
            raise CommandError(f"{error.code}: {error.message_zh} / {error.message_en}") from None
        finally:
            reset_request_context(token)

    def _show(self, key: GatewayKey) -> None:
        from onewindow.seals.actions import authority_certificate, authority_current

        root = authority_certificate(authority_current()).public_bytes(Encoding.PEM).decode("ascii")
        self.stdout.write(f"identity: {GATEWAY_IDENTITY}")
        self.stdout.write(f"key_id: {key.key_id} ({key.algorithm}, {key.status})")
        self.stdout.write("# gateway certificate / 网关证书")
        self.stdout.write(_pem(bytes(key.certificate_der)).rstrip())
        self.stdout.write("# platform root certificate / 平台根证书 (pin it in the adapter)")
        self.stdout.write(root.rstrip())
