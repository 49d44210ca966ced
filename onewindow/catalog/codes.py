"""Classification and resource codes (GB/T 21063.4 classification; the 2017 catalog guide's resource code).

A classification code is 类 (1 digit: 1 base, 2 thematic, 3 departmental), 项 (2 digits), 目 (3 digits) and
an optional 细目 (up to 6 digits): ``101001`` is base → population (01) → 目 001. A resource code is the
classification code (前段码), a slash, and a six-digit sequence within that classification (后段码):
``101001/000001``. Sequences start at 000001 and are never reused.
"""

from __future__ import annotations

import re

from onewindow.core.errors import RuleViolation

CLASSIFICATION_PATTERN = r"[1-3][0-9]{5}[0-9]{0,6}"
SEQUENCE_DIGITS = 6
RESOURCE_CODE_PATTERN = rf"{CLASSIFICATION_PATTERN}/[0-9]{{{SEQUENCE_DIGITS}}}"
CLASSIFICATION_CODE = re.compile(rf"^{CLASSIFICATION_PATTERN}$")
RESOURCE_CODE = re.compile(rf"^{RESOURCE_CODE_PATTERN}$")
# 类, or 类 + 项, or a full code: what "browse by classification" accepts.
CLASSIFICATION_PREFIX = re.compile(r"^[1-3]([0-9]{2}([0-9]{3}([0-9]{1,6})?)?)?$")
MAX_SEQUENCE = 10**SEQUENCE_DIGITS - 1


def item_code(classification_code: str) -> str:
    """The 类 + 项 part (three digits) of a classification code."""
    return classification_code[:3]


def resource_code(classification_code: str, sequence: int) -> str:
    return f"{classification_code}/{sequence:0{SEQUENCE_DIGITS}d}"


def sequence_of(code: str) -> int:
    return int(code.rsplit("/", 1)[1])


def validate_classification_code(value: object, *, field: str = "classification_code") -> str:
    """The classification code, or a bilingual refusal naming what is wrong with its form."""
    text = str(value or "").strip()
    if not CLASSIFICATION_CODE.match(text):
        raise RuleViolation(
            "classification_code_format",
            f"分类代码“{text}”格式不正确：应为类（1 位，1–3）、项（2 位）、目（3 位）"
            "和可选的细目（最多 6 位），均为数字，如 101001。",
            f"The classification code '{text}' is not valid: it is the catalog (1 digit, 1–3), item "
            "(2 digits), category (3 digits) and an optional sub-category (up to 6 digits), all digits, "
            "e.g. 101001.",
            field=field,
        )
    return text


def validate_resource_code(value: object, *, field: str = "code") -> str:
    """The resource code, or a bilingual refusal."""
    text = str(value or "").strip()
    if not RESOURCE_CODE.match(text):
        raise RuleViolation(
            "resource_code_format",
            f"资源代码“{text}”格式不正确：应为分类代码、“/”和 6 位顺序码，如 101001/000001。",
            f"The resource code '{text}' is not valid: it is the classification code, '/', and a six-digit "
            "sequence number, e.g. 101001/000001.",
            field=field,
        )
    return text
