"""``manage.py worker`` (``onewindow worker``): django-tasks-db's ``db_worker`` plus a heartbeat."""

from __future__ import annotations

import os
import socket
from argparse import ArgumentParser
from typing import Any

import structlog
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_tasks.signals import task_finished, task_started

from onewindow.core.actions import heartbeat_record
from onewindow.core.context import RequestContext, set_request_context
from onewindow.core.guards import refuse_demo_accounts_in_production
from onewindow.core.models import ProcessKind
from onewindow.core.tasks import WORKER_HEARTBEAT_NAME


def _bind_task_context(sender: object, task_result: Any, **kwargs: Any) -> None:
    """Each task runs under its own id, so its log lines and audit records can be told apart and found."""
    task_id = str(task_result.id).replace("-", "")
    set_request_context(RequestContext(request_id=task_id, channel="worker"))
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=task_id, task=task_result.task.name)


def _unbind_task_context(sender: object, task_result: Any, **kwargs: Any) -> None:
    """Between tasks the worker logs under its own id again, not the last task's."""
    context = RequestContext(channel="worker")
    set_request_context(context)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=context.request_id)


class Command(BaseCommand):
    help = (
        "Run a background worker: claims tasks from the database queue and runs them (django-tasks-db "
        "db_worker). Run as many as the load needs; SIGTERM lets the current task finish."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--queues", default="*", help="Queues to process, comma-separated; '*' for all (default '*')."
        )
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds to wait when the queue is empty (default 1)."
        )
        parser.add_argument("--batch", action="store_true", help="Run the outstanding tasks, then exit.")
        parser.add_argument("--max-tasks", type=int, default=None, help="Exit after running this many tasks.")

    def handle(
        self, *args: Any, queues: str, interval: float, batch: bool, max_tasks: int | None, **options: Any
    ) -> None:
        refuse_demo_accounts_in_production()
        set_request_context(RequestContext(channel="worker"))
        # Alive from the first second; from then on the scheduler's heartbeat task, run here, keeps it fresh.
        heartbeat_record(name=WORKER_HEARTBEAT_NAME, kind=ProcessKind.WORKER)
        task_started.connect(_bind_task_context, dispatch_uid="onewindow_worker_task_context")
        task_finished.connect(_unbind_task_context, dispatch_uid="onewindow_worker_task_context_end")
        worker_options: dict[str, Any] = {
            "queue_name": queues,
            "interval": interval,
            "batch": batch,
            "reload": False,
            "worker_id": f"{socket.gethostname()}-{os.getpid()}"[-64:],
            "verbosity": options.get("verbosity", 1),
        }
        if max_tasks is not None:
            worker_options["max_tasks"] = max_tasks
        call_command("db_worker", **worker_options)
