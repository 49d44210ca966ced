"""API bodies of the message log."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema

from onewindow.messagelog.models import PayloadPolicy
from onewindow.messagelog.selectors import PAGE_SIZE, LogFilters

MAX_PAGE_SIZE = 500


class LogErrorOut(Schema):
    code: str
    message: str
    message_zh: str
    message_en: str


class LogQuery(Schema):
    service: str = Field("", max_length=255, description="service path, exact")
    consumer: str = Field("", max_length=255, description="consumer subsystem path, exact")
    purpose: str = Field("", max_length=200, description="purpose (case tracking number), exact")
    date_from: date | None = Field(None, alias="from", description="local date, inclusive")
    date_to: date | None = Field(None, alias="to", description="local date, inclusive")
    before_seq: int | None = Field(None, ge=1, description="cursor: records with a lower seq")
    limit: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)

    def filters(self) -> LogFilters:
        return LogFilters(
            service=self.service.strip(),
            consumer=self.consumer.strip(),
            purpose=self.purpose.strip(),
            date_from=self.date_from,
            date_to=self.date_to,
        )


class LogRecordOut(Schema):
    """Metadata only: payloads are never in a search result."""

    seq: int
    recorded_at: datetime
    exchange_id: str
    service: str
    consumer: str
    provider: str
    consumer_department_code: str
    provider_department_code: str
    purpose: str
    request_digest: str
    response_digest: str
    request_signature: str
    response_signature: str
    status: int
    error_code: str
    started_at: datetime
    duration_ms: str
    payload_policy: str
    request_size: int | None
    response_size: int | None
    request_payload_state: str
    response_payload_state: str
    prev_hash: str
    record_hash: str


class LogRecordsOut(Schema):
    items: list[LogRecordOut]
    next_before_seq: int | None


class PayloadReadIn(Schema):
    reason: str = Field(
        ..., max_length=500, description="why the payload is needed (recorded in the audit trail)"
    )


class PayloadsOut(Schema):
    seq: int
    request_payload_state: str
    response_payload_state: str
    request_body_base64: str | None
    response_body_base64: str | None


class PolicyIn(Schema):
    policy: PayloadPolicy


class PolicyOut(Schema):
    subsystem_code: str
    policy: str
    updated_at: datetime
    updated_by_username: str
