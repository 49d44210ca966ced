"""``manage.py scheduler``: run the registered periodic jobs (``onewindow scheduler``)."""

from __future__ import annotations

import os
import signal
import socket
import threading
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from onewindow.core.actions import heartbeat_record
from onewindow.core.context import RequestContext, set_request_context
from onewindow.core.guards import refuse_demo_accounts_in_production
from onewindow.core.health import SCHEDULER_HEARTBEAT_NAME
from onewindow.core.logging import get_logger
from onewindow.core.models import ProcessKind
from onewindow.core.schedule import autodiscover_schedules, due_jobs_run, job_rows_sync

logger = get_logger("onewindow.scheduler")


class Command(BaseCommand):
    help = (
        "Run the periodic jobs (worker heartbeat, task-result pruning, audit anchors...) by enqueueing their "
        "tasks when due. Several schedulers may run at once: each run is claimed in the database."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run the jobs that are due now, then exit.")
        parser.add_argument(
            "--tick", type=float, default=5.0, help="Seconds between two looks at the due jobs (default 5)."
        )

    def handle(self, *args: Any, once: bool, tick: float, **options: Any) -> None:
        refuse_demo_accounts_in_production()
        set_request_context(RequestContext(channel="system"))
        schedule = autodiscover_schedules()
        claimer = f"{socket.gethostname()}:{os.getpid()}"
        job_rows_sync(schedule, now=timezone.now())
        logger.info("scheduler_started", claimer=claimer, jobs=[job.name for job in schedule.jobs()])

        stopping = threading.Event()

        def stop(_signum: int, _frame: FrameType | None) -> None:
            stopping.set()  # only this: logging from a signal handler can deadlock on the handler's lock

        previous = (
            None if once else {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        )
        try:
            while True:
                try:
                    heartbeat_record(name=SCHEDULER_HEARTBEAT_NAME, kind=ProcessKind.SCHEDULER)
                    due_jobs_run(schedule, claimer=claimer)
                except DatabaseError:
                    # The database may come back; the heartbeat going stale tells the monitoring meanwhile.
                    logger.exception("scheduler_tick_failed")
                if once or stopping.wait(tick):
                    break
                # Like a request's end: drop a connection that broke or outlived CONN_MAX_AGE while idle.
                close_old_connections()
        finally:
            if previous is not None:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        logger.info("scheduler_stopped", claimer=claimer)
