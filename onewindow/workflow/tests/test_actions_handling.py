"""Handling beyond approve/reject: return to the applicant (clock stop), consultation, reassignment,
delegation, withdrawal, task views and what a handler sees (issue #4 items 3–5)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.applications.actions import application_supplement, application_withdraw
from onewindow.applications.models import Application, ApplicationEvent, Status, SupplementRequest
from onewindow.applications.tracking import china_date
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.workcalendar.calendar import add_working_days, working_days_between
from onewindow.workflow.actions import task_claim, task_complete, task_release
from onewindow.workflow.assignment import delegation_create, delegation_revoke, task_reassign, task_seen
from onewindow.workflow.models import (
    CaseEvent,
    CaseEventKind,
    ClockStop,
    Delegation,
    HumanTask,
    InstanceStatus,
    ProcessDefinition,
    TaskKind,
    TaskStatus,
    WorkflowInstance,
)
from onewindow.workflow.selectors import task_case_view, tasks_for_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(accepted_application: Callable[[], Application], qykb_definition: ProcessDefinition) -> Application:
    """An accepted application whose process started on acceptance (the review waits in TDEPT)."""
    application = accepted_application()
    assert application.status == Status.IN_PROGRESS
    assert WorkflowInstance.objects.filter(application=application).exists()
    return application


def _review(application: Application) -> HumanTask:
    return HumanTask.objects.get(application=application, task_spec="review")


def test_acceptance_starts_the_process_and_the_timeline_shows_the_department(case: Application) -> None:
    review = _review(case)
    assert (review.status, review.department_code, review.light) == (TaskStatus.OPEN, "TDEPT", "green")
    assert review.changed_at is not None
    assert case.pending_department_codes == ["TDEPT"]
    routed = ApplicationEvent.objects.filter(application=case, kind="routed")
    assert [event.department_code for event in routed] == ["TDEPT"]


def test_return_stops_the_clock_and_the_supplement_moves_the_due_dates(
    case: Application, handlers: dict[str, User], role_users: dict[str, Any]
) -> None:
    review = _review(case)
    task_claim(acting_user=handlers["TDEPT"], task=review)
    task_complete(
        acting_user=handlers["TDEPT"],
        task=review,
        outcome="return",
        opinion="章程缺少股东签字",
        data={"items": [{"material_code": "CHARTER", "reason": "章程须全体股东签字"}]},
    )
    case.refresh_from_db()
    review.refresh_from_db()
    assert case.status == Status.SUPPLEMENT_REQUESTED
    assert review.status == TaskStatus.WAITING
    (notice,) = SupplementRequest.objects.filter(application=case)
    assert [item["material_code"] for item in notice.items] == ["CHARTER"]
    stop = ClockStop.objects.get(application=case, ended_at__isnull=True)
    assert (stop.kind, stop.task_id) == ("supplement", review.pk)
    # A waiting task cannot be completed
    with pytest.raises(RuleViolation) as caught:
        task_complete(acting_user=handlers["TDEPT"], task=review, outcome="approve", opinion="")
    assert caught.value.code == "task_not_open"

    # The clock was stopped three working days ago (moved back in the database)
    today = china_date(timezone.now())
    started = today - timedelta(days=1)
    while working_days_between(started, today) < 3:
        started -= timedelta(days=1)
    ClockStop.objects.filter(pk=stop.pk).update(started_at=stop.started_at - (today - started))
    due, statutory, task_due = case.due_date, case.statutory_due_date, review.due_date
    assert due is not None
    assert statutory is not None
    assert task_due is not None

    application_supplement(acting_user=role_users["resident"], application=case, form=None, material_ids=[])
    case.refresh_from_db()
    review.refresh_from_db()
    stop.refresh_from_db()
    assert case.status == Status.IN_PROGRESS
    assert stop.working_days == 3
    assert case.due_date == add_working_days(due, 3)
    assert case.statutory_due_date == add_working_days(statutory, 3)
    assert review.due_date == add_working_days(task_due, 3)
    assert (review.status, review.assignee_id) == (TaskStatus.CLAIMED, handlers["TDEPT"].pk)
    kinds = set(CaseEvent.objects.filter(application=case).values_list("kind", flat=True))
    assert {CaseEventKind.TASK_RETURNED, CaseEventKind.CLOCK_STOPPED, CaseEventKind.CLOCK_RESUMED} <= kinds
    # The process goes on from where it was
    task_complete(acting_user=handlers["TDEPT"], task=review, outcome="approve", opinion="同意")
    assert HumanTask.objects.filter(application=case, status=TaskStatus.OPEN).count() == 3


def test_return_needs_an_opinion(case: Application, handlers: dict[str, User]) -> None:
    review = _review(case)
    with pytest.raises(FieldErrors):
        task_complete(acting_user=handlers["TDEPT"], task=review, outcome="return", opinion=" ")
    review.refresh_from_db()
    assert review.status == TaskStatus.OPEN
    assert not ClockStop.objects.exists()


def test_consultation_holds_the_task_until_the_other_department_answers(
    case: Application, handlers: dict[str, User]
) -> None:
    review = _review(case)
    task_claim(acting_user=handlers["TDEPT"], task=review)
    task_complete(
        acting_user=handlers["TDEPT"],
        task=review,
        outcome="consult",
        opinion="该地址是否允许经营餐饮？",
        data={"department": "PSB"},
    )
    review.refresh_from_db()
    consultation = HumanTask.objects.get(consult_of=review)
    assert review.status == TaskStatus.WAITING
    assert (consultation.kind, consultation.department_code, consultation.status) == (
        TaskKind.CONSULT,
        "PSB",
        TaskStatus.OPEN,
    )
    assert consultation.due_date is not None
    case.refresh_from_db()
    assert case.pending_department_codes == ["PSB", "TDEPT"]
    assert [task.pk for task in tasks_for_user(handlers["PSB"])] == [consultation.pk]
    # A consultation is answered with an opinion
    with pytest.raises(FieldErrors):
        task_complete(acting_user=handlers["PSB"], task=consultation, outcome="approve", opinion="")
    with pytest.raises(FieldErrors):
        task_complete(acting_user=handlers["PSB"], task=consultation, outcome="return", opinion="x")
    task_complete(acting_user=handlers["PSB"], task=consultation, outcome="approve", opinion="允许")
    review.refresh_from_db()
    assert (review.status, review.assignee_id) == (TaskStatus.CLAIMED, handlers["TDEPT"].pk)
    view = task_case_view(handlers["TDEPT"], review)
    assert [(task.outcome, task.opinion) for task in view.consultations] == [("approve", "允许")]
    case.refresh_from_db()
    assert case.pending_department_codes == ["TDEPT"]


def test_consulting_ones_own_or_an_unknown_department_is_refused(
    case: Application, handlers: dict[str, User]
) -> None:
    review = _review(case)
    for department in ("TDEPT", "NOPE", ""):
        with pytest.raises(FieldErrors):
            task_complete(
                acting_user=handlers["TDEPT"],
                task=review,
                outcome="consult",
                opinion="?",
                data={"department": department},
            )
    assert not HumanTask.objects.filter(kind=TaskKind.CONSULT).exists()


@pytest.mark.parametrize("role", ["department_handler", "leader", "system_admin", "supervisor", "resident"])
def test_only_the_department_admin_reassigns(
    case: Application, role_users: dict[str, Any], role: str
) -> None:
    review = _review(case)
    other = staff_user(Role.DEPARTMENT_HANDLER, department_code="TDEPT", username="h_other")
    with pytest.raises(PermissionDenied):
        task_reassign(acting_user=role_users[role], task=review, assignee=other)
    review.refresh_from_db()
    assert (review.status, review.assignee_id) == (TaskStatus.OPEN, None)


def test_department_admin_reassigns_to_a_handler_of_the_department(
    case: Application, role_users: dict[str, Any], handlers: dict[str, User]
) -> None:
    review = _review(case)
    task_claim(acting_user=handlers["TDEPT"], task=review)
    other = staff_user(Role.DEPARTMENT_HANDLER, department_code="TDEPT", username="h_other")
    with pytest.raises(FieldErrors):
        task_reassign(acting_user=role_users["department_admin"], task=review, assignee=handlers["TAX"])
    task_reassign(acting_user=role_users["department_admin"], task=review, assignee=other, reason="休假")
    review.refresh_from_db()
    assert (review.status, review.assignee_id) == (TaskStatus.CLAIMED, other.pk)
    with pytest.raises(RuleViolation) as caught:
        task_complete(acting_user=handlers["TDEPT"], task=review, outcome="approve", opinion="")
    assert caught.value.code == "task_not_yours"
    assert other.notifications.filter(kind="task_assigned").count() == 1


def test_a_delegate_works_the_delegators_tasks_while_the_delegation_lasts(
    case: Application, role_users: dict[str, Any], handlers: dict[str, User]
) -> None:
    review = _review(case)
    task_claim(acting_user=handlers["TDEPT"], task=review)
    deputy = staff_user(Role.DEPARTMENT_HANDLER, department_code="TDEPT", username="h_deputy")
    today = china_date(timezone.now())
    with pytest.raises(PermissionDenied):
        delegation_create(
            acting_user=handlers["TDEPT"],
            department_code="TDEPT",
            delegator=handlers["TDEPT"],
            delegate=deputy,
            starts_on=today,
            ends_on=today,
        )
    with pytest.raises(FieldErrors):
        delegation_create(
            acting_user=role_users["department_admin"],
            department_code="TDEPT",
            delegator=handlers["TDEPT"],
            delegate=deputy,
            starts_on=today,
            ends_on=today - timedelta(days=1),
        )
    assert not Delegation.objects.exists()
    delegation = delegation_create(
        acting_user=role_users["department_admin"],
        department_code="TDEPT",
        delegator=handlers["TDEPT"],
        delegate=deputy,
        starts_on=today,
        ends_on=today + timedelta(days=7),
        reason="出差",
    )
    assert [task.pk for task in tasks_for_user(deputy, scope="mine")] == [review.pk]
    delegation_revoke(acting_user=role_users["department_admin"], delegation=delegation)
    assert list(tasks_for_user(deputy, scope="mine")) == []
    with pytest.raises(RuleViolation) as caught:
        task_complete(acting_user=deputy, task=review, outcome="approve", opinion="")
    assert caught.value.code == "task_not_yours"
    delegation_create(
        acting_user=role_users["department_admin"],
        department_code="TDEPT",
        delegator=handlers["TDEPT"],
        delegate=deputy,
        starts_on=today,
        ends_on=today,
    )
    task_complete(acting_user=deputy, task=review, outcome="approve", opinion="代为办理")
    review.refresh_from_db()
    assert (review.status, review.assignee_id) == (TaskStatus.DONE, deputy.pk)


def test_withdrawal_cancels_the_process(
    case: Application, role_users: dict[str, Any], handlers: dict[str, User]
) -> None:
    application_withdraw(acting_user=role_users["resident"], application=case, reason="不办了")
    instance = WorkflowInstance.objects.get(application=case)
    assert instance.status == InstanceStatus.CANCELLED
    assert _review(case).status == TaskStatus.CANCELLED
    assert list(tasks_for_user(handlers["TDEPT"])) == []


def test_changed_mark_follows_what_the_handler_saw(case: Application, handlers: dict[str, User]) -> None:
    review = _review(case)

    def changed() -> list[bool]:
        return [bool(vars(task)["is_changed"]) for task in tasks_for_user(handlers["TDEPT"])]

    assert changed() == [True]
    assert task_seen(acting_user=handlers["TDEPT"], task=review) is None
    assert changed() == [False]
    HumanTask.objects.filter(pk=review.pk).update(changed_at=timezone.now() + timedelta(seconds=5))
    assert changed() == [True]
    assert task_seen(acting_user=handlers["TDEPT"], task=review) is not None


def test_pool_filters(case: Application, handlers: dict[str, User]) -> None:
    review = _review(case)
    handler = handlers["TDEPT"]
    assert [t.pk for t in tasks_for_user(handler, light="green")] == [review.pk]
    assert list(tasks_for_user(handler, light="red")) == []
    assert [t.pk for t in tasks_for_user(handler, service=case.service.code)] == [review.pk]
    assert list(tasks_for_user(handler, service="OTHER")) == []
    assert review.due_date is not None
    assert list(tasks_for_user(handler, due_before=review.due_date - timedelta(days=1))) == []
    task_claim(acting_user=handler, task=review)
    assert [t.pk for t in tasks_for_user(handler, status="claimed")] == [review.pk]
    task_release(acting_user=handler, task=review)
    assert [t.pk for t in tasks_for_user(handler, status="open")] == [review.pk]
