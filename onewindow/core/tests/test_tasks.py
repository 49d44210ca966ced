"""Operations tasks: the worker heartbeat and the pruning of old task results.

GB/T 22239-2019 §8.1.5.4 c: the running state of the servers (here: the background worker) is monitored.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from onewindow.core.models import ProcessKind, WorkerHeartbeat
from onewindow.core.tasks import task_results_prune, worker_heartbeat


def _result(status: TaskResultStatus, *, finished_days_ago: int | None) -> DBTaskResult[[], Any]:
    finished_at = (
        timezone.now() - timedelta(days=finished_days_ago) if finished_days_ago is not None else None
    )
    return DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="onewindow.core.tasks.worker_heartbeat",
        backend_name="default",
        run_after=timezone.now(),
        status=status,
        finished_at=finished_at,
    )


@pytest.mark.django_db
def test_worker_heartbeat_task_replaces_the_single_worker_row() -> None:
    # given an old heartbeat row
    old = timezone.now() - timedelta(hours=1)
    WorkerHeartbeat.objects.create(name="worker", kind=ProcessKind.WORKER, last_seen=old, pid=1, host="old")

    # when the task runs twice
    worker_heartbeat.call()
    worker_heartbeat.call()

    # then there is still one row, fresh
    heartbeat = WorkerHeartbeat.objects.get()
    assert heartbeat.name == "worker"
    assert heartbeat.last_seen > old
    assert heartbeat.host != "old"


@pytest.mark.django_db
@override_settings(TASK_RESULT_RETENTION_DAYS=14)
def test_pruning_deletes_only_finished_results_older_than_the_retention() -> None:
    # given finished results on both sides of 14 days, and unfinished ones
    old_success = _result(TaskResultStatus.SUCCESSFUL, finished_days_ago=15)
    old_failure = _result(TaskResultStatus.FAILED, finished_days_ago=20)
    recent = _result(TaskResultStatus.SUCCESSFUL, finished_days_ago=13)
    waiting = _result(TaskResultStatus.READY, finished_days_ago=None)
    running = _result(TaskResultStatus.RUNNING, finished_days_ago=None)

    # when the pruning task runs
    deleted = task_results_prune.call()

    # then the two old finished results are gone and nothing else
    assert deleted == 2
    assert set(DBTaskResult.objects.values_list("id", flat=True)) == {recent.id, waiting.id, running.id}
    assert not DBTaskResult.objects.filter(id__in=[old_success.id, old_failure.id]).exists()
