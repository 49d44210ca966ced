"""API bodies of publish/subscribe (/api/v1/exchange/deliveries, /api/v1/exchange/subscriptions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema


class DeliveryOut(Schema):
    event_id: str = Field(description="The outbox event's id: the idempotency key of consumers")
    topic: str
    key: str = Field(description="What the event is about: a credit code, or a person's blind index")
    subscription: str
    subscriber: str = Field(description="The subscribing department's code")
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    delivered_at: datetime | None


class SubscriptionIn(Schema):
    department: str = Field(description="The subscribing department's code")
    code: str = Field(description="2-60 of a-z, 0-9 and -, unique")
    name: str
    topics: list[str] = Field(description="e.g. entity.registered, or a family: entity.*")
    mode: Literal["push", "pull"]
    filters: list[dict[str, Any]] = Field(
        default_factory=list,
        description='All must hold: [{"field": "division_code", "op": "prefix", "value": "3501"}]; '
        "op is eq, in or prefix, field a top-level payload field",
    )
    webhook_url: str = Field("", description="push: where events are POSTed (https)")
    system: str = Field("", description="Code of one of the department's information systems")
    max_attempts: int | None = Field(None, description="Attempts before a delivery is a dead letter (1-50)")


class SubscriptionOut(Schema):
    code: str
    department: str
    system: str | None
    name: str
    topics: list[str]
    filters: list[dict[str, Any]]
    mode: str
    webhook_url: str
    max_attempts: int
    active: bool
    pending: int
    dead: int


class SubscriptionCreatedOut(SubscriptionOut):
    secret: str = Field(description="push: the HMAC-SM3 webhook key, shown only now")


class SecretOut(Schema):
    secret: str


class ActiveIn(Schema):
    active: bool


class DeadLetterOut(Schema):
    event_id: str
    topic: str
    key: str
    attempts: int
    last_error: str
    event_created_at: datetime
    dead_at: datetime | None


class ReplayIn(Schema):
    event_ids: list[str] | None = Field(None, description="Dead letters to replay; omitted: all of them")


class CountOut(Schema):
    count: int


class PullIn(Schema):
    limit: int = Field(100, ge=1, le=500)


class EventOut(Schema):
    event_id: str
    topic: str
    key: str
    occurred_at: datetime
    published_at: datetime
    subscription: str
    attempt: int
    payload: dict[str, Any]


class AckIn(Schema):
    event_ids: list[str] = Field(max_length=500)
