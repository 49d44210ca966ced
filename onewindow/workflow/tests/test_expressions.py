"""The restricted expression language (Issue #4: nothing an administrator typed reaches Python internals)."""

from __future__ import annotations

import ast
import builtins
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onewindow.workflow.expressions import (
    MAX_SOURCE_LENGTH,
    RestrictedScriptEngine,
    UnsafeExpression,
    expression_check,
    expression_evaluate,
)

CONTEXT: dict[str, Any] = {
    "amount": 150,
    "kind": "llc",
    "outcome": "approve",
    "data": {"x": 1},
    "items": [3, 1],
}

ESCAPES = [
    "().__class__.__base__.__subclasses__()",
    "__import__('os')",
    "[c for c in ().__class__.__bases__]",
    "getattr(1, '__class__')",
    "(lambda: 1)()",
    "open('/etc/passwd')",
    "9**9**9**9",
    "eval('1')",
    "exec('x = 1')",
    "globals()",
    "{**data}",
    "(x := 1)",
    "f'{amount}'",
    "[*items]",
    "items[0:1]",
    "data.get('x')",
    "type(1)",
    "__builtins__",
    "_private",
    "b'bytes'",
    "1 is 1",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_known_escapes_are_refused_by_check_and_evaluate(source: str) -> None:
    # Given a known sandbox escape or a disallowed construct, when checked or evaluated, then it is refused
    with pytest.raises(UnsafeExpression) as checked:
        expression_check(source)
    assert checked.value.message_zh
    assert checked.value.message_en
    with pytest.raises(UnsafeExpression):
        expression_evaluate(source, CONTEXT)


def test_subclasses_escape_is_refused_at_attribute_access() -> None:
    with pytest.raises(UnsafeExpression) as refused:
        expression_check("().__class__.__base__.__subclasses__()")
    assert refused.value.code == "not_allowed"
    assert "attribute access" in refused.value.message_en


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('amount > 100 and kind == "llc"', True),
        ('outcome == "approve"', True),
        ('"x" in data', True),
        ('"y" not in data', True),
        ('data["x"] + 1', 2),
        ("len(items) * 2 - 1", 3),
        ("sorted(items)", [1, 3]),
        ("max(items) // 2 % 5", 1),
        ("amount / 2", 75.0),
        ("-amount", -150),
        ("not outcome", False),
        ('"big" if amount > 100 else "small"', "big"),
        ("kind is None", False),
        ("kind is not None", True),
        ("1 < amount <= 150", True),
        ("(1, 2) + (3,)", (1, 2, 3)),
        ('{"a": 1, "b": {1, 2}}', {"a": 1, "b": {1, 2}}),
        ("round(2.567, 2)", 2.57),
        ('int("12") + float("0.5")', 12.5),
        ('str(amount) + "元"', "150元"),
        ("sum(items) + abs(-1)", 5),
        ("any([False, True]) and all([1, 2]) and bool(1)", True),
        ("min(3, 4)", 3),
        ("items[-1]", 1),
        ("working_days(3)", "WD3"),
        ("amount > 100 or missing", True),
    ],
)
def test_normal_expressions_evaluate(source: str, expected: object) -> None:
    assert expression_evaluate(source, CONTEXT) == expected


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("missing == 1", "unknown_name"),
        ("1 / 0", "evaluation_failed"),
        ('amount < "x"', "evaluation_failed"),
        ('data["nope"]', "evaluation_failed"),
        ('"a" * 1000000', "too_large"),
        ("[1] * 200000", "too_large"),
        ("[[1] * 1000] * 1000", "too_large"),
        ("1" + "0" * 40, "too_large"),
        ("10000000000 * 10000000000 * 10000000000 * 10000000000", "too_large"),
        ("x" * (MAX_SOURCE_LENGTH + 1), "too_long"),
        ("(" * 300 + "1" + ")" * 300, "syntax"),
        ("-" * 60 + "1", "too_deep"),
        ("+".join(["1"] * 600), "too_deep"),
        ("[" + ", ".join(["1"] * 600) + "]", "too_complex"),
        ("amount >", "syntax"),
        ("len(x=1)", "not_allowed"),
        ("foo(1)", "unknown_function"),
        ("str([1])", "evaluation_failed"),
        ("working_days(-1)", "evaluation_failed"),
        ("sum([[1], [2]])", "evaluation_failed"),
    ],
)
def test_refusals_are_bilingual_with_a_code(source: str, code: str) -> None:
    with pytest.raises(UnsafeExpression) as refused:
        expression_evaluate(source, CONTEXT)
    assert refused.value.code == code
    assert refused.value.message_zh
    assert refused.value.message_en


def test_context_names_resolve_only_from_the_context() -> None:
    # The whitelisted functions are callable, but not readable as names (no function objects leak).
    with pytest.raises(UnsafeExpression) as refused:
        expression_evaluate("len", {})
    assert refused.value.code == "unknown_name"


def test_evaluation_never_calls_python_eval_or_exec() -> None:
    with (
        mock.patch.object(builtins, "eval", side_effect=AssertionError("eval")),
        mock.patch.object(builtins, "exec", side_effect=AssertionError("exec")),
    ):
        assert expression_evaluate('amount > 100 and kind == "llc"', CONTEXT) is True


_TOKENS = st.sampled_from([*"abcdxyz_.()[]{}'\"0123456789+-*/%<>=!,: \n", "__class__", "lambda ", "amount"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS, max_size=40).map("".join))
def test_random_text_only_raises_unsafe_expression(source: str) -> None:
    # Given any text, evaluation returns a value or raises UnsafeExpression, never anything else.
    try:
        expression_evaluate(source, CONTEXT)
    except UnsafeExpression as error:
        refused: UnsafeExpression | None = error
    else:
        refused = None
    assert refused is None or (refused.message_zh and refused.message_en)


_LEAVES = st.one_of(
    st.integers(-1000, 1000).map(lambda n: ast.Constant(n)),
    st.text(max_size=5).map(lambda s: ast.Constant(s)),
    st.sampled_from(["amount", "kind", "data", "items", "__class__", "missing"]).map(
        lambda n: ast.Name(n, ast.Load())
    ),
)


def _extend(children: st.SearchStrategy[ast.expr]) -> st.SearchStrategy[ast.expr]:
    ops = st.sampled_from([ast.Add(), ast.Sub(), ast.Mult(), ast.Div(), ast.Mod(), ast.Pow(), ast.BitOr()])
    names = st.sampled_from(["len", "str", "sorted", "getattr", "max"])
    return st.one_of(
        st.builds(ast.BinOp, children, ops, children),
        st.builds(ast.Compare, children, st.just([ast.Lt()]), st.lists(children, min_size=1, max_size=1)),
        st.builds(ast.Attribute, children, st.sampled_from(["__class__", "real"]), st.just(ast.Load())),
        st.builds(ast.Subscript, children, children, st.just(ast.Load())),
        st.builds(
            ast.Call,
            names.map(lambda n: ast.Name(n, ast.Load())),
            st.lists(children, max_size=2),
            st.just([]),
        ),
        st.builds(ast.List, st.lists(children, max_size=3), st.just(ast.Load())),
    )


@settings(max_examples=300, deadline=None)
@given(st.recursive(_LEAVES, _extend, max_leaves=12))
def test_random_trees_only_raise_unsafe_expression(tree: ast.expr) -> None:
    source = ast.unparse(ast.fix_missing_locations(ast.Expression(tree)))
    try:
        expression_evaluate(source, CONTEXT)
    except UnsafeExpression as error:
        refused: UnsafeExpression | None = error
    else:
        refused = None
    assert refused is None or refused.message_en


class _Task:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.task_spec = object()


def test_script_engine_evaluates_through_the_restricted_language_and_refuses_scripts() -> None:
    engine = RestrictedScriptEngine()
    task = _Task({"outcome": "approve"})
    assert engine.evaluate(task, 'outcome == "approve"') is True
    with pytest.raises(UnsafeExpression):
        engine.evaluate(task, "().__class__")
    with pytest.raises(UnsafeExpression) as refused:
        engine.execute(task, "x = 1")
    assert refused.value.code == "script_refused"
    with pytest.raises(UnsafeExpression):
        engine.environment.execute("import os", {}, {})
    with pytest.raises(SyntaxError):
        engine.validate("> 100")


def test_script_engine_calls_service_actions_through_the_caller() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def caller(task: Any, name: str, params: Any) -> dict[str, Any]:
        calls.append((name, dict(params)))
        return {"credit_code": "X"}

    engine = RestrictedScriptEngine(service_caller=caller)
    task = _Task({})
    result = engine.call_service(task, operation_name="event_publish", operation_params={"a": {"value": 1}})
    assert calls == [("event_publish", {"a": 1})]
    assert result == '{"credit_code": "X"}'
    assert task.data == {"credit_code": "X"}
    with pytest.raises(UnsafeExpression):
        RestrictedScriptEngine().call_service(task, operation_name="event_publish", operation_params={})
