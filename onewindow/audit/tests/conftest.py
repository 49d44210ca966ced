"""Fixtures of the audit trail's tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from onewindow.audit.protection import protection_suspended


@pytest.fixture(autouse=True)
def anchor_file(settings: Any, tmp_path: Path) -> Path:
    """Every test gets its own anchor file, never the developer's ``var/audit-anchors.jsonl``."""
    path = tmp_path / "audit-anchors.jsonl"
    settings.AUDIT_ANCHOR_FILE = path
    return path


def _tamper(sql: str, params: list[Any]) -> None:
    """Run ``sql`` against the audit table behind the triggers' back, as an attacker with DDL rights could."""
    with protection_suspended(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def tamper() -> Callable[[str, list[Any]], None]:
    return _tamper
