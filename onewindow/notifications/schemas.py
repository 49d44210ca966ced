"""API bodies for notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Field, Schema


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    title_en: str
    body: str
    body_en: str
    link: str
    object_type: str
    object_id: str
    created_at: datetime
    read_at: datetime | None = None


class NotificationReadIn(Schema):
    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        max_length=500, description="Ids of your own notifications to mark read"
    )


class NotificationReadOut(Schema):
    updated: int = Field(description="How many notifications changed from unread to read")


class NotificationErrorOut(Schema):
    code: str
    message: str
    message_zh: str = ""
    message_en: str = ""
