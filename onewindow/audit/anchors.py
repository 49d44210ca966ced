"""Head anchors: the chain's head (seq, hash, time) written periodically to an append-only file.

A hash chain alone cannot reveal that its newest records were cut off: the shortened chain is still a
valid chain. An anchor kept outside the database (ship the file off-host: syslog, WORM storage) remembers
how far the chain reached; ``verify_chain`` checks that the latest anchor's record is still there with
the same hash.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TypedDict

# Anchors are one short line each; the newest is within the file's last few kilobytes.
_TAIL_BYTES = 8192


class Anchor(TypedDict):
    seq: int
    hash: str
    recorded_at: str
    written_at: str


def anchor_append(path: Path, anchor: Anchor) -> None:
    """Append one anchor line and force it to disk (a crash must not lose an acknowledged anchor)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(anchor, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _parse(line: bytes) -> Anchor | None:
    try:
        data = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("seq"), int)
        or not isinstance(data.get("hash"), str)
    ):
        return None
    return Anchor(
        seq=data["seq"],
        hash=data["hash"],
        recorded_at=str(data.get("recorded_at", "")),
        written_at=str(data.get("written_at", "")),
    )


def latest_anchor(path: Path) -> Anchor | None:
    """The last well-formed anchor in the file, reading only its tail; None if there is none.

    A torn last line (a crash while writing) is skipped in favour of the line before it.
    """
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - _TAIL_BYTES))
            tail = handle.read()
    except FileNotFoundError:
        return None
    lines = tail.splitlines()
    if size > _TAIL_BYTES and lines:
        lines = lines[1:]  # the first line of the tail may be cut
    for line in reversed(lines):
        anchor = _parse(line)
        if anchor is not None:
            return anchor
    return None
