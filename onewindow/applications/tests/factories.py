"""Factories for the applications tests: a published service made directly with the catalog's models."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from onewindow.accounts.models import User
from onewindow.materials.models import Material
from onewindow.organisations.models import Department
from onewindow.organisations.tests.factories import DepartmentFactory
from onewindow.services.models import Channel, Service, ServiceVersion, VersionStatus

FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["company_name", "employees"],
    "properties": {
        "company_name": {"type": "string", "minLength": 1, "title": "企业名称", "title_en": "Company name"},
        "employees": {"type": "integer", "minimum": 0, "title": "从业人数", "title_en": "Employees"},
    },
}
MATERIALS: list[dict[str, Any]] = [
    {"code": "LEASE", "name": "租赁合同", "name_en": "Lease contract", "required": True},
    {"code": "CHARTER", "name": "公司章程", "name_en": "Articles of association", "required": True},
    {"code": "PHOTO", "name": "照片", "name_en": "Photo", "required": False},
]
VALID_FORM: dict[str, Any] = {"company_name": "福州测试有限公司", "employees": 3}


def published_service(
    code: str = "TSVC",
    *,
    department: Department | None = None,
    audience: tuple[str, ...] = ("resident", "enterprise"),
    channels: tuple[str, ...] = tuple(Channel.values),
    auto_accept: bool = False,
    promised_days: int = 3,
    statutory_days: int = 20,
    materials: list[dict[str, Any]] | None = None,
    form_schema: dict[str, Any] | None = None,
) -> Service:
    """A service with one published version (``service.current_version``)."""
    owner = department or DepartmentFactory.create(code="TDEPT", name="测试部门", name_en="Test department")
    service = Service.objects.create(code=code, department=owner)
    version = ServiceVersion.objects.create(
        service=service,
        number=1,
        status=VersionStatus.PUBLISHED,
        name=f"测试事项 {code}",
        name_en=f"Test service {code}",
        audience=list(audience),
        channels=list(channels),
        materials=MATERIALS if materials is None else materials,
        form_schema=FORM_SCHEMA if form_schema is None else form_schema,
        promised_days=promised_days,
        statutory_days=statutory_days,
        auto_accept=auto_accept,
    )
    service.current_version = version
    service.save(update_fields=["current_version"])
    return service


def uploaded_material(user: User, material_code: str = "", content: bytes = b"%PDF-1.4 test") -> Material:
    """An unattached upload by ``user`` (no file stored: these tests never read it)."""
    return Material.objects.create(
        id=uuid.uuid4(),
        uploaded_by=user,
        material_code=material_code,
        original_name=f"{material_code or 'file'}.pdf",
        content_type="application/pdf",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        file=f"materials/test/{uuid.uuid4().hex}",
        scanned=True,
    )
