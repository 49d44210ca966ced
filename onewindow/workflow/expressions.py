"""The restricted expression language of process models: gateway conditions, timer and DMN expressions.

Administrators type these expressions into a BPMN model, so nothing they write may reach Python's
internals. The source is parsed with ``ast.parse(mode="eval")``, every node is checked against a short
allow-list (``expression_check``) and the checked tree is then walked by a small interpreter
(``expression_evaluate``): Python's ``eval``/``exec`` are never called, there is no attribute access at all
(so ``().__class__.__base__.__subclasses__()`` is refused at ``.__class__``), names resolve only from the
task data, and only a handful of pure functions can be called. Sizes are bounded (source length, number of
nodes, nesting depth, constants, and every sequence or number built while evaluating) so an expression
cannot exhaust memory or time either.

``RestrictedScriptEngine`` plugs this into SpiffWorkflow: every expression the engine evaluates goes
through ``expression_evaluate`` with the task data as context, and script tasks (and pre/post scripts)
are refused outright. See docs/workflow.md.
"""

from __future__ import annotations

import ast
import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from onewindow.core.errors import RuleViolation

MAX_SOURCE_LENGTH = 2_000
MAX_NODES = 500
MAX_DEPTH = 40
# The largest integer constant or intermediate result, and the largest "weight" (characters of strings,
# elements of containers, counted through nesting) of any value built while evaluating.
MAX_INTEGER = 10**30
MAX_WEIGHT = 100_000


class UnsafeExpression(RuleViolation):
    """An expression was refused or could not be evaluated; ``code`` says why, in both languages.

    Codes: ``syntax``, ``too_long``, ``too_complex``, ``too_deep``, ``not_allowed``, ``bad_name``,
    ``too_large``, ``unknown_name``, ``unknown_function``, ``evaluation_failed``.
    """

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(code, message_zh, message_en, status=422)


def _working_days(n: object) -> str:
    """``working_days(n)``: n working days on the platform calendar, in the timer notation ``WD<n>``."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0 or n > 3650:
        raise UnsafeExpression(
            "evaluation_failed",
            "working_days() 的参数须为 0 至 3650 之间的整数。",
            "working_days() takes a whole number of days from 0 to 3650.",
        )
    return f"WD{n}"


def _scalar(value: object) -> object:
    if value is not None and not isinstance(value, str | int | float | bool):
        raise TypeError("only scalars")
    return value


def _number_or_text(value: object) -> str | int | float:
    if not isinstance(value, str | int | float):
        raise TypeError("a number or text")
    return value


def _str(value: object = "") -> str:
    return str(_scalar(value))


def _sum(values: object) -> object:
    items = list(values)  # type: ignore[call-overload]
    if not all(isinstance(item, int | float) for item in items):
        raise TypeError("sum() takes numbers only")
    return sum(items)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "int": lambda value=0: int(_number_or_text(value)),
    "float": lambda value=0.0: float(_number_or_text(value)),
    "str": _str,
    "bool": bool,
    "sum": _sum,
    "any": any,
    "all": all,
    "sorted": sorted,
    "working_days": _working_days,
}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda left, right: left in right,
    ast.NotIn: lambda left, right: left not in right,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Tuple,
    ast.List,
    ast.Set,
    ast.Dict,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Compare,
    ast.IfExp,
    ast.Subscript,
    ast.Call,
    *_BINARY,
    *_COMPARE,
)

# Names of node types in the refusal message, for the kinds an administrator is likely to try.
_NODE_NAMES: dict[type[ast.AST], tuple[str, str]] = {
    ast.Attribute: ("属性访问（“.”）", "attribute access ('.')"),
    ast.Lambda: ("lambda 函数", "lambda functions"),
    ast.ListComp: ("推导式", "comprehensions"),
    ast.SetComp: ("推导式", "comprehensions"),
    ast.DictComp: ("推导式", "comprehensions"),
    ast.GeneratorExp: ("生成器表达式", "generator expressions"),
    ast.JoinedStr: ("f 字符串", "f-strings"),
    ast.NamedExpr: ("赋值表达式（:=）", "assignment expressions (:=)"),
    ast.Starred: ("星号展开（*）", "starred unpacking (*)"),
    ast.Pow: ("乘方（**）", "powers (**)"),
    ast.Slice: ("切片", "slices"),
    ast.Await: ("await", "await"),
}


def _refuse(node: ast.AST) -> UnsafeExpression:
    zh, en = _NODE_NAMES.get(type(node), (type(node).__name__, type(node).__name__))
    return UnsafeExpression("not_allowed", f"表达式中不允许使用{zh}。", f"Expressions may not use {en}.")


def _check_name(name: str) -> None:
    if name.startswith("_"):
        raise UnsafeExpression(
            "bad_name",
            f"名称“{name}”不允许以下划线开头。",
            f"The name '{name}' may not start with an underscore.",
        )


def _check_constant(value: object) -> None:
    if isinstance(value, bytes) or value is Ellipsis or isinstance(value, complex):
        raise UnsafeExpression(
            "not_allowed", "表达式中不允许使用此类常量。", "Expressions may not use this kind of constant."
        )
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        raise _too_large()


def _too_large() -> UnsafeExpression:
    return UnsafeExpression(
        "too_large", "表达式中的数值或文本过大。", "A number or text in the expression is too large."
    )


def _parse(source: str) -> ast.Expression:
    if not isinstance(source, str):
        raise UnsafeExpression("syntax", "表达式必须是文本。", "An expression must be text.")
    if len(source) > MAX_SOURCE_LENGTH:
        raise UnsafeExpression(
            "too_long",
            f"表达式过长（最多 {MAX_SOURCE_LENGTH} 个字符）。",
            f"The expression is too long (at most {MAX_SOURCE_LENGTH} characters).",
        )
    try:
        return ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise UnsafeExpression(
            "syntax",
            "表达式语法错误，无法解析。",
            f"The expression cannot be parsed: {error.__class__.__name__}.",
        ) from None


def _check_tree(tree: ast.Expression) -> None:
    nodes = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UnsafeExpression(
                "too_deep",
                f"表达式嵌套过深（最多 {MAX_DEPTH} 层）。",
                f"The expression is nested too deeply (at most {MAX_DEPTH} levels).",
            )
        if isinstance(node, ast.expr):
            nodes += 1
            if nodes > MAX_NODES:
                raise UnsafeExpression(
                    "too_complex",
                    f"表达式过于复杂（最多 {MAX_NODES} 个节点）。",
                    f"The expression is too complex (at most {MAX_NODES} nodes).",
                )
        if not isinstance(node, _ALLOWED_NODES):
            raise _refuse(node)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    # Only once every node is of an allowed type, the rules about particular nodes.
    for node in ast.walk(tree):
        _check_node(node)


def _check_node(node: ast.AST) -> None:
    if isinstance(node, ast.Name):
        _check_name(node.id)
    elif isinstance(node, ast.Constant):
        _check_constant(node.value)
    elif isinstance(node, ast.Dict) and any(key is None for key in node.keys):
        raise UnsafeExpression("not_allowed", "表达式中不允许使用“**”展开。", "Expressions may not use '**'.")
    elif isinstance(node, ast.Compare):
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.Is | ast.IsNot) and not (
                isinstance(right, ast.Constant) and right.value is None
            ):
                raise UnsafeExpression(
                    "not_allowed",
                    "“is”/“is not”只能用于与 None 比较。",
                    "'is' and 'is not' may only compare with None.",
                )
    elif isinstance(node, ast.Subscript):
        key = node.slice
        negative_constant = (
            isinstance(key, ast.UnaryOp)
            and isinstance(key.op, ast.USub)
            and isinstance(key.operand, ast.Constant)
        )
        if not (isinstance(key, ast.Constant | ast.Name) or negative_constant):
            raise UnsafeExpression(
                "not_allowed",
                '下标只能是常量或名称，例如 data["x"]。',
                'A subscript key must be a constant or a name, e.g. data["x"].',
            )
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise UnsafeExpression(
                "not_allowed", "只能调用允许的函数。", "Only the allowed functions may be called."
            )
        if node.func.id not in FUNCTIONS:
            raise UnsafeExpression(
                "unknown_function",
                f"不允许调用函数“{node.func.id}”。允许的函数：{', '.join(sorted(FUNCTIONS))}。",
                f"The function '{node.func.id}' may not be called. Allowed: {', '.join(sorted(FUNCTIONS))}.",
            )
        if node.keywords:
            raise UnsafeExpression(
                "not_allowed",
                "函数调用不允许使用关键字参数。",
                "Function calls may not use keyword arguments.",
            )


def expression_check(source: str) -> None:
    """Refuse (``UnsafeExpression``) an expression that is not in the restricted language; see the module."""
    _check_tree(_parse(source))


@dataclass
class _Budget:
    remaining: int = MAX_NODES * 20


def _weight(value: object, limit: int = MAX_WEIGHT) -> int:
    """Characters and elements of ``value`` counted through nesting; stops counting past ``limit``."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item) + 1
        elif isinstance(item, dict):
            total += 1
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 1
            stack.extend(item)
        else:
            total += 1
    return total


def _bounded(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        raise _too_large()
    if isinstance(value, str | list | tuple | dict | set) and _weight(value) > MAX_WEIGHT:
        raise _too_large()
    return value


def _binary(op: ast.operator, left: Any, right: Any) -> Any:
    if isinstance(op, ast.Mult):
        # Check a repetition's size before building it.
        for sequence, count in ((left, right), (right, left)):
            repeated = isinstance(sequence, str | list | tuple) and isinstance(count, int) and count > 0
            if repeated and _weight(sequence) * count > MAX_WEIGHT:
                raise _too_large()
    return _bounded(_BINARY[type(op)](left, right))


_SUBSCRIPTABLE = (dict, list, tuple, str)


class _Interpreter:
    def __init__(self, context: Mapping[str, Any]) -> None:
        self.context = context
        self.budget = _Budget()

    def run(self, node: ast.expr) -> Any:
        self.budget.remaining -= 1
        if self.budget.remaining < 0:
            raise UnsafeExpression(
                "too_complex", "表达式计算步骤过多。", "The expression takes too many steps to evaluate."
            )
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in self.context:
                raise UnsafeExpression(
                    "unknown_name",
                    f"名称“{node.id}”在办件数据中不存在。",
                    f"The name '{node.id}' is not in the case data.",
                )
            return self.context[node.id]
        if isinstance(node, ast.Tuple):
            return _bounded(tuple(self.run(item) for item in node.elts))
        if isinstance(node, ast.List):
            return _bounded([self.run(item) for item in node.elts])
        if isinstance(node, ast.Set):
            return _bounded({self.run(item) for item in node.elts})
        if isinstance(node, ast.Dict):
            return _bounded(
                {
                    self.run(key): self.run(value)
                    for key, value in zip(node.keys, node.values, strict=True)
                    if key is not None
                }
            )
        if isinstance(node, ast.BoolOp):
            result: Any = None
            for value in node.values:
                result = self.run(value)
                if isinstance(node.op, ast.And) and not result:
                    return result
                if isinstance(node.op, ast.Or) and result:
                    return result
            return result
        if isinstance(node, ast.BinOp):
            return _binary(node.op, self.run(node.left), self.run(node.right))
        if isinstance(node, ast.UnaryOp):
            operand = self.run(node.operand)
            if isinstance(node.op, ast.Not):
                return not operand
            if isinstance(node.op, ast.USub):
                return -operand
            return +operand
        if isinstance(node, ast.Compare):
            left = self.run(node.left)
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = self.run(comparator)
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self.run(node.body) if self.run(node.test) else self.run(node.orelse)
        if isinstance(node, ast.Subscript):
            container = self.run(node.value)
            if not isinstance(container, _SUBSCRIPTABLE):
                raise TypeError("not subscriptable")
            return container[self.run(node.slice)]
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)  # noqa: S101 - guaranteed by expression_check
            arguments = [self.run(argument) for argument in node.args]
            return _bounded(FUNCTIONS[node.func.id](*arguments))
        raise _refuse(node)  # pragma: no cover - expression_check refuses every other node


def expression_evaluate(source: str, context: Mapping[str, Any]) -> Any:
    """Check ``source`` and evaluate it with names taken from ``context`` only (e.g. the task data).

    Every failure is an ``UnsafeExpression`` with a bilingual message: refused syntax, unknown names, and
    runtime errors (division by zero, comparing text with a number, a missing key: ``evaluation_failed``).
    """
    tree = _parse(source)
    _check_tree(tree)
    try:
        return _Interpreter(context).run(tree.body)
    except UnsafeExpression:
        raise
    except (ArithmeticError, TypeError, ValueError, LookupError, RecursionError, MemoryError) as error:
        raise UnsafeExpression(
            "evaluation_failed",
            f"表达式计算失败：{error.__class__.__name__}。",
            f"The expression could not be evaluated: {error.__class__.__name__}.",
        ) from None


def _script_refused() -> UnsafeExpression:
    return UnsafeExpression(
        "script_refused",
        "流程模型不允许使用脚本任务或脚本；请改用服务任务调用已注册的平台动作。",
        "Process models may not run scripts; use a service task calling a registered platform action.",
    )


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """SpiffWorkflow's script environment, restricted: evaluates checked expressions, never runs scripts.

    Some engine paths (process completion conditions) call the environment directly, so the restriction
    lives here as well as on the engine.
    """

    def evaluate(
        self, expression: str, context: Mapping[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> Any:
        names = {**(external_context or {}), **context}
        return expression_evaluate(expression, names)

    def execute(
        self, script: str, context: Mapping[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> Any:
        raise _script_refused()

    def call_service(self, context: Mapping[str, Any], **kwargs: Any) -> Any:
        raise _script_refused()


def _timer_kind(task: Any, expression: str) -> str:
    definition = getattr(getattr(task, "task_spec", None), "event_definition", None)
    if getattr(definition, "expression", None) != expression:
        return ""
    for kind, class_name in (
        ("duration", "DurationTimerEventDefinition"),
        ("date", "TimeDateEventDefinition"),
        ("cycle", "CycleTimerEventDefinition"),
    ):
        if any(klass.__name__ == class_name for klass in type(definition).__mro__):
            return kind
    return ""


ServiceCaller = Callable[[Any, str, Mapping[str, Any]], Mapping[str, Any]]


class RestrictedScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """The only script engine workflows run with: see the module docstring.

    ``service_caller(task, operation_name, params) -> dict`` runs a service task's registered action (the
    engine adapter supplies it, because it knows the case); the result is merged into the task data and
    also stored under the task's result variable by SpiffWorkflow. Without one, service tasks fail.
    """

    def __init__(self, service_caller: ServiceCaller | None = None) -> None:
        super().__init__(environment=RestrictedEnvironment())
        self.service_caller = service_caller

    def validate(self, expression: str) -> None:
        # SpiffWorkflow's DMN engine expects SyntaxError for text it should retry with a left-hand side.
        try:
            ast.parse(expression, mode="eval")
        except (SyntaxError, ValueError) as error:
            raise SyntaxError(str(error)) from None
        expression_check(expression)

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        kind = _timer_kind(task, expression)
        if kind:
            # Timers use the platform notation (WD<n>, working_days(n), bare ISO values): see calendar_timers.
            from onewindow.workflow.calendar_timers import timer_engine_value

            names = {**(external_context or {}), **task.data}
            return timer_engine_value(kind, expression, now=datetime.now(UTC), context=names)
        return self.environment.evaluate(expression, task.data, external_context)

    def execute(self, task: Any, script: str, external_context: Mapping[str, Any] | None = None) -> Any:
        raise _script_refused()

    def call_service(self, task: Any, **kwargs: Any) -> str:
        if self.service_caller is None:
            raise _script_refused()
        params = {name: spec["value"] for name, spec in kwargs.get("operation_params", {}).items()}
        result = dict(self.service_caller(task, kwargs["operation_name"], params))
        task.data.update(result)
        return json.dumps(result, default=str)
