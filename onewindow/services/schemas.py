"""API request and response bodies of the service catalog (public guides and department administration)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema


class ServiceOut(Schema):
    """One published service in a list."""

    code: str = Field(examples=["QYKB"])
    name: str = Field(examples=["企业开办"])
    department_code: str = Field(description="The owning department", examples=["AMR"])
    audience: list[str] = Field(
        description='Who may apply: a list of "resident" and/or "enterprise"',
        examples=[["enterprise", "resident"]],
    )
    kind: str = Field(description='"item" (one service item) or "bundle" (一件事)', examples=["bundle"])
    stage: str = Field(
        description="Maturity stage: emerging, enhanced, interactive, transactional or seamless",
        examples=["seamless"],
    )
    promised_days: int = Field(description="Promised time limit in working days", examples=[3])


class MaterialOut(Schema):
    code: str
    name: str
    name_en: str = ""
    required: bool = True
    copies: int = 1
    shared_resource: str = Field(
        default="", description="The information resource the government holds it as (if any)"
    )
    note: str = ""
    note_en: str = ""
    no_need_to_submit: bool = Field(
        description="True when the government already holds it for the signed-in applicant (免提交)"
    )


class ServiceDetailOut(ServiceOut):
    """A published service's guide and form: the list fields plus everything needed to apply."""

    name_en: str
    version: int = Field(description="The current published version's number")
    category: str
    legal_basis: str
    summary: str
    summary_en: str
    form_schema: dict[str, Any] = Field(description="JSON Schema 2020-12 with x-* UI hints")
    materials: list[MaterialOut]
    statutory_days: int = Field(description="Statutory time limit in working days")
    fee: str = Field(description="Empty: free of charge")
    fee_en: str
    on_site_trips: int
    channels: list[str] = Field(description="web, api, window and/or agent")
    case_type: str = Field(description="GB/T 39046-2020 Table A.6: 1 on the spot, 2 promised, 9 other")
    auto_accept: bool
    department_codes: list[str] = Field(
        description="Every department acting on an application: the owner, or a bundle's components' "
        "departments in order"
    )
    components: list[str] = Field(description="A bundle's component item codes, in order ([] for an item)")


class VersionFieldsIn(Schema):
    """Fields of a version; omitted fields are left as they are."""

    name: str | None = Field(default=None, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    summary: str | None = None
    summary_en: str | None = None
    category: str | None = None
    legal_basis: str | None = None
    audience: list[str] | None = None
    materials: list[dict[str, Any]] | None = None
    statutory_days: int | None = None
    promised_days: int | None = None
    fee: str | None = Field(default=None, max_length=200)
    fee_en: str | None = Field(default=None, max_length=200)
    on_site_trips: int | None = None
    stage: str | None = None
    channels: list[str] | None = None
    case_type: str | None = None
    auto_accept: bool | None = None
    form_schema: dict[str, Any] | None = None
    process_key: str | None = Field(default=None, max_length=80)
    item_codes: list[str] | None = Field(
        default=None, description="Bundles: the component item codes (their current published versions)"
    )


class ServiceCreateIn(VersionFieldsIn):
    code: str = Field(max_length=40, examples=["AMR-GSSL"])
    kind: str = Field(default="item", description='"item" or "bundle"')
    department_code: str = Field(max_length=20)
    business_line_code: str | None = Field(default=None, max_length=20)
    life_event_codes: list[str] = Field(default_factory=list)


class AdminVersionOut(Schema):
    number: int
    status: str = Field(description="draft, published or retired")
    name: str
    name_en: str
    summary: str
    summary_en: str
    category: str
    legal_basis: str
    audience: list[str]
    materials: list[dict[str, Any]]
    statutory_days: int
    promised_days: int
    fee: str
    fee_en: str
    on_site_trips: int
    stage: str
    channels: list[str]
    case_type: str
    auto_accept: bool
    form_schema: dict[str, Any]
    form_schema_merged: bool
    process_key: str
    components: list[str]
    created_at: datetime
    published_at: datetime | None


class AdminServiceOut(Schema):
    code: str
    kind: str
    department_code: str
    business_line_code: str | None
    life_event_codes: list[str]
    current_version: int | None = Field(description="The published version's number, if any")
    versions: list[AdminVersionOut] = Field(description="Newest first")


class AdminServiceSummaryOut(Schema):
    code: str
    kind: str
    department_code: str
    name: str = Field(description="The latest version's name")
    current_version: int | None = Field(description="The published version's number, if any")
    draft_version: int | None = Field(description="The draft's number, if there is one")
