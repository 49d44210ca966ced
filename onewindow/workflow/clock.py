"""The case clock: supervision lights, and clock stops that move due dates (no web code).

A case's time limit does not run while it waits for the applicant's supplement, a hearing or an expert
review (Administrative Licensing Law Art. 45). :func:`clock_stop_start` records the stop;
:func:`clock_stop_end` counts the working days it lasted and moves the case's promised and statutory due
dates, and the due dates of its active tasks, by that many working days. Both run inside the caller's
transaction with the application row locked.

Lights: ``red`` when the due date has passed, ``yellow`` when at most ``ONEWINDOW_WORKFLOW_YELLOW_DAYS``
working days are left, ``green`` otherwise (and for tasks without a due date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.applications.models import Application
from onewindow.applications.tracking import china_date
from onewindow.core.errors import RuleViolation
from onewindow.workcalendar.calendar import add_working_days, working_days_between
from onewindow.workflow.models import (
    ACTIVE_TASK_STATUSES,
    CaseEvent,
    CaseEventKind,
    ClockStop,
    HumanTask,
    Light,
)


@dataclass(frozen=True)
class LightThresholds:
    """``today`` (Beijing time) and the last due date that is still yellow rather than green."""

    today: date
    yellow_until: date


def light_thresholds(today: date | None = None) -> LightThresholds:
    """The dates lights are computed against, once per run (the calendar is read here, not per row)."""
    today = today or china_date(timezone.now())
    return LightThresholds(today=today, yellow_until=add_working_days(today, settings.WORKFLOW_YELLOW_DAYS))


def light_for(due_date: date | None, thresholds: LightThresholds | None = None) -> str:
    """The light of one due date (green when there is none)."""
    if due_date is None:
        return Light.GREEN
    thresholds = thresholds or light_thresholds()
    if due_date < thresholds.today:
        return Light.RED
    if due_date <= thresholds.yellow_until:
        return Light.YELLOW
    return Light.GREEN


def clock_running_stop(application: Application) -> ClockStop | None:
    """The clock stop in force on the case, if any."""
    return ClockStop.objects.filter(application=application, ended_at__isnull=True).first()


def clock_stop_start(
    application: Application,
    *,
    kind: str,
    reason: str,
    actor: User | None,
    now: datetime,
    task: HumanTask | None = None,
) -> ClockStop:
    """Stop the case's clock (inside the caller's transaction); refused if it is already stopped."""
    if clock_running_stop(application) is not None:
        raise RuleViolation(
            "clock_already_stopped",
            f"办件 {application.tracking_no} 的办理时限已经中止。",
            f"The time limit of application {application.tracking_no} is already stopped.",
            status=409,
        )
    stop = ClockStop.objects.create(
        application=application, task=task, kind=kind, reason=reason, started_at=now, started_by=actor
    )
    CaseEvent.objects.create(
        application=application,
        instance_id=task.instance_id if task else None,
        at=now,
        kind=CaseEventKind.CLOCK_STOPPED,
        task=task,
        department_code=task.department_code if task else "",
        actor=actor,
        data={"kind": kind, "reason": reason},
    )
    return stop


def clock_stop_end(application: Application, *, actor: User | None, now: datetime) -> ClockStop | None:
    """Restart the case's clock; due dates move by the working days it was stopped. None if running.

    The stop's length is the working days in ``(start day, end day]``: stopped and resumed on the same
    day moves nothing; stopped on Monday and resumed on Wednesday moves due dates by two working days.
    """
    stop = clock_running_stop(application)
    if stop is None:
        return None
    days = max(0, working_days_between(china_date(stop.started_at), china_date(now)))
    stop.ended_at, stop.ended_by, stop.working_days = now, actor, days
    stop.save(update_fields=["ended_at", "ended_by", "working_days"])
    if days:
        changes: dict[str, date] = {}
        if application.due_date:
            changes["due_date"] = add_working_days(application.due_date, days)
        if application.statutory_due_date:
            changes["statutory_due_date"] = add_working_days(application.statutory_due_date, days)
        if changes:
            Application.objects.filter(pk=application.pk).update(**changes, row_version=F("row_version") + 1)
            for name, value in changes.items():
                setattr(application, name, value)
            application.row_version += 1
        thresholds = light_thresholds()
        for task in HumanTask.objects.filter(
            application=application, status__in=ACTIVE_TASK_STATUSES, due_date__isnull=False
        ):
            task.due_date = add_working_days(task.due_date or thresholds.today, days)
            task.light = light_for(task.due_date, thresholds)
            task.save(update_fields=["due_date", "light"])
    CaseEvent.objects.create(
        application=application,
        instance_id=stop.task.instance_id if stop.task else None,
        at=now,
        kind=CaseEventKind.CLOCK_RESUMED,
        task=stop.task,
        department_code=stop.task.department_code if stop.task else "",
        actor=actor,
        data={"kind": stop.kind, "working_days": days},
    )
    return stop
