"""API pagination with bounds: Ninja's limit/offset, with an offset the databases can hold (a 20-digit
offset used to reach SQLite/PostgreSQL as an overflow and answer 500) and a page size cap."""

from __future__ import annotations

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

MAX_LIMIT = 500
MAX_OFFSET = 2**31 - 1


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_LIMIT, description="Page size (1–500)")
        offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip")
