"""Fixtures of the service catalog tests: the demo departments, and the demo catalog loaded."""

from __future__ import annotations

from typing import Any

import pytest

DEMO_DEPARTMENTS = ("PSB", "AMR", "QI", "TAX", "HRSS", "HEALTH", "CIVIL")


@pytest.fixture
def demo_departments(db: None) -> dict[str, Any]:
    from onewindow.organisations.tests.factories import DepartmentFactory

    names = {"AMR": "福州市市场监督管理局", "PSB": "福州市公安局", "HEALTH": "福州市卫生健康委员会"}
    return {
        code: DepartmentFactory.create(code=code, name=names.get(code, f"部门 {code}"))
        for code in DEMO_DEPARTMENTS
    }


@pytest.fixture
def demo_catalog(demo_departments: dict[str, Any]) -> dict[str, Any]:
    """The demo catalog, loaded as a system job."""
    from onewindow.services.demo import demo_services_load

    demo_services_load(acting_user=None)
    return demo_departments


def item_fields(**overrides: Any) -> dict[str, Any]:
    """Valid version fields of a small service item."""
    fields: dict[str, Any] = {
        "name": "测试事项",
        "name_en": "Test item",
        "legal_basis": "《中华人民共和国行政许可法》第四十二条",
        "audience": ["resident"],
        "channels": ["web", "window"],
        "statutory_days": 20,
        "promised_days": 5,
        "materials": [{"code": "id_card", "name": "居民身份证", "shared_resource": "population.id_card"}],
        "form_schema": {
            "type": "object",
            "properties": {"full_name": {"type": "string", "title": "姓名", "x-title-en": "Name"}},
            "required": ["full_name"],
        },
    }
    return {**fields, **overrides}


def published_item(code: str, department_code: str = "TDEPT", **overrides: Any) -> Any:
    """Create and publish an item as a system job; returns the published ServiceVersion."""
    from onewindow.services import actions

    draft = actions.service_create(
        acting_user=None, code=code, kind="item", department_code=department_code, **item_fields(**overrides)
    )
    return actions.service_version_publish(acting_user=None, version=draft)
