"""Supervision lights (issue #4 item 4): thresholds on the official calendar, one SQL UPDATE, frozen clocks.

Time limits are counted in working days excluding statutory holidays (Administrative Licensing Law
Art. 82); the calendar is the seeded State Council schedule for 2026 (Mid-autumn 25–27 September,
National Day 1–7 October, make-up working day Saturday 10 October).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import pytest
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries
from pytest_django.fixtures import Settings

from onewindow.applications.models import Application
from onewindow.workflow.clock import light_for, light_thresholds
from onewindow.workflow.deadlines import lights_refresh
from onewindow.workflow.models import (
    ClockStop,
    ClockStopKind,
    HumanTask,
    Light,
    ProcessDefinition,
    TaskStatus,
)
from onewindow.workflow.tests.test_deadlines_support import (
    calendar_reset,
    case_started,
    review_task,
    task_add,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _calendar(settings: Settings) -> Iterator[None]:
    settings.WORKFLOW_YELLOW_DAYS = 2
    calendar_reset()
    yield
    calendar_reset()


@pytest.fixture
def case(accepted_application: Callable[[], Application], qykb_definition: ProcessDefinition) -> Application:
    application = case_started(accepted_application)
    # The review's own due date depends on the real today; these tests choose every due date.
    HumanTask.objects.filter(application=application).update(due_date=None, light=Light.GREEN)
    return application


@pytest.mark.parametrize(
    ("today", "due", "light"),
    [
        # An ordinary week: Thursday 26 November 2026, two working days ahead is Monday 30 November.
        (date(2026, 11, 26), date(2026, 11, 25), Light.RED),
        (date(2026, 11, 26), date(2026, 11, 26), Light.YELLOW),
        (date(2026, 11, 26), date(2026, 11, 27), Light.YELLOW),  # Friday seen on Thursday
        (date(2026, 11, 26), date(2026, 11, 30), Light.YELLOW),
        (date(2026, 11, 26), date(2026, 12, 1), Light.GREEN),
        # Thursday 24 September: Friday 25 is Mid-autumn, the weekend too; two working days end Tuesday 29.
        (date(2026, 9, 24), date(2026, 9, 25), Light.YELLOW),
        (date(2026, 9, 24), date(2026, 9, 29), Light.YELLOW),
        (date(2026, 9, 24), date(2026, 9, 30), Light.GREEN),
        # Wednesday 30 September: National Day follows; two working days end Friday 9 October.
        (date(2026, 9, 30), date(2026, 10, 9), Light.YELLOW),
        (date(2026, 9, 30), date(2026, 10, 10), Light.GREEN),  # the make-up Saturday is the third
        (date(2026, 9, 30), date(2026, 9, 29), Light.RED),
        (date(2026, 9, 30), None, Light.GREEN),
    ],
)
def test_light_boundaries_follow_the_official_calendar(today: date, due: date | None, light: str) -> None:
    assert light_for(due, light_thresholds(today)) == light


def test_lights_refresh_is_one_update_of_the_rows_that_change(
    case: Application, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    """Given working tasks around the Thursday thresholds, one UPDATE sets each light; a rerun writes none."""
    today = date(2026, 11, 26)
    overdue = task_add(case, due_date=date(2026, 11, 25))
    friday = task_add(case, due_date=date(2026, 11, 27), status=TaskStatus.CLAIMED)
    later = task_add(case, due_date=date(2026, 12, 1), light=Light.RED)
    unchanged = task_add(case, due_date=date(2026, 11, 20), light=Light.RED)
    done = task_add(case, due_date=date(2026, 11, 20), status=TaskStatus.DONE)
    waiting = task_add(case, due_date=date(2026, 11, 20), status=TaskStatus.WAITING)
    light_thresholds(today)  # the calendar is read once per run; warm it so only the UPDATE is counted

    with django_assert_num_queries(1) as captured:
        changed = lights_refresh(today=today)

    assert changed == 3
    assert captured.captured_queries[0]["sql"].lstrip().upper().startswith("UPDATE")
    lights = dict(HumanTask.objects.values_list("pk", "light"))
    assert lights[overdue.pk] == Light.RED
    assert lights[friday.pk] == Light.YELLOW
    assert lights[later.pk] == Light.GREEN
    assert lights[unchanged.pk] == Light.RED
    assert lights[done.pk] == Light.GREEN  # finished tasks keep the light they had
    assert lights[waiting.pk] == Light.GREEN  # held tasks are not working: not refreshed
    assert lights[review_task(case).pk] == Light.GREEN  # no due date
    assert lights_refresh(today=today) == 0


def test_lights_are_frozen_while_the_case_clock_is_stopped(case: Application) -> None:
    """Art. 45: the time of a hearing is not counted, so the task does not turn red meanwhile."""
    task = task_add(case, due_date=date(2026, 11, 25))
    stop = ClockStop.objects.create(
        application=case, task=task, kind=ClockStopKind.HEARING, reason="听证", started_at=timezone.now()
    )

    assert lights_refresh(today=date(2026, 11, 26)) == 0
    task.refresh_from_db()
    assert task.light == Light.GREEN

    ClockStop.objects.filter(pk=stop.pk).update(ended_at=timezone.now(), working_days=0)
    assert lights_refresh(today=date(2026, 11, 26)) == 1
    task.refresh_from_db()
    assert task.light == Light.RED
