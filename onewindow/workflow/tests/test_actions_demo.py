"""The demo QYKB process (``processes/QYKB.bpmn``, issue #4 item 8) run by the engine end to end.

开办企业一件事: market regulation reviews and assigns the unified social credit code (GB 32100-2015), then
public security, tax and HRSS work in parallel; the licence number is assigned after the join.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.applications.actions import application_submit
from onewindow.applications.models import Application, Status
from onewindow.applications.tests.factories import VALID_FORM, published_service, uploaded_material
from onewindow.core.errors import RuleViolation
from onewindow.organisations.tests.factories import DepartmentFactory
from onewindow.outbox.models import OutboxEvent
from onewindow.registry.models_entities import LegalEntity
from onewindow.services.models import Channel
from onewindow.workflow.actions import task_complete, timers_fire_due
from onewindow.workflow.models import CaseEvent, CaseEventKind, HumanTask, TaskStatus, WorkflowTimer
from onewindow.workflow.processes import demo_process_files
from onewindow.workflow.tests.factories import QYKB_REGISTRATION_FIELDS, case_process, published_definition

pytestmark = pytest.mark.django_db

DEPARTMENTS = ("AMR", "PSB", "TAX", "HRSS")


@pytest.fixture
def demo_handlers(role_users: dict[str, Any]) -> dict[str, User]:
    return {
        code: staff_user(Role.DEPARTMENT_HANDLER, department_code=code, username=f"demo_{code.lower()}")
        for code in DEPARTMENTS
    }


@pytest.fixture
def qykb_application(demo_handlers: dict[str, User], role_users: dict[str, Any]) -> Application:
    service = published_service("QYKB", department=DepartmentFactory.create(code="AMR"), auto_accept=True)
    assert service.current_version is not None
    service.current_version.process_key = "QYKB"
    service.current_version.save(update_fields=["process_key"])
    published_definition(
        "QYKB", demo_process_files()["QYKB"].decode(), process_id=None, department_code="AMR"
    )
    resident = role_users["resident"]
    application, _ = application_submit(
        acting_user=resident,
        service_code="QYKB",
        form={**VALID_FORM, **QYKB_REGISTRATION_FIELDS},
        material_ids=[str(uploaded_material(resident, code).pk) for code in ("LEASE", "CHARTER")],
        channel=Channel.WEB,
    )
    return Application.objects.select_related("version", "service").get(pk=application.pk)


def _open(application: Application) -> list[HumanTask]:
    return list(
        HumanTask.objects.filter(application=application, status=TaskStatus.OPEN).order_by("department_code")
    )


def test_demo_qykb_end_to_end(qykb_application: Application, demo_handlers: dict[str, User]) -> None:
    application = qykb_application
    case_process(application)
    (review,) = _open(application)
    assert review.department_code == "AMR"
    assert review.role == "department_handler"
    assert review.due_date is not None
    task_complete(acting_user=demo_handlers["AMR"], task=review, outcome="approve", opinion="同意")
    parallel = _open(application)
    # After the market-regulation approval the three parallel tasks are open at the same time
    assert [task.department_code for task in parallel] == ["HRSS", "PSB", "TAX"]
    for task in parallel:
        application.refresh_from_db()
        assert application.status == Status.IN_PROGRESS
        task_complete(
            acting_user=demo_handlers[task.department_code], task=task, outcome="approve", opinion="ok"
        )
    # The decision comes only after all three
    application.refresh_from_db()
    assert application.status == Status.APPROVED
    assert application.decision is not None
    results = application.decision["results"]
    assert sorted(results) == ["credit_code", "license_number"]
    assert results["credit_code"].startswith("9135")
    assert results["license_number"].startswith("AMR-")
    # The new company is in the legal-entity register, and subscribers hear of it (issue #5)
    entity = LegalEntity.objects.get(credit_code=results["credit_code"])
    assert (entity.name, entity.status, entity.registration_authority) == (
        VALID_FORM["company_name"],
        "active",
        "AMR",
    )
    assert OutboxEvent.objects.filter(topic="entity.registered", key=results["credit_code"]).count() == 1


def test_demo_reminder_timer_keeps_the_review_open(
    qykb_application: Application, demo_handlers: dict[str, User]
) -> None:
    """The non-interrupting reminder (WD3) fires from the scheduler; the review stays with AMR."""
    application = qykb_application
    instance = case_process(application)
    (timer,) = WorkflowTimer.objects.filter(instance=instance)
    assert timers_fire_due(now=timer.fire_at + timedelta(minutes=1)) == 1
    (review,) = _open(application)
    assert review.task_spec == "amr_review"
    assert CaseEvent.objects.filter(application=application, kind=CaseEventKind.TIMER_FIRED).count() == 1
    task_complete(acting_user=demo_handlers["AMR"], task=review, outcome="reject", opinion="名称不符合规定")
    application.refresh_from_db()
    assert application.decision is not None
    assert (application.status, application.decision["reason"]) == (Status.REJECTED, "名称不符合规定")


def _entity_named(name: str, credit_code: str) -> LegalEntity:
    from onewindow.registry.entities import entity_register

    return entity_register(
        acting_user=None,
        credit_code=credit_code,
        name=name,
        type="llc",
        division_code="350102",
        established_on=timezone.localdate(),
        registration_authority="AMR",
    )


def test_demo_qykb_a_name_taken_during_review_rejects_the_case(
    qykb_application: Application, demo_handlers: dict[str, User]
) -> None:
    """Names are unique among active entities: one registered while the case was reviewed ends it as
    rejected with the holder named, before any credit code is assigned."""
    application = qykb_application
    case_process(application)
    (review,) = _open(application)
    holder = _entity_named(VALID_FORM["company_name"], "91350100M000100Y43")
    task_complete(acting_user=demo_handlers["AMR"], task=review, outcome="approve", opinion="同意")
    application.refresh_from_db()
    assert application.status == Status.REJECTED
    assert application.decision is not None
    assert holder.credit_code in application.decision["reason"]
    assert "credit_code" not in application.decision["results"]
    assert _open(application) == []
    assert list(LegalEntity.objects.values_list("credit_code", flat=True)) == [holder.credit_code]


def test_demo_qykb_a_name_taken_after_the_check_fails_the_registration_and_changes_nothing(
    qykb_application: Application, demo_handlers: dict[str, User]
) -> None:
    application = qykb_application
    case_process(application)
    (review,) = _open(application)
    task_complete(acting_user=demo_handlers["AMR"], task=review, outcome="approve", opinion="同意")
    *first_two, last = _open(application)
    for task in first_two:
        task_complete(
            acting_user=demo_handlers[task.department_code], task=task, outcome="approve", opinion="ok"
        )
    _entity_named(VALID_FORM["company_name"], "91350100M000100Y43")
    with pytest.raises(RuleViolation) as refused:
        task_complete(
            acting_user=demo_handlers[last.department_code], task=last, outcome="approve", opinion="ok"
        )
    assert refused.value.code == "entity_name_taken"
    last.refresh_from_db()
    application.refresh_from_db()
    assert (last.status, application.status) == (TaskStatus.OPEN, Status.IN_PROGRESS)
    assert LegalEntity.objects.count() == 1
    assert (
        not OutboxEvent.objects.filter(topic="entity.registered", key__startswith="9135")
        .exclude(key="91350100M000100Y43")
        .exists()
    )
