"""Fixtures of the catalog tests: departments, valid metadata, resources of each sharing type."""

from __future__ import annotations

from typing import Any

import pytest


def metadata(**overrides: Any) -> dict[str, Any]:
    """Valid core metadata of a small conditional, not-open resource."""
    fields: dict[str, Any] = {
        "name": "学校基本信息",
        "name_en": "Schools",
        "abstract": "本市各级各类学校的名称、地址、办学类型和在校生人数。",
        "abstract_en": "Name, address, type and enrolment of every school in the city.",
        "format": "database",
        "sharing_type": "conditional",
        "sharing_condition": "用于教育相关的行政审批。",
        "sharing_method": "platform_api",
        "open_type": "not_open",
        "update_cycle": "yearly",
        "data_items": [
            {"name": "学校名称", "name_en": "School name", "data_type": "C", "length": 100},
            {"name": "在校生人数", "name_en": "Pupils", "data_type": "I"},
        ],
    }
    return {**fields, **overrides}


def open_metadata(**overrides: Any) -> dict[str, Any]:
    """Valid metadata of an unconditionally shared resource open to the public."""
    return metadata(
        **{
            "name": "公共图书馆名录",
            "name_en": "Public libraries",
            "abstract": "公共图书馆的名称、地址和开放时间。",
            "abstract_en": "Public libraries: name, address and opening hours.",
            "sharing_type": "unconditional",
            "sharing_condition": "",
            "open_type": "open",
            "update_cycle": "monthly",
            "data_items": [{"name": "图书馆名称", "name_en": "Library", "data_type": "C"}],
            **overrides,
        }
    )


def not_shared_metadata(**overrides: Any) -> dict[str, Any]:
    return metadata(
        **{
            "name": "内部审计底稿",
            "name_en": "Internal audit working papers",
            "abstract": "部门内部审计的工作底稿。",
            "sharing_type": "not_shared",
            "sharing_condition": "《审计法》第十六条：涉及国家秘密和商业秘密，不予共享。",
            "sharing_method": "",
            "data_items": [{"name": "底稿编号", "data_type": "C"}],
            **overrides,
        }
    )


@pytest.fixture
def departments(db: None) -> dict[str, Any]:
    """The registries' departments (PSB, AMR) and another department (OTHER); TDEPT comes from role_users."""
    from onewindow.organisations.tests.factories import DepartmentFactory

    return {
        "PSB": DepartmentFactory.create(
            code="PSB", name="福州市公安局", name_en="Fuzhou Public Security Bureau"
        ),
        "AMR": DepartmentFactory.create(
            code="AMR", name="福州市市场监督管理局", name_en="Fuzhou Administration for Market Regulation"
        ),
        "OTHER": DepartmentFactory.create(
            code="OTHER", name="福州市教育局", name_en="Fuzhou Education Bureau"
        ),
    }


def create(department: str = "TDEPT", classification: str = "", **overrides: Any) -> Any:
    """Catalogue a resource as a system job (``classification`` defaults to the department's item, 目 001)."""
    from onewindow.catalog import actions
    from onewindow.organisations.models import Department

    if not classification:
        from django.db import transaction

        with transaction.atomic():
            section = actions.departmental_section(Department.objects.get(code=department))
        classification = f"{section.code}001"
    return actions.resource_create(
        acting_user=None, provider_department=department, classification_code=classification, **overrides
    )


@pytest.fixture
def catalog(role_users: dict[str, Any], departments: dict[str, Any]) -> dict[str, Any]:
    """The built-in entries (synced), and in TDEPT and OTHER one resource of each sharing type."""
    from onewindow.catalog.sync import catalog_sync

    catalog_sync()
    from onewindow.catalog.models import Resource

    return {
        "population": Resource.objects.get(builtin_key="population"),
        "legal_entity": Resource.objects.get(builtin_key="legal_entity"),
        "own_conditional": create("TDEPT", **metadata()),
        "own_open": create("TDEPT", **open_metadata()),
        "own_not_shared": create("TDEPT", **not_shared_metadata()),
        "other_conditional": create(
            "OTHER", **metadata(name="教师基本信息", data_items=[{"name": "姓名", "data_type": "C"}])
        ),
        "other_not_shared": create("OTHER", **not_shared_metadata(name="考试命题库")),
        "other_open": create("OTHER", **open_metadata(name="学校开放日安排")),
    }
