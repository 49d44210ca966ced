"""Handling tasks through the pages: the inbox (filters, lights, change marks), claim, release, complete
(approve, reject, return, consult), suspend and resume, extensions, reassignment and delegation.

Administrative Licensing Law Art. 32 (one notice of everything missing), Art. 42 (time limits and their
extension with approval), Art. 45 (hearings and expert reviews do not count); issue #4 items 3–5.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.applications.models import Application, Status, SupplementRequest
from onewindow.applications.tracking import china_date
from onewindow.workflow.actions import task_claim, task_complete
from onewindow.workflow.models import (
    CaseEventKind,
    ClockStop,
    Delegation,
    Extension,
    ExtensionStatus,
    HumanTask,
    Light,
    ProcessDefinition,
    TaskKind,
    TaskStatus,
    TaskView,
)
from onewindow.workflow.tests.test_views import staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(accepted_application: Callable[[], Application], qykb_definition: ProcessDefinition) -> Application:
    application = accepted_application()
    assert application.status == Status.IN_PROGRESS
    return application


@pytest.fixture
def review(case: Application) -> HumanTask:
    return HumanTask.objects.get(application=case, task_spec="review")


@pytest.fixture
def handler(role_users: dict[str, Any], client_for: Callable[[object], Client]) -> Client:
    return client_for(role_users["department_handler"])


@pytest.fixture
def admin(role_users: dict[str, Any], client_for: Callable[[object], Client]) -> Client:
    return client_for(role_users["department_admin"])


def _html(response: Any) -> str:
    return str(response.content.decode())


def _row(html: str, task: HumanTask) -> str:
    """The inbox table row of ``task``."""
    match = re.search(rf'<tr class="govuk-table__row[^"]*" data-task="{task.pk}">(.*?)</tr>', html, re.S)
    assert match is not None, f"no row for task {task.pk}"
    return match.group(0)


# --- Inbox ------------------------------------------------------------------------------------------------


def test_inbox_lists_the_pool_with_light_and_change_marks(
    review: HumanTask, case: Application, handler: Client
) -> None:
    # Given the review waiting in TDEPT's pool, never opened
    response = handler.get("/tasks/")
    html = _html(response)
    row = _row(html, review)
    # Then its row shows tracking number, task, status, the light as text, and "changed" in bold
    assert response.status_code == 200
    assert case.tracking_no in row
    assert "市场监管审查" in row
    assert "ow-row--changed" in row
    assert "有更新" in row
    assert 'class="govuk-tag govuk-tag--green ow-light">绿<' in row
    assert f'action="/tasks/{review.pk}/claim/"' in row

    # When the handler opens the task, then the inbox no longer marks it
    assert handler.get(f"/tasks/{review.pk}/").status_code == 200
    row = _row(_html(handler.get("/tasks/")), review)
    assert "ow-row--changed" not in row
    assert "有更新" not in row

    # When something changes on the task afterwards, then it is marked again
    HumanTask.objects.filter(pk=review.pk).update(changed_at=timezone.now() + timedelta(seconds=1))
    assert "有更新" in _row(_html(handler.get("/tasks/")), review)


def test_inbox_in_english_shows_english_light_names(review: HumanTask, handler: Client) -> None:
    handler.cookies["django_language"] = "en"
    row = _row(_html(handler.get("/tasks/", HTTP_ACCEPT_LANGUAGE="en")), review)
    assert ">Green<" in row
    assert "Changed" in row
    assert "Market regulation review" in row


def test_inbox_filters(review: HumanTask, case: Application, handler: Client) -> None:
    HumanTask.objects.filter(pk=review.pk).update(light=Light.YELLOW, due_date=china_date(timezone.now()))
    assert f'data-task="{review.pk}"' in _html(handler.get("/tasks/?light=yellow"))
    assert f'data-task="{review.pk}"' not in _html(handler.get("/tasks/?light=red"))
    assert f'data-task="{review.pk}"' in _html(handler.get(f"/tasks/?service={case.service.code}"))
    assert f'data-task="{review.pk}"' not in _html(handler.get("/tasks/?service=NOPE"))
    yesterday = china_date(timezone.now()) - timedelta(days=1)
    assert f'data-task="{review.pk}"' not in _html(handler.get(f"/tasks/?due_before={yesterday}"))
    assert f'data-task="{review.pk}"' in _html(
        handler.get(f"/tasks/?due_before={yesterday + timedelta(days=1)}")
    )
    # A date that is not one is an error linked to the field, not a crash
    response = handler.get("/tasks/?due_before=31/12/2026")
    assert response.status_code == 422
    assert 'href="#f-due_before"' in _html(response)
    # Mine: nothing until claimed
    assert f'data-task="{review.pk}"' not in _html(handler.get("/tasks/?scope=mine"))


def test_inbox_pages_keep_the_filters(
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    handler: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from onewindow.workflow import views

    # Given two cases in the pool and pages of one task
    first, second = accepted_application(), accepted_application()
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    # When the handler filters by light, then the next page keeps the filter
    html = _html(handler.get("/tasks/?light=green"))
    assert 'href="?light=green&amp;page=2"' in html
    assert "第 1 页，共 2 页" in html
    page_two = _html(handler.get("/tasks/?light=green&page=2"))
    assert 'href="?light=green&amp;page=1"' in page_two
    shown = {no for no in (first.tracking_no, second.tracking_no) if no in html or no in page_two}
    assert shown == {first.tracking_no, second.tracking_no}


def test_inbox_queries_do_not_grow_with_the_rows(
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    handler: Client,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    accepted_application()
    handler.get("/tasks/")  # warm the session and the published-services cache
    with CaptureQueriesContext(connection) as one:
        handler.get("/tasks/")
    accepted_application()
    accepted_application()
    with CaptureQueriesContext(connection) as three:
        html = _html(handler.get("/tasks/"))
    assert html.count("data-task=") == 3
    assert len(three) == len(one)


# --- Claim, release, complete -------------------------------------------------------------------------


def test_claim_and_release_from_the_inbox(
    review: HumanTask, handler: Client, role_users: dict[str, Any]
) -> None:
    # When the handler claims the review from the inbox
    response = handler.post(f"/tasks/{review.pk}/claim/")
    # Then it is theirs and they are on its page
    assert response.status_code == 302
    assert response["Location"] == f"/tasks/{review.pk}/"
    review.refresh_from_db()
    assert (review.status, review.assignee_id) == (TaskStatus.CLAIMED, role_users["department_handler"].pk)
    assert f'data-task="{review.pk}"' in _html(handler.get("/tasks/?scope=mine"))

    # When they release it from "mine", then it is back in the pool and they stay on the list
    response = handler.post(f"/tasks/{review.pk}/release/", {"next": "/tasks/?scope=mine"})
    assert response["Location"] == "/tasks/?scope=mine"
    review.refresh_from_db()
    assert (review.status, review.assignee_id) == (TaskStatus.OPEN, None)


def test_claiming_a_task_someone_else_claimed_says_so(
    review: HumanTask, handler: Client, admin: Client, role_users: dict[str, Any]
) -> None:
    task_claim(acting_user=role_users["department_admin"], task=review)
    response = handler.post(f"/tasks/{review.pk}/claim/", follow=True)
    assert "已由他人签收" in _html(response)
    review.refresh_from_db()
    assert review.assignee_id == role_users["department_admin"].pk
    # An outside "next" is ignored
    response = admin.post(f"/tasks/{review.pk}/release/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/tasks/{review.pk}/"


def test_task_page_shows_the_case_and_the_handler_form(
    review: HumanTask, case: Application, handler: Client
) -> None:
    html = _html(handler.get(f"/tasks/{review.pk}/"))
    # The applicant's identifier is masked (first 6, last 4); the form fields and materials are listed
    identifier = case.applicant_identifier
    assert identifier not in html
    assert f"{identifier[:6]}{'*' * (len(identifier) - 10)}{identifier[-4:]}" in html
    assert case.applicant_name in html
    assert 'name="outcome"' in html
    for outcome in ("approve", "reject", "return", "consult"):
        assert f'value="{outcome}"' in html
    assert 'id="f-opinion"' in html
    assert 'id="f-return_target_1"' in html
    assert '<option value="material:LEASE">' in html
    assert 'id="f-consult_department"' in html
    assert '<option value="PSB">' in html
    assert f'href="/cases/{case.tracking_no}/diagram/"' in html
    # Opening it is recorded
    assert TaskView.objects.filter(task=review).count() == 1


def test_complete_with_approve_through_the_page(
    review: HumanTask, case: Application, handler: Client, role_users: dict[str, Any]
) -> None:
    handler.post(f"/tasks/{review.pk}/claim/")
    response = handler.post(f"/tasks/{review.pk}/complete/", {"outcome": "approve", "opinion": "符合条件"})
    assert response.status_code == 302
    assert response["Location"] == "/tasks/"
    review.refresh_from_db()
    assert (review.status, review.outcome, review.opinion) == (TaskStatus.DONE, "approve", "符合条件")
    # The three parallel department tasks are open now
    assert sorted(
        HumanTask.objects.filter(application=case, status=TaskStatus.OPEN).values_list(
            "department_code", flat=True
        )
    ) == ["HRSS", "PSB", "TAX"]
    # The done task's page still opens, read-only
    html = _html(handler.get(f"/tasks/{review.pk}/"))
    assert "已办结" in html
    assert 'name="outcome"' not in html
    assert f'action="/tasks/{review.pk}/claim/"' not in html


def test_handler_form_errors_are_shown_in_both_languages(review: HumanTask, handler: Client) -> None:
    # No outcome: required, linked from the summary
    response = handler.post(f"/tasks/{review.pk}/complete/", {"opinion": ""})
    html = _html(response)
    assert response.status_code == 422
    assert "govuk-error-summary" in html
    assert 'href="#f-outcome"' in html
    # Reject without reasons
    response = handler.post(f"/tasks/{review.pk}/complete/", {"outcome": "reject"})
    assert response.status_code == 422
    assert 'href="#f-opinion"' in _html(response)
    assert "不予通过须说明理由" in _html(response)
    handler.cookies["django_language"] = "en"
    response = handler.post(f"/tasks/{review.pk}/complete/", {"outcome": "reject"})
    assert "A rejection needs reasons." in _html(response)
    handler.cookies["django_language"] = "zh-hans"
    # Consult without a department
    response = handler.post(f"/tasks/{review.pk}/complete/", {"outcome": "consult", "opinion": "请核实"})
    assert response.status_code == 422
    assert 'href="#f-consult_department"' in _html(response)
    # Consult the own department: the action's refusal lands on the department field
    response = handler.post(
        f"/tasks/{review.pk}/complete/",
        {"outcome": "consult", "opinion": "请核实", "consult_department": "TDEPT"},
    )
    assert response.status_code == 422
    assert 'id="f-consult_department-error"' in _html(response)
    review.refresh_from_db()
    assert review.status == TaskStatus.OPEN


def test_return_items_name_a_field_or_material(review: HumanTask, handler: Client) -> None:
    response = handler.post(
        f"/tasks/{review.pk}/complete/",
        {
            "outcome": "return",
            "opinion": "材料不全",
            "return_reason_2": "缺少签章",
            "return_target_3": "material:LEASE",
        },
    )
    html = _html(response)
    assert response.status_code == 422
    assert 'href="#f-return_target_2"' in html
    assert 'href="#f-return_reason_3"' in html
    assert 'value="material:LEASE" selected' in html
    review.refresh_from_db()
    assert review.status == TaskStatus.OPEN


def test_return_to_the_applicant_through_the_page(
    review: HumanTask, case: Application, handler: Client
) -> None:
    handler.post(f"/tasks/{review.pk}/claim/")
    response = handler.post(
        f"/tasks/{review.pk}/complete/",
        {
            "outcome": "return",
            "opinion": "材料不全",
            "return_target_1": "material:LEASE",
            "return_reason_1": "租赁合同缺少签章",
            "return_target_3": "material:CHARTER",
            "return_reason_3": "章程须全体股东签字",
        },
    )
    assert response.status_code == 302
    review.refresh_from_db()
    case.refresh_from_db()
    assert review.status == TaskStatus.WAITING
    assert case.status == Status.SUPPLEMENT_REQUESTED
    notice = SupplementRequest.objects.get(application=case)
    assert [(item["material_code"], item["reason"]) for item in notice.items] == [
        ("LEASE", "租赁合同缺少签章"),
        ("CHARTER", "章程须全体股东签字"),
    ]
    # The task page shows the stopped clock
    html = _html(handler.get(f"/tasks/{review.pk}/"))
    assert "办理时限已中止" in html


def test_consult_and_answer_through_the_pages(
    review: HumanTask,
    case: Application,
    handler: Client,
    handlers: dict[str, User],
    client_for: Callable[[object], Client],
) -> None:
    # Given the review, when its handler consults PSB with a question
    handler.post(f"/tasks/{review.pk}/claim/")
    response = handler.post(
        f"/tasks/{review.pk}/complete/",
        {"outcome": "consult", "opinion": "该地址是否可用作经营场所？", "consult_department": "PSB"},
    )
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == TaskStatus.WAITING
    consultation = HumanTask.objects.get(consult_of=review)
    assert (consultation.kind, consultation.department_code) == (TaskKind.CONSULT, "PSB")

    # Then PSB's handler finds it in the pool, sees the question and answers with agree/disagree
    psb = staff_client(handlers["PSB"], client_for)
    assert f'data-task="{consultation.pk}"' in _html(psb.get("/tasks/"))
    html = _html(psb.get(f"/tasks/{consultation.pk}/"))
    assert "该地址是否可用作经营场所？" in html
    assert 'value="return"' not in html
    assert 'id="f-consult_department"' not in html
    response = psb.post(f"/tasks/{consultation.pk}/complete/", {"outcome": "approve"})
    assert response.status_code == 422  # an answer needs an opinion
    response = psb.post(f"/tasks/{consultation.pk}/complete/", {"outcome": "approve", "opinion": "可以"})
    assert response.status_code == 302

    # And the review is back with its handler, showing the answer
    review.refresh_from_db()
    assert review.status == TaskStatus.CLAIMED
    html = _html(handler.get(f"/tasks/{review.pk}/"))
    assert "可以" in html
    assert "同意" in html


def test_changes_since_the_last_look_are_marked_on_the_task_page(
    review: HumanTask, handler: Client, role_users: dict[str, Any]
) -> None:
    # Given the handler looked at the task once (nothing is marked the first time)
    html = _html(handler.get(f"/tasks/{review.pk}/"))
    assert "ow-events__item--new" not in html
    # When the department admin claims it afterwards
    task_claim(acting_user=role_users["department_admin"], task=review)
    # Then the next look marks that step as new, and says how many steps changed
    html = _html(handler.get(f"/tasks/{review.pk}/"))
    assert html.count("ow-events__item--new") == 1
    assert str(CaseEventKind.TASK_CLAIMED.label) in html or "Task claimed" in html
    assert 'href="#ow-timeline"' in html
    # And the look after that marks nothing
    assert "ow-events__item--new" not in _html(handler.get(f"/tasks/{review.pk}/"))


def test_a_task_claimed_by_someone_else_has_no_handler_form(
    review: HumanTask, handler: Client, role_users: dict[str, Any]
) -> None:
    task_claim(acting_user=role_users["department_admin"], task=review)
    html = _html(handler.get(f"/tasks/{review.pk}/"))
    assert 'name="outcome"' not in html
    response = handler.post(f"/tasks/{review.pk}/complete/", {"outcome": "approve", "opinion": "x"})
    assert response.status_code == 409
    assert "已由他人签收" in _html(response)
    review.refresh_from_db()
    assert review.status == TaskStatus.CLAIMED


def test_delegate_works_the_delegators_task(
    review: HumanTask, handler: Client, admin: Client, role_users: dict[str, Any]
) -> None:
    # Given the handler claimed the review, and the admin delegates the handler's tasks to... the admin
    handler.post(f"/tasks/{review.pk}/claim/")
    today = china_date(timezone.now())
    response = admin.post(
        "/delegations/",
        {
            "department_code": "TDEPT",
            "delegator": str(role_users["department_handler"].pk),
            "delegate": str(role_users["department_admin"].pk),
            "starts_on": str(today),
            "ends_on": str(today + timedelta(days=3)),
            "reason": "休假",
        },
    )
    assert response.status_code == 302
    delegation = Delegation.objects.get()
    assert delegation.reason == "休假"
    # Then the admin sees it in "mine" and can complete it
    assert f'data-task="{review.pk}"' in _html(admin.get("/tasks/?scope=mine"))
    assert 'name="outcome"' in _html(admin.get(f"/tasks/{review.pk}/"))
    # When it is revoked, the delegations page says so
    assert admin.post(f"/delegations/{delegation.pk}/revoke/").status_code == 302
    delegation.refresh_from_db()
    assert delegation.revoked_at is not None
    assert "已撤销" in _html(admin.get("/delegations/"))


def test_delegation_form_errors(review: HumanTask, admin: Client, role_users: dict[str, Any]) -> None:
    response = admin.post("/delegations/", {"department_code": "TDEPT", "starts_on": "tomorrow"})
    html = _html(response)
    assert response.status_code == 422
    for field in ("delegator", "delegate", "starts_on", "ends_on"):
        assert f'href="#f-{field}"' in html
    # The action's rule (not to oneself) lands on its field
    handler_id = str(role_users["department_handler"].pk)
    today = str(china_date(timezone.now()))
    response = admin.post(
        "/delegations/",
        {
            "department_code": "TDEPT",
            "delegator": handler_id,
            "delegate": handler_id,
            "starts_on": today,
            "ends_on": today,
        },
    )
    assert response.status_code == 422
    assert 'id="f-delegate-error"' in _html(response)
    assert Delegation.objects.count() == 0


def test_reassign_through_the_page(review: HumanTask, admin: Client, role_users: dict[str, Any]) -> None:
    handler = role_users["department_handler"]
    html = _html(admin.get(f"/tasks/{review.pk}/"))
    assert f'<option value="{handler.pk}">' in html
    response = admin.post(
        f"/tasks/{review.pk}/reassign/", {"assignee": str(handler.pk), "reason": "熟悉此类业务"}
    )
    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.status, review.assignee_id) == (TaskStatus.CLAIMED, handler.pk)
    # Someone who is not a handler of the department is refused at the field
    response = admin.post(f"/tasks/{review.pk}/reassign/", {"assignee": str(role_users["leader"].pk)})
    assert response.status_code == 422
    assert 'href="#f-reassign_assignee"' in _html(response)


def test_suspend_and_resume_through_the_page(review: HumanTask, handler: Client) -> None:
    handler.post(f"/tasks/{review.pk}/claim/")
    response = handler.post(f"/tasks/{review.pk}/suspend/", {"kind": "lunch", "reason": ""})
    assert response.status_code == 422
    assert 'href="#f-suspend_kind"' in _html(response)
    assert 'href="#f-suspend_reason"' in _html(response)
    response = handler.post(f"/tasks/{review.pk}/suspend/", {"kind": "expert", "reason": "委托检测机构检验"})
    assert response.status_code == 302
    stop = ClockStop.objects.get()
    assert (stop.kind, stop.ended_at) == ("expert", None)
    html = _html(handler.get(f"/tasks/{review.pk}/"))
    assert "委托检测机构检验" in html
    assert f'action="/tasks/{review.pk}/resume/"' in html
    assert handler.post(f"/tasks/{review.pk}/resume/").status_code == 302
    stop.refresh_from_db()
    assert stop.ended_at is not None


def test_extension_requested_and_decided_through_the_pages(
    review: HumanTask, case: Application, handler: Client, admin: Client
) -> None:
    # Given a handler asks for an extension (with a bad number first)
    handler.post(f"/tasks/{review.pk}/claim/")
    response = handler.post(f"/tasks/{review.pk}/extension/", {"working_days": "31", "reason": ""})
    assert response.status_code == 422
    assert 'href="#f-extension_days"' in _html(response)
    assert 'href="#f-extension_reason"' in _html(response)
    response = handler.post(f"/tasks/{review.pk}/extension/", {"working_days": "5", "reason": "需要现场核查"})
    assert response.status_code == 302
    extension = Extension.objects.get()
    # When the admin refuses without a reason, then that is an error
    html = _html(admin.get("/extensions/"))
    assert "需要现场核查" in html
    response = admin.post(f"/extensions/{extension.pk}/decide/", {"decision": "refuse", "reason": ""})
    assert response.status_code == 422
    assert f'href="#f-reason-{extension.pk}"' in _html(response)
    # When they approve, then the due date moves and the request leaves the list
    due = case.due_date
    response = admin.post(f"/extensions/{extension.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 302
    extension.refresh_from_db()
    case.refresh_from_db()
    assert extension.status == ExtensionStatus.APPROVED
    assert case.due_date != due
    assert "需要现场核查" not in _html(admin.get("/extensions/"))
    # The task page lists the approved extension
    assert "已批准" in _html(handler.get(f"/tasks/{review.pk}/")) or "Approved" in _html(
        handler.get(f"/tasks/{review.pk}/")
    )


# --- Supervision ------------------------------------------------------------------------------------------


def test_supervision_counts_link_to_the_cases(
    case: Application,
    review: HumanTask,
    handlers: dict[str, User],
    role_users: dict[str, Any],
    client_for: Callable[[object], Client],
) -> None:
    # Given the review approved: three parallel tasks in PSB, TAX, HRSS; one overdue (red)
    task_complete(
        acting_user=role_users["department_handler"], task=review, outcome="approve", opinion="同意"
    )
    HumanTask.objects.filter(application=case, department_code="TAX").update(light=Light.RED)
    leader = client_for(role_users["leader"])
    html = _html(leader.get("/supervision/"))
    # Then the leader sees every department with its counts, each a link to its cases
    assert 'href="/supervision/tasks/?department=TAX&amp;light=red"' in html
    assert 'href="/supervision/tasks/?department=PSB&amp;light=green"' in html
    # When they drill down, then the case is listed with its light in words
    html = _html(leader.get("/supervision/tasks/?department=TAX&light=red"))
    assert case.tracking_no in html
    assert ">红<" in html
    assert "税务登记" in html
    assert case.tracking_no not in _html(leader.get("/supervision/tasks/?department=TAX&light=green"))
    # And a department admin sees only their own department
    html = _html(client_for(role_users["department_admin"]).get("/supervision/"))
    assert "department=TAX" not in html


def test_supervision_trend_table(
    case: Application, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    from onewindow.workflow.models import SupervisionSnapshot

    today = china_date(timezone.now())
    SupervisionSnapshot.objects.create(
        day=today - timedelta(days=1), department_code="TDEPT", green=3, yellow=1, red=0
    )
    SupervisionSnapshot.objects.create(day=today, department_code="TDEPT", green=2, yellow=1, red=2)
    html = _html(client_for(role_users["supervisor"]).get("/supervision/"))
    assert f'<time datetime="{today}">' in html
    assert "<polyline" in html
    assert 'aria-hidden="true"' in html
