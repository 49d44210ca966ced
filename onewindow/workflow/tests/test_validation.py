"""Validating uploaded models and the timer notation (Issue #4 §1: unknown lanes/roles/actions, script
tasks and unsafe expressions are refused with a clear message per problem; Administrative Licensing Law
Art. 82: time limits in working days)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from onewindow.organisations.tests.factories import DepartmentFactory
from onewindow.workcalendar.calendar import add_working_days
from onewindow.workflow.calendar_timers import DUE_TIME, timer_check, timer_fire_at
from onewindow.workflow.expressions import UnsafeExpression
from onewindow.workflow.validation import ModelInvalid, bpmn_parse, bpmn_validate, lane_parse

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">'
)


def _model(
    *,
    lane: str = "VAL",
    task: str = '<bpmn:userTask id="review" name="审查" />',
    condition: str = 'outcome == "approve"',
    timer: str = "WD3",
    extra: str = "",
    executable: str = "true",
    in_lane: str = "review",
) -> str:
    return (
        f'{HEAD}<bpmn:process id="P" isExecutable="{executable}">'
        f'<bpmn:laneSet id="ls"><bpmn:lane id="lane" name="{lane}">'
        f"<bpmn:flowNodeRef>{in_lane}</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"
        '<bpmn:startEvent id="start" />'
        f"{task}"
        '<bpmn:boundaryEvent id="timer" attachedToRef="review" cancelActivity="false">'
        f"<bpmn:timerEventDefinition><bpmn:timeDuration>{timer}</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:boundaryEvent>"
        '<bpmn:exclusiveGateway id="gw" />'
        '<bpmn:endEvent id="yes" /><bpmn:endEvent id="no" />'
        f"{extra}"
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />'
        '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="gw" />'
        '<bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="yes">'
        f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="no">'
        "<bpmn:conditionExpression>outcome != &quot;approve&quot;</bpmn:conditionExpression>"
        "</bpmn:sequenceFlow>"
        "</bpmn:process></bpmn:definitions>"
    )


@pytest.fixture(autouse=True)
def department() -> None:
    DepartmentFactory.create(code="VAL")


def _codes(xml: str | bytes) -> list[str]:
    return [problem.code for problem in bpmn_validate(xml)]


def test_a_valid_model_has_no_problems_and_parses() -> None:
    assert bpmn_validate(_model()) == []
    spec, subprocesses = bpmn_parse(_model())
    assert spec.name == "P"
    assert subprocesses == {}
    assert spec.task_specs["review"].lane == "VAL"


@pytest.mark.parametrize(
    ("kwargs", "code", "element_id"),
    [
        ({"lane": "NOPE"}, "unknown_department", "lane"),
        ({"lane": "VAL:auditor"}, "unknown_role", "lane"),
        ({"lane": "VAL:wizard"}, "unknown_role", "lane"),
        ({"lane": "bad name!"}, "lane_name_invalid", "lane"),
        ({"in_lane": "start"}, "user_task_outside_lane", "review"),
        ({"condition": "().__class__.__base__.__subclasses__()"}, "unsafe_expression.not_allowed", "f3"),
        ({"condition": "__import__(&quot;os&quot;)"}, "unsafe_expression.unknown_function", "f3"),
        ({"timer": "3 days"}, "timer_invalid", "timer"),
        ({"executable": "false"}, "no_executable_process", ""),
        (
            {"extra": '<bpmn:scriptTask id="s"><bpmn:script>import os</bpmn:script></bpmn:scriptTask>'},
            "script_task",
            "s",
        ),
        (
            {
                "extra": '<bpmn:serviceTask id="svc"><bpmn:extensionElements>'
                '<spiffworkflow:serviceTaskOperator id="os_system"><spiffworkflow:parameters />'
                "</spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>"
            },
            "unknown_action",
            "svc",
        ),
        ({"extra": '<bpmn:serviceTask id="svc" />'}, "service_action_missing", "svc"),
        (
            {
                "task": '<bpmn:userTask id="review"><bpmn:extensionElements><spiffworkflow:preScript>'
                "x = 1</spiffworkflow:preScript></bpmn:extensionElements></bpmn:userTask>"
            },
            "script_task",
            "review",
        ),
        (
            {
                "task": '<bpmn:userTask id="review"><bpmn:extensionElements><spiffworkflow:properties>'
                '<spiffworkflow:property name="form_schema" value="[1]" /></spiffworkflow:properties>'
                "</bpmn:extensionElements></bpmn:userTask>"
            },
            "form_invalid",
            "review",
        ),
    ],
)
def test_each_problem_is_reported_with_code_messages_and_element(
    kwargs: dict[str, str], code: str, element_id: str
) -> None:
    problems = bpmn_validate(_model(**kwargs))
    matching = [problem for problem in problems if problem.code == code]
    assert matching, problems
    assert matching[0].element_id == element_id
    assert matching[0].message_zh
    assert matching[0].message_en
    with pytest.raises(ModelInvalid):
        bpmn_parse(_model(**kwargs))


def test_every_problem_is_reported_at_once() -> None:
    codes = _codes(_model(lane="NOPE:wizard", condition="x.y", timer="in 3 days"))
    assert {"unknown_department", "unknown_role", "unsafe_expression.not_allowed", "timer_invalid"} <= set(
        codes
    )


@pytest.mark.parametrize(
    ("xml", "code"),
    [
        (b"not xml", "not_xml"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" />', "not_bpmn"),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&e;</bpmn:definitions>',
            "doctype_refused",
        ),
        (b"<a>" + b" " * (2 * 1024 * 1024) + b"</a>", "too_large"),
    ],
)
def test_unsafe_or_foreign_documents_are_refused(xml: bytes, code: str) -> None:
    assert _codes(xml) == [code]


def test_engine_refusals_are_reported() -> None:
    # A sequence flow to a missing element: SpiffWorkflow's own parser refuses it.
    broken = _model(extra='<bpmn:sequenceFlow id="f9" sourceRef="gw" targetRef="ghost" />')
    assert "engine_refused" in _codes(broken)


def test_dmn_cells_are_checked() -> None:
    dmn = (
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="n">'
        '<decision id="eligible"><decisionTable id="t">'
        '<input id="i"><inputExpression id="ie"><text>amount</text></inputExpression></input>'
        '<output id="o" name="ok" />'
        '<rule id="r1"><inputEntry id="e1"><text>&gt; 100</text></inputEntry>'
        '<outputEntry id="o1"><text>True</text></outputEntry></rule>'
        '<rule id="r2"><inputEntry id="e2"><text>().__class__</text></inputEntry>'
        '<outputEntry id="o2"><text>__import__("os")</text></outputEntry></rule>'
        "</decisionTable></decision></definitions>"
    )
    problems = bpmn_validate(dmn)
    assert sorted(problem.element_id for problem in problems) == ["e2", "o2"]


def test_lane_names() -> None:
    assert lane_parse("AMR") == ("AMR", "")
    assert lane_parse("amr:department_admin") == ("AMR", "department_admin")
    assert lane_parse("") == ("", "")


# --- Timers -----------------------------------------------------------------------------------------------

START = datetime(2025, 6, 9, 10, 0, tzinfo=SHANGHAI)  # a Monday, no holiday that week


@pytest.mark.parametrize("expression", ["WD3", '"WD3"', "working_days(3)", "working_days(n)"])
def test_working_day_timers_end_at_the_close_of_the_working_day(expression: str) -> None:
    fire_at = timer_fire_at(expression, start=START, context={"n": 3})
    expected_day = add_working_days(START.date(), 3)
    assert fire_at == datetime.combine(expected_day, DUE_TIME, tzinfo=SHANGHAI)
    assert fire_at.date().isoformat() == "2025-06-12"


def test_working_days_skip_the_weekend() -> None:
    friday = datetime(2025, 6, 13, 16, 0, tzinfo=SHANGHAI)
    assert timer_fire_at("WD1", start=friday).date() == add_working_days(friday.date(), 1)
    assert timer_fire_at("WD1", start=friday).date().isoformat() == "2025-06-16"  # the Monday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("PT2H", datetime(2025, 6, 9, 12, 0, tzinfo=SHANGHAI)),
        ('"P3D"', datetime(2025, 6, 12, 10, 0, tzinfo=SHANGHAI)),
        ("P1M", datetime(2025, 7, 9, 10, 0, tzinfo=SHANGHAI)),
        ("2025-06-20T09:00:00", datetime(2025, 6, 20, 9, 0, tzinfo=SHANGHAI)),
        ('"PT1H" if urgent else "P1D"', datetime(2025, 6, 9, 11, 0, tzinfo=SHANGHAI)),
    ],
)
def test_calendar_timers(expression: str, expected: datetime) -> None:
    assert timer_fire_at(expression, start=START, context={"urgent": True}) == expected


@pytest.mark.parametrize("expression", ["soon", "P", "PXD", "WD", "().__class__", "42", "working_days(-2)"])
def test_invalid_timers_are_refused(expression: str) -> None:
    with pytest.raises(UnsafeExpression):
        timer_fire_at(expression, start=START, context={"soon": "later"})


def test_timer_check_does_not_need_the_calendar() -> None:
    timer_check("WD3")
    timer_check("PT2H")
    timer_check("working_days(3)")
    with pytest.raises(UnsafeExpression):
        timer_check("().__class__")
