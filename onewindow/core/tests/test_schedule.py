"""The scheduler runs each periodic job once per period, however many schedulers run.

Periodic work (heartbeats, audit anchors, pruning) keeps the platform observable and its records intact:
GB/T 22239-2019 §8.1.5.4 c (central monitoring of the servers' running state).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pytest_django import Settings

from onewindow.core.models import ProcessKind, ScheduledJob, WorkerHeartbeat
from onewindow.core.schedule import (
    Schedule,
    autodiscover_schedules,
    due_jobs_run,
    job_claim,
    job_rows_sync,
)
from onewindow.core.tasks import worker_heartbeat


def _recorder(name: str, calls: list[str]) -> Callable[[], None]:
    def record() -> None:
        calls.append(name)

    return record


def _schedule_with(*names_and_calls: tuple[str, int, list[str]]) -> Schedule:
    schedule = Schedule()
    for name, every, calls in names_and_calls:
        schedule.register(name, every, _recorder(name, calls))
    return schedule


def test_registering_a_name_twice_or_a_zero_interval_is_refused() -> None:
    # given a schedule with one job
    schedule = Schedule()
    schedule.register("job", 10, lambda: None)

    # when/then the same name again, or an interval under a second, is refused
    with pytest.raises(ValueError, match="registered twice"):
        schedule.register("job", 20, lambda: None)
    with pytest.raises(ValueError, match="at least 1"):
        schedule.register("other", 0, lambda: None)
    assert [job.name for job in schedule.jobs()] == ["job"]


@pytest.mark.django_db
def test_of_two_claimers_of_the_same_run_exactly_one_wins() -> None:
    # given a job that is due now
    now = timezone.now()
    schedule = _schedule_with(("job", 60, []))
    job_rows_sync(schedule, now=now)
    (job,) = schedule.jobs()

    # when two schedulers claim the same run
    first = job_claim(job, now=now, claimer="host-a:1")
    second = job_claim(job, now=now, claimer="host-b:2")

    # then only the first gets it, and the next run is one interval later
    assert (first, second) == (True, False)
    row = ScheduledJob.objects.get(name="job")
    assert row.next_run_at == now + timedelta(seconds=60)
    assert row.last_run_at == now
    assert row.last_claimed_by == "host-a:1"
    # and it is due again (for one claimer) only once the interval has passed
    assert job_claim(job, now=now + timedelta(seconds=59), claimer="host-b:2") is False
    assert job_claim(job, now=now + timedelta(seconds=60), claimer="host-b:2") is True


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent row locks need PostgreSQL")
def test_concurrent_claimers_on_postgresql_never_both_win() -> None:
    # given a due job and eight schedulers released at the same instant, each on its own connection
    now = timezone.now()
    schedule = _schedule_with(("job", 60, []))
    job_rows_sync(schedule, now=now)
    (job,) = schedule.jobs()
    barrier = threading.Barrier(8)
    results: list[bool] = []

    def claim(index: int) -> None:
        barrier.wait()
        try:
            results.append(job_claim(job, now=now, claimer=f"host:{index}"))
        finally:
            connection.close()

    # when they all claim the same run
    threads = [threading.Thread(target=claim, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then exactly one won
    assert sorted(results) == [False] * 7 + [True]


@pytest.mark.django_db
def test_due_jobs_run_once_per_period_and_a_failing_job_does_not_stop_the_others() -> None:
    # given three jobs, the middle one failing
    calls: list[str] = []
    schedule = Schedule()
    schedule.register("a_first", 60, lambda: calls.append("a_first"))

    def broken() -> None:
        message = "boom"
        raise RuntimeError(message)

    schedule.register("b_broken", 60, broken)
    schedule.register("c_last", 3600, lambda: calls.append("c_last"))
    now = timezone.now()
    job_rows_sync(schedule, now=now)

    # when the scheduler ticks three times: now, 10 s later, 60 s later
    ran_now = due_jobs_run(schedule, claimer="me", now=now)
    ran_soon = due_jobs_run(schedule, claimer="me", now=now + timedelta(seconds=10))
    ran_later = due_jobs_run(schedule, claimer="me", now=now + timedelta(seconds=60))

    # then the good jobs ran once per period, and the broken one was rescheduled like the others
    assert ran_now == ["a_first", "c_last"]
    assert ran_soon == []
    assert ran_later == ["a_first"]
    assert calls == ["a_first", "c_last", "a_first"]
    assert ScheduledJob.objects.get(name="b_broken").next_run_at == now + timedelta(seconds=120)


@pytest.mark.django_db
def test_rows_sync_adds_new_jobs_due_now_and_applies_a_shorter_interval() -> None:
    # given a job stored with a daily interval and next run a day away
    now = timezone.now()
    ScheduledJob.objects.create(name="job", every_seconds=86400, next_run_at=now + timedelta(days=1))
    schedule = _schedule_with(("job", 60, []), ("new", 30, []))

    # when the rows are synchronised with the code's schedule
    job_rows_sync(schedule, now=now)

    # then the new job is due now and the shortened one within its new interval
    rows = {row.name: row for row in ScheduledJob.objects.all()}
    assert rows["new"].next_run_at == now
    assert rows["new"].every_seconds == 30
    assert rows["job"].every_seconds == 60
    assert rows["job"].next_run_at == now + timedelta(seconds=60)


@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
def test_a_task_job_is_enqueued_and_the_worker_heartbeat_task_records_the_worker() -> None:
    # given the heartbeat task registered as a job (tasks run as soon as they are enqueued)
    schedule = Schedule()
    schedule.register("worker_heartbeat", 30, worker_heartbeat)
    job_rows_sync(schedule, now=timezone.now())

    # when the scheduler runs the due jobs
    ran = due_jobs_run(schedule, claimer="me")

    # then the task ran and recorded the worker's heartbeat
    assert ran == ["worker_heartbeat"]
    heartbeat = WorkerHeartbeat.objects.get(name="worker")
    assert heartbeat.kind == ProcessKind.WORKER
    assert (timezone.now() - heartbeat.last_seen).total_seconds() < 5


@pytest.mark.django_db
def test_the_registered_jobs_include_heartbeat_and_pruning() -> None:
    # when every app's schedules module is discovered
    names = {job.name: job.every_seconds for job in autodiscover_schedules().jobs()}

    # then the operations jobs are there with their intervals
    assert names["worker_heartbeat"] == 30
    assert names["task_results_prune"] == 86400
    assert names["audit_anchor"] == 300


@pytest.mark.django_db
@pytest.mark.usefixtures("database_tasks")
def test_with_the_database_queue_the_scheduler_only_enqueues_and_the_worker_runs() -> None:
    # given the production task backend: the scheduler enqueues into the database
    schedule = Schedule()
    schedule.register("worker_heartbeat", 30, worker_heartbeat)
    job_rows_sync(schedule, now=timezone.now())

    # when the scheduler runs the due jobs
    due_jobs_run(schedule, claimer="me")

    # then the task waits in the queue and no heartbeat exists until a worker runs it
    assert list(DBTaskResult.objects.values_list("task_path", "status")) == [
        ("onewindow.core.tasks.worker_heartbeat", "READY")
    ]
    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
def test_scheduler_once_records_its_heartbeat_and_runs_the_due_jobs(
    settings: Settings, tmp_path: Path
) -> None:
    # given the audit anchors kept out of the project's var/ directory
    settings.AUDIT_ANCHOR_FILE = tmp_path / "audit-anchors.jsonl"

    # when the scheduler command makes one pass
    call_command("scheduler", "--once")

    # then both heartbeats exist (the worker's through the heartbeat task) and every job got its row
    assert set(WorkerHeartbeat.objects.values_list("name", "kind")) == {
        ("scheduler", ProcessKind.SCHEDULER),
        ("worker", ProcessKind.WORKER),
    }
    registered = {job.name for job in autodiscover_schedules().jobs()}
    assert set(ScheduledJob.objects.values_list("name", flat=True)) == registered
    assert not ScheduledJob.objects.filter(next_run_at__lte=timezone.now()).exists()
