"""Accessible HTML for a form schema's fields (GOV.UK Frontend markup), in the current language.

The page provides the ``<form>``, the CSRF token and the buttons; this renders the fields and the error
summary. Every field's ``id`` is ``f-<prefix><name>`` so the summary can link to it (WCAG 2.1 SC 3.3.1
error identification, SC 1.3.1 labels bound to inputs, SC 4.1.2 name/role/value via ``aria-*``).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from onewindow.core.errors import FieldError
from onewindow.forms.coerce import property_type
from onewindow.forms.validation import KNOWN_WIDGETS, property_order

# Sensible defaults for the platform's formats when the schema gives no x-autocomplete (HTML autocomplete
# tokens, WCAG 2.1 SC 1.3.5 identify input purpose).
_FORMAT_AUTOCOMPLETE = {"mobile": "tel", "email": "email"}
_FORMAT_INPUT_TYPE = {"mobile": "tel", "email": "email", "date": "date"}


def is_english() -> bool:
    """True when the active language is English (Chinese is the default)."""
    return (get_language() or "zh-hans").lower().startswith("en")


def _text(definition: dict[str, Any], zh_key: str, en_key: str, fallback: str = "") -> str:
    zh = definition.get(zh_key)
    en = definition.get(en_key)
    zh_text = zh if isinstance(zh, str) and zh else fallback
    if is_english():
        return en if isinstance(en, str) and en else zh_text
    return zh_text


def _value_text(value: object) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@dataclass
class Option:
    value: str
    label: str
    id: str
    selected: bool


@dataclass
class Field:
    """What the template needs to draw one field."""

    name: str  # the POST key: prefix + property name
    id: str
    widget: str
    label: str
    hint: str
    error: str
    required: bool
    prefilled: bool
    readonly: bool
    value: str
    input_type: str = "text"
    autocomplete: str = ""
    inputmode: str = ""
    maxlength: str = ""
    spellcheck_off: bool = False
    checked: bool = False
    options: list[Option] = field(default_factory=list)

    @property
    def hint_id(self) -> str:
        return f"{self.id}-hint"

    @property
    def error_id(self) -> str:
        return f"{self.id}-error"

    @property
    def prefilled_id(self) -> str:
        return f"{self.id}-prefilled"

    @property
    def described_by(self) -> str:
        ids = []
        if self.hint:
            ids.append(self.hint_id)
        if self.prefilled:
            ids.append(self.prefilled_id)
        if self.error:
            ids.append(self.error_id)
        return " ".join(ids)


def _widget(definition: dict[str, Any], kind: str | None) -> str:
    declared = definition.get("x-widget")
    if isinstance(declared, str) and declared in KNOWN_WIDGETS:
        return declared
    if kind == "boolean":
        return "checkbox"
    if "enum" in definition:
        return "select"
    if kind in ("integer", "number"):
        return "number"
    if definition.get("format") == "date":
        return "date"
    return "text"


def _options(definition: dict[str, Any], field_id: str, current: str) -> list[Option]:
    labels = definition.get("x-enum-labels")
    options = []
    for index, value in enumerate(definition.get("enum") or []):
        text = _value_text(value)
        label = labels.get(text) if isinstance(labels, dict) else None
        if isinstance(label, dict):
            zh = str(label.get("zh") or text)
            shown = str(label.get("en") or zh) if is_english() else zh
        else:
            shown = text
        option_id = field_id if index == 0 else f"{field_id}-{index + 1}"
        options.append(Option(text, shown, option_id, text == current and current != ""))
    return options


def _error_message(error: FieldError) -> str:
    return error.message_en if is_english() else error.message_zh


def build_fields(
    schema: dict[str, Any],
    data: dict[str, Any],
    errors: list[FieldError],
    *,
    prefilled: Collection[str] = (),
    prefix: str = "",
    readonly: Collection[str] = (),
) -> list[Field]:
    """The renderable (scalar) top-level properties of ``schema``, in display order."""
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = set(schema.get("required") or [])
    first_error: dict[str, str] = {}
    for error in errors:
        head = error.field.split(".", 1)[0]
        first_error.setdefault(head, _error_message(error))
    fields = []
    for name in property_order(schema):
        definition = properties.get(name)
        if not isinstance(definition, dict):
            continue
        kind = property_type(definition)
        if kind in ("object", "array"):
            continue
        widget = _widget(definition, kind)
        field_id = f"f-{prefix}{name}"
        value = data.get(name) if isinstance(data, dict) else None
        value_text = _value_text(value)
        format_name = definition.get("format")
        autocomplete = definition.get("x-autocomplete")
        if not isinstance(autocomplete, str):
            autocomplete = _FORMAT_AUTOCOMPLETE.get(str(format_name), "")
        current = Field(
            name=f"{prefix}{name}",
            id=field_id,
            widget=widget,
            label=_text(definition, "title", "x-title-en", name),
            hint=_text(definition, "description", "x-description-en"),
            error=first_error.get(name, ""),
            required=name in required,
            prefilled=name in prefilled,
            readonly=name in readonly,
            value=value_text,
            autocomplete=autocomplete,
            checked=value is True,
        )
        if widget in ("select", "radios"):
            current.options = _options(definition, field_id, value_text)
        if widget == "number":
            current.inputmode = "numeric" if kind == "integer" else "decimal"
            current.spellcheck_off = True
        elif widget == "date":
            current.input_type = "date"
        elif widget == "text":
            current.input_type = _FORMAT_INPUT_TYPE.get(str(format_name), "text")
            if format_name in ("id-number", "credit-code", "division-code", "mobile"):
                current.spellcheck_off = True
            if format_name == "division-code":
                current.inputmode = "numeric"
        max_length = definition.get("maxLength")
        if (
            isinstance(max_length, int)
            and not isinstance(max_length, bool)
            and widget in ("text", "textarea")
        ):
            current.maxlength = str(max_length)
        fields.append(current)
    return fields


def render_form(
    schema: dict[str, Any],
    data: dict[str, Any],
    errors: list[FieldError],
    *,
    prefilled: Collection[str] = (),
    prefix: str = "",
    readonly: Collection[str] = (),
) -> SafeString:
    """Accessible HTML for the fields: label (with "(可选)/(optional)" for optional fields), hint, error
    message, ``aria-describedby``, ``aria-invalid``, ``autocomplete``, ``inputmode`` for numbers,
    fieldset+legend for radios, a visible "pre-filled" tag; ``id`` is ``f-<prefix><name>``. No ``<form>``
    tag and no submit button (the page provides them). Nested objects and arrays are not rendered."""
    fields = build_fields(schema, data, errors, prefilled=prefilled, prefix=prefix, readonly=readonly)
    return mark_safe(render_to_string("onewindow_forms/fields.html", {"fields": fields}))  # noqa: S308 - template output, autoescaped


@dataclass
class SummaryItem:
    message: str
    href: str


def error_summary(errors: list[FieldError], *, prefix: str = "") -> SafeString:
    """GOV.UK error summary (role=alert, links to ``#f-<prefix><field>``); empty string when no errors."""
    if not errors:
        return mark_safe("")
    items = []
    for error in errors:
        head = error.field.split(".", 1)[0]
        items.append(SummaryItem(_error_message(error), f"#f-{prefix}{head}" if head else ""))
    return mark_safe(render_to_string("onewindow_forms/error_summary.html", {"items": items}))  # noqa: S308 - template output, autoescaped
