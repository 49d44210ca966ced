"""Archiving the message log (issue #8 item 3): older records move into chained, compressed segment files
so the live table stays small — X-Road's payload log grows without bound; this one does not.

A segment is a gzip JSON Lines file in default storage (local disk or S3): one line per record, its hashed
fields exactly as hashed plus ``record_hash`` and the still-encrypted payloads (base64) with their key id.
Its :class:`ArchiveSegment` row keeps the file's SHA-256 and SM3, the first/last seq, the hash before the
first record and the last record's hash, and the previous segment's digest; the row's own digest (SM3) is
MAC'd with HMAC-SM3 under a key derived from the payload key. ``verify.message_log_verify`` checks all of it.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import tempfile
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from onewindow.audit.actions import audit_append
from onewindow.core.logging import get_logger
from onewindow.crypto.sm3 import sm3_hasher, sm3_hex
from onewindow.messagelog.actions import lock_chain
from onewindow.messagelog.chain import GENESIS_HASH, HASHED_FIELDS, canonical_fields
from onewindow.messagelog.models import ArchiveSegment, MessageLogRecord
from onewindow.messagelog.protection import current_key_id, segment_mac

if TYPE_CHECKING:
    from onewindow.accounts.models import User

logger = get_logger(__name__)

ARCHIVE_DIRECTORY = "messagelog"
READ_CHUNK = 2000
_LINE_COLUMNS = (*HASHED_FIELDS, "record_hash", "payload_key_id", "request_payload", "response_payload")
SEGMENT_DIGEST_FIELDS = (
    "number",
    "created_at",
    "file_name",
    "file_size",
    "file_sha256",
    "file_sm3",
    "first_seq",
    "last_seq",
    "record_count",
    "first_prev_hash",
    "last_record_hash",
    "prev_segment_digest",
)


def segment_digest(values: dict[str, Any]) -> str:
    """SM3 over the canonical JSON of a segment row's facts (SEGMENT_DIGEST_FIELDS)."""
    payload = {name: values[name] for name in SEGMENT_DIGEST_FIELDS}
    created_at = payload["created_at"]
    if isinstance(created_at, dt.datetime):
        payload["created_at"] = created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return sm3_hex(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8"))


def archive_line(row: dict[str, Any]) -> bytes:
    """One record as an archive line (JSON, UTF-8, newline-terminated)."""
    line = canonical_fields(row)
    line["record_hash"] = row["record_hash"]
    line["payload_key_id"] = row["payload_key_id"]
    for side in ("request_payload", "response_payload"):
        sealed = row[side]
        line[side] = base64.b64encode(bytes(sealed)).decode("ascii") if sealed is not None else None
    return json.dumps(line, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _rows(first_seq: int, last_seq: int) -> Iterator[dict[str, Any]]:
    after = first_seq - 1
    while after < last_seq:
        chunk = list(
            MessageLogRecord.objects.filter(seq__gt=after, seq__lte=last_seq)
            .order_by("seq")
            .values(*_LINE_COLUMNS)[:READ_CHUNK]
        )
        if not chunk:
            return
        yield from chunk
        after = chunk[-1]["seq"]


def _write_segment(handle: IO[bytes], first_seq: int, last_seq: int) -> tuple[int, str, str]:
    """Write records first..last as gzip JSON Lines into ``handle``; (count, first prev_hash, last hash)."""
    count, first_prev, last_hash = 0, "", ""
    # mtime=0: the same records always give the same bytes.
    with gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as compressed:
        for row in _rows(first_seq, last_seq):
            if count == 0:
                first_prev = row["prev_hash"]
            compressed.write(archive_line(row))
            last_hash = row["record_hash"]
            count += 1
    return count, first_prev, last_hash


def _file_digests(handle: IO[bytes]) -> tuple[int, str, str]:
    handle.seek(0)
    sha256, sm3 = hashlib.sha256(), sm3_hasher()
    size = 0
    while block := handle.read(1 << 20):
        sha256.update(block)
        sm3.update(block)
        size += len(block)
    handle.seek(0)
    return size, sha256.hexdigest(), sm3.finalize().hex()


def _archive_one(before: dt.datetime, max_records: int, acting_user: User | None) -> ArchiveSegment | None:
    database = connections[DEFAULT_DB_ALIAS]
    with transaction.atomic():
        lock_chain(database)
        first_seq = MessageLogRecord.objects.order_by("seq").values_list("seq", flat=True).first()
        if first_seq is None:
            return None
        # Contiguous from the start: stop before the first record not older than ``before``.
        boundary = (
            MessageLogRecord.objects.filter(recorded_at__gte=before)
            .order_by("seq")
            .values_list("seq", flat=True)
            .first()
        )
        head_seq = MessageLogRecord.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        last_seq = min(head_seq if boundary is None else boundary - 1, first_seq + max_records - 1)
        if last_seq < first_seq:
            return None
        previous = ArchiveSegment.objects.order_by("-number").first()
        number = previous.number + 1 if previous else 1
        with tempfile.TemporaryFile() as handle:
            count, first_prev, last_hash = _write_segment(handle, first_seq, last_seq)
            size, sha256, sm3 = _file_digests(handle)
            name = f"{ARCHIVE_DIRECTORY}/segment-{number:06d}-{first_seq}-{last_seq}.jsonl.gz"
            # Written inside the transaction: if the commit fails, an orphan file is left, never a gap.
            file_name = default_storage.save(name, File(handle))
        values: dict[str, Any] = {
            "number": number,
            "created_at": timezone.now(),
            "file_name": file_name,
            "file_size": size,
            "file_sha256": sha256,
            "file_sm3": sm3,
            "first_seq": first_seq,
            "last_seq": last_seq,
            "record_count": count,
            "first_prev_hash": first_prev,
            "last_record_hash": last_hash,
            "prev_segment_digest": previous.segment_digest if previous else GENESIS_HASH,
        }
        digest = segment_digest(values)
        key_id = current_key_id()
        segment = ArchiveSegment.objects.create(
            **values, segment_digest=digest, mac_key_id=key_id, segment_mac=segment_mac(digest, key_id=key_id)
        )
        deleted, _ = MessageLogRecord.objects.filter(seq__gte=first_seq, seq__lte=last_seq).delete()
        audit_append(
            action="messagelog.archived",
            acting_user=acting_user,
            actor_username="system" if acting_user is None else "",
            object_type="messagelog_segment",
            object_id=number,
            details={
                "first_seq": first_seq,
                "last_seq": last_seq,
                "records": count,
                "deleted": deleted,
                "file": file_name,
                "sm3": sm3,
                "before": before.isoformat(),
            },
        )
    logger.info("messagelog_archived", segment=number, first_seq=first_seq, last_seq=last_seq, records=count)
    return segment


def message_log_archive(
    *, before: dt.datetime | None = None, acting_user: User | None = None, max_records: int | None = None
) -> list[ArchiveSegment]:
    """Move live records recorded before ``before`` (default: ``MESSAGELOG_LIVE_DAYS`` ago) into archive
    segments of at most ``max_records`` (default ``MESSAGELOG_SEGMENT_MAX_RECORDS``) and delete them from
    the live table. Each segment is one transaction holding the chain lock (appends wait for it); audited as
    ``messagelog.archived``. Returns the segments written (none when nothing is old enough)."""
    if before is None:
        before = timezone.now() - dt.timedelta(days=settings.MESSAGELOG_LIVE_DAYS)
    if timezone.is_naive(before):
        message = "before must be timezone-aware"
        raise ValueError(message)
    limit = max_records or settings.MESSAGELOG_SEGMENT_MAX_RECORDS
    segments: list[ArchiveSegment] = []
    while (segment := _archive_one(before, limit, acting_user)) is not None:
        segments.append(segment)
    return segments
