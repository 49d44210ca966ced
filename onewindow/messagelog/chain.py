"""The message log's hash chain: SM3 (GB/T 32905-2016) over a canonical JSON form of each record, the same
construction as the audit chain (onewindow/audit/chain.py), over this log's own fields."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from onewindow.crypto.sm3 import sm3_hex

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "seq",
    "recorded_at",
    "exchange_id",
    "service",
    "consumer",
    "provider",
    "consumer_subsystem_code",
    "provider_subsystem_code",
    "consumer_department_code",
    "provider_department_code",
    "purpose",
    "request_digest",
    "response_digest",
    "request_signature",
    "response_signature",
    "status",
    "error_code",
    "started_at",
    "duration_ms",
    "payload_policy",
    "request_size",
    "response_size",
    "request_payload_state",
    "response_payload_state",
    "prev_hash",
)
_DATETIMES = ("recorded_at", "started_at")


def timestamp(value: dt.datetime) -> str:
    """UTC with microseconds: what both databases store, so the hash survives a round trip."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The hashed fields as JSON-ready values (datetimes as UTC strings); also the archive's line format."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    for name in _DATETIMES:
        value = payload[name]
        if isinstance(value, dt.datetime):
            payload[name] = timestamp(value)
    return payload


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    return json.dumps(
        canonical_fields(fields), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


def record_hash(fields: dict[str, Any]) -> str:
    return sm3_hex(canonical_bytes(fields))


def duration_text(duration_ms: float) -> str:
    """The duration as stored and hashed: milliseconds with three decimals (microsecond resolution)."""
    return f"{max(duration_ms, 0.0):.3f}"
