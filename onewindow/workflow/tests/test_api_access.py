"""Every back-office API endpoint for every role (and anonymously): who may call it, and what the others
get — 401 without a caller, 403 for a refused permission, 404 for what the caller may not see, 409 for a
conflict — and that a refused call changes nothing (MLPS 2.0 level 3, GB/T 22239-2019 §8.1.4.2: access
control by role and object).

The case is a QYKB-shaped process in department ``TDEPT``, whose handler and administrator are
``t_department_handler`` and ``t_department_admin``; every other role holds no TDEPT grant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.applications.models import Application, ApplicationEvent
from onewindow.applications.tracking import china_date
from onewindow.audit.models import AuditRecord
from onewindow.notifications.models import Notification
from onewindow.workflow.actions import task_claim
from onewindow.workflow.assignment import delegation_create
from onewindow.workflow.deadlines import case_suspend, escalation_rule_save, extension_request
from onewindow.workflow.definitions import process_definition_create
from onewindow.workflow.models import (
    CaseEvent,
    ClockStop,
    Delegation,
    EscalationRule,
    Extension,
    HumanTask,
    ProcessDefinition,
    TaskView,
)
from onewindow.workflow.tests.factories import QYKB_BPMN

pytestmark = pytest.mark.django_db

HANDLER, ADMIN = "department_handler", "department_admin"
WORKERS = {HANDLER: 200, ADMIN: 200}


@dataclass
class World:
    """The objects the endpoints act on."""

    users: dict[str, Any]
    task: HumanTask
    ids: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def world(
    role_users: dict[str, Any],
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
) -> World:
    staff_user(Role.DEPARTMENT_HANDLER, department_code="TDEPT", username="t_handler2")
    application = accepted_application()
    return World(role_users, HumanTask.objects.get(application=application, task_spec="review"))


def _claimed(world: World) -> None:
    task_claim(acting_user=world.users[HANDLER], task=world.task)


def _suspended(world: World) -> None:
    case_suspend(acting_user=world.users[HANDLER], task=world.task, kind="hearing", reason="听证")


def _extension(world: World) -> None:
    extension = extension_request(
        acting_user=world.users[HANDLER], task=world.task, working_days=3, reason="现场核查"
    )
    world.ids["extension"] = extension.pk


def _delegation(world: World) -> None:
    today = china_date(timezone.now())
    delegation = delegation_create(
        acting_user=world.users[ADMIN],
        department_code="TDEPT",
        delegator=world.users[HANDLER],
        delegate=User.objects.get(username="t_handler2"),
        starts_on=today,
        ends_on=today + timedelta(days=3),
    )
    world.ids["delegation"] = delegation.pk


def _rule(world: World) -> None:
    rule = escalation_rule_save(
        acting_user=world.users["system_admin"],
        department_code="TDEPT",
        light="red",
        overdue_working_days=4,
        target="leader",
        active=True,
    )
    world.ids["rule"] = rule.pk


def _draft(world: World) -> None:
    draft = process_definition_create(acting_user=world.users[ADMIN], key="QYKB_T", bpmn_xml=QYKB_BPMN)
    world.ids["draft"] = draft.version


TODAY_PLUS = (timezone.now() + timedelta(days=3)).date().isoformat()
RULE_BODY = {"department_code": "TDEPT", "light": "red", "overdue_working_days": 5, "target": "leader"}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # formatted with task, extension, delegation, rule, draft
    body: dict[str, Any] | None = None
    setup: Callable[[World], None] | None = None
    allowed: dict[str, int] = field(default_factory=dict)  # role -> success status
    refused: dict[str, int] = field(default_factory=dict)  # role -> status, for the roles named
    others: int = 404  # every other signed-in role

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


SUPERVISORS = {"leader": 200, "supervisor": 200, ADMIN: 200}

ENDPOINTS = [
    Endpoint("get", "/tasks", allowed=WORKERS, others=403),
    Endpoint("get", "/tasks/{task}", allowed=WORKERS),
    Endpoint("post", "/tasks/{task}/claim", allowed=WORKERS),
    Endpoint("post", "/tasks/{task}/release", setup=_claimed, allowed={HANDLER: 200}, refused={ADMIN: 409}),
    Endpoint("post", "/tasks/{task}/complete", {"outcome": "approve", "opinion": "同意"}, allowed=WORKERS),
    Endpoint(
        "post",
        "/tasks/{task}/reassign",
        {"assignee": "t_handler2", "reason": "调整"},
        allowed={ADMIN: 200},
        refused={HANDLER: 403},
    ),
    Endpoint("post", "/tasks/{task}/suspend", {"kind": "expert", "reason": "专家评审"}, allowed=WORKERS),
    Endpoint("post", "/tasks/{task}/resume", setup=_suspended, allowed=WORKERS),
    Endpoint(
        "post",
        "/tasks/{task}/extensions",
        {"working_days": 5, "reason": "现场核查"},
        allowed={HANDLER: 201, ADMIN: 201},
    ),
    Endpoint("get", "/extensions", allowed=WORKERS, others=403),
    Endpoint(
        "post",
        "/extensions/{extension}/decide",
        {"approve": True},
        setup=_extension,
        allowed={ADMIN: 200},
        refused={HANDLER: 403},
        others=403,
    ),
    Endpoint("get", "/delegations", allowed=WORKERS, others=403),
    Endpoint(
        "post",
        "/delegations",
        {
            "department_code": "TDEPT",
            "delegator": "t_department_handler",
            "delegate": "t_handler2",
            "starts_on": timezone.now().date().isoformat(),
            "ends_on": TODAY_PLUS,
        },
        allowed={ADMIN: 201},
        others=403,
    ),
    Endpoint(
        "post",
        "/delegations/{delegation}/revoke",
        setup=_delegation,
        allowed={ADMIN: 200},
        refused={HANDLER: 403},
    ),
    Endpoint("get", "/supervision/overview", allowed=SUPERVISORS, others=403),
    Endpoint("get", "/supervision/tasks", allowed=SUPERVISORS, others=403),
    Endpoint("get", "/supervision/trend", allowed=SUPERVISORS, others=403),
    Endpoint("get", "/escalation-rules", allowed={**SUPERVISORS, "system_admin": 200}, others=403),
    Endpoint("post", "/escalation-rules", RULE_BODY, allowed={"system_admin": 201, ADMIN: 201}, others=403),
    Endpoint(
        "put",
        "/escalation-rules/{rule}",
        {**RULE_BODY, "active": False},
        setup=_rule,
        allowed={"system_admin": 200, ADMIN: 200},
        others=403,
    ),
    Endpoint("get", "/processes", allowed={ADMIN: 200}, others=403),
    Endpoint("get", "/processes/QYKB_T/versions/1", allowed={ADMIN: 200}),
    Endpoint("post", "/processes/QYKB_T/versions", {"bpmn_xml": QYKB_BPMN}, allowed={ADMIN: 201}, others=403),
    Endpoint("post", "/processes/validate", {"bpmn_xml": QYKB_BPMN}, allowed={ADMIN: 200}, others=403),
    Endpoint("post", "/processes/QYKB_T/versions/{draft}/publish", setup=_draft, allowed={ADMIN: 200}),
]


def _state() -> tuple[Any, ...]:
    """Everything a back-office endpoint writes (refusals are audited; nothing else may change)."""
    return (
        list(
            HumanTask.objects.order_by("pk").values_list(
                "pk", "status", "assignee_id", "due_date", "light", "changed_at", "outcome"
            )
        ),
        list(
            Application.objects.order_by("pk").values_list(
                "pk", "status", "due_date", "statutory_due_date", "row_version"
            )
        ),
        list(ClockStop.objects.order_by("pk").values_list("pk", "kind", "ended_at")),
        list(Extension.objects.order_by("pk").values_list("pk", "status", "decided_at")),
        list(Delegation.objects.order_by("pk").values_list("pk", "revoked_at")),
        list(
            EscalationRule.objects.order_by("pk").values_list(
                "pk", "department_code", "light", "overdue_working_days", "target", "active"
            )
        ),
        list(ProcessDefinition.objects.order_by("pk").values_list("pk", "version", "status")),
        list(TaskView.objects.order_by("pk").values_list("pk", "seen_at")),
        CaseEvent.objects.count(),
        ApplicationEvent.objects.count(),
        Notification.objects.count(),
        AuditRecord.objects.exclude(action="permission.denied").count(),
    )


def _call(client: Client, endpoint: Endpoint, world: World) -> Any:
    path = "/api/v1" + endpoint.path.format(task=world.task.pk, **world.ids)
    if endpoint.method == "get":
        return client.get(path)
    method = getattr(client, endpoint.method)
    return method(path, endpoint.body or {}, content_type="application/json")


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_back_office_endpoint_access(
    world: World, client_for: Callable[[object], Client], role: str, endpoint: Endpoint
) -> None:
    if endpoint.setup is not None:
        endpoint.setup(world)
    client = Client() if role == "anonymous" else client_for(world.users[role])
    before = _state()
    response = _call(client, endpoint, world)
    if role in endpoint.allowed:
        assert response.status_code == endpoint.allowed[role], response.content
        return
    expected = 401 if role == "anonymous" else endpoint.refused.get(role, endpoint.others)
    assert response.status_code == expected, response.content
    body = response.json()
    assert body["code"]
    assert body["message_zh"]
    assert body["message_en"]
    assert _state() == before
