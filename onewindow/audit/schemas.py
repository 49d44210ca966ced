"""API bodies of the audit trail."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from onewindow.audit.selectors import PAGE_SIZE, AuditFilters

MAX_PAGE_SIZE = 500


class AuditErrorOut(Schema):
    code: str
    message: str
    message_zh: str
    message_en: str


class AuditFiltersIn(Schema):
    actor: str = Field("", max_length=150, description="actor username, exact")
    action: str = Field("", max_length=100, description="action prefix, e.g. `login.`")
    object_type: str = Field("", max_length=100)
    object_id: str = Field("", max_length=100)
    outcome: str = Field("", pattern="^(|success|denied|failure)$")
    date_from: date | None = Field(None, description="local date, inclusive")
    date_to: date | None = Field(None, description="local date, inclusive")
    request_id: str = Field("", max_length=64)

    def filters(self) -> AuditFilters:
        return AuditFilters(
            actor=self.actor.strip(),
            action=self.action.strip(),
            object_type=self.object_type.strip(),
            object_id=self.object_id.strip(),
            outcome=self.outcome,
            date_from=self.date_from,
            date_to=self.date_to,
            request_id=self.request_id.strip(),
        )


class AuditRecordsQuery(AuditFiltersIn):
    before_seq: int | None = Field(None, ge=1, description="cursor: records with a lower seq")
    limit: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class AuditRecordOut(Schema):
    seq: int
    recorded_at: datetime
    actor_id: int | None
    actor_username: str
    actor_role: str
    department_code: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    client_address: str
    request_id: str
    channel: str
    details: dict[str, Any]
    prev_hash: str
    hash: str = Field(description="SM3 of the record's canonical JSON (docs/audit.md)")


class AuditRecordsOut(Schema):
    items: list[AuditRecordOut]
    next_before_seq: int | None = Field(description="pass as `before_seq` for the next, older page")


class AuditVerifyOut(Schema):
    intact: bool
    checked: int
    first_seq: int | None
    head_seq: int | None
    anchor_seq: int | None
    problem_kind: str = Field(description="altered | missing | link_broken | truncated; empty when intact")
    problem_seq: int | None
    problem: str
    problem_zh: str
    problem_en: str
