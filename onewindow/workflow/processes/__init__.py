"""The demo processes: one BPMN 2.0 file per demo service, named after its ``process_key``.

See docs/workflow.md.
"""

from __future__ import annotations

from pathlib import Path

PROCESS_DIRECTORY = Path(__file__).resolve().parent


def demo_process_files() -> dict[str, bytes]:
    """``{process_key: BPMN XML}`` for every demo process, sorted by key."""
    return {path.stem: path.read_bytes() for path in sorted(PROCESS_DIRECTORY.glob("*.bpmn"))}
