"""Fixtures for the engine tests: handlers in the parallel departments, a QYKB-shaped process, cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.applications.actions import application_submit
from onewindow.applications.models import Application, Status
from onewindow.applications.tests.factories import VALID_FORM, published_service, uploaded_material
from onewindow.services.models import Channel, Service
from onewindow.workflow.models import ProcessDefinition
from onewindow.workflow.tests.factories import QYKB_BPMN, TIMER_BPMN, published_definition

PARALLEL_DEPARTMENTS = ("PSB", "TAX", "HRSS")


@pytest.fixture
def handlers(role_users: dict[str, Any]) -> dict[str, User]:
    """One handler per department of the QYKB-shaped process (TDEPT's is ``t_department_handler``)."""
    found: dict[str, User] = {"TDEPT": role_users["department_handler"]}
    for code in PARALLEL_DEPARTMENTS:
        found[code] = staff_user(Role.DEPARTMENT_HANDLER, department_code=code, username=f"h_{code.lower()}")
    return found


@pytest.fixture
def qykb_service(role_users: dict[str, Any]) -> Service:
    service = published_service("QYKBT", auto_accept=True)
    assert service.current_version is not None
    service.current_version.process_key = "QYKB_T"
    service.current_version.save(update_fields=["process_key"])
    return service


@pytest.fixture
def qykb_definition(handlers: dict[str, User]) -> ProcessDefinition:
    return published_definition("QYKB_T", QYKB_BPMN, process_id="qykb_test")


@pytest.fixture
def timer_definition(role_users: dict[str, Any]) -> ProcessDefinition:
    return published_definition("TIMER_T", TIMER_BPMN, process_id="timer_test")


@pytest.fixture
def accepted_application(qykb_service: Service, role_users: dict[str, Any]) -> Callable[[], Application]:
    """Submit a complete application (accepted automatically); returns it fresh from the database."""

    def make() -> Application:
        resident = role_users["resident"]
        materials = [str(uploaded_material(resident, code).pk) for code in ("LEASE", "CHARTER")]
        application, _ = application_submit(
            acting_user=resident,
            service_code=qykb_service.code,
            form=dict(VALID_FORM),
            material_ids=materials,
            channel=Channel.WEB,
        )
        fresh = Application.objects.select_related("version", "service").get(pk=application.pk)
        assert fresh.status in {Status.ACCEPTED, Status.IN_PROGRESS}
        return fresh

    return make
