"""API request and response bodies of the resource catalog."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema


class ResourceSummaryOut(Schema):
    """One resource in a list (issue #7)."""

    code: str = Field(description="Resource code: classification code / sequence", examples=["101001/000001"])
    name: str = Field(examples=["人口基础信息"])
    provider_code: str = Field(
        description="The provider department's unified social credit code (信息资源提供方代码)",
        examples=["11350100003620010C"],
    )
    sharing_type: str = Field(
        description="unconditional, conditional or not_shared", examples=["conditional"]
    )
    open_type: str = Field(description="open, conditional or not_open", examples=["not_open"])
    update_cycle: str = Field(
        description="real_time, daily, weekly, monthly, quarterly, half_yearly, yearly or irregular",
        examples=["real_time"],
    )
    version: int = Field(description="The current version's number", examples=[1])


class DataItemOut(Schema):
    name: str
    name_en: str
    data_type: str = Field(description="C, N, Y, D, T, L, M, G, B, I or F (2017 catalog guide)")
    length: int | None
    sharing_type: str


class ClassificationOut(Schema):
    code: str = Field(examples=["101"])
    kind: str = Field(description="1 base, 2 thematic, 3 departmental")
    name: str
    name_en: str
    department_code: str | None = Field(
        None, description="For a department's item of the departmental catalog"
    )


class VersionSummaryOut(Schema):
    number: int
    published_on: date
    change_note: str


class ResourceDetailOut(ResourceSummaryOut):
    """The full core metadata of one version (GB/T 21063.3), with its data items and the history."""

    status: str = Field(description="active or withdrawn")
    catalog: str = Field(description="1 base, 2 thematic, 3 departmental")
    classification_code: str = Field(examples=["101001"])
    classification: ClassificationOut = Field(description="The catalog item (类 + 项) the code falls under")
    provider_department: str = Field(description="The provider's department code", examples=["PSB"])
    provider_name: str
    name_en: str
    abstract: str
    abstract_en: str
    format: str
    sharing_condition: str
    sharing_method: str
    open_condition: str
    published_on: date = Field(description="This version's publication date")
    published_at: datetime
    change_note: str
    related_codes: list[str]
    themes: list[str] = Field(description="Thematic items the resource is also listed under")
    data_items: list[DataItemOut]
    current_version: int
    versions: list[VersionSummaryOut] = Field(description="Every version, newest first")


class DataItemIn(Schema):
    name: str | None = None
    name_en: str = ""
    data_type: str | None = None
    length: int | None = None
    sharing_type: str | None = Field(None, description="Default: the resource's")
    description: str = ""


class MetadataIn(Schema):
    """Core metadata. Missing mandatory fields are refused one by one (422 ``metadata_invalid``)."""

    name: str | None = None
    name_en: str | None = None
    abstract: str | None = None
    abstract_en: str | None = None
    format: str | None = Field(
        None, description="database, spreadsheet, document, image, streaming, self_describing, api or other"
    )
    sharing_type: str | None = None
    sharing_condition: str | None = Field(None, description="Conditions, or the basis for not sharing")
    sharing_method: str | None = Field(None, description="platform_api, platform_exchange, file or other")
    open_type: str | None = None
    open_condition: str | None = None
    update_cycle: str | None = None
    data_items: list[DataItemIn] | None = None
    related_codes: list[str] | None = None
    theme_codes: list[str] | None = None

    def metadata(self) -> dict[str, Any]:
        """The fields the caller sent (for a new version: only these change)."""
        return self.model_dump(
            exclude_unset=True, exclude={"classification_code", "provider_department", "change_note"}
        )


class ResourceCreateIn(MetadataIn):
    provider_department: str = Field(description="The provider's department code", examples=["PSB"])
    classification_code: str = Field(description="类 项 目 [细目], digits", examples=["101002"])


class VersionIn(MetadataIn):
    change_note: str = Field("", description="What changed, for the history")


class WithdrawIn(Schema):
    reason: str
