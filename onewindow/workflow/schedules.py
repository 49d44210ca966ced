"""Periodic jobs of the workflow app (imported by ``onewindow.core.schedule.autodiscover_schedules``)."""

from __future__ import annotations

from onewindow.core.schedule import register_periodic
from onewindow.workflow.actions import timers_fire_due

# Timers are due at the end of a working day or after hours; a minute's delay is well within that.
TIMERS_FIRE_EVERY_SECONDS = 60


def workflow_timers_fire_due_job() -> None:
    timers_fire_due()


register_periodic("workflow_timers_fire_due", TIMERS_FIRE_EVERY_SECONDS, workflow_timers_fire_due_job)
