"""RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes an e-licence's SM2 signature covers.

The signer and every verifier must produce the same bytes from the same JSON value, whatever library or
language they use, so the serialisation is fixed by RFC 8785:

* no whitespace; object members sorted by their names compared as arrays of UTF-16 code units (§3.2.3),
  which differs from sorting Python strings (code points) once characters beyond U+FFFF meet U+E000–U+FFFF;
* strings with the minimal escapes of ECMAScript's ``JSON.stringify`` (§3.2.2.2): ``\\"`` and ``\\\\``,
  ``\\b \\t \\n \\f \\r`` for those controls, ``\\u00xx`` (lower-case hex) for the other controls below
  U+0020, everything else as itself in UTF-8; lone surrogates are refused;
* numbers as ECMAScript's ``Number.prototype.toString`` writes the IEEE 754 double (§3.2.2.3): the shortest
  digits that round-trip, plain notation from 1e-6 up to below 1e21 and exponent notation outside it,
  ``-0`` as ``0``; NaN and the infinities are refused. Integers beyond 2^53 become the double nearest to
  them, as in every JavaScript verifier.

Parsing is strict too (:func:`jcs_loads`): duplicate member names, NaN/Infinity and lone surrogates are
refused (I-JSON, RFC 7493), so a document has one meaning.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

# Integers up to this magnitude are exact in an IEEE 754 double (and printed as such by ECMAScript).
_EXACT_INTEGER_LIMIT = 2**53

_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


class CanonicalJsonError(ValueError):
    """The value cannot be canonicalised (NaN, infinity, a lone surrogate, a non-JSON type) or parsed."""


def jcs_dumps(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value`` (dicts with str keys, lists/tuples, str, int,
    float, bool, None)."""
    parts: list[str] = []
    _write(value, parts)
    text = "".join(parts)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate that slipped through (keys are checked below)
        raise CanonicalJsonError("lone surrogate in a string") from None


def jcs_loads(data: bytes | str) -> Any:
    """Parse JSON strictly: duplicate member names, NaN, Infinity and lone surrogates are refused."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CanonicalJsonError(f"not UTF-8: {error.reason}") from None
    try:
        value = json.loads(data, object_pairs_hook=_unique_members, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise CanonicalJsonError(f"not JSON: {error.msg} at {error.pos}") from None
    _check_strings(value)
    return value


def es_number(value: float | int) -> str:
    """``Number.prototype.toString`` of the IEEE 754 double nearest to ``value`` (ECMA-262 §7.1.12.1)."""
    if isinstance(value, bool):
        raise CanonicalJsonError("a boolean is not a number")
    if isinstance(value, int) and abs(value) <= _EXACT_INTEGER_LIMIT:
        return str(value)
    try:
        number = float(value)
    except OverflowError:
        raise CanonicalJsonError(f"integer too large for a double: {value}") from None
    if math.isnan(number) or math.isinf(number):
        raise CanonicalJsonError("NaN and Infinity are not JSON")
    if number == 0:
        return "0"  # and -0
    sign = "-" if number < 0 else ""
    # repr() gives the shortest digit string that round-trips (David Gay's algorithm), as ECMAScript asks.
    decimal = Decimal(repr(abs(number))).normalize()
    _, digit_tuple, exponent = decimal.as_tuple()
    exponent = int(exponent)  # finite: NaN and the infinities were refused above
    digits = "".join(str(digit) for digit in digit_tuple)
    k = len(digits)
    n = exponent + k  # the value is 0.<digits> × 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        power = n - 1
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"
    return sign + text


def _utf16_key(name: str) -> bytes:
    try:
        return name.encode("utf-16-be")
    except UnicodeEncodeError:
        raise CanonicalJsonError("lone surrogate in a member name") from None


def _string(text: str) -> str:
    out = ['"']
    for character in text:
        escaped = _SHORT_ESCAPES.get(character)
        if escaped is not None:
            out.append(escaped)
        elif character < " ":
            out.append(f"\\u{ord(character):04x}")
        elif "\ud800" <= character <= "\udfff":
            raise CanonicalJsonError("lone surrogate in a string")
        else:
            out.append(character)
    out.append('"')
    return "".join(out)


def _write(value: Any, parts: list[str]) -> None:
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append(_string(value))
    elif isinstance(value, int | float):
        parts.append(es_number(value))
    elif isinstance(value, dict):
        for name in value:
            if not isinstance(name, str):
                raise CanonicalJsonError(f"member names must be strings, not {type(name).__name__}")
        parts.append("{")
        for index, name in enumerate(sorted(value, key=_utf16_key)):
            if index:
                parts.append(",")
            parts.append(_string(name))
            parts.append(":")
            _write(value[name], parts)
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _write(item, parts)
        parts.append("]")
    else:
        raise CanonicalJsonError(f"{type(value).__name__} is not a JSON type")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, item in pairs:
        if name in members:
            raise CanonicalJsonError(f"duplicate member name {name!r}")
        members[name] = item
    return members


def _refuse_constant(name: str) -> Any:
    raise CanonicalJsonError(f"{name} is not JSON")


def _check_strings(value: Any) -> None:
    """Refuse lone surrogates anywhere (``\\ud800`` escapes parse into unpaired surrogates in Python)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _utf16_key(item)
        elif isinstance(item, dict):
            for name, member in item.items():
                _utf16_key(name)
                stack.append(member)
        elif isinstance(item, list):
            stack.extend(item)
