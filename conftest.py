"""Shared fixtures: fixed named users per role (STYLE.md rule 9)."""

from __future__ import annotations

import os

os.environ.setdefault("ONEWINDOW_ENV", "test")
