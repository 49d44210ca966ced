"""check_schema: meta-validation against JSON Schema 2020-12 and the platform's UI-hint conventions."""

from __future__ import annotations

from typing import Any

import pytest

from onewindow.forms.validation import SCHEMA_DIALECT, check_schema

GOOD: dict[str, Any] = {
    "$schema": SCHEMA_DIALECT,
    "type": "object",
    "x-order": ["name", "kind"],
    "properties": {
        "name": {"type": "string", "title": "姓名", "x-title-en": "Name", "x-prefill": "person.name"},
        "kind": {
            "type": "string",
            "enum": ["a", "b"],
            "x-widget": "radios",
            "x-enum-labels": {"a": {"zh": "甲", "en": "A"}, "b": {"zh": "乙", "en": "B"}},
        },
        "agree": {"type": "boolean", "x-widget": "checkbox"},
        "capital": {"type": "number", "x-widget": "number", "minimum": 0},
        "id": {"type": "string", "format": "id-number", "x-autocomplete": "off"},
        "items": {"type": "array", "items": {"$ref": "#/$defs/item"}},
    },
    "$defs": {"item": {"type": "object", "properties": {"d": {"type": "string", "format": "date"}}}},
    "required": ["name"],
}


def codes(schema: Any) -> list[tuple[str, str]]:
    return [(problem.field, problem.code) for problem in check_schema(schema)]


def test_a_good_schema_passes() -> None:
    assert check_schema(GOOD) == []


def test_a_schema_without_dialect_is_accepted() -> None:
    assert check_schema({"type": "object", "properties": {}}) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"$schema": "http://json-schema.org/draft-07/schema#"}, [("$schema", "schema_dialect")]),
        ({"type": "array"}, [("type", "schema_not_object")]),
        ({"x-order": ["name", "nope"]}, [("x-order.1", "schema_order_unknown")]),
        ({"x-order": "name"}, [("x-order", "schema_order_invalid")]),
        ({"required": ["name", "ghost"]}, [("required", "schema_required_unknown")]),
        ({"minProperties": -1}, [("minProperties", "schema_invalid")]),
    ],
)
def test_top_level_problems(change: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert codes(GOOD | change) == expected


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({"type": "string", "format": "ipv9"}, "schema_format_unknown"),
        ({"type": "string", "x-widget": "slider"}, "schema_widget_unknown"),
        ({"type": "string", "x-widget": "select"}, "schema_widget_mismatch"),
        ({"type": "string", "x-widget": "checkbox"}, "schema_widget_mismatch"),
        ({"type": "string", "x-widget": "number"}, "schema_widget_mismatch"),
        ({"type": "string", "x-prefill": "registry.secret"}, "schema_prefill_unknown"),
        ({"type": "string", "x-title-en": 5}, "schema_annotation_type"),
        ({"type": "string", "pattern": "(unclosed"}, "schema_pattern_invalid"),
        ({"enum": ["a"], "x-enum-labels": {"b": {"zh": "乙"}}}, "schema_enum_labels_invalid"),
        ({"enum": ["a"], "x-enum-labels": {"a": "甲"}}, "schema_enum_labels_invalid"),
        ({"$ref": "#/$defs/missing"}, "schema_ref_unresolvable"),
        ({"$ref": "https://example.com/remote.json"}, "schema_ref_unresolvable"),
    ],
)
def test_property_problems(definition: dict[str, Any], expected: str) -> None:
    problems = check_schema({"type": "object", "properties": {"p": definition}})

    assert [problem.code for problem in problems] == [expected]
    assert problems[0].field.startswith("properties.p.")
    assert problems[0].message_zh
    assert problems[0].message_en


def test_nested_hints_are_checked_too() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "array", "items": {"type": "string", "format": "nonsense"}}},
    }

    assert codes(schema) == [("properties.a.items.format", "schema_format_unknown")]


def test_not_a_schema_at_all() -> None:
    assert codes(["not", "a", "schema"]) == [("", "schema_not_object")]
    assert codes(True) == [("", "schema_not_object")]


def test_prefill_keys_declared_by_a_configured_source_are_known(settings: Any) -> None:
    settings.PREFILL_SOURCES = ["onewindow.forms.tests.test_prefill.FakeRegistrySource"]
    schema = {"type": "object", "properties": {"p": {"type": "string", "x-prefill": "household.address"}}}

    assert check_schema(schema) == []
