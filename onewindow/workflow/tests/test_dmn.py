"""DMN decision tables for eligibility: uploaded with the model, checked, run by the engine (#4 item 1)."""

from __future__ import annotations

from typing import Any

import pytest

from onewindow.applications.actions import application_submit
from onewindow.applications.models import Application, Status
from onewindow.applications.tests.factories import VALID_FORM, published_service, uploaded_material
from onewindow.core.errors import FieldErrors
from onewindow.organisations.models import Department
from onewindow.services.models import Channel
from onewindow.workflow.definitions import process_definition_create, process_definition_publish
from onewindow.workflow.models import HumanTask, ProcessDefinition

pytestmark = pytest.mark.django_db

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="x">
  <bpmn:process id="eligibility_test" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l" name="TDEPT">
        <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>rule</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>gw</bpmn:flowNodeRef><bpmn:flowNodeRef>review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>e1</bpmn:flowNodeRef><bpmn:flowNodeRef>e2</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="rule" name="资格审查规则">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>DECISION</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:exclusiveGateway id="gw" default="f4"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="review" name="审查"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e1"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="e2"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="rule"/>
    <bpmn:sequenceFlow id="f2" sourceRef="rule" targetRef="gw"/>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="review">
      <bpmn:conditionExpression>eligible == True</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="e2"/>
    <bpmn:sequenceFlow id="f5" sourceRef="review" targetRef="e1"/>
  </bpmn:process>
</bpmn:definitions>"""

DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="dd" name="d" namespace="n">
  <decision id="eligibility" name="小微企业资格 / Small-business eligibility">
    <decisionTable id="t" hitPolicy="UNIQUE">
      <input id="i1" label="employees"><inputExpression id="ie1" typeRef="integer">
        <text>employees</text></inputExpression></input>
      <output id="o1" name="eligible" typeRef="boolean"/>
      <output id="o2" name="decision" typeRef="string"/>
      <output id="o3" name="decision_reason" typeRef="string"/>
      <rule id="r1"><inputEntry id="a1"><text>CELL_ONE</text></inputEntry>
        <outputEntry id="b1"><text>True</text></outputEntry>
        <outputEntry id="c1"><text>""</text></outputEntry>
        <outputEntry id="d1"><text>""</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="a2"><text>&gt; 100</text></inputEntry>
        <outputEntry id="b2"><text>False</text></outputEntry>
        <outputEntry id="c2"><text>"rejected"</text></outputEntry>
        <outputEntry id="d2"><text>"职工人数超过小微企业标准"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""


def _bpmn(decision: str = "eligibility") -> str:
    return BPMN.replace("DECISION", decision)


def _dmn(cell: str = "&lt;= 100") -> str:
    return DMN.replace("CELL_ONE", cell)


def _submit(role_users: dict[str, Any], employees: int) -> Application:
    resident = role_users["resident"]
    application, _ = application_submit(
        acting_user=resident,
        service_code="ELIG",
        form={**VALID_FORM, "employees": employees},
        material_ids=[str(uploaded_material(resident, code).pk) for code in ("LEASE", "CHARTER")],
        channel=Channel.WEB,
    )
    return Application.objects.get(pk=application.pk)


def _service(*, auto_accept: bool = False) -> None:
    service = published_service(
        "ELIG", department=Department.objects.get(code="TDEPT"), auto_accept=auto_accept
    )
    assert service.current_version is not None
    service.current_version.process_key = "ELIG"
    service.current_version.save(update_fields=["process_key"])


@pytest.fixture
def eligibility_process(role_users: dict[str, Any]) -> ProcessDefinition:
    _service(auto_accept=True)
    admin = role_users["department_admin"]
    definition = process_definition_create(acting_user=admin, key="ELIG", bpmn_xml=_bpmn(), dmn_xml=_dmn())
    return process_definition_publish(acting_user=admin, definition=definition)


def test_the_decision_table_routes_the_case(
    eligibility_process: ProcessDefinition, role_users: dict[str, Any]
) -> None:
    assert eligibility_process.dmn_xml
    small = _submit(role_users, employees=3)
    assert list(HumanTask.objects.filter(application=small).values_list("task_spec", flat=True)) == ["review"]
    large = _submit(role_users, employees=500)
    large.refresh_from_db()
    # Not eligible: the process ends at once, with no approval by any task
    assert not HumanTask.objects.filter(application=large).exists()
    assert large.status == Status.REJECTED
    assert large.decision is not None
    assert large.decision["reason"] == "职工人数超过小微企业标准"


@pytest.mark.parametrize(
    "cell",
    [
        "().__class__.__base__.__subclasses__()",
        "__import__('os')",
        "open('/etc/passwd')",
    ],
)
def test_unsafe_dmn_cells_are_refused(role_users: dict[str, Any], cell: str) -> None:
    _service()
    with pytest.raises(FieldErrors) as refused:
        process_definition_create(
            acting_user=role_users["department_admin"], key="ELIG", bpmn_xml=_bpmn(), dmn_xml=_dmn(cell)
        )
    assert {error.field for error in refused.value.errors} == {"dmn_xml"}
    assert not ProcessDefinition.objects.exists()


def test_a_rule_task_calling_an_unknown_decision_is_refused(role_users: dict[str, Any]) -> None:
    _service()
    with pytest.raises(FieldErrors) as refused:
        process_definition_create(
            acting_user=role_users["department_admin"],
            key="ELIG",
            bpmn_xml=_bpmn("no_such_decision"),
            dmn_xml=_dmn(),
        )
    assert [error.field for error in refused.value.errors] == ["bpmn_xml"]
    assert not ProcessDefinition.objects.exists()
