"""SMS senders: the platform calls ``send(mobile, text)`` on the class named by ``ONEWINDOW_SMS_SENDER``.

A deployment plugs in its operator's gateway by writing a class with this interface (with a timeout on the
outbound call) and naming it in the setting. The default only logs, with the number masked.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

import structlog
from django.conf import settings
from django.utils.module_loading import import_string

logger = structlog.get_logger(__name__)


class SmsSender(Protocol):
    def send(self, mobile: str, text: str) -> None: ...


class LogSmsSender:
    """Writes a structured log line instead of sending (the default; no gateway configured)."""

    def send(self, mobile: str, text: str) -> None:
        masked = f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) >= 7 else "****"
        logger.info("sms_logged", mobile=masked, length=len(text))


class MemorySmsSender:
    """Keeps messages in ``outbox`` (tests and demos)."""

    outbox: list[tuple[str, str]] = []

    def send(self, mobile: str, text: str) -> None:
        MemorySmsSender.outbox.append((mobile, text))


@cache
def _sender_class(path: str) -> type[SmsSender]:
    return import_string(path)  # type: ignore[no-any-return]


def sms_sender() -> SmsSender:
    return _sender_class(settings.SMS_SENDER)()
