"""``manage.py exchange_conformance [URL] [--system CODE] [--service CODE] [--query JSON] [--record]``
``[--json]`` (``onewindow exchange conformance …``): check an external system's endpoint against the
exchange's rules (docs/exchange.md, "Conformance check"). One line per check with pass or fail and the reason
in Chinese and English; exit 0 only when every check passed. ``--record`` (with ``--system``) records the
result on the catalog's register as the exchange (audited ``catalog.system_conformance_recorded``), which a
planned system's approval needs. Without URL the system's registered endpoint is checked.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from onewindow.catalog.models import InformationSystem
from onewindow.core.context import RequestContext, reset_request_context, set_request_context
from onewindow.core.errors import RuleViolation
from onewindow.exchange.conformance import DEFAULT_TIMEOUT, conformance_check, system_conformance_run


class Command(BaseCommand):
    help = "Check an external system's exchange endpoint / 检测外部系统交换接口的符合性"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "url", nargs="?", default="", help="the endpoint's base URL (default: --system's)"
        )
        parser.add_argument("--system", default="", help="the information system (subsystem) code")
        parser.add_argument("--service", default="", help="the service code to call (default: from OpenAPI)")
        parser.add_argument("--query", default="", help="the query to send, as a JSON object")
        parser.add_argument("--record", action="store_true", help="record the result (needs --system)")
        parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
        parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per request")

    def handle(self, *args: Any, **options: Any) -> None:
        system = None
        if options["system"]:
            system = (
                InformationSystem.objects.select_related("department")
                .filter(code=options["system"].strip().upper())
                .first()
            )
            if system is None:
                message = f"没有信息系统 {options['system']} / No information system {options['system']!r}"
                raise CommandError(message)
        if options["record"] and system is None:
            raise CommandError("--record 须同时指定 --system / --record needs --system")
        url = options["url"] or (system.endpoint if system else "")
        if not url:
            raise CommandError("须给出接口地址或 --system / Give the endpoint URL or --system")
        query = None
        if options["query"]:
            try:
                query = json.loads(options["query"])
            except ValueError:
                query = None
            if not isinstance(query, dict):
                raise CommandError("--query 须为 JSON 对象 / --query must be a JSON object")
        token = set_request_context(RequestContext(channel="cli"))
        try:
            if options["record"] and system is not None:
                recorded, report = system_conformance_run(
                    acting_user=None,
                    system=system,
                    url=url,
                    service_code=options["service"],
                    query=query,
                    timeout=options["timeout"],
                )
            else:
                report = conformance_check(
                    url,
                    system=system,
                    service_code=options["service"],
                    query=query,
                    timeout=options["timeout"],
                )
        except RuleViolation as error:
            raise CommandError(f"{error.code}: {error.message_zh} / {error.message_en}") from None
        finally:
            reset_request_context(token)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
        else:
            for line in report.lines():
                self.stdout.write(line)
            if options["record"] and system is not None:
                self.stdout.write(
                    f"已记录到信息系统目录 / Recorded on the systems register: {recorded.code} "
                    f"conformance_passed={recorded.conformance_passed}"
                )
        if not report.passed:
            sys.exit(1)
