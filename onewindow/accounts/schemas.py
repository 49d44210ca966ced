"""API request and response bodies for sign-in and the caller's profile."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema


class ErrorOut(Schema):
    code: str = Field(description="Stable machine-readable error code", examples=["invalid_credentials"])
    message: str = Field(description="The message in the request's language")
    message_zh: str
    message_en: str
    field: str | None = Field(None, description="The request field the refusal concerns, when there is one")


class FieldProblemOut(Schema):
    field: str
    code: str
    message_zh: str
    message_en: str


class ErrorWithFieldsOut(ErrorOut):
    """A refusal; ``errors`` lists each problem of the request (422 ``form_invalid`` and the like)."""

    errors: list[FieldProblemOut] = Field(
        default_factory=list, description="Per problem: `{field, code, message_zh, message_en}`"
    )


class TokenIn(Schema):
    username: str = Field(max_length=150)
    password: str = Field(max_length=4096)
    otp: str | None = Field(
        default=None, max_length=12, description="Current 6-digit TOTP code; required for staff accounts"
    )


class TokenOut(Schema):
    token: str = Field(description="Bearer token: send as `Authorization: Bearer <token>`")
    expires_at: datetime


class RoleOut(Schema):
    role: str
    department_code: str | None = None


class MeOut(Schema):
    username: str
    kind: str
    display_name: str
    roles: list[RoleOut]
