"""Background tasks of the operations layer, enqueued by the scheduler (``onewindow/core/schedules.py``)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from onewindow.core.actions import heartbeat_record
from onewindow.core.logging import get_logger
from onewindow.core.models import ProcessKind

logger = get_logger(__name__)

WORKER_HEARTBEAT_NAME = "worker"


@task()
def worker_heartbeat() -> None:
    """Record the worker heartbeat; running at all proves the queue is consumed end to end."""
    heartbeat_record(name=WORKER_HEARTBEAT_NAME, kind=ProcessKind.WORKER)


@task()
def task_results_prune() -> int:
    """Delete finished task results older than ``TASK_RESULT_RETENTION_DAYS``; returns how many went.

    Results of successful and failed tasks alike: failures are also in the logs, and what a task did to a
    case is in the audit trail, which has its own (much longer) retention.
    """
    cutoff = timezone.now() - timedelta(days=settings.TASK_RESULT_RETENTION_DAYS)
    deleted, _by_model = DBTaskResult.objects.finished().filter(finished_at__lte=cutoff).delete()
    logger.info("task_results_pruned", deleted=deleted, cutoff=cutoff.isoformat())
    return deleted
