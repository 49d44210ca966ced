"""System checks of the operations settings (``onewindow check-deploy`` runs them with the database)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from onewindow.core.guards import demo_account_count, demo_accounts_message


@register(Tags.security, deploy=True)
def demo_accounts_check(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """A deployment must hold no demo account, whatever ONEWINDOW_ENV says (``check --deploy --database``)."""
    if not databases:
        return []
    count = demo_account_count()
    if not count:
        return []
    return [
        Error(
            demo_accounts_message(count),
            hint="Demo data is for ONEWINDOW_ENV=demo only: use a fresh database or delete those users.",
            id="onewindow.E001",
        )
    ]


@register(Tags.security)
def metrics_allowed_ips_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """Every ONEWINDOW_METRICS_ALLOWED_IPS entry must be an address or a network (CIDR)."""
    errors: list[CheckMessage] = []
    for entry in settings.METRICS_ALLOWED_IPS:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            errors.append(
                Error(
                    f"ONEWINDOW_METRICS_ALLOWED_IPS: {entry!r} is not an IP address or network",
                    hint="Use addresses or CIDR networks separated by commas, e.g. 127.0.0.1,10.0.0.0/8",
                    id="onewindow.E002",
                )
            )
    return errors
