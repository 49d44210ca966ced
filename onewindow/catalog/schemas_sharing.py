"""API request and response bodies of sharing requests, grants, data quality and the systems register."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema


class ShareRequestIn(Schema):
    items: list[str] = Field(
        description="Names of the data items needed (信息项), a subset of the resource's"
    )
    purpose: str = Field(description="What the data will be used for (使用用途)")
    legal_basis: str = Field(description="The law, regulation or policy the use rests on (法律依据)")
    until: date | None = Field(description="The last day the data is needed (at most five years)")
    consumer: str = Field(
        "", description="The requesting department's code; default: the one department the caller administers"
    )
    system: str = Field("", description="Code of one of the consumer's information systems, if for a system")


class ShareRequestCreatedOut(Schema):
    id: int
    status: str = Field(description="pending (waits for the provider) or auto_approved (granted at once)")
    due_date: date | None = Field(description="The provider's answer deadline (pending requests)")


class DecideIn(Schema):
    approve: bool
    reason: str = Field("", description="Required when refusing")


class ReasonIn(Schema):
    reason: str


class ShareRequestOut(Schema):
    id: int
    resource: str
    version: int
    provider: str
    consumer: str
    system: str | None
    items: list[str]
    purpose: str
    legal_basis: str
    until: date
    status: str
    requested_at: datetime
    requested_by: str
    due_date: date | None
    light: str | None = Field(description="green, yellow or red while pending")
    decided_at: datetime | None
    decision_reason: str
    grant: int | None


class GrantOut(Schema):
    id: int
    request: int
    resource: str
    version: int
    provider: str
    consumer: str
    system: str | None
    items: list[str]
    expires_on: date
    status: str = Field(description="active or revoked")
    active: bool = Field(description="Not revoked and not expired")
    granted_at: datetime
    granted_by: str | None = Field(description="None: granted at once (unconditional items)")
    revoked_at: datetime | None
    revoke_reason: str


class ValidityOut(Schema):
    measure: str = Field(description="id_number or credit_code")
    checked: int
    valid: int
    share: float
    measured_at: datetime


class QualityOut(Schema):
    resource: str
    update_cycle: str
    freshness: str = Field(description="fresh, due, overdue or not_applicable")
    last_update: datetime | None
    next_update_due: date | None
    validity: ValidityOut | None


class SystemIn(Schema):
    department: str
    code: str
    name: str
    name_en: str = ""
    state: str = Field(description="built, under_construction or planned")
    owner: str
    vendor: str = ""
    endpoint: str = Field("", description="The exchange endpoint (https://…)")
    provides: list[str] = Field(default_factory=list, description="Resource codes the system provides")
    consumes: list[str] = Field(default_factory=list, description="Resource codes the system consumes")
    interconnection: str = Field("not_connected", description="connected, connecting or not_connected")


class ConformanceIn(Schema):
    passed: bool
    endpoint: str
    report: dict[str, Any] = Field(default_factory=dict)


class SystemOut(Schema):
    id: int
    code: str
    department: str
    name: str
    name_en: str
    state: str
    owner: str
    vendor: str
    endpoint: str
    provides: list[str]
    consumes: list[str]
    interconnection: str
    approval: str = Field(description="not_required, pending or approved")
    approved_at: datetime | None
    conformance_passed: bool | None
    conformance_checked_at: datetime | None
    approval_blockers: list[dict[str, str]] = Field(
        description="Why a pending planned system cannot be approved yet (bilingual)"
    )
