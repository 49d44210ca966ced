"""API schemas for materials."""

from __future__ import annotations

import uuid

from ninja import Schema


class MaterialOut(Schema):
    id: uuid.UUID
    sha256: str
    size: int
    content_type: str
    name: str
    material_code: str
