"""The SpiffWorkflow adapter on its own: parsing, lanes, running, timers, state that survives storage."""

from __future__ import annotations

import json
from typing import Any

import pytest

from onewindow.workflow.engine import (
    ORDERED_FORMAT,
    PlatformTimerEventDefinition,
    WorkflowEngineError,
    process_parse,
    ready_user_tasks,
    timer_fire,
    user_task_complete,
    waiting_timers,
    workflow_data,
    workflow_dump,
    workflow_is_completed,
    workflow_load,
    workflow_new,
    workflow_run,
)
from onewindow.workflow.expressions import UnsafeExpression
from onewindow.workflow.tests.factories import QYKB_BPMN, TIMER_BPMN
from onewindow.workflow.validation import lane_parse


def _caller(name: str, parameters: dict[str, Any], data: dict[str, Any], department: str) -> dict[str, Any]:
    return (
        {"credit_code": "91350100MA00000155"}
        if name == "enterprise_credit_code_assign"
        else {"license_number": f"{department}-1"}
    )


def _jsonb(state: dict[str, Any]) -> dict[str, Any]:
    """What PostgreSQL's jsonb does to a document: object keys come back in another order."""
    result: dict[str, Any] = json.loads(json.dumps(state, sort_keys=True))
    return result


@pytest.mark.parametrize(
    ("lane", "expected"),
    [("TDEPT", ("TDEPT", "")), ("TAX:department_admin", ("TAX", "department_admin")), (None, ("", ""))],
)
def test_lane_names_a_department_and_optionally_a_role(lane: str | None, expected: tuple[str, str]) -> None:
    assert lane_parse(lane) == expected


def test_parse_reads_results_and_replaces_timers() -> None:
    process = process_parse(QYKB_BPMN)
    assert (process.process_id, process.result_keys) == ("qykb_test", ["credit_code", "license_number"])
    timer_process = process_parse(TIMER_BPMN)
    definition = timer_process.spec.task_specs["check_late"].event_definition
    assert isinstance(definition, PlatformTimerEventDefinition)
    assert definition.expression == '"WD2"'


def test_parse_refuses_a_document_without_a_process() -> None:
    with pytest.raises(WorkflowEngineError):
        process_parse(
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
            'targetNamespace="x"/>'
        )


def test_parallel_tasks_are_ready_together_and_join_waits_for_all() -> None:
    workflow = workflow_new(process_parse(QYKB_BPMN))
    assert workflow_run(workflow, _caller) == []
    (review,) = ready_user_tasks(workflow)
    assert (review.department_code, review.due_expression, review.name_en) == (
        "TDEPT",
        "WD5",
        "Market regulation review",
    )
    user_task_complete(workflow, review.spiff_task_id, {"outcome": "approve", "opinion": ""})
    steps = workflow_run(workflow, _caller)
    assert [(step.kind, step.task_spec) for step in steps] == [
        ("gateway", "approved_q"),
        ("service_action", "register"),
        ("gateway", "split"),
    ]
    parallel = ready_user_tasks(workflow)
    assert [(task.task_spec, task.department_code) for task in parallel] == [
        ("hrss", "HRSS"),
        ("seal", "PSB"),
        ("tax", "TAX"),
    ]
    for index, task in enumerate(parallel):
        # Each step goes through storage, as in production.
        workflow = workflow_load(_jsonb(workflow_dump(workflow)))
        user_task_complete(workflow, task.spiff_task_id, {"outcome": "approve", "opinion": "同意"})
        workflow_run(workflow, _caller)
        assert workflow_is_completed(workflow) == (index == len(parallel) - 1)
    data = workflow_data(workflow)
    assert (data["credit_code"], data["license_number"]) == ("91350100MA00000155", "TDEPT-1")


def test_state_survives_key_reordering() -> None:
    """Spiff stores task data as ordered deltas; jsonb reorders keys, so the adapter stores lists."""
    workflow = workflow_new(process_parse(QYKB_BPMN))
    workflow_run(workflow, _caller)
    (review,) = ready_user_tasks(workflow)
    user_task_complete(workflow, review.spiff_task_id, {"outcome": "approve", "opinion": "x"})
    workflow_run(workflow, _caller)
    state = workflow_dump(workflow)
    assert state["format"] == ORDERED_FORMAT
    restored = workflow_load(_jsonb(state))
    assert {task.spiff_task_id for task in ready_user_tasks(restored)} == {
        task.spiff_task_id for task in ready_user_tasks(workflow)
    }
    for task in ready_user_tasks(restored):
        assert restored.get_task_from_id(task.spiff_task_id).data["credit_code"] == "91350100MA00000155"


def test_unknown_state_format_is_refused() -> None:
    with pytest.raises(WorkflowEngineError):
        workflow_load({"tasks": {}})


def test_platform_timers_never_fire_by_the_clock() -> None:
    workflow = workflow_new(process_parse(TIMER_BPMN))
    workflow_run(workflow)
    (check,) = ready_user_tasks(workflow)
    (timer,) = waiting_timers(workflow)
    assert check.boundary_timer_ids == (timer.spiff_task_id,)
    assert timer.expression == '"WD2"'
    # However long the engine runs, the timer waits until the platform fires it
    workflow.refresh_timers()
    workflow_run(workflow)
    assert [t.spiff_task_id for t in waiting_timers(workflow)] == [timer.spiff_task_id]
    # Firing interrupts the task and moves on to the escalation
    workflow = workflow_load(_jsonb(workflow_dump(workflow)))
    assert timer_fire(workflow, timer.spiff_task_id) is True
    steps = workflow_run(workflow)
    assert [(step.kind, step.task_spec) for step in steps] == [("timer_fired", "check_late")]
    assert [(t.task_spec, t.role) for t in ready_user_tasks(workflow)] == [("escalated", "department_admin")]
    assert waiting_timers(workflow) == []
    # A timer that no longer waits is not fired again
    assert timer_fire(workflow, timer.spiff_task_id) is False


def test_completing_a_task_that_is_not_ready_is_refused() -> None:
    workflow = workflow_new(process_parse(TIMER_BPMN))
    workflow_run(workflow)
    (timer,) = waiting_timers(workflow)
    with pytest.raises(WorkflowEngineError):
        user_task_complete(workflow, timer.spiff_task_id, {})


def test_unsafe_gateway_condition_cannot_reach_python_internals() -> None:
    """Gateway conditions go through the restricted evaluator (the known subclasses escape is refused)."""
    unsafe = QYKB_BPMN.replace('outcome == "approve"', "().__class__.__base__.__subclasses__()")
    workflow = workflow_new(process_parse(unsafe))
    workflow_run(workflow, _caller)
    (review,) = ready_user_tasks(workflow)
    user_task_complete(workflow, review.spiff_task_id, {"outcome": "approve", "opinion": ""})
    with pytest.raises(UnsafeExpression):
        workflow_run(workflow, _caller)


def test_service_task_without_a_caller_fails() -> None:
    workflow = workflow_new(process_parse(QYKB_BPMN))
    workflow_run(workflow)
    (review,) = ready_user_tasks(workflow)
    user_task_complete(workflow, review.spiff_task_id, {"outcome": "approve", "opinion": ""})
    with pytest.raises(UnsafeExpression) as caught:
        workflow_run(workflow)
    assert caught.value.code == "script_refused"
