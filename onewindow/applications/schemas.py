"""API bodies for applications and reviews (shapes fixed by issue #3)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema


class OnBehalfOfIn(Schema):
    name: str = Field(max_length=200)
    identifier: str = Field(
        max_length=40, description="Resident ID number (GB 11643) or credit code (GB 32100)"
    )
    kind: str = Field(default="resident", description="resident | enterprise")
    mobile: str = Field(default="", max_length=20)
    id_checked: bool = Field(default=False, description="Window clerk: the ID document was checked")
    consent_method: str = Field(default="", description="Village agent: signed_form | in_person")
    consent_reference: str = Field(default="", max_length=200)
    consent_material_id: str | None = Field(default=None, description="Signed consent form (a material id)")


class ApplicationIn(Schema):
    service_code: str = Field(max_length=40)
    form: dict[str, Any] = Field(default_factory=dict)
    materials: list[str] = Field(default_factory=list, max_length=100, description="Material ids")
    on_behalf_of: OnBehalfOfIn | None = None


class SubmittedOut(Schema):
    tracking_no: str
    status: str
    due_date: date | None
    receipt_url: str


class ApplicationSummaryOut(Schema):
    tracking_no: str
    service_code: str
    service_name: str
    status: str
    channel: str
    submitted_at: datetime
    due_date: date | None


class TimelineOut(Schema):
    at: datetime
    status: str
    department_code: str
    note: str
    note_en: str
    kind: str


class DocumentOut(Schema):
    id: int
    kind: str
    name: str
    url: str
    content_type: str


class ApplicationOut(Schema):
    tracking_no: str
    service_code: str
    service_name: str
    status: str
    channel: str
    applicant_name: str
    submitted_at: datetime
    accepted_at: datetime | None
    due_date: date | None
    statutory_due_date: date | None
    timeline: list[TimelineOut]
    pending_departments: list[str]
    decision: dict[str, Any] | None
    documents: list[DocumentOut]
    row_version: int


class SupplementIn(Schema):
    form: dict[str, Any] | None = None
    materials: list[str] = Field(default_factory=list, max_length=100)


class WithdrawIn(Schema):
    reason: str = Field(default="", max_length=2000)


class RefuseIn(Schema):
    reason: str = Field(max_length=2000)
    reason_en: str = Field(default="", max_length=2000)


class SupplementItemIn(Schema):
    field: str = Field(default="", max_length=200)
    material_code: str = Field(default="", max_length=40)
    reason: str = Field(default="", max_length=2000)
    reason_en: str = Field(default="", max_length=2000)


class RequestSupplementIn(Schema):
    items: list[SupplementItemIn] = Field(default_factory=list, max_length=100)


class SupplementItemOut(Schema):
    field: str
    material_code: str
    reason: str
    reason_en: str


class SupplementRequestOut(Schema):
    id: int
    requested_at: datetime
    items: list[SupplementItemOut]


class ReviewIn(Schema):
    score: int = Field(ge=1, le=5, description="5 very satisfied … 1 very dissatisfied")
    comment: str = Field(default="", max_length=2000)


class ReviewOut(Schema):
    score: int
    level: str
    comment: str
    created_at: datetime
    follow_up_due_date: date | None


class ReviewStatOut(Schema):
    code: str
    name: str
    name_en: str
    count: int
    average_score: float
    bad_count: int
    bad_rate: float


class FollowUpOut(Schema):
    id: int
    tracking_no: str
    department_code: str
    score: int
    comment: str
    due_date: date
    status: str
    response: str
    answered_at: datetime | None


class FollowUpAnswerIn(Schema):
    response: str = Field(max_length=4000)


class FieldErrorOut(Schema):
    field: str
    code: str
    message_zh: str
    message_en: str


class FormErrorOut(Schema):
    code: str
    message: str
    message_zh: str
    message_en: str
    errors: list[FieldErrorOut] = Field(default_factory=list)
