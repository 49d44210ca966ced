"""The back-office API end to end: the demo 企业开办 (QYKB) process handled through /api/v1 only.

The resident submits through the applications API; acceptance is automatic and starts the published
process (issue #4 item 8): market regulation (AMR) reviews and assigns the unified social credit code
(GB 32100-2015), then public security (seal engraving record), tax (registration and invoices) and HRSS
(social insurance) work in parallel; the decision comes after all three. Handlers use bearer tokens.

Also here: return for supplements through the API (the clock stops, Administrative Licensing Law Art. 45,
and the due dates move by the working days it was stopped, Art. 82), consultation of another department,
409 codes, filters, pagination and bounded queries of the inbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.applications.models import Application
from onewindow.applications.tests.factories import VALID_FORM, published_service, uploaded_material
from onewindow.applications.tracking import china_date
from onewindow.organisations.tests.factories import DepartmentFactory
from onewindow.workcalendar.calendar import (
    CACHE_VERSION_KEY,
    add_working_days,
    clear_process_cache,
    working_days_between,
)
from onewindow.workflow.models import CaseEvent, ClockStop, HumanTask, TaskView
from onewindow.workflow.processes import demo_process_files
from onewindow.workflow.tests.factories import QYKB_REGISTRATION_FIELDS, published_definition

pytestmark = pytest.mark.django_db

DEPARTMENTS = ("AMR", "PSB", "TAX", "HRSS")
TASK_KEYS = {
    "id",
    "tracking_no",
    "service_code",
    "name",
    "name_en",
    "department_code",
    "status",
    "assignee",
    "due_date",
    "light",
    "kind",
    "changed",
}


@pytest.fixture(autouse=True)
def _calendar() -> Iterator[None]:
    """Each test reads the seeded working-day calendar afresh (no snapshot left by another test)."""
    clear_process_cache()
    cache.delete(CACHE_VERSION_KEY)
    yield
    clear_process_cache()
    cache.delete(CACHE_VERSION_KEY)


@pytest.fixture
def staff(role_users: dict[str, Any]) -> dict[str, User]:
    """Handlers named like the demo accounts, one per department of the QYKB process, an AMR admin."""
    found = {
        code: staff_user(Role.DEPARTMENT_HANDLER, department_code=code, username=f"{code.lower()}_handler")
        for code in DEPARTMENTS
    }
    found["AMR2"] = staff_user(Role.DEPARTMENT_HANDLER, department_code="AMR", username="amr_handler2")
    found["AMR_ADMIN"] = staff_user(Role.DEPARTMENT_ADMIN, department_code="AMR", username="amr_admin")
    return found


@pytest.fixture
def qykb(staff: dict[str, User]) -> str:
    """The QYKB service of AMR (accepted automatically) with the demo process published; its code."""
    service = published_service("QYKB", department=DepartmentFactory.create(code="AMR"), auto_accept=True)
    assert service.current_version is not None
    service.current_version.process_key = "QYKB"
    service.current_version.save(update_fields=["process_key"])
    published_definition(
        "QYKB", demo_process_files()["QYKB"].decode(), process_id=None, department_code="AMR"
    )
    return service.code


@pytest.fixture
def bearer(api_token_for: Callable[[object], str]) -> Callable[[User], Client]:
    def make(user: User) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {api_token_for(user)}")

    return make


@pytest.fixture
def submit(qykb: str, role_users: dict[str, Any], bearer: Callable[[User], Client]) -> Callable[[], str]:
    """The resident applies through the API; returns the tracking number."""

    def make() -> str:
        resident = role_users["resident"]
        materials = [str(uploaded_material(resident, code).pk) for code in ("LEASE", "CHARTER")]
        response = _post(
            bearer(resident),
            "/api/v1/applications",
            {
                "service_code": qykb,
                "form": {**VALID_FORM, **QYKB_REGISTRATION_FIELDS},
                "materials": materials,
            },
        )
        assert response.status_code == 201, response.content
        tracking_no: str = response.json()["tracking_no"]
        return tracking_no

    return make


def _post(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, body or {}, content_type="application/json")


def _tasks(client: Client, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/tasks{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"items", "count"}
    items: list[dict[str, Any]] = body["items"]
    return items


def test_qykb_end_to_end_through_the_api(
    submit: Callable[[], str], staff: dict[str, User], role_users: dict[str, Any], bearer: Any
) -> None:
    # Given a QYKB application submitted by the resident through the API (accepted automatically)
    tracking_no = submit()
    clients = {code: bearer(user) for code, user in staff.items()}
    resident = bearer(role_users["resident"])
    assert resident.get(f"/api/v1/applications/{tracking_no}").json()["status"] == "in_progress"

    # Then the market-regulation review waits in AMR's pool, and only there
    (review,) = _tasks(clients["AMR"])
    assert set(review) == TASK_KEYS
    assert review["tracking_no"] == tracking_no
    assert (review["service_code"], review["department_code"], review["status"]) == ("QYKB", "AMR", "open")
    assert (review["assignee"], review["kind"], review["changed"]) == (None, "process", True)
    assert review["light"] in {"green", "yellow"}
    assert review["due_date"] is not None
    for code in ("PSB", "TAX", "HRSS"):
        assert _tasks(clients[code]) == []

    # When the AMR handler claims it, opens it and approves it
    claimed = _post(clients["AMR"], f"/api/v1/tasks/{review['id']}/claim")
    assert claimed.status_code == 200, claimed.content
    assert (claimed.json()["status"], claimed.json()["assignee"]) == ("claimed", "amr_handler")
    assert _tasks(clients["AMR"], "?scope=mine")[0]["id"] == review["id"]
    detail = clients["AMR"].get(f"/api/v1/tasks/{review['id']}").json()
    assert detail["form_schema"]["properties"]["outcome"]["enum"] == [
        "approve",
        "reject",
        "return",
        "consult",
    ]
    assert {field["name"]: field["value"] for field in detail["case"]["fields"]} == VALID_FORM
    assert sorted(material["material_code"] for material in detail["case"]["materials"]) == [
        "CHARTER",
        "LEASE",
    ]
    assert _tasks(clients["AMR"], "?scope=mine")[0]["changed"] is False  # seen since the last change
    approved = _post(
        clients["AMR"], f"/api/v1/tasks/{review['id']}/complete", {"outcome": "approve", "opinion": "同意"}
    )
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "done"

    # Then the three parallel tasks are all open at the same time, each in its department's pool
    parallel = {}
    for code in ("PSB", "TAX", "HRSS"):
        (task,) = _tasks(clients[code])
        assert (task["department_code"], task["status"], task["tracking_no"]) == (code, "open", tracking_no)
        parallel[code] = task
    assert _tasks(clients["AMR"]) == []

    # When two of them are completed, the case is still in progress without a decision
    for code in ("PSB", "TAX"):
        done = _post(
            clients[code],
            f"/api/v1/tasks/{parallel[code]['id']}/complete",
            {"outcome": "approve", "opinion": "ok"},
        )
        assert done.status_code == 200, done.content
        case = resident.get(f"/api/v1/applications/{tracking_no}").json()
        assert (case["status"], case["decision"]) == ("in_progress", None)
    assert _tasks(clients["HRSS"])[0]["status"] == "open"

    # When the third is completed, the application is approved with what the process produced
    last = _post(
        clients["HRSS"],
        f"/api/v1/tasks/{parallel['HRSS']['id']}/complete",
        {"outcome": "approve", "opinion": "ok"},
    )
    assert last.status_code == 200, last.content
    case = resident.get(f"/api/v1/applications/{tracking_no}").json()
    assert case["status"] == "approved"
    decision = case["decision"]
    assert set(decision) == {"outcome", "reason", "decided_at", "results"}
    assert decision["outcome"] == "approved"
    assert decision["decided_at"]
    assert sorted(decision["results"]) == ["credit_code", "license_number"]
    assert decision["results"]["credit_code"].startswith("9135")
    assert decision["results"]["license_number"]
    # The handlers' "mine" lists keep what they did
    assert [task["status"] for task in _tasks(clients["PSB"], "?scope=mine&status=done")] == ["done"]


def test_return_for_supplement_stops_the_clock_and_moves_the_due_dates(
    submit: Callable[[], str], staff: dict[str, User], role_users: dict[str, Any], bearer: Any
) -> None:
    # Given the AMR review claimed by its handler
    tracking_no = submit()
    amr = bearer(staff["AMR"])
    resident = bearer(role_users["resident"])
    (review,) = _tasks(amr)
    _post(amr, f"/api/v1/tasks/{review['id']}/claim")

    # When the handler returns the case to the applicant
    returned = _post(
        amr,
        f"/api/v1/tasks/{review['id']}/complete",
        {
            "outcome": "return",
            "opinion": "请补充公司章程签字页",
            "data": {"items": [{"material_code": "CHARTER", "reason": "章程缺少签字页"}]},
        },
    )
    assert returned.status_code == 200, returned.content

    # Then the task waits, the case waits for the applicant, and its clock is stopped
    assert returned.json()["status"] == "waiting"
    assert _tasks(amr) == []  # not in the pool: nobody must act now
    assert [task["id"] for task in _tasks(amr, "?scope=mine&status=waiting")] == [review["id"]]
    case = resident.get(f"/api/v1/applications/{tracking_no}").json()
    assert case["status"] == "supplement_requested"
    detail = amr.get(f"/api/v1/tasks/{review['id']}").json()
    stop = detail["case"]["clock_stop"]
    assert (stop["kind"], stop["ended_at"], stop["working_days"]) == ("supplement", None, None)
    application = Application.objects.get(tracking_no=tracking_no)
    due, statutory = application.due_date, application.statutory_due_date
    task_due = HumanTask.objects.get(pk=review["id"]).due_date
    assert due is not None
    assert statutory is not None
    assert task_due is not None

    # Given the case has waited two calendar weeks (the stop began 14 days ago)
    running = ClockStop.objects.get(application=application, ended_at__isnull=True)
    running.started_at -= timedelta(days=14)
    running.save(update_fields=["started_at"])
    stopped_days = working_days_between(
        china_date(running.started_at), china_date(running.started_at) + timedelta(days=14)
    )
    assert stopped_days > 0

    # When the applicant supplements through the applications API
    charter = uploaded_material(role_users["resident"], "CHARTER")
    answered = _post(
        resident, f"/api/v1/applications/{tracking_no}/supplement", {"materials": [str(charter.pk)]}
    )
    assert answered.status_code == 200, answered.content

    # Then the case is in progress again, its due dates moved by the working days stopped,
    # and the task is back with its handler, marked as changed
    assert answered.json()["status"] == "in_progress"
    assert answered.json()["due_date"] == add_working_days(due, stopped_days).isoformat()
    assert answered.json()["statutory_due_date"] == add_working_days(statutory, stopped_days).isoformat()
    (mine,) = _tasks(amr, "?scope=mine")
    assert (mine["id"], mine["status"], mine["assignee"]) == (review["id"], "claimed", "amr_handler")
    assert mine["due_date"] == add_working_days(task_due, stopped_days).isoformat()
    assert mine["changed"] is True
    detail = amr.get(f"/api/v1/tasks/{review['id']}").json()
    assert detail["case"]["clock_stop"] is None
    kinds = [event["kind"] for event in detail["case"]["events"]]
    assert {"task_returned", "clock_stopped", "clock_resumed"} <= set(kinds)
    resumed = next(event for event in detail["case"]["events"] if event["kind"] == "clock_resumed")
    assert resumed["data"]["working_days"] == stopped_days

    # And the handler can now approve it
    approved = _post(amr, f"/api/v1/tasks/{review['id']}/complete", {"outcome": "approve", "opinion": "同意"})
    assert approved.status_code == 200, approved.content


def test_consulting_another_department(
    submit: Callable[[], str], staff: dict[str, User], bearer: Any
) -> None:
    # Given the AMR review claimed by its handler
    submit()
    amr, tax = bearer(staff["AMR"]), bearer(staff["TAX"])
    (review,) = _tasks(amr)
    _post(amr, f"/api/v1/tasks/{review['id']}/claim")

    # When the handler consults TAX
    asked = _post(
        amr,
        f"/api/v1/tasks/{review['id']}/complete",
        {"outcome": "consult", "opinion": "经营范围是否涉及前置审批？", "data": {"department": "TAX"}},
    )
    assert asked.status_code == 200, asked.content
    assert asked.json()["status"] == "waiting"

    # Then TAX has a consultation task that shows the question and the asking task
    (consultation,) = _tasks(tax)
    assert (consultation["kind"], consultation["department_code"]) == ("consult", "TAX")
    detail = tax.get(f"/api/v1/tasks/{consultation['id']}").json()
    assert detail["consult_of"] == review["id"]
    assert detail["case"]["asking_task"]["id"] == review["id"]
    assert detail["form_schema"]["properties"]["outcome"]["enum"] == ["approve", "reject"]

    # When TAX answers, the review is back with its handler, showing the answer
    answer = _post(
        tax, f"/api/v1/tasks/{consultation['id']}/complete", {"outcome": "approve", "opinion": "不涉及"}
    )
    assert answer.status_code == 200, answer.content
    (mine,) = _tasks(amr, "?scope=mine")
    assert (mine["id"], mine["status"]) == (review["id"], "claimed")
    (shown,) = amr.get(f"/api/v1/tasks/{review['id']}").json()["case"]["consultations"]
    assert (shown["question"], shown["outcome"], shown["opinion"]) == (
        "经营范围是否涉及前置审批？",
        "approve",
        "不涉及",
    )


def _state() -> tuple[Any, ...]:
    return (
        list(HumanTask.objects.order_by("pk").values_list("pk", "status", "assignee_id", "outcome")),
        list(Application.objects.order_by("pk").values_list("pk", "status", "row_version")),
        CaseEvent.objects.count(),
    )


def test_conflicts_answer_409_with_their_codes_and_change_nothing(
    submit: Callable[[], str], staff: dict[str, User], bearer: Any
) -> None:
    submit()
    first, second = bearer(staff["AMR"]), bearer(staff["AMR2"])
    (review,) = _tasks(first)
    path = f"/api/v1/tasks/{review['id']}"
    assert _post(first, f"{path}/claim").status_code == 200
    before = _state()
    # Claimed by someone else: claiming, releasing and completing are refused
    for action, body in (
        ("claim", None),
        ("release", None),
        ("complete", {"outcome": "approve", "opinion": "x"}),
    ):
        response = _post(second, f"{path}/{action}", body)
        assert (response.status_code, response.json()["code"]) == (409, "task_not_yours"), action
        assert response.json()["message_zh"]
        assert response.json()["message_en"]
    assert _state() == before
    # Done: nothing more can happen to it
    assert _post(first, f"{path}/complete", {"outcome": "approve", "opinion": "同意"}).status_code == 200
    before = _state()
    for client, action, body in (
        (first, "complete", {"outcome": "approve", "opinion": "again"}),
        (second, "complete", {"outcome": "approve", "opinion": "again"}),
        (first, "claim", None),
        (first, "release", None),
    ):
        response = _post(client, f"{path}/{action}", body)
        assert (response.status_code, response.json()["code"]) == (409, "task_not_open"), action
    assert _state() == before


def test_invalid_completions_are_422_and_change_nothing(
    submit: Callable[[], str], staff: dict[str, User], bearer: Any
) -> None:
    submit()
    amr = bearer(staff["AMR"])
    (review,) = _tasks(amr)
    before = _state()
    path = f"/api/v1/tasks/{review['id']}/complete"
    unknown = _post(amr, path, {"outcome": "maybe"})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "invalid_request")
    rejected = _post(amr, path, {"outcome": "reject", "opinion": " "})
    assert (rejected.status_code, rejected.json()["code"]) == (422, "form_invalid")
    assert [error["field"] for error in rejected.json()["errors"]] == ["opinion"]
    consult = _post(amr, path, {"outcome": "consult", "opinion": "?", "data": {"department": "AMR"}})
    assert [error["field"] for error in consult.json()["errors"]] == ["data.department"]
    assert _state() == before


def test_filters_pagination_and_bounded_queries(
    submit: Callable[[], str], staff: dict[str, User], bearer: Any
) -> None:
    for _ in range(3):
        submit()
    amr = bearer(staff["AMR"])
    everything = _tasks(amr)
    assert len(everything) == 3
    page = amr.get("/api/v1/tasks?limit=2&offset=1").json()
    assert page["count"] == 3
    assert [task["id"] for task in page["items"]] == [task["id"] for task in everything[1:3]]
    assert _tasks(amr, "?service=QYKB") == everything
    assert _tasks(amr, "?service=NOPE") == []
    light = everything[0]["light"]
    assert _tasks(amr, f"?light={light}") == everything
    due = everything[0]["due_date"]
    assert len(_tasks(amr, f"?due_before={due}")) == 3
    assert _tasks(amr, "?due_before=2000-01-01") == []
    _post(amr, f"/api/v1/tasks/{everything[0]['id']}/claim")
    assert [task["id"] for task in _tasks(amr, "?status=claimed")] == [everything[0]["id"]]
    assert [task["id"] for task in _tasks(amr, "?scope=mine")] == [everything[0]["id"]]
    assert _tasks(bearer(staff["AMR2"]), "?scope=mine") == []
    bad = amr.get("/api/v1/tasks?scope=everything")
    assert bad.status_code == 422

    # Reading the inbox costs the same number of queries for 3 tasks as for 5
    with CaptureQueriesContext(connection) as few:
        assert len(_tasks(amr)) == 3
    submit()
    submit()
    with CaptureQueriesContext(connection) as more:
        assert len(_tasks(amr)) == 5
    assert len(more) == len(few) <= 10


def test_opening_a_task_is_recorded(submit: Callable[[], str], staff: dict[str, User], bearer: Any) -> None:
    submit()
    amr = bearer(staff["AMR"])
    (review,) = _tasks(amr)
    first = amr.get(f"/api/v1/tasks/{review['id']}").json()
    assert (first["seen_at"], first["changed"]) == (None, True)
    second = amr.get(f"/api/v1/tasks/{review['id']}").json()
    assert second["seen_at"] is not None
    assert second["changed"] is False
    assert TaskView.objects.filter(user=staff["AMR"], task_id=review["id"]).count() == 1
