"""Writing to the outbox (see :mod:`onewindow.outbox.models`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from onewindow.outbox.models import KEY_MAX_LENGTH, OutboxEvent

_TOPIC = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")


def outbox_append(
    *, topic: str, key: str, payload: Mapping[str, Any], occurred_at: datetime | None = None
) -> OutboxEvent:
    """Record a domain event in the caller's transaction (an action's ``transaction.atomic`` block).

    Refuses (``RuntimeError``) outside an atomic block: an event written in its own autocommit could outlive
    a change that later rolls back, or be lost while the change commits. ``occurred_at`` (when the change
    took effect; default now) must be timezone-aware. No audit record of its own: the action that calls it
    audits the change.
    """
    if not transaction.get_connection().in_atomic_block:
        message = (
            "outbox_append must run inside the transaction of the change it records (transaction.atomic)"
        )
        raise RuntimeError(message)
    if not _TOPIC.fullmatch(topic):
        message = f"topic must look like 'person.moved' (lower case, dotted), got {topic!r}"
        raise ValueError(message)
    if not key or len(key) > KEY_MAX_LENGTH:
        message = f"key must be 1-{KEY_MAX_LENGTH} characters"
        raise ValueError(message)
    now = timezone.now()
    if occurred_at is not None and timezone.is_naive(occurred_at):
        message = "occurred_at must be timezone-aware"
        raise ValueError(message)
    return OutboxEvent.objects.create(
        topic=topic,
        key=key,
        payload=dict(payload),
        occurred_at=occurred_at or now,
        created_at=now,
    )
