"""Schemas of the wallet's API (/api/v1/licenses/mine, .../pdf, .../signed-json, .../shares)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from onewindow.licences.wallet import SHARE_HOURS_MAX, SHARE_NOTE_MAX_LENGTH


class WalletLicenceOut(Schema):
    """One licence of the caller's wallet (revoked and expired ones included)."""

    number: str
    licence_name: str
    licence_name_en: str
    type_code: str
    issuer: str = Field(description="Issuing authority")
    issuer_code: str = Field(description="Issuing authority's unified social credit code")
    holder_name: str
    holder_code: str
    issued_on: date = Field(description="Issue date (Beijing)")
    valid_until: date | None = Field(description="Last valid day; null = long-term")
    status: Literal["valid", "revoked", "expired"] = Field(description="Now (Beijing date for expiry)")
    revoked_at: datetime | None
    revocation_reason_code: str | None
    signed: bool = Field(
        description="False for a licence recorded before signing existed: nothing to download"
    )
    pdf_url: str | None = Field(description="GET: the signed PDF (API path)")
    signed_json_url: str | None = Field(description="GET: the signed JSON (API path)")
    verification_url: str = Field(description="The public verification page of the licence")


class ShareIn(Schema):
    hours: int = Field(ge=1, le=SHARE_HOURS_MAX, description="How long the link works: 1 to 720 hours")
    note: str = Field(
        "", max_length=SHARE_NOTE_MAX_LENGTH, description="Who it is for (only the holder sees it)"
    )


class ShareOut(Schema):
    id: int
    number: str = Field(description="The licence shared")
    note: str
    created_at: datetime
    expires_at: datetime
    open_count: int = Field(description="How often the link's page or PDF was opened")
    last_opened_at: datetime | None


class ShareCreatedOut(ShareOut):
    url: str = Field(description="The link to hand over; shown this once (only its hash is kept)")
