"""Verification of the whole message log: archive segments in order, then the live table (issue #8 item 3).

Segments: each row's digest and MAC, the chain of segment digests, the file's SHA-256 and SM3, and every
record in the file (hash recomputed, seq contiguous, prev_hash linked, across segment boundaries too). Then
the live records, read in keyset pages, the first of which must follow the last archived record. The first
problem found is named (kind and seq) and verification stops there.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import default_storage

from onewindow.crypto.sm3 import sm3_hasher
from onewindow.messagelog.archive import SEGMENT_DIGEST_FIELDS, segment_digest
from onewindow.messagelog.chain import GENESIS_HASH, HASHED_FIELDS, record_hash
from onewindow.messagelog.models import ArchiveSegment, MessageLogRecord
from onewindow.messagelog.protection import segment_mac_valid

DEFAULT_CHUNK_SIZE = 2000
_COLUMNS = (*HASHED_FIELDS, "record_hash")


@dataclass(frozen=True)
class LogVerifyResult:
    """What verification found; ``problem_*`` are empty when the log is intact."""

    intact: bool
    checked: int
    segments: int
    first_seq: int | None = None
    head_seq: int | None = None
    problem_kind: str = ""  # altered | missing | link_broken | segment_altered | segment_missing
    problem_seq: int | None = None
    problem_en: str = ""
    problem_zh: str = ""


class _Problem(Exception):  # noqa: N818 - internal control flow, never escapes this module
    def __init__(self, kind: str, seq: int, message_en: str, message_zh: str) -> None:
        super().__init__(message_en)
        self.kind, self.seq, self.message_en, self.message_zh = kind, seq, message_en, message_zh


class _Walker:
    """Follows the chain record by record, whatever the record came from."""

    def __init__(self) -> None:
        self.previous: tuple[int, str] | None = None
        self.first_seq: int | None = None
        self.checked = 0

    def step(self, fields: dict[str, Any], where: str) -> None:
        seq = int(fields["seq"])
        if self.previous is None:
            self.first_seq = seq
            if seq != 1:
                raise _Problem("missing", 1, f"record #1 missing{where}", f"记录 #1 缺失{where}")
            if fields["prev_hash"] != GENESIS_HASH:
                raise _Problem(
                    "link_broken", 1, "record #1 does not follow the genesis hash", "记录 #1 未接续创世哈希"
                )
        elif seq != self.previous[0] + 1:
            missing = self.previous[0] + 1
            raise _Problem(
                "missing", missing, f"record #{missing} missing{where}", f"记录 #{missing} 缺失{where}"
            )
        elif fields["prev_hash"] != self.previous[1]:
            raise _Problem(
                "link_broken",
                seq,
                f"record #{seq} link broken: its prev_hash is not the hash of record "
                f"#{self.previous[0]}{where}",
                f"记录 #{seq} 链接断裂：其前一哈希与记录 #{self.previous[0]} 的哈希不符{where}",
            )
        if record_hash(fields) != fields["record_hash"]:
            raise _Problem(
                "altered",
                seq,
                f"record #{seq} altered: its hash does not match its contents{where}",
                f"记录 #{seq} 已被篡改：哈希与内容不符{where}",
            )
        self.previous = (seq, str(fields["record_hash"]))
        self.checked += 1


def _segment_problem(segment: ArchiveSegment, why_en: str, why_zh: str) -> _Problem:
    return _Problem(
        "segment_altered",
        segment.first_seq,
        f"archive segment {segment.number} (#{segment.first_seq}-#{segment.last_seq}) {why_en}",
        f"归档段 {segment.number}（#{segment.first_seq}-#{segment.last_seq}）{why_zh}",
    )


def _file_digests(name: str) -> tuple[str, str]:
    sha256, sm3 = hashlib.sha256(), sm3_hasher()
    with default_storage.open(name, "rb") as handle:
        while block := handle.read(1 << 20):
            sha256.update(block)
            sm3.update(block)
    return sha256.hexdigest(), sm3.finalize().hex()


def _check_segment(segment: ArchiveSegment, previous_digest: str, walker: _Walker) -> None:
    values = {name: getattr(segment, name) for name in SEGMENT_DIGEST_FIELDS}
    if segment_digest(values) != segment.segment_digest or not segment_mac_valid(
        segment.segment_digest, segment.segment_mac, key_id=segment.mac_key_id
    ):
        raise _segment_problem(
            segment, "row altered: its digest or MAC does not match", "记录被篡改：摘要或 MAC 不符"
        )
    if segment.prev_segment_digest != previous_digest:
        raise _segment_problem(
            segment, "does not follow the previous segment's digest", "未接续上一归档段的摘要"
        )
    if not default_storage.exists(segment.file_name):
        raise _Problem(
            "segment_missing",
            segment.first_seq,
            f"archive segment {segment.number} file {segment.file_name} missing",
            f"归档段 {segment.number} 的文件 {segment.file_name} 缺失",
        )
    sha256, sm3 = _file_digests(segment.file_name)
    where = f" (archive segment {segment.number})"
    count = 0
    try:
        with default_storage.open(segment.file_name, "rb") as raw, gzip.GzipFile(fileobj=raw) as lines:
            for line in lines:
                fields = json.loads(line)
                walker.step({name: fields.get(name) for name in _COLUMNS}, where)
                count += 1
    except (OSError, EOFError, zlib.error, ValueError) as error:
        raise _segment_problem(segment, f"file unreadable ({error})", f"文件无法读取（{error}）") from None
    if (sha256, sm3) != (segment.file_sha256, segment.file_sm3):
        raise _segment_problem(
            segment, "file altered: its SHA-256/SM3 does not match", "文件被篡改：SHA-256/SM3 不符"
        )
    if (
        count != segment.record_count
        or walker.previous is None
        or walker.previous != (segment.last_seq, segment.last_record_hash)
    ):
        raise _segment_problem(
            segment, "does not end with the record its row names", "结尾记录与归档段记录不符"
        )


def message_log_verify(*, chunk_size: int = DEFAULT_CHUNK_SIZE) -> LogVerifyResult:
    """Check archived segments and the live table as one chain; name the first broken or missing record."""
    walker = _Walker()
    segments = 0
    try:
        previous_digest = GENESIS_HASH
        for segment in ArchiveSegment.objects.order_by("number"):
            _check_segment(segment, previous_digest, walker)
            previous_digest = segment.segment_digest
            segments += 1
        last_seq = walker.previous[0] if walker.previous else 0
        while True:
            rows = list(
                MessageLogRecord.objects.filter(seq__gt=last_seq)
                .order_by("seq")
                .values_list(*_COLUMNS)[:chunk_size]
            )
            for row in rows:
                walker.step(dict(zip(_COLUMNS, row, strict=True)), "")
            if len(rows) < chunk_size:
                break
            last_seq = rows[-1][0]
    except _Problem as problem:
        return LogVerifyResult(
            intact=False,
            checked=walker.checked,
            segments=segments,
            first_seq=walker.first_seq,
            head_seq=walker.previous[0] if walker.previous else None,
            problem_kind=problem.kind,
            problem_seq=problem.seq,
            problem_en=problem.message_en,
            problem_zh=problem.message_zh,
        )
    return LogVerifyResult(
        intact=True,
        checked=walker.checked,
        segments=segments,
        first_seq=walker.first_seq,
        head_seq=walker.previous[0] if walker.previous else None,
    )
