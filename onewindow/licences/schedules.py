"""Periodic jobs of the licences app (imported by ``onewindow.core.schedule.autodiscover_schedules``)."""

from __future__ import annotations

from onewindow.core.schedule import register_periodic
from onewindow.licences.actions import licences_expire

# Expiry is by Beijing calendar day; verification computes it itself, so hourly keeps lists in step.
EXPIRE_EVERY_SECONDS = 3600


def licences_expire_job() -> None:
    licences_expire()


register_periodic("licences_expire", EXPIRE_EVERY_SECONDS, licences_expire_job)
