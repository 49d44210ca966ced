"""Schemas of the licences API (/api/v1/licenses/...)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from onewindow.licences.models import RevocationReason


class VerificationOut(Schema):
    """One verification: the same for a number, an uploaded PDF and an uploaded signed JSON."""

    valid: bool = Field(
        description="The signature checks out against the platform's seals and the licence is in force"
    )
    status: Literal["valid", "revoked", "expired"] | None = Field(
        None,
        description="The licence's status now (Beijing date for expiry); null if no licence was identified",
    )
    number: str | None = None
    licence_name: str | None = None
    licence_name_en: str | None = None
    type_code: str | None = Field(None, description="证照类型代码 (docs/licences.md, the type catalogue)")
    issuer: str | None = Field(None, description="Issuing authority")
    issuer_code: str | None = Field(None, description="Issuing authority's unified social credit code")
    holder_masked: str | None = Field(
        None, description="An organisation's name and credit code; a person's name and ID number masked"
    )
    issued_at: date | None = Field(None, description="Issue date (Beijing)")
    valid_until: date | None = Field(None, description="Last valid day; null = long-term")
    algorithm: str | None = Field(None, examples=["SM2-SM3", "PAdES ECDSA-P256-SHA256"])
    digest: str | None = Field(
        None, description="SM3 of the canonical licence JSON (number, JSON), or SHA-256 of the uploaded PDF"
    )
    revoked_at: datetime | None = None
    revocation_reason_code: str | None = None
    reason_code: str | None = Field(
        None, description="Why `valid` is false", examples=["revoked", "pdf_modified"]
    )
    reason: str | None = Field(None, description="The reason in the request's language")
    reason_zh: str | None = None
    reason_en: str | None = None
    verification_url: str | None = Field(None, description="The public verification page of the licence")


class RevokeIn(Schema):
    reason_code: RevocationReason = Field(description="Why (Administrative Licensing Law Arts. 8, 69, 70)")
    reason: str = Field(max_length=1000, description="Recorded in the audit trail")


class LicenceRevokedOut(Schema):
    number: str
    status: str
    revoked_at: datetime | None
    revocation_reason_code: str
    revocation_reason: str
