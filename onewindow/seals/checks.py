"""System checks of the seal settings (``onewindow check-deploy`` runs the deployment ones)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def seal_master_key_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """A production deployment must set its own seal master key, not the one derived from the secret key."""
    if not settings.SEAL_MASTER_KEY_DEVELOPMENT_DEFAULT or settings.ONEWINDOW_ENV != "production":
        return []
    return [
        Error(
            "The seals' private keys would be encrypted under the development default master key.",
            hint="Set ONEWINDOW_SEAL_MASTER_KEY or ONEWINDOW_SEAL_MASTER_KEY_FILE (docs/signatures.md).",
            id="seals.E001",
        )
    ]
