"""RFC 8785 JSON Canonicalization Scheme: the bytes an e-licence's SM2 signature covers (issue #6 item 3).

Vectors from RFC 8785 itself (§3.2.2 the sample input and output, §3.2.3 the sorting example, Appendix B the
number serialisation table), and a cross-check against ECMAScript's own ``JSON.stringify`` in Node.js (the
RFC's reference: canonical JSON is what ES6 JSON.stringify writes with sorted keys), when Node is there.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import struct
import subprocess
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onewindow.licences.canonical import CanonicalJsonError, es_number, jcs_dumps, jcs_loads

# RFC 8785 §3.2.2: the sample input and its canonical form.
RFC_SAMPLE_INPUT = r"""{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""
RFC_SAMPLE_OUTPUT = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
)

# RFC 8785 Appendix B: IEEE 754 doubles (hex) and their serialisation.
RFC_NUMBERS = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def _double(hex_bits: str) -> float:
    return float(struct.unpack(">d", bytes.fromhex(hex_bits))[0])


def test_the_rfc_sample_canonicalises_to_the_rfc_output() -> None:
    assert jcs_dumps(jcs_loads(RFC_SAMPLE_INPUT)) == RFC_SAMPLE_OUTPUT.encode("utf-8")


@pytest.mark.parametrize(("hex_bits", "expected"), RFC_NUMBERS)
def test_numbers_are_written_as_in_rfc_8785_appendix_b(hex_bits: str, expected: str) -> None:
    assert es_number(_double(hex_bits)) == expected
    assert jcs_dumps([_double(hex_bits)]) == f"[{expected}]".encode()


@pytest.mark.parametrize("hex_bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_nan_and_the_infinities_are_refused(hex_bits: str) -> None:
    with pytest.raises(CanonicalJsonError):
        jcs_dumps({"x": _double(hex_bits)})


def test_members_are_sorted_by_utf16_code_units_as_in_rfc_8785_section_3_2_3() -> None:
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }

    names = list(jcs_loads(jcs_dumps(value)))

    # The emoji (a surrogate pair D83D DE00) sorts before U+FB33, unlike by code point.
    assert names == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert sorted(value) != names


def test_integers_are_exact_up_to_2_to_the_53_and_the_nearest_double_beyond() -> None:
    assert jcs_dumps([2**53, -(2**53), 0, -0.0, 100]) == b"[9007199254740992,-9007199254740992,0,0,100]"
    # 2^53 + 1 is not a double: ECMAScript reads it as 2^53.
    assert jcs_dumps([2**53 + 1]) == b"[9007199254740992]"
    assert jcs_dumps([10**21]) == b"[1e+21]"
    with pytest.raises(CanonicalJsonError):
        jcs_dumps([10**400])


def test_strings_use_the_minimal_escapes_and_utf8() -> None:
    text = 'a"b\\c\b\f\n\r\t\x00\x1f\x7f/é中😀'
    assert jcs_dumps(text) == '"a\\"b\\\\c\\b\\f\\n\\r\\t\\u0000\\u001f\x7f/é中😀"'.encode()


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2}',  # duplicate member names
        '{"a": NaN}',
        '{"a": Infinity}',
        '{"a": "\\ud800"}',  # a lone surrogate
        '{"\\udc00": 1}',
        '{"a": 1',
        b"\xff\xfe{}",
    ],
)
def test_parsing_refuses_what_has_more_than_one_meaning(text: str | bytes) -> None:
    with pytest.raises(CanonicalJsonError):
        jcs_loads(text)


def test_non_json_values_are_refused() -> None:
    for value in ({1: "x"}, {"a": {1, 2}}, {"a": b"bytes"}):
        with pytest.raises(CanonicalJsonError):
            jcs_dumps(value)


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=["Cs"]), max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@given(_json_values)
def test_canonical_form_is_a_fixed_point(value: Any) -> None:
    canonical = jcs_dumps(value)
    assert jcs_dumps(jcs_loads(canonical)) == canonical


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_double_round_trips_through_its_canonical_text(number: float) -> None:
    assert float(es_number(number)) == number or (number == 0 and math.copysign(1, number) < 0)


# Canonical JSON in ECMAScript itself: JSON.stringify of primitives, keys sorted as JavaScript sorts strings
# (by UTF-16 code units). This is the function RFC 8785 shows as its reference.
_NODE_CANONICALISE = r"""
const canonical = (v) => v === null || typeof v !== 'object' ? JSON.stringify(v)
  : Array.isArray(v) ? '[' + v.map(canonical).join(',') + ']'
  : '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canonical(v[k])).join(',') + '}';
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter((line) => line);
process.stdout.write(lines.map((line) => canonical(JSON.parse(line))).join('\n'));
"""


def _random_value(generator: random.Random, depth: int = 0) -> Any:
    kind = generator.randrange(7 if depth < 3 else 5)
    if kind == 0:
        return generator.choice([None, True, False])
    if kind == 1:
        return (
            generator.randint(-(2**62), 2**62) if generator.random() < 0.3 else generator.randint(-999, 999)
        )
    if kind == 2:
        return _double(f"{generator.getrandbits(64):016x}")
    if kind in (3, 4):
        alphabet = 'aZ0 "\\/\b\n\x01\x7fé€中😀\ufb33\U0001d11e'
        return "".join(generator.choice(alphabet) for _ in range(generator.randrange(8)))
    if kind == 5:
        return [_random_value(generator, depth + 1) for _ in range(generator.randrange(4))]
    return {_random_value(generator, 4) or "k": _random_value(generator, depth + 1) for _ in range(4)}


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(name, str) and _finite(item) for name, item in value.items())
    return True


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_canonical_bytes_are_those_of_ecmascript() -> None:
    generator = random.Random(8785)
    values = [value for value in (_random_value(generator) for _ in range(400)) if _finite(value)]
    values += [_double(hex_bits) for hex_bits, _ in RFC_NUMBERS]
    node = shutil.which("node")
    assert node is not None
    completed = subprocess.run(
        [node, "-e", _NODE_CANONICALISE],
        input="\n".join(json.dumps(value) for value in values),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    expected = completed.stdout.split("\n")

    assert [jcs_dumps(value).decode("utf-8") for value in values] == expected
