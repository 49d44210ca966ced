"""Validate submitted form data against a service's JSON Schema 2020-12, with bilingual per-field errors.

The platform's formats (``id-number`` GB 11643-1999, ``credit-code`` GB 32100-2015, ``mobile``,
``division-code`` GB/T 2260 and an existing ``organisations.Division``, plus ``date`` and ``email``) are
*asserted*, not mere annotations: JSON Schema 2020-12 §7.2.2 lets an implementation opt in to format
assertion, and :data:`FORMAT_CHECKER` does. Conventions: ``docs/forms.md``.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError as SchemaValidationError  # type: ignore[import-untyped]
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from onewindow.core.errors import FieldError
from onewindow.core.validators import (
    InvalidIdentifier,
    validate_credit_code,
    validate_division_code,
    validate_id_number,
    validate_mobile,
)

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
KNOWN_WIDGETS = frozenset({"text", "textarea", "select", "radios", "checkbox", "date", "number"})

# --- formats -----------------------------------------------------------------------------------------------


class FormatRefusal(Exception):  # noqa: N818 - carried as the jsonschema error's cause
    """A format check failed; ``message_zh``/``message_en`` say why (without the field's name)."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


def _identifier_check(validate: Callable[[str], str]) -> Callable[[object], bool]:
    def check(instance: object) -> bool:
        if not isinstance(instance, str):
            return True  # the "type" keyword reports non-strings
        try:
            validate(instance)
        except InvalidIdentifier as refusal:
            raise FormatRefusal(refusal.message_zh, refusal.message_en) from None
        return True

    return check


def _check_division_code(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    try:
        code = validate_division_code(instance)
    except InvalidIdentifier as refusal:
        raise FormatRefusal(refusal.message_zh, refusal.message_en) from None
    from onewindow.organisations.models import Division

    if not Division.objects.filter(code=code).exists():
        raise FormatRefusal(
            f"{code} 不是本平台已登记的行政区划。",
            f"{code} is not an administrative division registered on this platform.",
        )
    return True


_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _check_date(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    if _DATE_SHAPE.fullmatch(instance):
        try:
            datetime.date.fromisoformat(instance)
        except ValueError:
            pass
        else:
            return True
    raise FormatRefusal(
        "应为有效日期，格式为 年-月-日，例如 2026-01-31。",
        "must be a real date written year-month-day, for example 2026-01-31.",
    )


def _check_email(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    try:
        validate_email(instance)
    except ValidationError:
        raise FormatRefusal(
            "应为有效的电子邮件地址，例如 name@example.com。",
            "must be an email address, for example name@example.com.",
        ) from None
    return True


FORMAT_CHECKS: dict[str, Callable[[object], bool]] = {
    "id-number": _identifier_check(validate_id_number),
    "credit-code": _identifier_check(validate_credit_code),
    "mobile": _identifier_check(validate_mobile),
    "division-code": _check_division_code,
    "date": _check_date,
    "email": _check_email,
}
KNOWN_FORMATS = frozenset(FORMAT_CHECKS)

FORMAT_CHECKER = FormatChecker(formats=())
for _name, _check in FORMAT_CHECKS.items():
    FORMAT_CHECKER.checks(_name, raises=FormatRefusal)(_check)


# --- titles and messages -----------------------------------------------------------------------------------

_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "string": ("文本", "text"),
    "integer": ("整数", "a whole number"),
    "number": ("数字", "a number"),
    "boolean": ("是或否", "yes or no"),
    "object": ("一组字段", "a group of fields"),
    "array": ("列表", "a list"),
    "null": ("空值", "empty"),
}

# Which error a field shows when it has several: the most basic problem first.
_KEYWORD_PRIORITY = (
    "required",
    "additionalProperties",
    "type",
    "const",
    "enum",
    "format",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "multipleOf",
)


def _titles(subschema: object, fallback: str) -> tuple[str, str]:
    if not isinstance(subschema, dict):
        return fallback, fallback
    title_zh = subschema.get("title")
    title_en = subschema.get("x-title-en")
    zh = title_zh if isinstance(title_zh, str) and title_zh else fallback
    en = title_en if isinstance(title_en, str) and title_en else zh
    return zh, en


def _number_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))
    return str(value)


def _enum_labels(subschema: dict[str, Any], values: list[Any]) -> tuple[str, str]:
    labels = subschema.get("x-enum-labels")
    zh: list[str] = []
    en: list[str] = []
    for value in values:
        label = labels.get(str(value)) if isinstance(labels, dict) else None
        text = value if isinstance(value, str) else _json_text(value)
        if isinstance(label, dict):
            zh.append(str(label.get("zh") or text))
            en.append(str(label.get("en") or label.get("zh") or text))
        else:
            zh.append(text)
            en.append(text)
    return "、".join(zh), ", ".join(en)


def _json_text(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return _number_text(value)


def _message(error: SchemaValidationError, zh: str, en: str) -> tuple[str, str, str]:
    """(code, message_zh, message_en) for one jsonschema error on a field titled ``zh``/``en``."""
    keyword = str(error.validator)
    value = error.validator_value
    subschema = error.schema if isinstance(error.schema, dict) else {}
    if keyword == "type":
        types = value if isinstance(value, list) else [value]
        names = [_TYPE_NAMES.get(str(t), (str(t), str(t))) for t in types]
        return (
            "type",
            f"“{zh}”应为{'或'.join(n[0] for n in names)}。",
            f"{en} must be {' or '.join(n[1] for n in names)}.",
        )
    if keyword in ("enum", "const"):
        options = value if keyword == "enum" and isinstance(value, list) else [value]
        labels_zh, labels_en = _enum_labels(subschema, options)
        return (
            "enum",
            f"“{zh}”只能是以下之一：{labels_zh}。",
            f"{en} must be one of: {labels_en}.",
        )
    if keyword == "format":
        code = "format_" + re.sub(r"[^a-z0-9]+", "_", str(value).lower())
        cause = error.cause
        if isinstance(cause, FormatRefusal):
            return code, f"“{zh}”：{cause.message_zh}", f"{en}: {cause.message_en}"
        return code, f"“{zh}”的格式不正确。", f"{en} is not in the right format."
    bound = _number_text(value)
    simple: dict[str, tuple[str, str, str]] = {
        "minimum": ("minimum", f"“{zh}”不能小于 {bound}。", f"{en} must be {bound} or more."),
        "exclusiveMinimum": (
            "exclusive_minimum",
            f"“{zh}”必须大于 {bound}。",
            f"{en} must be more than {bound}.",
        ),
        "maximum": ("maximum", f"“{zh}”不能大于 {bound}。", f"{en} must be {bound} or less."),
        "exclusiveMaximum": (
            "exclusive_maximum",
            f"“{zh}”必须小于 {bound}。",
            f"{en} must be less than {bound}.",
        ),
        "minLength": (
            "min_length",
            f"“{zh}”至少应有 {bound} 个字符。",
            f"{en} must be {bound} characters or more.",
        ),
        "maxLength": (
            "max_length",
            f"“{zh}”最多 {bound} 个字符。",
            f"{en} must be {bound} characters or fewer.",
        ),
        "pattern": ("pattern", f"“{zh}”的格式不正确。", f"{en} is not in the right format."),
        "multipleOf": (
            "multiple_of",
            f"“{zh}”应为 {bound} 的整数倍。",
            f"{en} must be a multiple of {bound}.",
        ),
        "minItems": ("min_items", f"“{zh}”至少应有 {bound} 项。", f"{en} must have {bound} items or more."),
        "maxItems": ("max_items", f"“{zh}”最多 {bound} 项。", f"{en} must have {bound} items or fewer."),
        "uniqueItems": ("unique_items", f"“{zh}”中有重复项。", f"{en} has repeated items."),
    }
    if keyword in simple:
        return simple[keyword]
    code = re.sub(r"(?<!^)(?=[A-Z])", "_", keyword).lower() or "invalid"
    return code, f"“{zh}”的值无效。", f"{en} is not valid."


def _join(path: list[str | int] | tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in path)


def _additional_names(error: SchemaValidationError) -> list[str]:
    instance = error.instance
    subschema = error.schema if isinstance(error.schema, dict) else {}
    if not isinstance(instance, dict):
        return []
    properties = subschema.get("properties", {})
    patterns = subschema.get("patternProperties", {})
    return [
        name
        for name in instance
        if name not in properties and not any(re.search(pattern, name) for pattern in patterns)
    ]


def _field_errors(error: SchemaValidationError) -> Iterator[tuple[str, str, FieldError]]:
    """(keyword, path, error) for one jsonschema error; ``required`` and extra properties name the field."""
    keyword = str(error.validator)
    path = list(error.absolute_path)
    subschema = error.schema if isinstance(error.schema, dict) else {}
    if keyword == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        properties = subschema.get("properties", {})
        for name in error.validator_value:
            if name in instance:
                continue
            zh, en = _titles(properties.get(name) if isinstance(properties, dict) else None, name)
            yield (
                keyword,
                _join([*path, name]),
                FieldError(_join([*path, name]), "required", f"请填写“{zh}”。", f"Enter {en}."),
            )
        return
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        names = _additional_names(error) if keyword == "additionalProperties" else []
        if keyword == "unevaluatedProperties" and isinstance(error.instance, dict):
            names = [name for name in error.instance if name not in subschema.get("properties", {})]
        for name in names:
            yield (
                "additionalProperties",
                _join([*path, name]),
                FieldError(
                    _join([*path, name]),
                    "unknown_field",
                    f"“{name}”不是本表单的字段。",
                    f"{name} is not a field of this form.",
                ),
            )
        return
    fallback = str(path[-1]) if path else ""
    for part in reversed(path):
        if isinstance(part, str):
            fallback = part
            break
    zh, en = _titles(subschema, fallback or "表单")
    if not fallback and not subschema.get("x-title-en"):
        en = en if en != "表单" else "The form"
    code, message_zh, message_en = _message(error, zh, en)
    yield keyword, _join(path), FieldError(_join(path), code, message_zh, message_en)


def _priority(keyword: str) -> int:
    try:
        return _KEYWORD_PRIORITY.index(keyword)
    except ValueError:
        return len(_KEYWORD_PRIORITY)


def property_order(schema: dict[str, Any]) -> list[str]:
    """Top-level property names in display order: ``x-order`` first, then the rest in schema order."""
    properties = schema.get("properties")
    names = list(properties) if isinstance(properties, dict) else []
    order = schema.get("x-order")
    ordered = [name for name in order if name in names] if isinstance(order, list) else []
    ordered = list(dict.fromkeys(ordered))
    return ordered + [name for name in names if name not in ordered]


def validate_form(schema: dict[str, Any], data: Any) -> list[FieldError]:
    """Validate ``data`` against ``schema`` (Draft202012Validator with the platform's FormatChecker).

    One error per field (the most basic problem: required, unknown field, type, enum, format, lengths,
    pattern, bounds), each with bilingual messages naming the field by its title; fields are dotted paths
    (``items.0.name``); errors come in the form's display order, then by path.
    """
    validator = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    best: dict[str, tuple[int, int, FieldError]] = {}
    for sequence, error in enumerate(validator.iter_errors(data)):
        for keyword, path, field_error in _field_errors(error):
            rank = (_priority(keyword), sequence)
            current = best.get(path)
            if current is None or rank < current[:2]:
                best[path] = (*rank, field_error)
    order = {name: index for index, name in enumerate(property_order(schema))}

    def sort_key(path: str) -> tuple[int, str]:
        head = path.split(".", 1)[0]
        return order.get(head, len(order)), path

    return [best[path][2] for path in sorted(best, key=sort_key)]


# --- checking a schema before it is saved ------------------------------------------------------------------

_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_SCHEMA_SINGLES = (
    "items",
    "additionalProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
)
_SCHEMA_LISTS = ("prefixItems", "allOf", "anyOf", "oneOf")


def _subschemas(
    schema: object, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every (sub)schema object with its path of keywords and names from the root."""
    if not isinstance(schema, dict):
        return
    yield path, schema
    for keyword in _SCHEMA_MAPS:
        children = schema.get(keyword)
        if isinstance(children, dict):
            for name, child in children.items():
                yield from _subschemas(child, (*path, keyword, str(name)))
    for keyword in _SCHEMA_SINGLES:
        yield from _subschemas(schema.get(keyword), (*path, keyword))
    for keyword in _SCHEMA_LISTS:
        children = schema.get(keyword)
        if isinstance(children, list):
            for index, child in enumerate(children):
                yield from _subschemas(child, (*path, keyword, str(index)))


def _schema_error(path: tuple[str, ...], code: str, message_zh: str, message_en: str) -> FieldError:
    where = ".".join(path)
    if where:
        return FieldError(where, code, f"{where}：{message_zh}", f"{where}: {message_en}")
    return FieldError(where, code, message_zh, message_en)


def _type_names(subschema: dict[str, Any]) -> set[str]:
    declared = subschema.get("type")
    if isinstance(declared, list):
        return {str(t) for t in declared}
    return {declared} if isinstance(declared, str) else set()


def _check_hints(
    path: tuple[str, ...], subschema: dict[str, Any], prefill_keys: frozenset[str]
) -> Iterator[FieldError]:
    format_name = subschema.get("format")
    if format_name is not None and format_name not in KNOWN_FORMATS:
        yield _schema_error(
            (*path, "format"),
            "schema_format_unknown",
            f"未知的格式“{format_name}”，可用：{'、'.join(sorted(KNOWN_FORMATS))}。",
            f"Unknown format '{format_name}'; known: {', '.join(sorted(KNOWN_FORMATS))}.",
        )
    widget = subschema.get("x-widget")
    types = _type_names(subschema)
    if widget is not None and widget not in KNOWN_WIDGETS:
        yield _schema_error(
            (*path, "x-widget"),
            "schema_widget_unknown",
            f"未知的控件“{widget}”，可用：{'、'.join(sorted(KNOWN_WIDGETS))}。",
            f"Unknown widget '{widget}'; known: {', '.join(sorted(KNOWN_WIDGETS))}.",
        )
    elif (
        (widget in ("select", "radios") and not isinstance(subschema.get("enum"), list))
        or (widget == "checkbox" and types != {"boolean"})
        or (widget == "number" and not types & {"integer", "number"})
    ):
        yield _schema_error(
            (*path, "x-widget"),
            "schema_widget_mismatch",
            f"控件“{widget}”与字段定义不符"
            "（select/radios 需要 enum，checkbox 需要 boolean，number 需要数字类型）。",
            f"Widget '{widget}' does not fit the property (select/radios need an enum, checkbox a boolean, "
            "number a numeric type).",
        )
    prefill = subschema.get("x-prefill")
    if prefill is not None and prefill not in prefill_keys:
        yield _schema_error(
            (*path, "x-prefill"),
            "schema_prefill_unknown",
            f"未知的预填键“{prefill}”，可用：{'、'.join(sorted(prefill_keys))}。",
            f"Unknown pre-fill key '{prefill}'; known: {', '.join(sorted(prefill_keys))}.",
        )
    for keyword in ("title", "description", "x-title-en", "x-description-en", "x-autocomplete"):
        if keyword in subschema and not isinstance(subschema[keyword], str):
            yield _schema_error(
                (*path, keyword), "schema_annotation_type", "应为字符串。", "must be a string."
            )
    pattern = subschema.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as problem:
            yield _schema_error(
                (*path, "pattern"),
                "schema_pattern_invalid",
                f"正则表达式无效：{problem}。",
                f"The regular expression is not valid: {problem}.",
            )
    labels = subschema.get("x-enum-labels")
    if labels is not None:
        options = {_value_key(value) for value in subschema.get("enum") or []}
        well_formed = isinstance(labels, dict) and all(
            isinstance(label, dict) and isinstance(label.get("zh"), str) for label in labels.values()
        )
        unknown = sorted(set(labels) - options) if isinstance(labels, dict) else []
        if not well_formed or unknown:
            yield _schema_error(
                (*path, "x-enum-labels"),
                "schema_enum_labels_invalid",
                'x-enum-labels 应为 {选项值: {"zh": …, "en": …}}，且只含 enum 中的选项'
                + (f"（多余：{'、'.join(unknown)}）" if unknown else "")
                + "。",
                'x-enum-labels must be {value: {"zh": ..., "en": ...}} for values of the enum'
                + (f" (not in the enum: {', '.join(unknown)})" if unknown else "")
                + ".",
            )


def _value_key(value: object) -> str:
    return value if isinstance(value, str) else _json_text(value)


def check_schema(schema: Any) -> list[FieldError]:
    """Meta-validate ``schema`` against JSON Schema 2020-12 and check the platform's conventions.

    Checks: a 2020-12 ``$schema`` if one is given, a top-level object, ``x-order`` naming existing
    properties, known widgets fitting their property, known formats, known ``x-prefill`` keys, compilable
    patterns, ``x-enum-labels`` for enum values, resolvable local ``$ref``. Used when an admin saves a
    service version; ``field`` is the dotted path inside the schema.
    """
    from onewindow.forms.prefill import prefill_keys

    if not isinstance(schema, dict):
        return [
            _schema_error(
                (),
                "schema_not_object",
                "表单应为对象类型的 JSON Schema。",
                "A form must be an object schema.",
            )
        ]
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    problems = [
        _schema_error(
            tuple(str(part) for part in error.absolute_path),
            "schema_invalid",
            f"不符合 JSON Schema 2020-12：{error.message}",
            f"not valid JSON Schema 2020-12: {error.message}",
        )
        for error in sorted(meta.iter_errors(schema), key=lambda error: list(map(str, error.absolute_path)))
    ]
    if "$schema" in schema and schema["$schema"] != SCHEMA_DIALECT:
        problems.append(
            _schema_error(
                ("$schema",),
                "schema_dialect",
                f"只支持 {SCHEMA_DIALECT}。",
                f"Only {SCHEMA_DIALECT} is supported.",
            )
        )
    if schema.get("type") != "object":
        problems.append(
            _schema_error(
                ("type",),
                "schema_not_object",
                '表单的 type 应为 "object"。',
                'A form\'s type must be "object".',
            )
        )
    properties = schema.get("properties")
    names = set(properties) if isinstance(properties, dict) else set()
    order = schema.get("x-order")
    if order is not None:
        if not isinstance(order, list) or not all(isinstance(name, str) for name in order):
            problems.append(
                _schema_error(
                    ("x-order",),
                    "schema_order_invalid",
                    "应为字段名列表。",
                    "must be a list of property names.",
                )
            )
        else:
            for index, name in enumerate(order):
                if name not in names:
                    problems.append(
                        _schema_error(
                            ("x-order", str(index)),
                            "schema_order_unknown",
                            f"没有名为“{name}”的字段。",
                            f"there is no property named '{name}'.",
                        )
                    )
    required = schema.get("required")
    problems.extend(
        _schema_error(
            ("required",),
            "schema_required_unknown",
            f"必填字段“{name}”未在 properties 中定义。",
            f"required property '{name}' is not defined in properties.",
        )
        for name in (required if isinstance(required, list) else [])
        if isinstance(name, str) and name not in names
    )
    keys = prefill_keys()
    resolver = Registry().with_resource("", DRAFT202012.create_resource(schema)).resolver()
    for path, subschema in _subschemas(schema):
        problems.extend(_check_hints(path, subschema, keys))
        reference = subschema.get("$ref")
        if isinstance(reference, str):
            try:
                resolver.lookup(reference)
            except Unresolvable:
                problems.append(
                    _schema_error(
                        (*path, "$ref"),
                        "schema_ref_unresolvable",
                        f"无法解析引用“{reference}”（只支持本表单内的引用）。",
                        f"Cannot resolve reference '{reference}' "
                        "(only references inside the form are supported).",
                    )
                )
    return problems
