"""Turn an HTML form POST into the typed JSON data a form schema validates."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from typing import Any

from django.http import QueryDict

from onewindow.core.validators import (
    InvalidIdentifier,
    validate_credit_code,
    validate_id_number,
    validate_mobile,
)

_FALSE_VALUES = frozenset({"", "false", "0", "off", "no"})

# Identifiers are stored in their one written form (capital X, no +86 or spaces) when they are valid; an
# invalid one is left as typed so that validation reports exactly what is wrong with it.
_NORMALISERS: dict[str, Callable[[str], str]] = {
    "id-number": validate_id_number,
    "credit-code": validate_credit_code,
    "mobile": validate_mobile,
}


def _normalised(definition: dict[str, Any], text: str) -> str:
    normalise = _NORMALISERS.get(str(definition.get("format")))
    if normalise is None:
        return text
    try:
        return normalise(text)
    except InvalidIdentifier:
        return text


def property_type(definition: object) -> str | None:
    """The property's JSON type (the first non-null one of a list), or None if it declares none."""
    if not isinstance(definition, dict):
        return None
    declared = definition.get("type")
    if isinstance(declared, list):
        named = [str(t) for t in declared if t != "null"]
        return named[0] if named else None
    return declared if isinstance(declared, str) else None


def _parse_integer(text: str) -> int | str:
    normalised = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "")
    try:
        return int(normalised)
    except ValueError:
        pass
    try:
        number = float(normalised)
    except ValueError:
        return text
    # "3.0" is the integer 3 (JSON Schema 2020-12 §6.1.1: integers are numbers with a zero fractional part).
    return int(number) if math.isfinite(number) and number.is_integer() else text


def _parse_number(text: str) -> int | float | str:
    normalised = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "")
    try:
        return int(normalised)
    except ValueError:
        pass
    try:
        number = float(normalised)
    except ValueError:
        return text
    return number if math.isfinite(number) else text  # "nan"/"inf" are not JSON numbers


def _enum_value(definition: dict[str, Any], text: str) -> Any:
    for option in definition.get("enum") or []:
        if option is True or option is False:
            if text == ("true" if option else "false"):
                return option
        elif option is None:
            if text == "null":
                return None
        elif str(option) == text:
            return option
    return text


def form_data_from_post(schema: dict[str, Any], post: QueryDict, *, prefix: str = "") -> dict[str, Any]:
    """Turn an HTML POST into typed JSON data.

    For each property of the schema (other keys are ignored): "" (after trimming spaces) → the property is
    absent; integer/number parsed (full-width digits and thousands separators accepted; left as the string
    if it does not parse, so validation reports a type error); a boolean is True when its checkbox is
    present and False when absent; an untyped ``enum`` maps back to the matching option; a valid ID number,
    credit code or mobile number is written in its normal form (``11010519491231002x`` → ``…002X``,
    ``+86 138-0013-8000`` → ``13800138000``).
    """
    data: dict[str, Any] = {}
    properties = schema.get("properties")
    for name, definition in (properties if isinstance(properties, dict) else {}).items():
        key = f"{prefix}{name}"
        kind = property_type(definition)
        if kind == "boolean":
            data[name] = post.get(key, "").strip().lower() not in _FALSE_VALUES
            continue
        if kind in ("object", "array"):
            continue  # no HTML rendering for nested data
        raw = post.get(key)
        if raw is None:
            continue
        text = raw.strip()
        if text == "":
            continue
        if kind == "integer":
            data[name] = _parse_integer(text)
        elif kind == "number":
            data[name] = _parse_number(text)
        elif kind is None and isinstance(definition, dict) and "enum" in definition:
            data[name] = _enum_value(definition, text)
        elif isinstance(definition, dict):
            data[name] = _normalised(definition, text)
        else:
            data[name] = text
    return data
