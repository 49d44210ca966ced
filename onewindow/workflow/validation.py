"""Validating an uploaded BPMN 2.0 model before it can become a process version (docs/workflow.md).

``bpmn_validate`` reports every problem it finds, each with a code, a message in Chinese and English and
the id of the element concerned, so an administrator can fix them all at once. What is refused and why:

* not XML, larger than 2 MB, a DTD (entity tricks), or not BPMN 2.0 (``definitions`` in the OMG namespace);
* no executable process;
* script tasks and ``spiffworkflow:preScript``/``postScript``: a model must never carry code;
* lanes whose name is not ``DEPT`` or ``DEPT:role`` with an existing department code and a role that
  handles tasks (``department_handler``, ``department_admin``); user tasks outside any lane;
* service tasks without a ``spiffworkflow:serviceTaskOperator`` naming a registered action (``registry``);
* gateway conditions, other conditions, service parameters, DMN cells that fail ``expression_check``;
  timers and ``due`` properties that are not in the timer notation (``calendar_timers``);
* a handler form (``form_schema`` property) that is not a JSON Schema object;
* whatever SpiffWorkflow's own XSD validation and parser refuse.

``bpmn_parse`` gives the engine the parsed specs (SpiffWorkflow's spiff flavour, ``SpiffBpmnParser``,
because service tasks and task properties use ``spiffworkflow:`` extension elements).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from onewindow.accounts.roles import Role
from onewindow.organisations.models import Department
from onewindow.workflow.calendar_timers import timer_check
from onewindow.workflow.expressions import UnsafeExpression, expression_check
from onewindow.workflow.registry import service_action_names

MAX_MODEL_BYTES = 2 * 1024 * 1024
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NAMESPACES = frozenset(
    {
        "https://www.omg.org/spec/DMN/20191111/MODEL/",
        "http://www.omg.org/spec/DMN/20180521/MODEL/",
        "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    }
)
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

# Roles that may be a lane's candidate role: the ones that handle department tasks.
TASK_ROLES = frozenset({Role.DEPARTMENT_HANDLER.value, Role.DEPARTMENT_ADMIN.value})
LANE_NAME = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*(?::\s*([a-z_]+)\s*)?$")

# The handler form a user task gets when it declares none: the outcome and an opinion (Issue #4).
DEFAULT_HANDLER_FORM: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "outcome": {
            "type": "string",
            "title": "办理结果",
            "x-title-en": "Outcome",
            "enum": ["approve", "reject", "return", "consult"],
            "x-enum-labels": {
                "approve": {"zh": "同意", "en": "Approve"},
                "reject": {"zh": "不予许可", "en": "Reject"},
                "return": {"zh": "退回补正", "en": "Return for supplements"},
                "consult": {"zh": "征求意见", "en": "Consult another department"},
            },
            "x-widget": "radios",
        },
        "opinion": {"type": "string", "title": "审查意见", "x-title-en": "Opinion", "x-widget": "textarea"},
    },
    "required": ["outcome", "opinion"],
    "x-order": ["outcome", "opinion"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class ModelProblem:
    code: str
    message_zh: str
    message_en: str
    element_id: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "element_id": self.element_id,
        }


class ModelInvalid(Exception):  # noqa: N818 - reads as what it is
    """``bpmn_parse`` refused a model; ``problems`` lists why."""

    def __init__(self, problems: list[ModelProblem]) -> None:
        super().__init__("; ".join(problem.message_en for problem in problems))
        self.problems = problems


def lane_parse(name: str | None) -> tuple[str, str]:
    """A lane name ``DEPT`` or ``DEPT:role`` as (department code, role); ``DEPT`` alone gives role "" (anyone
    handling tasks in the department).

    Returns ("", "") when the name does not have that form.
    """
    match = LANE_NAME.match(name or "")
    if not match:
        return "", ""
    return match.group(1).upper(), match.group(2) or ""


def _to_bytes(xml: bytes | str) -> bytes:
    return xml.encode("utf-8") if isinstance(xml, str) else xml


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_pis=True
    )


def _element_id(element: Any) -> str:
    current = element
    while current is not None:
        if current.get("id"):
            return str(current.get("id"))
        current = current.getparent()
    return ""


def _text(element: Any) -> str:
    return "".join(element.itertext()).strip()


class _Checker:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.problems: list[ModelProblem] = []

    def add(self, code: str, zh: str, en: str, element: Any = None) -> None:
        self.problems.append(ModelProblem(code, zh, en, _element_id(element) if element is not None else ""))

    def xpath(self, path: str, node: Any = None) -> list[Any]:
        result: list[Any] = (node if node is not None else self.root).xpath(path, namespaces=NS)
        return result

    def expression(self, source: str, element: Any, what_zh: str, what_en: str) -> None:
        try:
            expression_check(source)
        except UnsafeExpression as error:
            self.add(
                f"unsafe_expression.{error.code}",
                f"{what_zh}“{source[:80]}”不安全或无效：{error.message_zh}",
                f"{what_en} '{source[:80]}' is unsafe or invalid: {error.message_en}",
                element,
            )

    def timer(self, source: str, element: Any, what_zh: str, what_en: str) -> None:
        try:
            timer_check(source)
        except UnsafeExpression as error:
            self.add(
                "timer_invalid",
                f"{what_zh}“{source[:80]}”无效：{error.message_zh}",
                f"{what_en} '{source[:80]}' is invalid: {error.message_en}",
                element,
            )

    def run(self) -> None:
        processes = self.xpath("//bpmn:process")
        if not any(process.get("isExecutable") == "true" for process in processes):
            self.add(
                "no_executable_process",
                '模型中没有可执行的流程（isExecutable="true"）。',
                'The model has no executable process (isExecutable="true").',
            )
        self.scripts()
        self.lanes()
        self.service_tasks()
        self.expressions()
        self.timers()
        self.forms()

    def scripts(self) -> None:
        for task in self.xpath("//bpmn:scriptTask"):
            self.add(
                "script_task",
                f"不允许使用脚本任务“{task.get('name') or task.get('id')}”："
                "请改用服务任务调用已注册的平台动作。",
                f"Script task '{task.get('name') or task.get('id')}' is not allowed: use a service task "
                "calling a registered platform action.",
                task,
            )
        for script in self.xpath("//spiffworkflow:preScript | //spiffworkflow:postScript"):
            self.add(
                "script_task",
                "不允许在任务上附加脚本（preScript/postScript）。",
                "Scripts attached to tasks (preScript/postScript) are not allowed.",
                script,
            )

    def lanes(self) -> None:
        lanes = self.xpath("//bpmn:lane")
        names = {lane.get("name") or "" for lane in lanes}
        codes = {lane_parse(name)[0] for name in names} - {""}
        existing = set(Department.objects.filter(code__in=codes).values_list("code", flat=True))
        for lane in lanes:
            name = lane.get("name") or ""
            code, role = lane_parse(name)
            if not code:
                self.add(
                    "lane_name_invalid",
                    f"泳道名称“{name}”无效：应为部门代码或“部门代码:角色”，"
                    "如 AMR 或 AMR:department_handler。",
                    f"The lane name '{name}' is invalid: use a department code or 'DEPT:role', e.g. AMR "
                    "or AMR:department_handler.",
                    lane,
                )
                continue
            if code not in existing:
                self.add(
                    "unknown_department",
                    f"泳道“{name}”中的部门代码“{code}”不存在。",
                    f"The department code '{code}' of lane '{name}' does not exist.",
                    lane,
                )
            if role and role not in TASK_ROLES:
                self.add(
                    "unknown_role",
                    f"泳道“{name}”中的角色“{role}”不能办理任务；可用角色：{'、'.join(sorted(TASK_ROLES))}。",
                    f"The role '{role}' of lane '{name}' cannot handle tasks; use one of: "
                    f"{', '.join(sorted(TASK_ROLES))}.",
                    lane,
                )
        in_lanes = {_text(ref) for ref in self.xpath("//bpmn:lane/bpmn:flowNodeRef")}
        for task in self.xpath("//bpmn:userTask"):
            if task.get("id") not in in_lanes:
                self.add(
                    "user_task_outside_lane",
                    f"用户任务“{task.get('name') or task.get('id')}”不在任何泳道中，无法确定办理部门。",
                    f"User task '{task.get('name') or task.get('id')}' is in no lane, so no department "
                    "would handle it.",
                    task,
                )

    def service_tasks(self) -> None:
        registered = set(service_action_names())
        for task in self.xpath("//bpmn:serviceTask | //bpmn:sendTask[spiffworkflow:serviceTaskOperator]"):
            operators = self.xpath("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", task)
            label = task.get("name") or task.get("id")
            if not operators:
                self.add(
                    "service_action_missing",
                    f"服务任务“{label}”未指定平台动作（spiffworkflow:serviceTaskOperator）。",
                    f"Service task '{label}' names no platform action (spiffworkflow:serviceTaskOperator).",
                    task,
                )
                continue
            name = operators[0].get("id") or ""
            if name not in registered:
                self.add(
                    "unknown_action",
                    f"服务任务“{label}”的动作“{name}”未注册；可用动作：{'、'.join(sorted(registered))}。",
                    f"The action '{name}' of service task '{label}' is not registered; available: "
                    f"{', '.join(sorted(registered))}.",
                    task,
                )
            for parameter in self.xpath(".//spiffworkflow:parameter[@value]", operators[0]):
                self.expression(parameter.get("value"), task, "服务参数", "The service parameter")

    def expressions(self) -> None:
        paths = (
            "//bpmn:conditionExpression",
            "//bpmn:completionCondition",
            "//bpmn:loopCardinality",
            "//bpmn:conditionalEventDefinition/bpmn:condition",
            "//bpmn:standardLoopCharacteristics/bpmn:loopCondition",
        )
        for element in self.xpath(" | ".join(paths)):
            source = _text(element)
            if source:
                self.expression(source, element, "条件表达式", "The condition")

    def timers(self) -> None:
        for element in self.xpath(
            "//bpmn:timerEventDefinition/bpmn:timeDuration | //bpmn:timerEventDefinition/bpmn:timeDate"
        ):
            self.timer(_text(element), element, "定时器", "The timer")
        for element in self.xpath("//bpmn:timerEventDefinition/bpmn:timeCycle"):
            source = _text(element)
            if not source.strip("\"' ").upper().startswith("R"):
                self.expression(source, element, "循环定时器", "The cycle timer")
        for prop in self.xpath("//spiffworkflow:property[@name='due']"):
            self.timer(prop.get("value") or "", prop, "办理时限", "The due property")

    def forms(self) -> None:
        for prop in self.xpath("//bpmn:userTask//spiffworkflow:property[@name='form_schema']"):
            try:
                schema = json.loads(prop.get("value") or "")
            except ValueError:
                schema = None
            if not isinstance(schema, dict) or schema.get("type") != "object":
                self.add(
                    "form_invalid",
                    "办理表单（form_schema）不是 type 为 object 的 JSON Schema。",
                    "The handler form (form_schema) is not a JSON Schema of type object.",
                    prop,
                )


def _dmn_check(root: Any) -> list[ModelProblem]:
    checker = _Checker(root)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = etree.QName(element).localname
        if local not in {"inputExpression", "inputEntry", "outputEntry"}:
            continue
        text_elements = [child for child in element if etree.QName(child).localname == "text"]
        source = _text(text_elements[0]) if text_elements else ""
        if not source or source == "-":
            continue
        source = source.replace("?", "dmninputexpr")
        if local == "inputEntry":
            try:
                expression_check(source)
            except UnsafeExpression as error:
                if error.code != "syntax":
                    checker.expression(source, element, "决策表单元格", "The DMN cell")
                    continue
                # Spiff reads "> 100" as a test of the input: check it with the input on the left.
                checker.expression(f"dmninputexpr {source}", element, "决策表单元格", "The DMN cell")
            continue
        checker.expression(source, element, "决策表单元格", "The DMN cell")
    return checker.problems


def _engine_problems(tree: Any, dmn_tree: Any = None) -> list[ModelProblem]:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(tree, filename="model.bpmn")
        if dmn_tree is not None:
            parser.add_dmn_xml(dmn_tree, filename="decisions.dmn")
        for process_id in parser.get_process_ids():
            parser.get_spec(process_id)
    except ValidationException as error:
        element_id = str(getattr(error, "id", "") or "")
        return [
            ModelProblem(
                "engine_refused",
                f"流程引擎拒绝了该模型：{error}",
                f"The workflow engine refused the model: {error}",
                element_id,
            )
        ]
    except (
        SpiffWorkflowException,
        etree.LxmlError,
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
    ) as error:
        return [
            ModelProblem(
                "engine_refused",
                f"流程引擎无法解析该模型：{error.__class__.__name__}: {error}",
                f"The workflow engine could not parse the model: {error.__class__.__name__}: {error}",
            )
        ]
    return []


def _document(xml: bytes | str) -> tuple[Any, list[ModelProblem]]:
    data = _to_bytes(xml)
    if len(data) > MAX_MODEL_BYTES:
        return None, [
            ModelProblem(
                "too_large",
                f"模型文件过大（最多 {MAX_MODEL_BYTES // 1024 // 1024} MB）。",
                f"The model file is too large (at most {MAX_MODEL_BYTES // 1024 // 1024} MB).",
            )
        ]
    try:
        tree = etree.fromstring(data, parser=_safe_parser())
    except etree.XMLSyntaxError as error:
        return None, [
            ModelProblem(
                "not_xml", f"模型不是格式正确的 XML：{error}", f"The model is not well-formed XML: {error}"
            )
        ]
    if tree.getroottree().docinfo.doctype:
        return None, [
            ModelProblem(
                "doctype_refused",
                "模型不允许包含 DOCTYPE 声明。",
                "The model may not contain a DOCTYPE declaration.",
            )
        ]
    return tree, []


def bpmn_validate(xml: bytes | str, *, dmn_xml: bytes | str = "") -> list[ModelProblem]:
    """Every problem of an uploaded BPMN 2.0 model (or DMN decision table); empty when it may be used.

    ``dmn_xml``: the decision tables the model's business rule tasks call, checked with it.
    """
    dmn_tree = None
    if dmn_xml and dmn_xml.strip():
        dmn_tree, dmn_problems = _document(dmn_xml)
        if dmn_tree is None:
            return dmn_problems
        dmn_namespace = etree.QName(dmn_tree).namespace or ""
        if etree.QName(dmn_tree).localname != "definitions" or dmn_namespace not in DMN_NAMESPACES:
            return [
                ModelProblem(
                    "not_dmn",
                    "决策表文档不是 DMN 文档。",
                    "The decision tables are not a DMN document.",
                )
            ]
        dmn_problems = _dmn_check(dmn_tree)
        if dmn_problems:
            return dmn_problems
    root, problems = _document(xml)
    if root is None:
        return problems
    namespace = etree.QName(root).namespace or ""
    if etree.QName(root).localname == "definitions" and namespace in DMN_NAMESPACES:
        return _dmn_check(root)
    if root.tag != f"{{{BPMN_NS}}}definitions":
        return [
            ModelProblem(
                "not_bpmn",
                "模型不是 BPMN 2.0 文档（根元素应为 BPMN 命名空间中的 definitions）。",
                "The model is not a BPMN 2.0 document (the root must be definitions in the BPMN namespace).",
            )
        ]
    checker = _Checker(root)
    checker.run()
    return [*checker.problems, *_engine_problems(root, dmn_tree)]


def bpmn_parse(xml: bytes | str, process_id: str | None = None) -> tuple[Any, dict[str, Any]]:
    """``(BpmnProcessSpec, subprocess_specs)`` for ``process_id`` (default: the first executable process).

    Raises ``ModelInvalid`` when ``bpmn_validate`` finds any problem: nothing unvalidated reaches the engine.
    """
    problems = bpmn_validate(xml)
    if problems:
        raise ModelInvalid(problems)
    root, _ = _document(xml)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_xml(root, filename="model.bpmn")
    chosen = process_id or parser.get_process_ids()[0]
    return parser.get_spec(chosen), parser.get_subprocess_specs(chosen)
