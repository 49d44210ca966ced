"""Bundles (一件事一次办, DOMAIN.md §1): one merged form and one de-duplicated list of materials."""

from __future__ import annotations

from typing import Any

import pytest

from onewindow.core.errors import RuleViolation
from onewindow.forms.merge import merge_materials, merge_schemas
from onewindow.forms.validation import SCHEMA_DIALECT, check_schema

LICENCE: dict[str, Any] = {
    "type": "object",
    "x-order": ["company_name", "legal_rep_name"],
    "properties": {
        "legal_rep_name": {"type": "string", "title": "法定代表人"},
        "company_name": {"type": "string", "title": "企业名称"},
        "capital": {"type": "number"},
    },
    "required": ["company_name"],
    "$defs": {"a": {"type": "string"}},
}
TAX: dict[str, Any] = {
    "type": "object",
    "properties": {
        "company_name": {"type": "string", "title": "纳税人名称"},
        "legal_rep_name": {"type": "string", "title": "办税人"},
        "tax_office": {"type": "string"},
    },
    "required": ["legal_rep_name", "tax_office"],
    "additionalProperties": False,
}


def test_union_of_properties_first_definition_wins() -> None:
    merged = merge_schemas([LICENCE, TAX])

    assert list(merged["properties"]) == ["legal_rep_name", "company_name", "capital", "tax_office"]
    assert merged["properties"]["company_name"]["title"] == "企业名称"
    assert merged["properties"]["legal_rep_name"]["title"] == "法定代表人"


def test_required_is_the_union() -> None:
    # legal_rep_name is optional for the licence but required for tax: required in the bundle
    assert merge_schemas([LICENCE, TAX])["required"] == ["company_name", "legal_rep_name", "tax_office"]


def test_order_is_the_items_orders_concatenated() -> None:
    assert merge_schemas([LICENCE, TAX])["x-order"] == [
        "company_name",
        "legal_rep_name",
        "capital",
        "tax_office",
    ]


def test_merged_schema_is_a_valid_closed_2020_12_form() -> None:
    merged = merge_schemas([LICENCE, TAX])

    assert merged["$schema"] == SCHEMA_DIALECT
    assert merged["additionalProperties"] is False
    assert merged["$defs"] == {"a": {"type": "string"}}
    assert check_schema(merged) == []


def test_the_items_are_not_changed() -> None:
    merged = merge_schemas([LICENCE, TAX])
    merged["properties"]["company_name"]["title"] = "changed"

    assert LICENCE["properties"]["company_name"]["title"] == "企业名称"


def test_conflicting_types_are_refused_naming_the_property() -> None:
    other = {"type": "object", "properties": {"capital": {"type": "string"}}}

    with pytest.raises(RuleViolation) as refused:
        merge_schemas([LICENCE, other])

    assert refused.value.code == "bundle_form_conflict"
    assert refused.value.field == "capital"
    assert "capital" in refused.value.message_zh
    assert "capital" in refused.value.message_en


def test_same_type_written_differently_is_no_conflict() -> None:
    first = {"type": "object", "properties": {"n": {"type": ["integer", "null"]}}}
    second = {"type": "object", "properties": {"n": {"type": ["null", "integer"]}}}

    assert merge_schemas([first, second])["properties"]["n"] == {"type": ["integer", "null"]}


def test_empty_bundle() -> None:
    assert merge_schemas([]) == {
        "$schema": SCHEMA_DIALECT,
        "type": "object",
        "properties": {},
        "required": [],
        "x-order": [],
    }


def test_materials_deduplicated_on_code_required_if_any_requires() -> None:
    licence: list[dict[str, Any]] = [
        {"code": "ID", "name": "身份证", "required": False, "shared_resource": "population"},
        {"code": "LEASE", "name": "租赁合同"},
    ]
    tax = [
        {"code": "ID", "name": "居民身份证", "required": True},
        {"code": "SEAL", "name": "印章", "required": False},
    ]

    merged = merge_materials([licence, tax])

    assert merged == [
        {"code": "ID", "name": "身份证", "required": True, "shared_resource": "population"},
        {"code": "LEASE", "name": "租赁合同", "required": True},
        {"code": "SEAL", "name": "印章", "required": False},
    ]
    assert licence[0]["required"] is False  # inputs untouched
