"""Database rules of the engine's tables: one version number per key, one inbox row per Spiff task."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from onewindow.applications.models import Application
from onewindow.workflow.models import HumanTask, ProcessDefinition, WorkflowInstance, WorkflowTimer
from onewindow.workflow.tests.factories import QYKB_BPMN, case_process, published_definition

pytestmark = pytest.mark.django_db


def test_key_and_version_are_unique(qykb_definition: ProcessDefinition) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        published_definition("QYKB_T", QYKB_BPMN, process_id="qykb_test")
    assert ProcessDefinition.objects.count() == 1


def test_one_process_per_application_and_one_row_per_spiff_task(
    accepted_application: Callable[[], Application], qykb_definition: ProcessDefinition
) -> None:
    application = accepted_application()
    instance = case_process(application, qykb_definition)
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkflowInstance.objects.create(
            application=application, definition=qykb_definition, started_at=timezone.now()
        )
    (task,) = HumanTask.objects.filter(instance=instance)
    with pytest.raises(IntegrityError), transaction.atomic():
        HumanTask.objects.create(
            instance=instance,
            application=application,
            spiff_task_id=task.spiff_task_id,
            task_spec="review",
            name="x",
            department_code="TDEPT",
            created_at=timezone.now(),
        )
    timer = WorkflowTimer.objects.create(
        instance=instance, spiff_task_id=uuid.uuid4(), fire_at=timezone.now()
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkflowTimer.objects.create(
            instance=instance, spiff_task_id=timer.spiff_task_id, fire_at=timezone.now()
        )
    assert str(instance).startswith("workflow of")
    assert "TDEPT" in str(task)
