"""Electronic supervision (电子监察, issue #4 item 4): counts by department and light, drill-down, trend.

Leaders and third-party supervisors see every department, department admins their own, nobody else
anything (refusals audited, nothing changed). Snapshots are taken daily by the scheduler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.accounts.permissions import user_roles
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.applications.models import Application
from onewindow.applications.tracking import china_date
from onewindow.core.errors import FieldErrors
from onewindow.core.schedule import autodiscover_schedules
from onewindow.workflow import schedules
from onewindow.workflow.deadlines import supervision_snapshot_take
from onewindow.workflow.models import (
    HumanTask,
    Light,
    ProcessDefinition,
    SupervisionSnapshot,
    TaskEscalation,
    TaskStatus,
)
from onewindow.workflow.supervision import (
    DepartmentLights,
    TrendPoint,
    supervision_overview,
    supervision_tasks,
    supervision_trend,
)
from onewindow.workflow.tests.test_deadlines_support import (
    calendar_reset,
    case_started,
    database_state,
    denials,
    review_task,
    task_add,
)

pytestmark = pytest.mark.django_db

SUPERVISE_ALL = {"leader", "supervisor"}


@pytest.fixture(autouse=True)
def _calendar() -> Iterator[None]:
    calendar_reset()
    yield
    calendar_reset()


@pytest.fixture
def lights(
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    handlers: dict[str, User],
) -> dict[str, HumanTask]:
    """TDEPT: the review (green) + one yellow + one red; PSB: one red; HRSS: one done task (not counted)."""
    case = case_started(accepted_application)
    HumanTask.objects.filter(application=case).update(light=Light.GREEN)
    return {
        "review": review_task(case),
        "yellow": task_add(case, light=Light.YELLOW, due_date=date(2026, 11, 27)),
        "red": task_add(case, light=Light.RED, due_date=date(2026, 11, 20), status=TaskStatus.CLAIMED),
        "psb": task_add(case, department_code="PSB", light=Light.RED, due_date=date(2026, 11, 19)),
        "done": task_add(case, department_code="HRSS", light=Light.RED, status=TaskStatus.DONE),
        "waiting": task_add(case, department_code="HRSS", light=Light.RED, status=TaskStatus.WAITING),
    }


def _snapshot(day: date) -> list[tuple[str, int, int, int]]:
    rows = SupervisionSnapshot.objects.filter(day=day).values_list(
        "department_code", "green", "yellow", "red"
    )
    return sorted(rows)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_overview_by_role(lights: dict[str, HumanTask], role_users: dict[str, Any], role: str) -> None:
    user: User = role_users[role]
    tdept = DepartmentLights("TDEPT", "测试部门", "Test department", green=1, yellow=1, red=1)
    if role in SUPERVISE_ALL:
        assert supervision_overview(user) == [
            DepartmentLights("PSB", "部门 PSB", "Department PSB", green=0, yellow=0, red=1),
            tdept,
        ]
        return
    if role == "department_admin":
        assert supervision_overview(user) == [tdept]
        return
    before = database_state()
    with pytest.raises(PermissionDenied):
        supervision_overview(user)
    assert database_state() == before
    assert denials(user) == 1


def test_a_department_admin_sees_their_department_even_with_nothing_to_do(role_users: dict[str, Any]) -> None:
    admin = staff_user(Role.DEPARTMENT_ADMIN, department_code="TAX", username="a_tax")
    assert supervision_overview(admin) == [
        DepartmentLights("TAX", "部门 TAX", "Department TAX", green=0, yellow=0, red=0)
    ]
    assert supervision_overview(role_users["leader"]) == []


def test_the_overview_counts_in_one_grouped_query(
    lights: dict[str, HumanTask],
    role_users: dict[str, Any],
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    leader: User = role_users["leader"]
    user_roles(leader)  # the roles are read once per request; only the overview's own queries are counted
    with django_assert_num_queries(2) as captured:  # the counts, then the departments' names
        supervision_overview(leader)
    assert "GROUP BY" in captured.captured_queries[0]["sql"].upper()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_drill_down_by_role(lights: dict[str, HumanTask], role_users: dict[str, Any], role: str) -> None:
    user: User = role_users[role]
    if role in SUPERVISE_ALL:
        assert list(supervision_tasks(user, light="red")) == [lights["psb"], lights["red"]]
        assert list(supervision_tasks(user, department_code="PSB")) == [lights["psb"]]
        return
    if role == "department_admin":
        assert list(supervision_tasks(user)) == [lights["red"], lights["yellow"], lights["review"]]
        assert list(supervision_tasks(user, department_code="TDEPT", light="yellow")) == [lights["yellow"]]
        before = database_state()
        with pytest.raises(PermissionDenied):
            supervision_tasks(user, department_code="PSB")
        assert database_state() == before
        assert denials(user) == 1
        return
    before = database_state()
    with pytest.raises(PermissionDenied):
        supervision_tasks(user)
    assert database_state() == before
    assert denials(user) == 1


def test_drill_down_refuses_an_unknown_light(
    lights: dict[str, HumanTask], role_users: dict[str, Any]
) -> None:
    with pytest.raises(FieldErrors) as invalid:
        supervision_tasks(role_users["leader"], light="blue")
    assert [error.field for error in invalid.value.errors] == ["light"]


def test_snapshot_counts_working_tasks_per_department_and_replaces_the_days_rows(
    lights: dict[str, HumanTask],
) -> None:
    day = date(2026, 11, 26)
    assert supervision_snapshot_take(day=day) == 2
    rows = SupervisionSnapshot.objects.filter(day=day).values_list(
        "department_code", "green", "yellow", "red"
    )
    assert sorted(rows) == [("PSB", 0, 0, 1), ("TDEPT", 1, 1, 1)]

    HumanTask.objects.filter(pk=lights["psb"].pk).update(status=TaskStatus.DONE)
    HumanTask.objects.filter(pk=lights["yellow"].pk).update(light=Light.RED)
    assert supervision_snapshot_take(day=day) == 2
    rows = SupervisionSnapshot.objects.filter(day=day).values_list(
        "department_code", "green", "yellow", "red"
    )
    assert sorted(rows) == [("PSB", 0, 0, 0), ("TDEPT", 1, 0, 2)]
    assert SupervisionSnapshot.objects.count() == 2


@pytest.mark.parametrize("role", ALL_ROLES)
def test_trend_by_role(role_users: dict[str, Any], role: str) -> None:
    user: User = role_users[role]
    today = china_date(timezone.now())
    for offset, department, red in [(2, "TDEPT", 3), (2, "PSB", 5), (1, "PSB", 4), (40, "TDEPT", 9)]:
        SupervisionSnapshot.objects.create(
            day=today - timedelta(days=offset), department_code=department, green=1, red=red
        )
    two_days, one_day = today - timedelta(days=2), today - timedelta(days=1)
    if role in SUPERVISE_ALL:
        assert supervision_trend(user) == [TrendPoint(two_days, 2, 0, 8), TrendPoint(one_day, 1, 0, 4)]
        assert supervision_trend(user, days=2, department_code="PSB") == [TrendPoint(one_day, 1, 0, 4)]
        assert len(supervision_trend(user, days=41)) == 3
        return
    if role == "department_admin":
        # Yesterday only PSB was counted: TDEPT had nothing that day.
        assert supervision_trend(user) == [TrendPoint(two_days, 1, 0, 3), TrendPoint(one_day, 0, 0, 0)]
        with pytest.raises(PermissionDenied):
            supervision_trend(user, department_code="PSB")
        assert denials(user) == 1
        return
    before = database_state()
    with pytest.raises(PermissionDenied):
        supervision_trend(user)
    assert database_state() == before
    assert denials(user) == 1


@pytest.mark.parametrize("days", [0, 367])
def test_trend_days_are_bounded(role_users: dict[str, Any], days: int) -> None:
    with pytest.raises(FieldErrors):
        supervision_trend(role_users["leader"], days=days)


def test_the_scheduler_runs_lights_escalations_and_the_daily_snapshot(
    lights: dict[str, HumanTask], role_users: dict[str, Any]
) -> None:
    names = {job.name for job in autodiscover_schedules().jobs()}
    assert {
        "workflow_timers_fire_due",
        "workflow_lights_escalations",
        "workflow_supervision_snapshot",
    } <= names

    # Real today: the red task due 20 November 2026 (or earlier) is overdue whenever this runs.
    schedules.workflow_lights_escalations_job()
    assert TaskEscalation.objects.filter(task=lights["red"]).exists()

    today = china_date(timezone.now())
    schedules.workflow_supervision_snapshot_job()
    taken = _snapshot(today)
    assert ("PSB", 0, 0, 1) in taken
    # Later the same day the job finds today's snapshot and leaves it alone.
    HumanTask.objects.filter(pk=lights["psb"].pk).update(status=TaskStatus.DONE)
    schedules.workflow_supervision_snapshot_job()
    assert _snapshot(today) == taken
