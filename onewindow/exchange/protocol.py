"""The exchange's signing protocol (docs/exchange.md, "Signing"): pure functions, no Django.

A request carries seven headers; the signature covers a canonical string of the method, the path and
six of them, one per line::

    OW-EXCHANGE-1 REQUEST
    POST
    /exchange/v1/CN/GOV/<member>/<subsystem>/<service>
    <X-OW-Client>
    <X-OW-Timestamp>
    <X-OW-Nonce>
    <X-OW-Digest>
    <X-OW-Purpose>
    <X-OW-Key-Id>

The response carries the same headers (the provider's subsystem as client, its own timestamp, nonce and
key) and ``X-OW-Exchange-Id``; its canonical string starts ``OW-EXCHANGE-1 RESPONSE``, has the status
instead of the method, and ends with the request's nonce and the exchange id, so a response cannot be
replayed as the answer to another request. Header values are ASCII; the purpose is percent-encoded UTF-8.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from onewindow.crypto.sm3 import sm3_hex

VERSION = "OW-EXCHANGE-1"
PATH_PREFIX = "/exchange/v1/"
COUNTRY = "CN"
MEMBER_CLASS = "GOV"

CLIENT = "X-OW-Client"
TIMESTAMP = "X-OW-Timestamp"
NONCE = "X-OW-Nonce"
DIGEST = "X-OW-Digest"
PURPOSE = "X-OW-Purpose"
KEY_ID = "X-OW-Key-Id"
SIGNATURE = "X-OW-Signature"
EXCHANGE_ID = "X-OW-Exchange-Id"
SIGNED_HEADERS = (CLIENT, TIMESTAMP, NONCE, DIGEST, PURPOSE, KEY_ID)
ALL_HEADERS = (*SIGNED_HEADERS, SIGNATURE)

NONCE_BYTES = 16
NONCE_MAX_LENGTH = 64
PURPOSE_MAX_LENGTH = 300
TIMESTAMP_WINDOW = dt.timedelta(minutes=5)


def subsystem_path(member_code: str, subsystem_code: str) -> str:
    """``CN/GOV/{member code}/{subsystem code}``: a subsystem's identifier."""
    return f"{COUNTRY}/{MEMBER_CLASS}/{member_code}/{subsystem_code}"


def service_path(member_code: str, subsystem_code: str, service_code: str) -> str:
    return f"{subsystem_path(member_code, subsystem_code)}/{service_code}"


def parse_subsystem_path(value: str) -> tuple[str, str] | None:
    """(member code, subsystem code) of ``CN/GOV/{member}/{subsystem}``, or None."""
    parts = value.split("/")
    if len(parts) != 4 or parts[0] != COUNTRY or parts[1] != MEMBER_CLASS or not parts[2] or not parts[3]:
        return None
    return parts[2], parts[3]


def parse_service_path(value: str) -> tuple[str, str, str] | None:
    parts = value.split("/")
    if len(parts) != 5 or parts[0] != COUNTRY or parts[1] != MEMBER_CLASS or not all(parts[2:]):
        return None
    return parts[2], parts[3], parts[4]


def body_digest(body: bytes) -> str:
    """``SM3=<hex>``: the SM3 (GB/T 32905) digest of the exact body bytes."""
    return "SM3=" + sm3_hex(body)


def new_nonce() -> str:
    return base64.urlsafe_b64encode(os.urandom(NONCE_BYTES)).rstrip(b"=").decode("ascii")


def nonce_is_valid(nonce: str) -> bool:
    """At least 16 bytes of base64url (unpadded) and no longer than 64 characters."""
    if not nonce or len(nonce) > NONCE_MAX_LENGTH:
        return False
    try:
        raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
    except (binascii.Error, ValueError):
        return False
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    return len(raw) >= NONCE_BYTES and set(nonce) <= allowed


def format_timestamp(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with milliseconds: ``2026-05-01T08:00:00.000Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_timestamp(value: str) -> dt.datetime | None:
    """An RFC 3339 timestamp with a zone (``Z`` or an offset), or None."""
    if not value or len(value) > 40 or "T" not in value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def timestamp_is_fresh(value: str, now: dt.datetime) -> bool:
    moment = parse_timestamp(value)
    return moment is not None and abs(now - moment) <= TIMESTAMP_WINDOW


def encode_purpose(purpose: str) -> str:
    return urllib.parse.quote(purpose, safe="")


def decode_purpose(value: str) -> str:
    return urllib.parse.unquote(value, errors="strict")


@dataclass(frozen=True)
class SignedHeaders:
    client: str
    timestamp: str
    nonce: str
    digest: str
    purpose: str  # as sent: percent-encoded
    key_id: str

    def lines(self) -> list[str]:
        return [self.client, self.timestamp, self.nonce, self.digest, self.purpose, self.key_id]

    def as_headers(self, signature: bytes) -> dict[str, str]:
        return {
            CLIENT: self.client,
            TIMESTAMP: self.timestamp,
            NONCE: self.nonce,
            DIGEST: self.digest,
            PURPOSE: self.purpose,
            KEY_ID: self.key_id,
            SIGNATURE: base64.b64encode(signature).decode("ascii"),
        }

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> SignedHeaders | None:
        """None when any signed header is missing or empty (the request is "unsigned")."""
        values = [headers.get(name, "") or "" for name in SIGNED_HEADERS]
        if not all(values):
            return None
        return cls(*values)


def request_canonical(method: str, path: str, headers: SignedHeaders) -> bytes:
    return "\n".join([f"{VERSION} REQUEST", method.upper(), path, *headers.lines()]).encode("utf-8")


def response_canonical(
    status: int, path: str, headers: SignedHeaders, *, request_nonce: str, exchange_id: str
) -> bytes:
    lines = [f"{VERSION} RESPONSE", str(status), path, *headers.lines(), request_nonce, exchange_id]
    return "\n".join(lines).encode("utf-8")


def decode_signature(value: str) -> bytes | None:
    if not value or len(value) > 200:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
