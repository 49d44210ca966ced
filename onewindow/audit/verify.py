"""Verification of the whole audit chain (MLPS 2.0 §8.1.4.3 c: audit records are protected from tampering).

The chain is read in seq order in keyset pages (``seq > last ORDER BY seq LIMIT n``): memory stays constant
however long the chain is, no transaction or server-side cursor stays open for the whole run, and SQLite
writers are never blocked. Every record's hash is recomputed, every link and every seq checked; the first
problem found is named and verification stops there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from onewindow.audit.anchors import Anchor, latest_anchor
from onewindow.audit.chain import GENESIS_HASH, HASHED_FIELDS, record_hash
from onewindow.audit.models import AuditRecord

DEFAULT_CHUNK_SIZE = 2000
_COLUMNS = (*HASHED_FIELDS, "hash")


@dataclass(frozen=True)
class VerifyResult:
    """What verification found. ``problem_*`` are empty when the chain is intact."""

    intact: bool
    checked: int
    first_seq: int | None = None
    head_seq: int | None = None
    anchor_seq: int | None = None
    problem_kind: str = ""  # altered | missing | link_broken | truncated
    problem_seq: int | None = None
    problem_en: str = ""
    problem_zh: str = ""


class _Problem(Exception):  # noqa: N818 - internal control flow, never escapes this module
    def __init__(self, kind: str, seq: int, message_en: str, message_zh: str) -> None:
        super().__init__(message_en)
        self.kind = kind
        self.seq = seq
        self.message_en = message_en
        self.message_zh = message_zh


def _altered(seq: int) -> _Problem:
    return _Problem(
        "altered",
        seq,
        f"record #{seq} altered: its hash does not match its contents",
        f"记录 #{seq} 已被篡改：哈希与内容不符",
    )


def _missing(seq: int, why_en: str = "", why_zh: str = "") -> _Problem:
    return _Problem("missing", seq, f"record #{seq} missing{why_en}", f"记录 #{seq} 缺失{why_zh}")


def _link_broken(seq: int, why_en: str, why_zh: str) -> _Problem:
    return _Problem(
        "link_broken", seq, f"record #{seq} link broken: {why_en}", f"记录 #{seq} 链接断裂：{why_zh}"
    )


def _purges() -> dict[int, tuple[int, str]]:
    """Purge records still in the chain: ``to_seq`` → (purge record's seq, last purged hash)."""
    found: dict[int, tuple[int, str]] = {}
    for seq, details in AuditRecord.objects.filter(action="audit.purged").values_list("seq", "details"):
        if isinstance(details, dict) and isinstance(details.get("to_seq"), int):
            found[details["to_seq"]] = (seq, str(details.get("last_hash", "")))
    return found


def _check_start(seq: int, prev_hash: str) -> None:
    """The first record is #1 after the genesis hash, or directly follows a purge that names it."""
    if seq == 1:
        if prev_hash != GENESIS_HASH:
            raise _link_broken(
                1, "the first record does not follow the genesis hash", "首条记录未接续创世哈希"
            )
        return
    purges = _purges()
    purge = purges.get(seq - 1)
    if purge is None:
        earlier = [to_seq for to_seq in purges if to_seq < seq - 1]
        first_missing = max(earlier) + 1 if earlier else 1
        raise _missing(
            first_missing,
            f" (the chain starts at #{seq} and no audit.purged record covers #{first_missing}-#{seq - 1})",
            f"（链从 #{seq} 开始，且没有 audit.purged 记录涵盖 #{first_missing}-#{seq - 1}）",
        )
    purge_seq, last_hash = purge
    if purge_seq <= seq - 1 or last_hash != prev_hash:
        raise _link_broken(
            seq,
            f"it does not follow the last hash named by purge record #{purge_seq}",
            f"未接续清除记录 #{purge_seq} 所载的最后哈希",
        )


def _check_anchor(
    anchor: Anchor | None, first_seq: int | None, head_seq: int | None, anchored_hash: str
) -> None:
    if anchor is None:
        return
    if head_seq is None or anchor["seq"] > head_seq:
        truncated = (head_seq or 0) + 1
        raise _Problem(
            "truncated",
            truncated,
            f"record #{truncated} missing: the chain ends at #{head_seq or 0} but the anchor written at "
            f"{anchor['written_at']} reaches #{anchor['seq']} (records truncated)",
            f"记录 #{truncated} 缺失：链止于 #{head_seq or 0}，而 {anchor['written_at']} 写入的锚点已达 "
            f"#{anchor['seq']}（记录被截断）",
        )
    if first_seq is not None and anchor["seq"] < first_seq:
        return  # anchored record purged since; the chain reaches beyond it
    if anchored_hash != anchor["hash"]:
        raise _Problem(
            "altered",
            anchor["seq"],
            f"record #{anchor['seq']} altered: its hash differs from the anchor written at "
            f"{anchor['written_at']}",
            f"记录 #{anchor['seq']} 已被篡改：哈希与 {anchor['written_at']} 写入的锚点不符",
        )


def verify_chain(*, chunk_size: int = DEFAULT_CHUNK_SIZE, anchor_path: Path | None = None) -> VerifyResult:
    """Check the whole chain and the latest head anchor; name the first broken or missing record."""
    anchor = latest_anchor(anchor_path if anchor_path is not None else Path(settings.AUDIT_ANCHOR_FILE))
    checked = 0
    first_seq: int | None = None
    previous: tuple[int, str] | None = None  # (seq, hash) of the record before
    anchored_hash = ""
    try:
        while True:
            queryset = AuditRecord.objects.order_by("seq").values_list(*_COLUMNS)
            if previous is not None:
                queryset = queryset.filter(seq__gt=previous[0])
            rows = list(queryset[:chunk_size])
            for row in rows:
                fields: dict[str, Any] = dict(zip(_COLUMNS, row, strict=True))
                seq: int = fields["seq"]
                if previous is None:
                    first_seq = seq
                    _check_start(seq, fields["prev_hash"])
                elif seq != previous[0] + 1:
                    raise _missing(previous[0] + 1)
                elif fields["prev_hash"] != previous[1]:
                    raise _link_broken(
                        seq,
                        f"its prev_hash does not match the hash of record #{previous[0]}",
                        f"其前一哈希与记录 #{previous[0]} 的哈希不符",
                    )
                if record_hash(fields) != fields["hash"]:
                    raise _altered(seq)
                if anchor is not None and seq == anchor["seq"]:
                    anchored_hash = fields["hash"]
                previous = (seq, fields["hash"])
                checked += 1
            if len(rows) < chunk_size:
                break
        _check_anchor(anchor, first_seq, previous[0] if previous else None, anchored_hash)
    except _Problem as problem:
        return VerifyResult(
            intact=False,
            checked=checked,
            first_seq=first_seq,
            head_seq=previous[0] if previous else None,
            anchor_seq=anchor["seq"] if anchor else None,
            problem_kind=problem.kind,
            problem_seq=problem.seq,
            problem_en=problem.message_en,
            problem_zh=problem.message_zh,
        )
    return VerifyResult(
        intact=True,
        checked=checked,
        first_seq=first_seq,
        head_seq=previous[0] if previous else None,
        anchor_seq=anchor["seq"] if anchor else None,
    )


def record_intact(record: AuditRecord) -> bool:
    """True if one record's stored hash matches its contents (the detail page shows this)."""
    return record_hash({name: getattr(record, name) for name in HASHED_FIELDS}) == record.hash
