"""The back office's HTTP API (/api/v1/tasks, /api/v1/supervision, /api/v1/processes, …): thin over actions."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["back office"])
