"""``manage.py exchange_keys list|issue|revoke`` (``onewindow exchange keys …``): subsystem signing keys from
the command line (docs/exchange.md "Command line").

* ``list [SYSTEM] [--json]`` — every key (of one subsystem), newest first: key id, subsystem, algorithm,
  status, issue/retire/revoke times, certificate serial. Never private keys.
* ``issue SYSTEM [--algorithm SM2-SM3|Ed25519]`` — the subsystem's next key (rotation: the active one is
  retired and still verifies until revoked).
* ``revoke KEY_ID --reason TEXT`` — final and immediate.
* ``register --system CODE --csr FILE [--json]`` — a key the department generated itself, from its PKCS#10
  certificate request (PEM or DER, signed with that key: SM2 with SM3, or Ed25519); the platform root
  certifies it and it becomes the active key (``subsystem_key_register``). No private part is stored.

The same actions as the pages and the API, with their audit records. ``--user USERNAME`` acts as that
account, whose permissions the actions check (its department's administrators, system administrators);
without it the command acts as the system (audited ``system``, channel ``cli``): whoever runs it already
holds the server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet
from django.http import Http404

from onewindow.accounts.models import User
from onewindow.catalog.models import InformationSystem
from onewindow.core.context import RequestContext, reset_request_context, set_request_context
from onewindow.core.errors import RuleViolation
from onewindow.exchange import actions, selectors
from onewindow.exchange.models import KeyAlgorithm, SubsystemKey
from onewindow.exchange.selectors_admin import systems_for_admin

REFUSED = "该用户无权管理此子系统的密钥。/ This user may not manage this subsystem's keys."


def _time(value: Any) -> str | None:
    return value.isoformat() if value else None


def key_row(key: SubsystemKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "subsystem": actions.subsystem_identifier(key.system),
        "system_code": key.system.code,
        "algorithm": key.algorithm,
        "status": key.status,
        "certificate_serial": key.certificate_serial,
        "created_at": _time(key.created_at),
        "retired_at": _time(key.retired_at),
        "revoked_at": _time(key.revoked_at),
        "revoke_reason": key.revoke_reason,
    }


class Command(BaseCommand):
    help = (
        "List, issue (rotate), register and revoke exchange subsystem keys / "
        "列出、签发（轮换）、登记、注销子系统签名密钥"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", default="", help="act as this account (its permissions are checked)")
        commands = parser.add_subparsers(
            dest="operation", required=True, metavar="list|issue|register|revoke"
        )
        listing = commands.add_parser("list", help="list keys (of one subsystem)")
        listing.add_argument("system", nargs="?", default="", help="subsystem (information system) code")
        listing.add_argument("--json", action="store_true", help="one JSON array instead of a table")
        issue = commands.add_parser("issue", help="issue the subsystem's next key (rotation)")
        issue.add_argument("system", help="subsystem (information system) code")
        issue.add_argument("--algorithm", default=KeyAlgorithm.SM2, choices=KeyAlgorithm.values)
        revoke = commands.add_parser("revoke", help="revoke a key at once (final)")
        revoke.add_argument("key_id", help="the key's id (SM3 hex)")
        revoke.add_argument("--reason", required=True, help="why (recorded in the audit trail)")
        register = commands.add_parser(
            "register", help="register the subsystem's own key from its certificate request (CSR)"
        )
        register.add_argument("--system", required=True, help="subsystem (information system) code")
        register.add_argument("--csr", required=True, help="PKCS#10 certificate request file (PEM or DER)")
        register.add_argument("--json", action="store_true", help="print the registered key as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        acting_user = self._user(options["user"])
        token = set_request_context(RequestContext(channel="cli"))
        try:
            handler = {
                "list": self._list,
                "issue": self._issue,
                "register": self._register,
                "revoke": self._revoke,
            }[options["operation"]]
            handler(acting_user, options)
        except PermissionDenied:
            raise CommandError(REFUSED) from None
        except RuleViolation as error:
            raise CommandError(f"{error.code}: {error.message_zh} / {error.message_en}") from None
        finally:
            reset_request_context(token)

    def _user(self, username: str) -> User | None:
        if not username:
            return None
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            message = f"用户 {username} 不存在或已停用 / No active user {username!r}"
            raise CommandError(message)
        return user

    def _system(self, acting_user: User | None, code: str) -> InformationSystem:
        if acting_user is not None:
            try:
                return selectors.system_for_key_admin(acting_user, code)  # refused: PermissionDenied
            except Http404:
                pass
        else:
            system = InformationSystem.objects.select_related("department").filter(code=code).first()
            if system is not None:
                return system
        message = f"没有子系统 {code} / No subsystem {code!r}"
        raise CommandError(message)

    def _keys(self, acting_user: User | None, code: str) -> QuerySet[SubsystemKey]:
        if code:
            system = self._system(acting_user, code)
            keys = (
                selectors.keys_for_admin(acting_user, system)
                if acting_user is not None
                else SubsystemKey.objects.filter(system=system)
            )
        elif acting_user is not None:
            keys = SubsystemKey.objects.filter(system__in=systems_for_admin(acting_user))
        else:
            keys = SubsystemKey.objects.all()
        return keys.select_related("system__department").order_by("system__code", "-created_at", "-id")

    def _list(self, acting_user: User | None, options: dict[str, Any]) -> None:
        rows = [key_row(key) for key in self._keys(acting_user, options["system"])]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        if not rows:
            self.stdout.write("没有密钥 / No keys")
            return
        for row in rows:
            since = row["revoked_at"] or row["retired_at"] or row["created_at"]
            self.stdout.write(
                f"{row['key_id']}  {row['system_code']:<16} {row['algorithm']:<8} {row['status']:<8} {since}"
            )

    def _issue(self, acting_user: User | None, options: dict[str, Any]) -> None:
        system = self._system(acting_user, options["system"])
        key = actions.subsystem_key_issue(
            acting_user=acting_user, system=system, algorithm=options["algorithm"]
        )
        self.stdout.write(
            f"已签发 / Issued {key.algorithm} key {key.key_id} for {actions.subsystem_identifier(system)} "
            f"(certificate {key.certificate_serial})"
        )

    def _revoke(self, acting_user: User | None, options: dict[str, Any]) -> None:
        key_id = options["key_id"]
        key: SubsystemKey | None = None
        if acting_user is not None:
            try:
                key = selectors.key_for_admin(acting_user, key_id)  # refused: PermissionDenied
            except Http404:
                key = None
        else:
            key = SubsystemKey.objects.select_related("system__department").filter(key_id=key_id).first()
        if key is None:
            message = f"没有密钥 {key_id} / No key {key_id!r}"
            raise CommandError(message)
        revoked = actions.subsystem_key_revoke(acting_user=acting_user, key=key, reason=options["reason"])
        self.stdout.write(
            f"已注销 / Revoked key {revoked.key_id} of {actions.subsystem_identifier(key.system)}"
        )

    def _register(self, acting_user: User | None, options: dict[str, Any]) -> None:
        path = Path(options["csr"])
        try:
            request = path.read_bytes()
        except OSError as error:
            message = (
                f"无法读取证书请求文件 {path}（{error.strerror}）/ "
                f"Cannot read the certificate request file {str(path)!r}: {error.strerror}"
            )
            raise CommandError(message) from None
        system = self._system(acting_user, options["system"])
        key = actions.subsystem_key_register(
            acting_user=acting_user, system=system, certificate_request=request
        )
        if options["json"]:
            self.stdout.write(json.dumps(key_row(key), ensure_ascii=False, indent=2))
            return
        self.stdout.write(
            f"已登记 / Registered {key.algorithm} key {key.key_id} for "
            f"{actions.subsystem_identifier(system)} (certificate {key.certificate_serial})"
        )
