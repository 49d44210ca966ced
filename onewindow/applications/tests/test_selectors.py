"""Who reads an application and its files: the applicant, their agent, the departments involved — and the
window clerk while it waits at the window. Nobody else (PIPL; MLPS 2.0 least privilege)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.http import Http404

from onewindow.accounts.models import Membership
from onewindow.accounts.roles import Kind, Role
from onewindow.accounts.tests.factories import UserFactory
from onewindow.applications.actions import OnBehalfOf, application_accept
from onewindow.applications.models import Application
from onewindow.applications.selectors import application_for_user, application_readable, applications_for_user
from onewindow.audit.models import AuditRecord
from onewindow.materials.selectors import material_for_user
from onewindow.organisations.tests.factories import DepartmentFactory
from onewindow.services.models import Channel

pytestmark = pytest.mark.django_db

RESIDENT_ID = "11010519491231002X"


@pytest.fixture
def agent_application(role_users: dict[str, Any], submit: Callable[..., Application]) -> Application:
    """Submitted by the village agent for the resident (who has an account), with a material attached."""
    return submit(
        role_users["village_agent"],
        codes=("LEASE",),
        channel=Channel.AGENT,
        on_behalf_of=OnBehalfOf(name="张三", identifier=RESIDENT_ID, consent_method="in_person"),
    )


def _others() -> dict[str, Any]:
    other_department = DepartmentFactory.create(code="ODEPT")
    handler = UserFactory.create(username="other_handler", kind=Kind.STAFF)
    Membership.objects.create(user=handler, role=Role.DEPARTMENT_HANDLER, department=other_department)
    agent = UserFactory.create(username="other_agent", kind=Kind.STAFF)
    Membership.objects.create(user=agent, role=Role.VILLAGE_AGENT)
    resident = UserFactory.create(username="other_resident", id_number="440524188001010014")
    return {"other_department_handler": handler, "other_agent": agent, "other_resident": resident}


READ = {"resident", "village_agent", "department_handler", "department_admin"}
REFUSED = {
    "enterprise_representative",
    "leader",
    "auditor",
    "supervisor",
    "system_admin",
    "security_officer",
    "vendor_staff",
    "other_department_handler",
    "other_agent",
    "other_resident",
}


def test_readability_matrix_for_the_application_and_its_files(
    role_users: dict[str, Any], agent_application: Application
) -> None:
    users = {**role_users, **_others()}
    # Accepted: the window clerk no longer reads it (they did not act on it).
    accepted = application_accept(acting_user=role_users["department_handler"], application=agent_application)
    material = accepted.materials.get()
    for name in READ:
        assert application_readable(users[name], accepted), name
        assert application_for_user(users[name], accepted.tracking_no) == accepted
        assert material_for_user(users[name], material.pk) == material
    denied_before = AuditRecord.objects.filter(action="application.read_denied").count()
    for name in [*REFUSED, "window_clerk"]:
        assert not application_readable(users[name], accepted), name
        with pytest.raises(Http404):
            application_for_user(users[name], accepted.tracking_no)
        with pytest.raises(Http404):
            material_for_user(users[name], material.pk)
    refused = len(REFUSED) + 1
    assert AuditRecord.objects.filter(action="application.read_denied").count() == denied_before + refused


def test_window_clerk_reads_while_waiting_and_after_acting(
    role_users: dict[str, Any], submit: Callable[..., Application]
) -> None:
    clerk = role_users["window_clerk"]
    waiting = submit()
    assert application_readable(clerk, waiting)
    accepted = application_accept(acting_user=clerk, application=waiting)
    assert application_readable(clerk, accepted)  # they acted on it


def test_missing_and_unreadable_look_the_same(
    role_users: dict[str, Any], submit: Callable[..., Application]
) -> None:
    application = submit()
    with pytest.raises(Http404):
        application_for_user(role_users["leader"], application.tracking_no)
    with pytest.raises(Http404):
        application_for_user(role_users["resident"], "35010020250101000001X")


def test_my_applications_include_agent_submissions_for_me(
    role_users: dict[str, Any], agent_application: Application
) -> None:
    assert list(applications_for_user(role_users["resident"])) == [agent_application]
    assert list(applications_for_user(role_users["village_agent"])) == [agent_application]
    assert list(applications_for_user(role_users["window_clerk"])) == []
