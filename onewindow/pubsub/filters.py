"""The subscriptions' filter language: a list of conditions on top-level payload fields, all of which must
hold. Declarative data checked when saved, evaluated by comparison only — never ``eval``.

``[{"field": "division_code", "op": "prefix", "value": "3501"}, {"field": "type", "op": "in",
"value": ["company", "branch"]}]``. Operators: ``eq``, ``in``, ``prefix``. A missing field fails the
condition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from onewindow.core.errors import FieldError

OPERATORS = ("eq", "in", "prefix")
FIELD = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_CONDITIONS = 10
MAX_VALUES = 100

# Topics the registries write to the outbox (onewindow/registry). Case events are not in the outbox yet.
TOPICS = (
    "person.born",
    "person.moved",
    "person.deceased",
    "person.renamed",
    "person.corrected",
    "entity.registered",
    "entity.changed",
    "entity.cancelled",
)
FAMILIES = tuple(sorted({topic.split(".")[0] for topic in TOPICS}))


class Condition(TypedDict):
    field: str
    op: str
    value: Any


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | bool) and len(str(value)) <= 200


def filters_check(filters: object, errors: list[FieldError]) -> list[Condition]:
    """The filter as stored, or errors added to ``errors`` (field ``filters``)."""

    def refuse(zh: str, en: str) -> list[Condition]:
        errors.append(FieldError("filters", "filter_invalid", zh, en))
        return []

    if not isinstance(filters, list) or len(filters) > MAX_CONDITIONS:
        return refuse("过滤条件须为最多10项的列表。", "Filters must be a list of at most 10 conditions.")
    conditions: list[Condition] = []
    for item in filters:
        if not isinstance(item, dict) or set(item) != {"field", "op", "value"}:
            return refuse(
                "每项过滤条件须含 field、op、value。", "Each condition needs exactly field, op and value."
            )
        field, op, value = item["field"], item["op"], item["value"]
        if not isinstance(field, str) or not FIELD.fullmatch(field):
            return refuse("过滤字段名无效。", "A filter field name is not valid.")
        if op not in OPERATORS:
            return refuse("过滤运算符须为 eq、in 或 prefix。", "A filter operator must be eq, in or prefix.")
        valid = (
            isinstance(value, list) and 0 < len(value) <= MAX_VALUES and all(_scalar(v) for v in value)
            if op == "in"
            else isinstance(value, str) and 0 < len(value) <= 200
            if op == "prefix"
            else _scalar(value)
        )
        if not valid:
            return refuse("过滤值无效。", "A filter value is not valid for its operator.")
        conditions.append({"field": field, "op": op, "value": value})
    return conditions


def filters_match(filters: Sequence[Mapping[str, Any]], payload: Mapping[str, Any]) -> bool:
    """True if ``payload`` meets every condition."""
    for condition in filters:
        if condition["field"] not in payload:
            return False
        actual = payload[condition["field"]]
        op, value = condition["op"], condition["value"]
        if op == "eq" and actual != value:
            return False
        if op == "in" and actual not in value:
            return False
        if op == "prefix" and not (isinstance(actual, str) and actual.startswith(value)):
            return False
    return True


def topic_matches(patterns: Sequence[str], topic: str) -> bool:
    """True if ``topic`` is one of ``patterns`` or in one of their families (``entity.*``)."""
    return any(p == topic or (p.endswith(".*") and topic.startswith(p[:-1])) for p in patterns)


def topics_check(topics: object, errors: list[FieldError]) -> list[str]:
    allowed = set(TOPICS) | {f"{family}.*" for family in FAMILIES}
    if (
        not isinstance(topics, list)
        or not topics
        or not all(isinstance(t, str) and t in allowed for t in topics)
    ):
        errors.append(
            FieldError(
                "topics",
                "topic_unknown",
                "请选择已知的主题：" + "、".join(sorted(allowed)),
                "Choose known topics: " + ", ".join(sorted(allowed)),
            )
        )
        return []
    return sorted(set(topics))
