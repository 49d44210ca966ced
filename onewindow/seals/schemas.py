"""API bodies of the seals endpoints. Public answers carry certificates and public keys, never key refs."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from onewindow.seals.models import RevocationReason


class RootCertificateOut(Schema):
    name: str
    pem: str = Field(description="The root certificate, PEM: install it as the trust anchor")
    fingerprint_sha256: str = Field(
        description="SHA-256 of the DER certificate, hex: compare before installing"
    )
    serial_number: str
    not_before: datetime
    not_after: datetime
    crl_path: str = Field(description="Where the root's CRL (DER) is published")


class RevokedSealOut(Schema):
    department_code: str
    department_name: str
    version: int
    certificate_serial: str = Field(description="Serial number of the seal's X.509 certificate, hex")
    key_fingerprint: str = Field(description="SM3 of the seal's SM2 public key (SubjectPublicKeyInfo), hex")
    revoked_at: datetime
    reason: str
    reason_code: str


class SealPublicOut(Schema):
    """What a verifier needs about one seal version: its keys, certificate and status."""

    department_code: str
    department_name: str
    version: int
    status: str
    key_fingerprint: str
    sm2_public_key_pem: str
    certificate_pem: str
    certificate_serial: str
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None
    revocation_reason: str


class SealOut(SealPublicOut):
    """A seal version as its administrators see it."""

    id: int
    image_source: str
    created_at: datetime
    retired_at: datetime | None


class RevokeIn(Schema):
    reason: str = Field(max_length=1000, description="Why the seal is revoked (required, published)")
    reason_code: RevocationReason = RevocationReason.UNSPECIFIED


class HolderIn(Schema):
    username: str = Field(max_length=150, description="A staff member of the department")


class HolderOut(Schema):
    username: str
    display_name: str
    appointed_at: datetime
    appointed_by: str | None
