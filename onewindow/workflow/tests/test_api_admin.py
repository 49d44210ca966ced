"""The department administrator's and the supervisors' side of the back-office API.

Reassigning and delegating (代理) tasks; stopping the clock for a hearing or expert review and restarting
it (Administrative Licensing Law Art. 45); extensions (Art. 42: the time limit may be extended with
approval, and the applicant is told); electronic supervision (电子监察): lights by department, the
drill-down, the trend; escalation rules as data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.applications.models import Application
from onewindow.applications.tracking import china_date
from onewindow.workcalendar.calendar import CACHE_VERSION_KEY, add_working_days, clear_process_cache
from onewindow.workflow.deadlines import supervision_snapshot_take
from onewindow.workflow.models import EscalationRule, HumanTask, ProcessDefinition

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _calendar() -> Iterator[None]:
    clear_process_cache()
    cache.delete(CACHE_VERSION_KEY)
    yield
    clear_process_cache()
    cache.delete(CACHE_VERSION_KEY)


@pytest.fixture
def bearer(api_token_for: Callable[[object], str]) -> Callable[[object], Client]:
    def make(user: object) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {api_token_for(user)}")

    return make


@pytest.fixture
def review(accepted_application: Callable[[], Application], qykb_definition: ProcessDefinition) -> HumanTask:
    """The TDEPT review of an accepted QYKB-shaped case (acceptance started the published process)."""
    application = accepted_application()
    return HumanTask.objects.get(application=application, task_spec="review")


@pytest.fixture
def second_handler(role_users: dict[str, Any]) -> User:
    return staff_user(Role.DEPARTMENT_HANDLER, department_code="TDEPT", username="t_handler2")


def _post(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, body or {}, content_type="application/json")


def test_reassign_to_a_handler_of_the_department(
    review: HumanTask, role_users: dict[str, Any], second_handler: User, bearer: Any
) -> None:
    admin, handler = bearer(role_users["department_admin"]), bearer(role_users["department_handler"])
    path = f"/api/v1/tasks/{review.pk}/reassign"
    # An unknown account is a field error for the admin, and a plain refusal for a handler
    unknown = _post(admin, path, {"assignee": "nobody"})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "form_invalid")
    assert unknown.json()["errors"][0]["field"] == "assignee"
    assert _post(handler, path, {"assignee": "nobody"}).status_code == 403
    assert _post(handler, path, {"assignee": "t_handler2"}).status_code == 403
    # The admin gives the open task to the second handler: it is claimed by them
    given = _post(admin, path, {"assignee": "t_handler2", "reason": "休假调整"})
    assert given.status_code == 200, given.content
    assert (given.json()["status"], given.json()["assignee"]) == ("claimed", "t_handler2")
    assert [
        task["id"] for task in bearer(second_handler).get("/api/v1/tasks?scope=mine").json()["items"]
    ] == [review.pk]


def test_a_delegate_works_the_delegators_tasks_until_revoked(
    review: HumanTask, role_users: dict[str, Any], second_handler: User, bearer: Any
) -> None:
    admin, handler = bearer(role_users["department_admin"]), bearer(role_users["department_handler"])
    delegate = bearer(second_handler)
    assert _post(handler, f"/api/v1/tasks/{review.pk}/claim").status_code == 200
    today = china_date(timezone.now())
    body = {
        "department_code": "TDEPT",
        "delegator": "t_department_handler",
        "delegate": "t_handler2",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=7)).isoformat(),
        "reason": "年假",
    }
    created = _post(admin, "/api/v1/delegations", body)
    assert created.status_code == 201, created.content
    delegation = created.json()
    assert (delegation["delegator"], delegation["delegate"], delegation["created_by"]) == (
        "t_department_handler",
        "t_handler2",
        "t_department_admin",
    )
    assert delegation["revoked_at"] is None
    # Both handlers and the admin see it
    for client in (admin, handler, delegate):
        assert [row["id"] for row in client.get("/api/v1/delegations").json()["items"]] == [delegation["id"]]
    # The delegate sees the claimed task in "mine"; revoking ends that
    assert [task["id"] for task in delegate.get("/api/v1/tasks?scope=mine").json()["items"]] == [review.pk]
    revoked = _post(admin, f"/api/v1/delegations/{delegation['id']}/revoke")
    assert revoked.status_code == 200, revoked.content
    assert revoked.json()["revoked_at"]
    assert delegate.get("/api/v1/tasks?scope=mine").json()["items"] == []
    again = _post(admin, f"/api/v1/delegations/{delegation['id']}/revoke")
    assert (again.status_code, again.json()["code"]) == (409, "delegation_revoked")
    # A delegation to oneself, or ending before it starts, is refused field by field
    wrong = _post(
        admin,
        "/api/v1/delegations",
        {**body, "delegate": "t_department_handler", "ends_on": (today - timedelta(days=1)).isoformat()},
    )
    assert wrong.status_code == 422
    assert {error["field"] for error in wrong.json()["errors"]} == {"delegate", "ends_on"}


def test_delegate_completes_the_claimed_task(
    review: HumanTask, role_users: dict[str, Any], second_handler: User, bearer: Any
) -> None:
    admin, handler = bearer(role_users["department_admin"]), bearer(role_users["department_handler"])
    delegate = bearer(second_handler)
    _post(handler, f"/api/v1/tasks/{review.pk}/claim")
    path = f"/api/v1/tasks/{review.pk}/complete"
    refused = _post(delegate, path, {"outcome": "approve", "opinion": "同意"})
    assert (refused.status_code, refused.json()["code"]) == (409, "task_not_yours")
    today = china_date(timezone.now())
    _post(
        admin,
        "/api/v1/delegations",
        {
            "department_code": "TDEPT",
            "delegator": "t_department_handler",
            "delegate": "t_handler2",
            "starts_on": today.isoformat(),
            "ends_on": today.isoformat(),
        },
    )
    done = _post(delegate, path, {"outcome": "approve", "opinion": "同意"})
    assert done.status_code == 200, done.content
    assert (done.json()["status"], done.json()["assignee"]) == ("done", "t_handler2")


def test_hearing_stops_the_clock_until_resumed(
    review: HumanTask, role_users: dict[str, Any], bearer: Any
) -> None:
    handler = bearer(role_users["department_handler"])
    _post(handler, f"/api/v1/tasks/{review.pk}/claim")
    stopped = _post(
        handler, f"/api/v1/tasks/{review.pk}/suspend", {"kind": "hearing", "reason": "申请人要求听证"}
    )
    assert stopped.status_code == 200, stopped.content
    stop = stopped.json()
    assert (stop["kind"], stop["reason"], stop["ended_at"], stop["working_days"]) == (
        "hearing",
        "申请人要求听证",
        None,
        None,
    )
    assert stop["tracking_no"] == review.application.tracking_no
    shown = handler.get(f"/api/v1/tasks/{review.pk}").json()["case"]["clock_stop"]
    assert shown["id"] == stop["id"]
    twice = _post(handler, f"/api/v1/tasks/{review.pk}/suspend", {"kind": "expert", "reason": "专家评审"})
    assert (twice.status_code, twice.json()["code"]) == (409, "clock_already_stopped")
    resumed = _post(handler, f"/api/v1/tasks/{review.pk}/resume")
    assert resumed.status_code == 200, resumed.content
    assert (resumed.json()["id"], resumed.json()["working_days"]) == (stop["id"], 0)
    assert resumed.json()["ended_at"]
    assert handler.get(f"/api/v1/tasks/{review.pk}").json()["case"]["clock_stop"] is None


def test_extension_requested_and_approved(review: HumanTask, role_users: dict[str, Any], bearer: Any) -> None:
    admin, handler = bearer(role_users["department_admin"]), bearer(role_users["department_handler"])
    application = review.application
    due = application.due_date
    assert due is not None
    _post(handler, f"/api/v1/tasks/{review.pk}/claim")
    asked = _post(
        handler, f"/api/v1/tasks/{review.pk}/extensions", {"working_days": 5, "reason": "需现场核查"}
    )
    assert asked.status_code == 201, asked.content
    extension = asked.json()
    assert (extension["status"], extension["working_days"], extension["requested_by"]) == (
        "pending",
        5,
        "t_department_handler",
    )
    assert extension["tracking_no"] == application.tracking_no
    twice = _post(handler, f"/api/v1/tasks/{review.pk}/extensions", {"working_days": 2, "reason": "再延"})
    assert twice.status_code == 409
    too_long = _post(handler, f"/api/v1/tasks/{review.pk}/extensions", {"working_days": 31, "reason": "x"})
    assert too_long.status_code == 422
    pending = admin.get("/api/v1/extensions?status=pending").json()
    assert [row["id"] for row in pending["items"]] == [extension["id"]]
    assert handler.get("/api/v1/extensions").json()["count"] == 1
    # A handler cannot decide; the admin approves, moving the due date
    assert (
        _post(handler, f"/api/v1/extensions/{extension['id']}/decide", {"approve": True}).status_code == 403
    )
    decided = _post(admin, f"/api/v1/extensions/{extension['id']}/decide", {"approve": True})
    assert decided.status_code == 200, decided.content
    assert (decided.json()["status"], decided.json()["decided_by"]) == ("approved", "t_department_admin")
    application.refresh_from_db()
    assert application.due_date == add_working_days(due, 5)
    assert admin.get("/api/v1/extensions?status=pending").json()["items"] == []
    again = _post(admin, f"/api/v1/extensions/{extension['id']}/decide", {"approve": False, "reason": "x"})
    assert (again.status_code, again.json()["code"]) == (409, "extension_not_pending")


def test_supervision_overview_drill_down_and_trend(
    review: HumanTask, role_users: dict[str, Any], bearer: Any
) -> None:
    leader = bearer(role_users["leader"])
    overview = leader.get("/api/v1/supervision/overview")
    assert overview.status_code == 200, overview.content
    (row,) = [row for row in overview.json() if row["department_code"] == "TDEPT"]
    assert row["department_name"] == "测试部门"
    assert row["department_name_en"] == "Test department"
    assert row["green"] + row["yellow"] + row["red"] == 1
    tasks = leader.get("/api/v1/supervision/tasks?department=TDEPT").json()
    assert [task["id"] for task in tasks["items"]] == [review.pk]
    assert "changed" not in tasks["items"][0]
    light = tasks["items"][0]["light"]
    assert leader.get(f"/api/v1/supervision/tasks?light={light}").json()["count"] == 1
    supervision_snapshot_take()
    trend = leader.get("/api/v1/supervision/trend?days=7&department=TDEPT").json()
    assert len(trend) == 1
    assert trend[0]["day"] == china_date(timezone.now()).isoformat()
    assert trend[0]["green"] + trend[0]["yellow"] + trend[0]["red"] == 1
    assert leader.get("/api/v1/supervision/trend?days=0").status_code == 422
    # A department admin sees their own department only
    admin = bearer(role_users["department_admin"])
    assert [row["department_code"] for row in admin.get("/api/v1/supervision/overview").json()] == ["TDEPT"]
    assert admin.get("/api/v1/supervision/tasks?department=PSB").status_code == 403


def test_escalation_rules_as_data(role_users: dict[str, Any], bearer: Any) -> None:
    system_admin, admin = bearer(role_users["system_admin"]), bearer(role_users["department_admin"])
    defaults = system_admin.get("/api/v1/escalation-rules").json()
    assert {(rule["light"], rule["target"]) for rule in defaults} >= {
        ("yellow", "assignee"),
        ("red", "department_admin"),
        ("red", "leader"),
    }
    body = {"department_code": "TDEPT", "light": "red", "overdue_working_days": 5, "target": "leader"}
    created = _post(admin, "/api/v1/escalation-rules", body)
    assert created.status_code == 201, created.content
    rule = created.json()
    assert {key: rule[key] for key in body} == body
    assert rule["active"] is True
    changed = admin.put(
        f"/api/v1/escalation-rules/{rule['id']}", {**body, "active": False}, content_type="application/json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["active"] is False
    # A department admin may not change the platform defaults
    default = next(row for row in defaults if row["department_code"] == "")
    before = list(EscalationRule.objects.order_by("pk").values_list("pk", "active", "target"))
    refused = admin.put(
        f"/api/v1/escalation-rules/{default['id']}",
        {**body, "department_code": "", "active": False},
        content_type="application/json",
    )
    assert refused.status_code == 403
    missing = admin.put("/api/v1/escalation-rules/999999", body, content_type="application/json")
    assert (missing.status_code, missing.json()["code"]) == (404, "escalation_rule_not_found")
    assert list(EscalationRule.objects.order_by("pk").values_list("pk", "active", "target")) == before
