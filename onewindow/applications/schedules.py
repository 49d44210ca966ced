"""Periodic jobs of the applications app (imported by ``onewindow.core.schedule.autodiscover_schedules``)."""

from __future__ import annotations

from onewindow.applications.actions import applications_deem_accepted
from onewindow.core.schedule import register_periodic

# Deemed acceptance (Administrative Licensing Law Art. 32) is decided per working day; hourly is plenty.
DEEM_ACCEPTED_EVERY_SECONDS = 3600


def applications_deem_accepted_job() -> None:
    applications_deem_accepted()


register_periodic("applications_deem_accepted", DEEM_ACCEPTED_EVERY_SECONDS, applications_deem_accepted_job)
