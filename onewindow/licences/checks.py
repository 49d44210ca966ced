"""System checks of the licence settings (``onewindow check-deploy`` runs the deployment ones)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def public_base_url_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """Every licence PDF carries a QR code to ``PUBLIC_BASE_URL``: in production it must be the platform's
    real https address, set before the first licence is issued (printed links cannot be changed later)."""
    if settings.ONEWINDOW_ENV != "production":
        return []
    parts = urlsplit(settings.PUBLIC_BASE_URL)
    if parts.scheme == "https" and parts.hostname not in {None, "", "localhost", "127.0.0.1", "::1"}:
        return []
    return [
        Error(
            f"Licence QR codes would point to {settings.PUBLIC_BASE_URL!r}.",
            hint="Set ONEWINDOW_PUBLIC_BASE_URL to the platform's public https address (docs/licences.md).",
            id="licences.E001",
        )
    ]
