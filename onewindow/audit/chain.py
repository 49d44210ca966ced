"""The audit chain's hash: SM3 (GB/T 32905) over a canonical JSON form of the record."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from cryptography.hazmat.primitives import hashes

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "seq",
    "recorded_at",
    "actor_id",
    "actor_username",
    "actor_role",
    "department_code",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "client_address",
    "request_id",
    "channel",
    "details",
    "prev_hash",
)


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    payload = {name: fields[name] for name in HASHED_FIELDS}
    payload["recorded_at"] = _timestamp(fields["recorded_at"])
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def record_hash(fields: dict[str, Any]) -> str:
    return sm3_hex(canonical_bytes(fields))


def normalise_details(details: dict[str, Any] | None) -> dict[str, Any]:
    """Return details exactly as the JSON column will give them back, so the hash survives a round trip."""
    if not details:
        return {}
    normalised: dict[str, Any] = json.loads(json.dumps(details, default=str, ensure_ascii=False))
    return normalised
