"""System checks of the message log settings (``onewindow check-deploy`` runs the deployment ones)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def messagelog_key_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """A production deployment must set its own payload key, not the one derived from the secret key."""
    if not settings.MESSAGELOG_KEYS_DEVELOPMENT_DEFAULT or settings.ONEWINDOW_ENV != "production":
        return []
    return [
        Error(
            "Logged exchange payloads would be encrypted under the development default key. / "
            "交换报文日志的载荷将以开发用默认密钥加密。",
            hint="Set ONEWINDOW_MESSAGELOG_KEY or ONEWINDOW_MESSAGELOG_KEY_FILE (docs/messagelog.md).",
            id="messagelog.E001",
        )
    ]
