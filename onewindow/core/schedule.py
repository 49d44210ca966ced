"""Periodic jobs: a small registry and the database claim that lets several schedulers run safely.

Apps register their jobs in a ``schedules.py`` module (discovered like ``admin.py``)::

    from onewindow.core.schedule import register_periodic
    from onewindow.audit.tasks import audit_anchor

    register_periodic("audit_anchor", 3600, audit_anchor)

A job's target is either a django-tasks ``Task`` (enqueued, so the work runs in a worker) or a plain
callable (run inside the scheduler process: keep those to a few milliseconds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from django_tasks.base import Task

from onewindow.core.logging import get_logger
from onewindow.core.models import ScheduledJob

logger = get_logger(__name__)

JobTarget = Task[[], Any] | Callable[[], object]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: int
    target: JobTarget

    def run(self) -> None:
        if isinstance(self.target, Task):
            self.target.enqueue()
        else:
            self.target()


class Schedule:
    """A set of periodic jobs, by unique name."""

    def __init__(self) -> None:
        self._jobs: dict[str, PeriodicJob] = {}

    def register(self, name: str, every_seconds: int, target: JobTarget) -> PeriodicJob:
        if every_seconds < 1:
            message = f"periodic job {name!r}: every_seconds must be at least 1, got {every_seconds}"
            raise ValueError(message)
        if name in self._jobs:
            message = f"periodic job {name!r} is registered twice"
            raise ValueError(message)
        job = PeriodicJob(name=name, every_seconds=every_seconds, target=target)
        self._jobs[name] = job
        return job

    def jobs(self) -> list[PeriodicJob]:
        return sorted(self._jobs.values(), key=lambda job: job.name)


default_schedule = Schedule()


def register_periodic(name: str, every_seconds: int, target: JobTarget) -> PeriodicJob:
    """Register ``target`` to run every ``every_seconds`` seconds under the unique ``name``."""
    return default_schedule.register(name, every_seconds, target)


def autodiscover_schedules() -> Schedule:
    """Import every installed app's ``schedules`` module so their registrations run; return the schedule."""
    autodiscover_modules("schedules")
    return default_schedule


def job_rows_sync(schedule: Schedule, *, now: datetime) -> None:
    """Make sure each job has its row; a new job is due at once, a shortened interval takes effect now."""
    jobs = schedule.jobs()
    ScheduledJob.objects.bulk_create(
        [ScheduledJob(name=job.name, every_seconds=job.every_seconds, next_run_at=now) for job in jobs],
        ignore_conflicts=True,
    )
    for job in jobs:
        ScheduledJob.objects.filter(name=job.name).exclude(every_seconds=job.every_seconds).update(
            every_seconds=job.every_seconds
        )
        # A job whose interval was shortened in code would otherwise wait out the old, longer interval.
        latest = now + timedelta(seconds=job.every_seconds)
        ScheduledJob.objects.filter(name=job.name, next_run_at__gt=latest).update(next_run_at=latest)


def job_claim(job: PeriodicJob, *, now: datetime, claimer: str) -> bool:
    """Claim the run of ``job`` that is due at ``now``; True for exactly one of any number of claimers.

    A single conditional UPDATE: on PostgreSQL a second concurrent claimer waits for the first's row lock
    and then re-evaluates ``next_run_at <= now`` against the moved value (READ COMMITTED), on SQLite writes
    are serialised; either way only one UPDATE matches. The next run is counted from now rather than from
    the missed due time, so a scheduler that was down does not fire a burst of catch-up runs.
    """
    claimed = ScheduledJob.objects.filter(name=job.name, next_run_at__lte=now).update(
        next_run_at=now + timedelta(seconds=job.every_seconds), last_run_at=now, last_claimed_by=claimer[:128]
    )
    return claimed == 1


def due_jobs_run(schedule: Schedule, *, claimer: str, now: datetime | None = None) -> list[str]:
    """Claim and run each due job of ``schedule``; return the names of the jobs this claimer ran."""
    now = now or timezone.now()
    ran: list[str] = []
    for job in schedule.jobs():
        if not job_claim(job, now=now, claimer=claimer):
            continue
        try:
            job.run()
        # One failing job must not stop the others nor the scheduler; the failure is logged with its
        # traceback and the job runs again next period.
        except Exception:
            logger.exception("scheduled_job_failed", job=job.name)
            continue
        logger.info("scheduled_job_started", job=job.name, every_seconds=job.every_seconds)
        ran.append(job.name)
    return ran
