"""Approving QYKB records the business licence (holder: the new company and its credit code)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from onewindow.accounts.models import User
from onewindow.applications.models import Application, Status
from onewindow.audit.models import AuditRecord
from onewindow.licences.models import Licence
from onewindow.workflow.actions import task_complete
from onewindow.workflow.models import HumanTask, ProcessDefinition, TaskStatus

pytestmark = pytest.mark.django_db


def test_approval_records_the_licence_once(
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    handlers: dict[str, User],
    role_users: dict[str, Any],
) -> None:
    application = accepted_application()
    while True:
        open_tasks = list(HumanTask.objects.filter(application=application, status=TaskStatus.OPEN))
        if not open_tasks:
            break
        for task in open_tasks:
            task_complete(
                acting_user=handlers[task.department_code], task=task, outcome="approve", opinion=""
            )
    application.refresh_from_db()
    assert application.status == Status.APPROVED
    assert application.decision is not None
    results = application.decision["results"]
    licence = Licence.objects.get(application=application)
    assert licence.number == results["license_number"]
    assert licence.holder_code == results["credit_code"]
    assert licence.holder_name == application.form_data["company_name"]
    assert licence.status == "valid"
    assert AuditRecord.objects.filter(action="licence.recorded", object_id=licence.number).count() == 1
