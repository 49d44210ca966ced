"""Stopping a case's clock for a hearing or an expert review, and restarting it.

Administrative Licensing Law Art. 45: the time a hearing, testing, inspection or expert review takes is
not counted in the time limit, and the applicant is told in writing. When the clock restarts, the case's
promised and statutory due dates and its active tasks' due dates move by the working days it was stopped
(Art. 82: working days).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.applications.models import Application, ApplicationEvent
from onewindow.applications.tracking import china_date
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.workcalendar.calendar import add_working_days, is_working_day, working_days_between
from onewindow.workflow.actions import task_claim, task_complete
from onewindow.workflow.assignment import delegation_create
from onewindow.workflow.deadlines import case_resume, case_suspend, lights_refresh
from onewindow.workflow.models import (
    CaseEvent,
    CaseEventKind,
    ClockStop,
    ClockStopKind,
    HumanTask,
    Light,
    ProcessDefinition,
)
from onewindow.workflow.tests.test_deadlines_support import (
    calendar_reset,
    case_started,
    database_state,
    denials,
    notified,
    review_task,
)

pytestmark = pytest.mark.django_db

# Roles that may work the review task of department TDEPT (HANDLE_TASKS there).
TDEPT_WORKERS = {"department_handler", "department_admin"}


@pytest.fixture(autouse=True)
def _calendar() -> Iterator[None]:
    calendar_reset()
    yield
    calendar_reset()


@pytest.fixture
def case(accepted_application: Callable[[], Application], qykb_definition: ProcessDefinition) -> Application:
    return case_started(accepted_application)


def _working_days_ago(days: int) -> timedelta:
    """How far back to move a clock stop's start so that ``days`` working days have passed since."""
    today = china_date(timezone.now())
    start = today
    while working_days_between(start, today) < days or not is_working_day(start):
        start -= timedelta(days=1)
    return today - start


def test_a_hearing_stops_the_clock_and_resuming_moves_every_due_date(
    case: Application, role_users: dict[str, Any]
) -> None:
    handler: User = role_users["department_handler"]
    resident: User = role_users["resident"]
    review = review_task(case)
    due, statutory, task_due = case.due_date, case.statutory_due_date, review.due_date
    assert due is not None
    assert statutory is not None
    assert task_due is not None

    stop = case_suspend(
        acting_user=handler, task=review, kind="hearing", reason="申请人要求听证，听证需 10 日"
    )

    assert (stop.kind, stop.task_id, stop.started_by_id, stop.ended_at) == (
        "hearing",
        review.pk,
        handler.pk,
        None,
    )
    stopped = CaseEvent.objects.get(application=case, kind=CaseEventKind.CLOCK_STOPPED)
    assert stopped.data == {"kind": "hearing", "reason": "申请人要求听证，听证需 10 日"}
    timeline = ApplicationEvent.objects.get(application=case, kind="clock_stopped")
    assert timeline.visible_to_applicant
    assert "第四十五条" in timeline.note
    assert "Art. 45" in timeline.note_en
    (notice,) = notified(resident, "clock_stopped")
    assert case.tracking_no in notice.title
    assert "听证需 10 日" in notice.body
    assert AuditRecord.objects.filter(action="case.clock_stopped", object_id=case.tracking_no).count() == 1
    review.refresh_from_db()
    assert review.changed_at is not None

    # Three working days pass (moved back in the database: the project controls time by data, not mocks).
    ClockStop.objects.filter(pk=stop.pk).update(started_at=stop.started_at - _working_days_ago(3))
    resumed = case_resume(acting_user=role_users["department_admin"], application=case)

    assert resumed.pk == stop.pk
    assert resumed.working_days == 3
    assert resumed.ended_at is not None
    case.refresh_from_db()
    review.refresh_from_db()
    assert case.due_date == add_working_days(due, 3)
    assert case.statutory_due_date == add_working_days(statutory, 3)
    assert review.due_date == add_working_days(task_due, 3)
    event = CaseEvent.objects.get(application=case, kind=CaseEventKind.CLOCK_RESUMED)
    assert event.data == {"kind": "hearing", "working_days": 3}
    (restarted,) = notified(resident, "clock_resumed")
    assert case.due_date.isoformat() in restarted.body
    assert ApplicationEvent.objects.filter(application=case, kind="clock_resumed").count() == 1
    assert AuditRecord.objects.filter(action="case.clock_resumed", object_id=case.tracking_no).count() == 1


def test_the_clock_can_stop_once_at_a_time_and_only_for_a_hearing_or_an_expert(
    case: Application, role_users: dict[str, Any]
) -> None:
    handler: User = role_users["department_handler"]
    review = review_task(case)
    with pytest.raises(FieldErrors) as invalid:
        case_suspend(acting_user=handler, task=review, kind="supplement", reason=" ")
    assert [(error.field, error.code) for error in invalid.value.errors] == [
        ("kind", "invalid"),
        ("reason", "required"),
    ]
    case_suspend(acting_user=handler, task=review, kind="expert", reason="需专家评审")
    before = database_state()
    with pytest.raises(RuleViolation) as twice:
        case_suspend(acting_user=handler, task=review, kind="hearing", reason="再次中止")
    assert (twice.value.code, twice.value.status) == ("clock_already_stopped", 409)
    assert database_state() == before


def test_resuming_needs_a_stop_for_a_hearing_or_an_expert(
    case: Application, role_users: dict[str, Any]
) -> None:
    handler: User = role_users["department_handler"]
    with pytest.raises(RuleViolation) as running:
        case_resume(acting_user=handler, application=case)
    assert (running.value.code, running.value.status) == ("clock_not_stopped", 409)

    review = review_task(case)
    task_complete(acting_user=handler, task=review, outcome="return", opinion="请补正章程")
    before = database_state()
    with pytest.raises(RuleViolation) as supplement:
        case_resume(acting_user=handler, application=case)
    assert (supplement.value.code, supplement.value.status) == ("clock_stop_supplement", 409)
    assert database_state() == before


def test_a_task_claimed_by_someone_else_cannot_stop_the_clock_unless_delegated(
    case: Application, role_users: dict[str, Any]
) -> None:
    handler: User = role_users["department_handler"]
    colleague = staff_user(Role.DEPARTMENT_HANDLER, department_code="TDEPT", username="h_colleague")
    review = review_task(case)
    task_claim(acting_user=handler, task=review)
    before = database_state()
    with pytest.raises(RuleViolation) as taken:
        case_suspend(acting_user=colleague, task=review, kind="hearing", reason="听证")
    assert taken.value.code == "task_not_yours"
    assert database_state() == before

    today = china_date(timezone.now())
    delegation_create(
        acting_user=role_users["department_admin"],
        department_code="TDEPT",
        delegator=handler,
        delegate=colleague,
        starts_on=today,
        ends_on=today,
        reason="休假",
    )
    stop = case_suspend(acting_user=colleague, task=review, kind="hearing", reason="听证")
    assert stop.started_by_id == colleague.pk


def test_a_stopped_case_keeps_its_lights_until_it_resumes(
    case: Application, role_users: dict[str, Any]
) -> None:
    review = review_task(case)
    HumanTask.objects.filter(pk=review.pk).update(due_date=china_date(timezone.now()) - timedelta(days=10))
    case_suspend(acting_user=role_users["department_handler"], task=review, kind="expert", reason="检测")
    lights_refresh()
    review.refresh_from_db()
    assert review.light == Light.GREEN
    case_resume(acting_user=role_users["department_handler"], application=case)
    lights_refresh()
    review.refresh_from_db()
    assert review.light == Light.RED


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_stop_and_restart_the_clock(case: Application, role_users: dict[str, Any], role: str) -> None:
    """Only handlers of the task's department; everyone else is refused, audited, and nothing changes."""
    user: User = role_users[role]
    review = review_task(case)
    before = database_state()
    if role in TDEPT_WORKERS:
        stop = case_suspend(acting_user=user, task=review, kind="hearing", reason="听证")
        assert case_resume(acting_user=user, application=case).pk == stop.pk
        return
    with pytest.raises(PermissionDenied):
        case_suspend(acting_user=user, task=review, kind="hearing", reason="听证")
    assert database_state() == before
    assert denials(user) == 1

    ClockStop.objects.create(
        application=case, task=review, kind=ClockStopKind.HEARING, reason="听证", started_at=timezone.now()
    )
    before = database_state()
    with pytest.raises(PermissionDenied):
        case_resume(acting_user=user, application=case)
    assert database_state() == before
    assert denials(user) == 2


def test_a_handler_of_another_department_cannot_restart_the_clock(
    case: Application, role_users: dict[str, Any], handlers: dict[str, User]
) -> None:
    case_suspend(
        acting_user=role_users["department_handler"], task=review_task(case), kind="hearing", reason="听证"
    )
    before = database_state()
    with pytest.raises(PermissionDenied):
        case_resume(acting_user=handlers["PSB"], application=case)
    assert database_state() == before
    assert denials(handlers["PSB"]) == 1
