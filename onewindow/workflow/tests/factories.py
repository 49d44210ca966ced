"""Small BPMN documents for the engine tests, and helpers that make process definitions and cases.

``QYKB_BPMN`` has the shape of the enterprise-opening process (DOMAIN.md §1, issue #4 item 8): a review
in one department (lane ``TDEPT``) that assigns the credit code through a service action, then three
department tasks in parallel, a join, and the decision. ``TIMER_BPMN`` has a boundary timer in working
days on a user task and a role-restricted lane.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.workflow.models import DefinitionStatus, ProcessDefinition, WorkflowInstance

_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="defs" targetNamespace="http://onewindow.example/bpmn">
"""


def _user_task(task_id: str, name: str, name_en: str, incoming: str, outgoing: str, due: str = "") -> str:
    due_property = f'<spiffworkflow:property name="due" value="{due}"/>' if due else ""
    return f"""
    <bpmn:userTask id="{task_id}" name="{name}">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="name_en" value="{name_en}"/>{due_property}
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing>
    </bpmn:userTask>"""


def _flow(flow_id: str, source: str, target: str, condition: str = "") -> str:
    body = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else ""
    attributes = f'id="{flow_id}" sourceRef="{source}" targetRef="{target}"'
    return f"<bpmn:sequenceFlow {attributes}>{body}</bpmn:sequenceFlow>"


QYKB_BPMN = (
    _HEADER
    + """
  <bpmn:collaboration id="collab"><bpmn:participant id="p" processRef="qykb_test"/></bpmn:collaboration>
  <bpmn:process id="qykb_test" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="results" value="credit_code,license_number"/>
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_market" name="TDEPT">
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>register</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>licence</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_psb" name="PSB"><bpmn:flowNodeRef>seal</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_tax" name="TAX"><bpmn:flowNodeRef>tax</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_hrss" name="HRSS"><bpmn:flowNodeRef>hrss</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>"""
    + _user_task("review", "市场监管审查", "Market regulation review", "f1", "f2", due="WD5")
    + """
    <bpmn:exclusiveGateway id="approved_q" default="f_reject">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_ok</bpmn:outgoing><bpmn:outgoing>f_reject</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:serviceTask id="register" name="登记企业">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="enterprise_credit_code_assign">
          <spiffworkflow:parameters />
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f_ok</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:parallelGateway id="split">
      <bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f_seal</bpmn:outgoing><bpmn:outgoing>f_tax</bpmn:outgoing><bpmn:outgoing>f_hrss</bpmn:outgoing>
    </bpmn:parallelGateway>"""
    + _user_task("seal", "公章刻制备案", "Seal engraving record", "f_seal", "j_seal")
    + _user_task("tax", "税务登记", "Tax registration", "f_tax", "j_tax")
    + _user_task("hrss", "社保登记", "Social insurance registration", "f_hrss", "j_hrss")
    + """
    <bpmn:parallelGateway id="join">
      <bpmn:incoming>j_seal</bpmn:incoming><bpmn:incoming>j_tax</bpmn:incoming><bpmn:incoming>j_hrss</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:parallelGateway>
    <bpmn:serviceTask id="licence" name="核发执照">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="licence_number_assign">
          <spiffworkflow:parameters />
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end_ok"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_rejected"><bpmn:incoming>f_reject</bpmn:incoming></bpmn:endEvent>
"""
    + "\n".join(
        [
            _flow("f1", "start", "review"),
            _flow("f2", "review", "approved_q"),
            _flow("f_ok", "approved_q", "register", condition='outcome == "approve"'),
            _flow("f_reject", "approved_q", "end_rejected"),
            _flow("f3", "register", "split"),
            _flow("f_seal", "split", "seal"),
            _flow("f_tax", "split", "tax"),
            _flow("f_hrss", "split", "hrss"),
            _flow("j_seal", "seal", "join"),
            _flow("j_tax", "tax", "join"),
            _flow("j_hrss", "hrss", "join"),
            _flow("f4", "join", "licence"),
            _flow("f5", "licence", "end_ok"),
        ]
    )
    + """
  </bpmn:process>
</bpmn:definitions>
"""
)

TIMER_BPMN = (
    _HEADER
    + """
  <bpmn:collaboration id="collab"><bpmn:participant id="p" processRef="timer_test"/></bpmn:collaboration>
  <bpmn:process id="timer_test" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_handler" name="TDEPT"><bpmn:flowNodeRef>check</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_admin" name="TDEPT:department_admin">
        <bpmn:flowNodeRef>escalated</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>"""
    + _user_task("check", "审查", "Check", "f1", "f2")
    + """
    <bpmn:boundaryEvent id="check_late" name="超期" attachedToRef="check" cancelActivity="true">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"WD2"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>"""
    + _user_task("escalated", "督办", "Escalated review", "f3", "f4")
    + """
    <bpmn:endEvent id="end_ok"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_escalated"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
"""
    + "\n".join(
        [
            _flow("f1", "start", "check"),
            _flow("f2", "check", "end_ok"),
            _flow("f3", "check_late", "escalated"),
            _flow("f4", "escalated", "end_escalated"),
        ]
    )
    + """
  </bpmn:process>
</bpmn:definitions>
"""
)


def published_definition(
    key: str, bpmn_xml: str, *, process_id: str | None, **extra: Any
) -> ProcessDefinition:
    """A published process definition, made directly (the actions are tested on their own)."""
    from onewindow.workflow.engine import process_parse

    parsed = process_parse(bpmn_xml, process_id)
    now = timezone.now()
    created_by: User | None = extra.pop("created_by", None)
    return ProcessDefinition.objects.create(
        key=key,
        version=extra.pop("version", 1),
        status=DefinitionStatus.PUBLISHED,
        department_code=extra.pop("department_code", "TDEPT"),
        bpmn_xml=bpmn_xml,
        process_id=parsed.process_id,
        sha256=hashlib.sha256(bpmn_xml.encode()).hexdigest(),
        result_keys=parsed.result_keys,
        created_by=created_by,
        created_at=now,
        published_at=now,
        published_by=created_by,
    )


def case_process(application: Any, definition: ProcessDefinition | None = None) -> WorkflowInstance:
    """The case's process: started on acceptance when its key has a published version, else start it now."""
    from onewindow.workflow.actions import process_start

    instance = WorkflowInstance.objects.filter(application=application).first()
    if instance is not None:
        return instance
    return process_start(application=application, definition=definition)


# What the demo QYKB process needs beyond the test form to register the company (``enterprise_register``):
# the real QYKB form asks for all of it (services/demo.py ``QYKB_FORM``).
QYKB_REGISTRATION_FIELDS: dict[str, Any] = {
    "company_type": "llc",
    "registered_capital": 100,
    "division_code": "350102",
    "address": "福州市鼓楼区东街 1 号",
    "business_scope": "软件开发；信息技术咨询服务",
}
