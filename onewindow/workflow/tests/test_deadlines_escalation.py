"""Escalation as data (issue #4 item 4): handler → department admin → leader, each rule once per task.

The default ladder (migration 0003): yellow → the handler (or the department's handlers when nobody has
claimed the task), red → the department's admins, red for 3 working days → leaders. Overdue time is
counted in working days on the official calendar (Administrative Licensing Law Art. 82).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.applications.models import Application
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.notifications.models import Notification
from onewindow.workcalendar.calendar import working_days_between
from onewindow.workflow import deadlines
from onewindow.workflow.deadlines import escalation_rule_save, escalations_run, lights_refresh, overdue_cutoff
from onewindow.workflow.models import (
    CaseEvent,
    CaseEventKind,
    ClockStop,
    ClockStopKind,
    EscalationRule,
    HumanTask,
    Light,
    ProcessDefinition,
    TaskEscalation,
    TaskStatus,
)
from onewindow.workflow.supervision import escalation_rules_for_user
from onewindow.workflow.tests.test_deadlines_support import (
    beijing,
    calendar_reset,
    case_started,
    database_state,
    denials,
    notified,
    review_task,
    task_add,
)

pytestmark = pytest.mark.django_db

THURSDAY = date(2026, 11, 26)


@pytest.fixture(autouse=True)
def _calendar() -> Iterator[None]:
    calendar_reset()
    yield
    calendar_reset()


@pytest.fixture
def case(accepted_application: Callable[[], Application], qykb_definition: ProcessDefinition) -> Application:
    return case_started(accepted_application)


def _run(day: date) -> int:
    lights_refresh(today=day)
    return escalations_run(now=beijing(day))


def _fired() -> set[tuple[int, str, int]]:
    return set(TaskEscalation.objects.values_list("task_id", "rule__light", "rule__overdue_working_days"))


@pytest.mark.parametrize(
    ("today", "days", "cutoff"),
    [
        (THURSDAY, 0, date(2026, 11, 25)),
        (THURSDAY, 1, date(2026, 11, 25)),
        (date(2026, 11, 30), 1, date(2026, 11, 29)),  # Monday: due Friday, Saturday or Sunday = 1 day late
        (date(2026, 11, 30), 3, date(2026, 11, 25)),
        (date(2026, 10, 8), 1, date(2026, 10, 7)),  # after National Day: due 30 September is 1 day late
        (date(2026, 10, 8), 3, date(2026, 9, 28)),
        (date(2026, 11, 28), 1, date(2026, 11, 26)),  # a Saturday counts nothing itself
    ],
)
def test_overdue_cutoff_counts_working_days(today: date, days: int, cutoff: date) -> None:
    assert overdue_cutoff(today, days) == cutoff
    if days:
        assert working_days_between(cutoff, today) == days
        assert working_days_between(cutoff + timedelta(days=1), today) < days


def test_the_ladder_fires_once_per_rule_and_task(case: Application, role_users: dict[str, Any]) -> None:
    handler: User = role_users["department_handler"]
    admin: User = role_users["department_admin"]
    leader: User = role_users["leader"]
    review = review_task(case)
    HumanTask.objects.filter(pk=review.pk).update(due_date=date(2026, 11, 27))  # Friday: yellow, unclaimed
    claimed_yellow = task_add(case, due_date=date(2026, 11, 30), status=TaskStatus.CLAIMED, assignee=handler)
    late = task_add(case, due_date=date(2026, 11, 25), status=TaskStatus.CLAIMED, assignee=handler)
    very_late = task_add(case, due_date=date(2026, 11, 20))  # 4 working days late on Thursday
    task_add(case, department_code="PSB", due_date=date(2026, 12, 10))  # green
    task_add(case, due_date=date(2026, 11, 20), status=TaskStatus.WAITING, light=Light.RED)  # held

    assert _run(THURSDAY) == 5

    assert _fired() == {
        (review.pk, Light.YELLOW, 0),
        (claimed_yellow.pk, Light.YELLOW, 0),
        (late.pk, Light.RED, 0),
        (very_late.pk, Light.RED, 0),
        (very_late.pk, Light.RED, 3),
    }
    # The handler: one reminder listing both yellow tasks (the unclaimed one reaches every handler).
    (to_handler,) = notified(handler, "task_escalated")
    assert to_handler.title_en == "Supervision reminder: 2 task(s) yellow (due soon)"
    assert to_handler.link == "/tasks/?light=yellow"
    # The admin: the unclaimed yellow task (as a handler of TDEPT), then both red tasks.
    to_admin = notified(admin, "task_escalated")
    assert [note.title_en for note in to_admin] == [
        "Supervision reminder: 1 task(s) yellow (due soon)",
        "Supervision reminder: 2 task(s) red (overdue)",
    ]
    assert to_admin[0].link == f"/tasks/{review.pk}/"
    assert to_admin[1].link == "/supervision/tasks/?department=TDEPT&light=red"
    assert case.tracking_no in to_admin[1].body
    (to_leader,) = notified(leader, "task_escalated")
    assert "3 working day(s)" in to_leader.title_en
    assert CaseEvent.objects.filter(kind=CaseEventKind.ESCALATED).count() == 5
    escalated = CaseEvent.objects.get(
        kind=CaseEventKind.ESCALATED, task=very_late, data__overdue_working_days=3
    )
    assert escalated.data["target"] == "leader"
    assert escalated.data["recipients"] == 1
    assert AuditRecord.objects.filter(action="task.escalated", actor_username="scheduler").count() == 3
    assert TaskEscalation.objects.get(task=review, rule__light=Light.YELLOW).recipients == 2

    # Nothing fires twice.
    notifications = Notification.objects.count()
    assert _run(THURSDAY) == 0
    assert Notification.objects.count() == notifications

    # Friday: the task due Wednesday is 2 working days late; Monday 3: the leader hears of it then (and
    # the review due Friday has turned red: its admins hear of it).
    assert _run(date(2026, 11, 27)) == 0
    assert _run(date(2026, 11, 30)) == 2
    assert {(late.pk, Light.RED, 3), (review.pk, Light.RED, 0)} <= _fired()
    assert len(notified(leader, "task_escalated")) == 2
    assert len(notified(admin, "task_escalated")) == 3


def test_a_department_rule_replaces_the_default_for_that_department(
    case: Application, role_users: dict[str, Any]
) -> None:
    """TDEPT switches the default "red → admins" off and sends red tasks straight to the leaders."""
    psb_admin = staff_user(Role.DEPARTMENT_ADMIN, department_code="PSB", username="a_psb")
    HumanTask.objects.filter(application=case).update(due_date=None)
    tdept_late = task_add(case, due_date=date(2026, 11, 25))
    psb_late = task_add(case, department_code="PSB", due_date=date(2026, 11, 25))
    EscalationRule.objects.create(
        department_code="TDEPT", light="red", target="department_admin", active=False
    )
    EscalationRule.objects.create(department_code="TDEPT", light="red", target="leader")

    assert _run(THURSDAY) == 2

    assert set(TaskEscalation.objects.values_list("task_id", "rule__department_code", "rule__target")) == {
        (tdept_late.pk, "TDEPT", "leader"),
        (psb_late.pk, "", "department_admin"),
    }
    assert notified(role_users["department_admin"], "task_escalated") == []
    assert len(notified(psb_admin, "task_escalated")) == 1
    assert len(notified(role_users["leader"], "task_escalated")) == 1


def test_tasks_of_a_stopped_case_are_not_escalated(case: Application) -> None:
    HumanTask.objects.filter(application=case).update(due_date=date(2026, 11, 20), light=Light.RED)
    ClockStop.objects.create(
        application=case, kind=ClockStopKind.EXPERT, reason="检测", started_at=timezone.now()
    )
    assert escalations_run(now=beijing(THURSDAY)) == 0
    assert TaskEscalation.objects.count() == 0


def test_inactive_rules_do_not_fire(case: Application) -> None:
    EscalationRule.objects.update(active=False)
    HumanTask.objects.filter(application=case).update(due_date=date(2026, 11, 20))
    assert _run(THURSDAY) == 0


def test_escalation_works_in_batches_with_a_constant_number_of_queries(
    case: Application, role_users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Candidates are chosen in SQL: more tasks in a batch cost no more queries."""
    HumanTask.objects.filter(application=case).update(due_date=None)
    for _ in range(3):
        task_add(case, due_date=date(2026, 11, 25))
    lights_refresh(today=THURSDAY)
    with CaptureQueriesContext(connection) as few:
        assert escalations_run(now=beijing(THURSDAY)) == 3
    for _ in range(30):
        task_add(case, due_date=date(2026, 11, 25))
    lights_refresh(today=THURSDAY)
    with CaptureQueriesContext(connection) as many:
        assert escalations_run(now=beijing(THURSDAY)) == 30
    assert len(many.captured_queries) == len(few.captured_queries)

    monkeypatch.setattr(deadlines, "ESCALATION_BATCH_SIZE", 4)
    for _ in range(10):
        task_add(case, due_date=date(2026, 11, 25))
    lights_refresh(today=THURSDAY)
    assert escalations_run(now=beijing(THURSDAY)) == 10
    # Three batches of the red rule: one notification each for the admin.
    assert len(notified(role_users["department_admin"], "task_escalated")) == 2 + 3


def test_an_unclaimed_task_of_a_role_lane_reaches_only_that_role(
    case: Application, role_users: dict[str, Any]
) -> None:
    HumanTask.objects.filter(application=case).update(due_date=None)
    task_add(case, due_date=date(2026, 11, 27), role=Role.DEPARTMENT_ADMIN)
    assert _run(THURSDAY) == 1
    assert notified(role_users["department_handler"], "task_escalated") == []
    assert len(notified(role_users["department_admin"], "task_escalated")) == 1


# --- Rules as data --------------------------------------------------------------------------------

RULE: dict[str, Any] = {"light": "red", "overdue_working_days": 5, "target": "leader", "active": True}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_save_a_departments_rule(role_users: dict[str, Any], role: str) -> None:
    user: User = role_users[role]
    before = database_state()
    if role in {"system_admin", "department_admin"}:
        rule = escalation_rule_save(acting_user=user, department_code="TDEPT", **RULE)
        assert (rule.department_code, rule.overdue_working_days, rule.target) == ("TDEPT", 5, "leader")
        assert (
            AuditRecord.objects.filter(action="escalation_rule.created", object_id=str(rule.pk)).count() == 1
        )
        return
    with pytest.raises(PermissionDenied):
        escalation_rule_save(acting_user=user, department_code="TDEPT", **RULE)
    assert database_state() == before
    assert denials(user) == 1


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_the_system_admin_changes_the_defaults(role_users: dict[str, Any], role: str) -> None:
    user: User = role_users[role]
    default = EscalationRule.objects.get(department_code="", light="red", overdue_working_days=3)
    before = database_state()
    if role == "system_admin":
        changed = escalation_rule_save(
            acting_user=user,
            rule=default,
            department_code="",
            light="red",
            overdue_working_days=2,
            target="leader",
            active=True,
        )
        assert (changed.pk, changed.overdue_working_days) == (default.pk, 2)
        record = AuditRecord.objects.get(action="escalation_rule.changed", object_id=str(default.pk))
        assert record.details["before"]["overdue_working_days"] == 3
        return
    with pytest.raises(PermissionDenied):
        # Not even by moving the default into one's own department.
        escalation_rule_save(
            acting_user=user,
            rule=default,
            department_code="TDEPT",
            light="red",
            overdue_working_days=2,
            target="leader",
            active=True,
        )
    assert database_state() == before
    assert denials(user) == 1


def test_rules_are_validated_and_not_duplicated(role_users: dict[str, Any]) -> None:
    admin: User = role_users["system_admin"]
    before = database_state()
    with pytest.raises(FieldErrors) as invalid:
        escalation_rule_save(
            acting_user=admin,
            department_code="NOPE",
            light="blue",
            overdue_working_days=-1,
            target="everyone",
            active=True,
        )
    assert [error.field for error in invalid.value.errors] == [
        "department_code",
        "light",
        "overdue_working_days",
        "target",
    ]
    with pytest.raises(FieldErrors) as yellow_days:
        escalation_rule_save(
            acting_user=admin,
            department_code="",
            light="yellow",
            overdue_working_days=2,
            target="leader",
            active=True,
        )
    assert [error.code for error in yellow_days.value.errors] == ["not_red"]
    with pytest.raises(RuleViolation) as duplicate:
        escalation_rule_save(
            acting_user=admin,
            department_code="",
            light="red",
            overdue_working_days=3,
            target="leader",
            active=False,
        )
    assert (duplicate.value.code, duplicate.value.status) == ("escalation_rule_duplicate", 409)
    assert database_state() == before


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_reads_the_rules(role_users: dict[str, Any], role: str) -> None:
    user: User = role_users[role]
    EscalationRule.objects.create(department_code="TDEPT", light="red", target="leader")
    EscalationRule.objects.create(department_code="PSB", light="red", target="leader")
    if role in {"system_admin", "leader", "supervisor"}:
        assert escalation_rules_for_user(user).count() == 5
        return
    if role == "department_admin":
        assert sorted(escalation_rules_for_user(user).values_list("department_code", flat=True)) == [
            "",
            "",
            "",
            "TDEPT",
        ]
        return
    with pytest.raises(PermissionDenied):
        escalation_rules_for_user(user)
    assert denials(user) == 1
