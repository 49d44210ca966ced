"""Structured JSON logs (structlog) with the request id bound to every event."""

from __future__ import annotations

import logging
from typing import Any

import structlog
from django.conf import settings

from onewindow.core.context import current_request_context


def _add_request_context(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    context = current_request_context()
    event_dict.setdefault("request_id", context.request_id)
    return event_dict


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_request_context,
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]


def configure_structlog() -> None:
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


class StructuredFormatter(structlog.stdlib.ProcessorFormatter):
    """Formats both structlog and plain stdlib records as JSON (or console lines in development)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        renderer: Any = (
            structlog.dev.ConsoleRenderer(colors=False)
            if getattr(settings, "LOG_FORMAT", "json") == "console"
            else structlog.processors.JSONRenderer(ensure_ascii=False)
        )
        kwargs.setdefault("processor", renderer)
        kwargs.setdefault("foreign_pre_chain", _shared_processors())
        super().__init__(*args, **kwargs)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)


__all__ = ["StructuredFormatter", "configure_structlog", "get_logger", "logging"]
