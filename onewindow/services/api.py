"""Services API (placeholder router; endpoints are added by the intake work)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["services"])
