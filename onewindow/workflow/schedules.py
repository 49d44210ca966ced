"""Periodic jobs of the workflow app (imported by ``onewindow.core.schedule.autodiscover_schedules``).

* ``workflow_timers_fire_due`` — every minute: the process timers whose time has come.
* ``workflow_lights_escalations`` — every 10 minutes: recompute the lights (one SQL UPDATE), then fire the
  escalation rules against them (escalation reads the stored lights, so the order matters).
* ``workflow_supervision_snapshot`` — hourly, but it records the day's counts only when the day has no
  snapshot yet: the first run after midnight (Beijing time) takes it, and a scheduler that was down at
  midnight catches up on its first run. Lights are refreshed first so the counts are the new day's.
"""

from __future__ import annotations

from django.utils import timezone

from onewindow.applications.tracking import china_date
from onewindow.core.schedule import register_periodic
from onewindow.workflow.actions import timers_fire_due
from onewindow.workflow.deadlines import (
    escalations_run,
    lights_refresh,
    supervision_snapshot_missing,
    supervision_snapshot_take,
)

# Timers are due at the end of a working day or after hours; a minute's delay is well within that.
TIMERS_FIRE_EVERY_SECONDS = 60
# Lights change at the day boundary and when due dates move; ten minutes keeps the inbox honest.
LIGHTS_REFRESH_EVERY_SECONDS = 600
# How often the scheduler looks whether today's supervision snapshot is still missing.
SNAPSHOT_CHECK_EVERY_SECONDS = 3600


def workflow_timers_fire_due_job() -> None:
    timers_fire_due()


def workflow_lights_escalations_job() -> None:
    lights_refresh()
    escalations_run()


def workflow_supervision_snapshot_job() -> None:
    today = china_date(timezone.now())
    if supervision_snapshot_missing(today):
        lights_refresh(today=today)
        supervision_snapshot_take(day=today)


register_periodic("workflow_timers_fire_due", TIMERS_FIRE_EVERY_SECONDS, workflow_timers_fire_due_job)
register_periodic(
    "workflow_lights_escalations", LIGHTS_REFRESH_EVERY_SECONDS, workflow_lights_escalations_job
)
register_periodic(
    "workflow_supervision_snapshot", SNAPSHOT_CHECK_EVERY_SECONDS, workflow_supervision_snapshot_job
)
