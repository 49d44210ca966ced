"""Two (here three) handlers completing parallel tasks of one case at the same moment lose nothing.

Issue #4 acceptance: concurrent completion on one case (PostgreSQL, threads). SQLite serialises writers
(IMMEDIATE transactions), so the race this test provokes cannot happen there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from onewindow.accounts.models import User
from onewindow.applications.models import Application, Status
from onewindow.workflow.actions import task_complete
from onewindow.workflow.models import (
    CaseEvent,
    CaseEventKind,
    HumanTask,
    InstanceStatus,
    ProcessDefinition,
    TaskStatus,
    WorkflowInstance,
)
from onewindow.workflow.tests.factories import case_process

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs concurrent writers: SQLite serialises them with IMMEDIATE transactions",
    ),
]


def test_three_parallel_tasks_completed_concurrently(
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    handlers: dict[str, User],
) -> None:
    # Given a QYKB-shaped case with its three parallel tasks open
    application = accepted_application()
    instance = case_process(application, qykb_definition)
    (review,) = HumanTask.objects.filter(application=application)
    task_complete(acting_user=handlers["TDEPT"], task=review, outcome="approve", opinion="同意")
    parallel = list(HumanTask.objects.filter(application=application, status=TaskStatus.OPEN))
    assert len(parallel) == 3
    # When three handlers complete them at the same moment
    barrier = threading.Barrier(len(parallel))
    errors: list[BaseException] = []

    def complete(task: HumanTask) -> None:
        try:
            barrier.wait(timeout=10)
            task_complete(
                acting_user=handlers[task.department_code], task=task, outcome="approve", opinion="同意"
            )
        except BaseException as error:  # reported to the main thread below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=complete, args=(task,)) for task in parallel]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then every completion counted, and the process went on exactly once
    assert errors == []
    assert set(HumanTask.objects.filter(application=application).values_list("status", flat=True)) == {
        TaskStatus.DONE
    }
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    # started (2), review (3), three parallel completions (6)
    assert instance.row_version == 6
    assert CaseEvent.objects.filter(application=application, kind=CaseEventKind.COMPLETED).count() == 1
    assert CaseEvent.objects.filter(application=application, kind=CaseEventKind.TASK_COMPLETED).count() == 4
    application.refresh_from_db()
    assert application.status == Status.APPROVED
    assert WorkflowInstance.objects.count() == 1
