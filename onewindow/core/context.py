"""Request context (request id, client address, acting user) carried in context variables.

The audit trail and structured logs read it, so domain code never needs a request object.
"""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RequestContext:
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    client_address: str = ""
    user_agent: str = ""
    channel: str = "system"  # web | api | cli | worker | system


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "onewindow_request_context", default=None
)


def current_request_context() -> RequestContext:
    context = _current.get()
    if context is None:
        context = RequestContext()
        _current.set(context)
    return context


def set_request_context(context: RequestContext) -> contextvars.Token[RequestContext | None]:
    return _current.set(context)


def reset_request_context(token: contextvars.Token[RequestContext | None]) -> None:
    _current.reset(token)
