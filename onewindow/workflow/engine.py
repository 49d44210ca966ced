"""A pure adapter around SpiffWorkflow: parse, start, run, inspect, complete, fire, (de)serialize.

No Django models here: ``actions.py`` turns what this module reports (ready user tasks, waiting timers,
steps run) into inbox rows, timer rows and case events.

Timers are the platform's, not Spiff's: at parse time every timer event definition is replaced by
:class:`PlatformTimerEventDefinition`, which never looks at the wall clock. The adapter reports each
waiting timer with its expression; the caller computes ``fire_at`` (working days on the platform calendar)
and stores it; the scheduler later calls :func:`timer_fire`. Expressions (gateway conditions, service
parameters) go through part A's ``RestrictedScriptEngine``; service tasks call the ``ServiceCaller`` given
to :func:`workflow_run` (the platform's action registry), never Python code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import ServiceTask, UserTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from onewindow.workflow.expressions import RestrictedScriptEngine
from onewindow.workflow.validation import lane_parse

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"

# A service task's call: (action name, evaluated parameters, task data, department code of its lane) ->
# result items merged into the task's data.
ServiceCaller = Callable[[str, dict[str, Any], dict[str, Any], str], dict[str, Any]]


class PlatformTimerEventDefinition(TimerEventDefinition):  # type: ignore[misc]
    """A timer that fires only when the platform says so (a due ``WorkflowTimer`` row), never by clock."""

    def has_fired(self, my_task: Task) -> bool:
        return bool(EventDefinition.has_fired(self, my_task))


class WorkflowEngineError(Exception):
    """The process cannot go on (a broken model or a failing service action); the case is left as it was."""


@dataclass(frozen=True)
class ParsedProcess:
    """A parsed, runnable process: Spiff's specs plus what the platform reads from the model."""

    spec: Any
    subprocess_specs: dict[str, Any]
    process_id: str
    result_keys: list[str]


@dataclass(frozen=True)
class ReadyUserTask:
    """A user task waiting for a department: what the inbox row needs."""

    spiff_task_id: UUID
    task_spec: str
    name: str
    name_en: str
    department_code: str
    role: str
    form_schema: dict[str, Any]
    # A model-level due expression (``due`` property), used when no boundary timer is attached.
    due_expression: str
    # Spiff ids of timers attached to this task (boundary events): the earliest one is its due date.
    boundary_timer_ids: tuple[UUID, ...]


@dataclass(frozen=True)
class WaitingTimer:
    spiff_task_id: UUID
    task_spec: str
    expression: str
    # The task data the timer expression may read (e.g. ``working_days(days_allowed)``).
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One engine step the platform records as a case event (gateway, service action, timer)."""

    kind: str
    task_spec: str
    name: str
    data: dict[str, Any] = field(default_factory=dict)


def _result_keys(bpmn_xml: str, process_id: str) -> list[str]:
    """The process's ``results`` property: comma-separated data items, e.g. ``credit_code,license_number``."""
    root = etree.fromstring(
        bpmn_xml.encode(), parser=etree.XMLParser(resolve_entities=False, no_network=True)
    )
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        if process.get("id") != process_id:
            continue
        for prop in process.iterfind(
            f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property"
        ):
            if prop.get("name") == "results":
                return [item.strip() for item in (prop.get("value") or "").split(",") if item.strip()]
    return []


def _timers_replaced(specs: Iterable[Any]) -> None:
    for spec in specs:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if isinstance(definition, TimerEventDefinition) and not isinstance(
                definition, PlatformTimerEventDefinition
            ):
                task_spec.event_definition = PlatformTimerEventDefinition(
                    definition.name, definition.expression, description=definition.description
                )


def process_parse(bpmn_xml: str, process_id: str | None = None, dmn_xml: str = "") -> ParsedProcess:
    """Parse ``bpmn_xml`` (the executable process ``process_id``, or the first one) into runnable specs,
    with the decision tables of ``dmn_xml`` for its business rule tasks."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(bpmn_xml.encode())
    if dmn_xml.strip():
        parser.add_dmn_str(dmn_xml.encode())
    ids = parser.get_process_ids()
    if not ids:
        message = "the document has no executable process"
        raise WorkflowEngineError(message)
    chosen = process_id or ids[0]
    spec = parser.get_spec(chosen)
    subprocess_specs = parser.get_subprocess_specs(chosen)
    _timers_replaced([spec, *subprocess_specs.values()])
    return ParsedProcess(spec, subprocess_specs, chosen, _result_keys(bpmn_xml, chosen))


def _serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[PlatformTimerEventDefinition] = TimerConditionalEventDefinitionConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_SERIALIZER = _serializer()


def workflow_new(process: ParsedProcess, data: Mapping[str, Any] | None = None) -> BpmnWorkflow:
    """A new instance of ``process`` whose start carries ``data`` (the case: form fields and facts), so
    gateway conditions, DMN tables and service actions can read them."""
    workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=RestrictedScriptEngine())
    if data:
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
    return workflow


# Spiff stores task data as deltas applied in the order of the ``tasks`` mapping (parents first), and
# PostgreSQL's jsonb does not keep key order: mappings whose order matters are stored as lists.
ORDERED_FORMAT = "onewindow-ordered-1"


def _ordered(workflow_state: dict[str, Any]) -> dict[str, Any]:
    result = dict(workflow_state)
    result["tasks"] = list(workflow_state.get("tasks", {}).values())
    if "subprocesses" in workflow_state:
        result["subprocesses"] = [
            [key, _ordered(value)] for key, value in workflow_state["subprocesses"].items()
        ]
    return result


def _mapped(workflow_state: dict[str, Any]) -> dict[str, Any]:
    result = dict(workflow_state)
    result["tasks"] = {task["id"]: task for task in workflow_state.get("tasks", [])}
    if "subprocesses" in workflow_state:
        result["subprocesses"] = {key: _mapped(value) for key, value in workflow_state["subprocesses"]}
    return result


def workflow_dump(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The workflow as JSON-ready data (Spiff's serializer output), for ``WorkflowInstance.state``.

    Survives storage that reorders object keys (jsonb): see ``ORDERED_FORMAT``.
    """
    state: dict[str, Any] = json.loads(_SERIALIZER.serialize_json(workflow))
    return {**_ordered(state), "format": ORDERED_FORMAT}


def workflow_load(state: dict[str, Any]) -> BpmnWorkflow:
    """Restore a workflow saved by :func:`workflow_dump`."""
    if state.get("format") != ORDERED_FORMAT:
        message = f"unknown workflow state format {state.get('format')!r}"
        raise WorkflowEngineError(message)
    restored = _mapped({key: value for key, value in state.items() if key != "format"})
    workflow: BpmnWorkflow = _SERIALIZER.deserialize_json(json.dumps(restored))
    workflow.script_engine = RestrictedScriptEngine()
    return workflow


def _step_for(task: Task) -> Step | None:
    spec = task.task_spec
    name = getattr(spec, "bpmn_name", None) or spec.name
    if isinstance(spec, ServiceTask):
        return Step("service_action", spec.name, name, {"action": spec.operation_name})
    if isinstance(spec, ExclusiveGateway | InclusiveGateway | ParallelGateway):
        taken = [child.task_spec.name for child in task.children if child.state != TaskState.CANCELLED]
        return Step("gateway", spec.name, name, {"outputs": taken})
    if isinstance(getattr(spec, "event_definition", None), PlatformTimerEventDefinition):
        return Step("timer_fired", spec.name, name)
    return None


def workflow_run(workflow: BpmnWorkflow, service_caller: ServiceCaller | None = None) -> list[Step]:
    """Run engine steps until only user tasks and timers are left; returns the steps worth recording."""
    steps: list[Step] = []

    def did_complete(task: Task) -> None:
        step = _step_for(task)
        if step is not None:
            steps.append(step)

    engine = workflow.script_engine
    if isinstance(engine, RestrictedScriptEngine) and service_caller is not None:
        caller = service_caller

        def call(task: Task, name: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
            department_code, _ = lane_parse(task.task_spec.lane)
            return caller(name, dict(parameters), dict(task.data), department_code)

        engine.service_caller = call
    try:
        workflow.do_engine_steps(did_complete_task=did_complete)
    finally:
        if isinstance(engine, RestrictedScriptEngine):
            engine.service_caller = None
    return steps


def _properties(spec: Any) -> dict[str, str]:
    extensions = getattr(spec, "extensions", None) or {}
    properties: dict[str, str] = extensions.get("properties", {}) or {}
    return properties


def _form_schema(spec: Any) -> dict[str, Any]:
    raw = _properties(spec).get("form_schema", "")
    if not raw:
        return {}
    try:
        schema = json.loads(raw)
    except ValueError:
        return {}
    return schema if isinstance(schema, dict) else {}


def _is_timer(task: Task) -> bool:
    return isinstance(getattr(task.task_spec, "event_definition", None), PlatformTimerEventDefinition)


def ready_user_tasks(workflow: BpmnWorkflow) -> list[ReadyUserTask]:
    """The user tasks ready for a department, in a stable order."""
    found = []
    for task in workflow.get_tasks(state=TaskState.READY):
        spec = task.task_spec
        if not isinstance(spec, UserTask):
            continue
        department_code, role = lane_parse(spec.lane)
        properties = _properties(spec)
        boundary: tuple[UUID, ...] = ()
        if task.parent is not None and isinstance(task.parent.task_spec, BoundaryEventSplit):
            boundary = tuple(sibling.id for sibling in task.parent.children if _is_timer(sibling))
        found.append(
            ReadyUserTask(
                spiff_task_id=task.id,
                task_spec=spec.name,
                name=spec.bpmn_name or spec.name,
                name_en=properties.get("name_en", ""),
                department_code=department_code,
                role=role,
                form_schema=_form_schema(spec),
                due_expression=properties.get("due", ""),
                boundary_timer_ids=boundary,
            )
        )
    return sorted(found, key=lambda item: (item.task_spec, str(item.spiff_task_id)))


def waiting_timers(workflow: BpmnWorkflow) -> list[WaitingTimer]:
    return [
        WaitingTimer(
            task.id, task.task_spec.name, str(task.task_spec.event_definition.expression), dict(task.data)
        )
        for task in workflow.get_tasks(state=TaskState.WAITING)
        if _is_timer(task)
    ]


def user_task_complete(workflow: BpmnWorkflow, spiff_task_id: UUID, data: dict[str, Any]) -> None:
    """Complete a READY user task with ``data`` merged into its task data."""
    task = workflow.get_task_from_id(spiff_task_id)
    if task is None or task.state != TaskState.READY or not isinstance(task.task_spec, UserTask):
        message = f"user task {spiff_task_id} is not ready"
        raise WorkflowEngineError(message)
    task.data.update(data)
    task.run()


def timer_fire(workflow: BpmnWorkflow, spiff_task_id: UUID) -> bool:
    """Fire a waiting timer; False if it no longer waits (its task was cancelled or already ran)."""
    try:
        task = workflow.get_task_from_id(spiff_task_id)
    except TaskNotFoundException:
        return False
    if task is None or task.state != TaskState.WAITING or not _is_timer(task):
        return False
    task._set_internal_data(event_fired=True)
    task.task_spec._update(task)
    return True


def workflow_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The data the finished process produced (the workflow's data, else the last completed task's)."""
    data: dict[str, Any] = {}
    completed = sorted(workflow.get_tasks(state=TaskState.COMPLETED), key=lambda task: task.last_state_change)
    for task in completed:
        data.update(task.data)
    data.update(workflow.data)
    return data


def workflow_is_completed(workflow: BpmnWorkflow) -> bool:
    return bool(workflow.is_completed())
