"""Bundles (一件事一次办): one merged form and one de-duplicated materials list from several service items."""

from __future__ import annotations

import copy
from typing import Any

from onewindow.core.errors import RuleViolation
from onewindow.forms.validation import SCHEMA_DIALECT, property_order


def _types(definition: object) -> frozenset[str] | None:
    if not isinstance(definition, dict) or "type" not in definition:
        return None
    declared = definition["type"]
    return frozenset(declared) if isinstance(declared, list) else frozenset([str(declared)])


def merge_schemas(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """One form for a bundle: the union of the items' properties.

    A property several items define keeps the first definition, and is required if any item requires it;
    two definitions declaring different types raise ``RuleViolation("bundle_form_conflict")`` naming the
    property. ``required`` is the union, ``x-order`` the items' display orders concatenated without
    repeats, ``$defs`` the union (first wins), and ``additionalProperties: false`` if any item sets it.
    Other top-level keywords of the items (``allOf``, ``if``/``then``…) are not carried over.
    """
    properties: dict[str, Any] = {}
    required: list[str] = []
    order: list[str] = []
    definitions: dict[str, Any] = {}
    closed = False
    for schema in schemas:
        for name, definition in (schema.get("properties") or {}).items():
            if name not in properties:
                properties[name] = copy.deepcopy(definition)
                continue
            first, other = _types(properties[name]), _types(definition)
            if first is not None and other is not None and first != other:
                raise RuleViolation(
                    "bundle_form_conflict",
                    f"事项表单中的字段“{name}”类型冲突："
                    f"{'/'.join(sorted(first))} 与 {'/'.join(sorted(other))}。",
                    f"The items' forms define field '{name}' with conflicting types: "
                    f"{'/'.join(sorted(first))} and {'/'.join(sorted(other))}.",
                    field=name,
                )
        for name in schema.get("required") or []:
            if name not in required:
                required.append(name)
        for name in property_order(schema):
            if name not in order:
                order.append(name)
        for name, definition in (schema.get("$defs") or {}).items():
            definitions.setdefault(name, copy.deepcopy(definition))
        closed = closed or schema.get("additionalProperties") is False
    merged: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "type": "object",
        "properties": properties,
        "required": required,
        "x-order": order,
    }
    if definitions:
        merged["$defs"] = definitions
    if closed:
        merged["additionalProperties"] = False
    return merged


def merge_materials(lists: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The bundle's materials: de-duplicated on ``code`` (first wins, order kept), required if any item
    requires it (a material without ``required`` is required)."""
    merged: list[dict[str, Any]] = []
    by_code: dict[str, dict[str, Any]] = {}
    for materials in lists:
        for material in materials:
            code = material.get("code")
            required = material.get("required", True) is not False
            existing = by_code.get(code) if isinstance(code, str) and code else None
            if existing is None:
                copied = {**copy.deepcopy(material), "required": required}
                merged.append(copied)
                if isinstance(code, str) and code:
                    by_code[code] = copied
            elif required:
                existing["required"] = True
    return merged
