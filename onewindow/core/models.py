"""Operations state kept in the database: process heartbeats and the scheduler's periodic jobs."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ProcessKind(models.TextChoices):
    WORKER = "worker", _("background worker")
    SCHEDULER = "scheduler", _("scheduler")


class WorkerHeartbeat(models.Model):
    """The last sign of life of a background process, one row per name.

    The row named ``worker`` is written by the ``worker_heartbeat`` task, which the scheduler enqueues and a
    worker executes, so a fresh row proves the whole queue works end to end (enqueue, claim, run); the row
    named ``scheduler`` is written by the scheduler on each tick. ``/readyz`` reads the first, ``/metrics``
    exports the age of both.
    """

    name = models.CharField(_("name"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=ProcessKind.choices)
    last_seen = models.DateTimeField(_("last seen"))
    pid = models.PositiveIntegerField(_("process id"))
    host = models.CharField(_("host"), max_length=255)

    class Meta:
        verbose_name = _("process heartbeat")
        verbose_name_plural = _("process heartbeats")

    def __str__(self) -> str:
        return f"{self.name} ({self.host}:{self.pid}) at {self.last_seen.isoformat()}"


class ScheduledJob(models.Model):
    """One periodic job of the scheduler and when it is next due.

    A scheduler runs a job only after moving ``next_run_at`` forward with a conditional UPDATE
    (``WHERE next_run_at <= now``); the database lets exactly one of several concurrent schedulers match,
    so a job never runs twice for the same period however many schedulers run.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    every_seconds = models.PositiveIntegerField(_("interval (seconds)"))
    next_run_at = models.DateTimeField(_("next run at"))
    last_run_at = models.DateTimeField(_("last run at"), null=True, blank=True)
    last_claimed_by = models.CharField(_("last claimed by"), max_length=128, blank=True)

    class Meta:
        verbose_name = _("scheduled job")
        verbose_name_plural = _("scheduled jobs")

    def __str__(self) -> str:
        return f"{self.name} every {self.every_seconds}s, next {self.next_run_at.isoformat()}"
