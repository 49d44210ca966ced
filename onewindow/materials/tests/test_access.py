"""Who may read a material, and attaching materials to applications.

Issue #3 §3: "Files are only readable by those with access to the case". Before attachment only the
uploader reads a file; after, whoever may read the application (``application_readable``). A refused read
is audited and answered as not found (GB/T 22239-2019 §8.1.4.2 access control, §8.1.4.3 audit).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.http import Http404

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.accounts.roles import Kind
from onewindow.accounts.tests.factories import UserFactory
from onewindow.applications.models import Application
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.materials.actions import material_attach, material_upload
from onewindow.materials.models import Material
from onewindow.materials.selectors import material_for_user, material_readable
from onewindow.materials.tests.samples import PDF, upload

pytestmark = pytest.mark.django_db

# Readers of an application submitted online by t_resident to department TDEPT (application_readable).
APPLICATION_READERS = ["resident", "department_handler", "department_admin"]
NOT_APPLICATION_READERS = [
    "enterprise_representative",
    "village_agent",
    "leader",
    "security_officer",
    "auditor",
    "system_admin",
    "vendor_staff",
    "supervisor",
]


@pytest.fixture
def material(role_users: dict[str, Any]) -> Material:
    return material_upload(acting_user=role_users["resident"], uploaded_file=upload(PDF, "户口本.pdf"))


# --- before attachment: the uploader only ----------------------------------------------------------------


def test_uploader_reads_unattached_material(role_users: dict[str, Any], material: Material) -> None:
    assert material_for_user(role_users["resident"], material.id) == material
    assert material_for_user(role_users["resident"], str(material.id)) == material


@pytest.mark.parametrize("role", [role for role in ALL_ROLES if role != "resident"])
def test_nobody_else_reads_unattached_material(
    role: str, role_users: dict[str, Any], material: Material
) -> None:
    with pytest.raises(Http404):
        material_for_user(role_users[role], material.id)

    denial = AuditRecord.objects.get(action="permission.denied")
    assert (denial.actor_id, denial.object_type, denial.object_id) == (
        role_users[role].pk,
        "material",
        str(material.id),
    )


def test_another_resident_gets_not_found(role_users: dict[str, Any], material: Material) -> None:
    neighbour = UserFactory.create(username="neighbour", kind=Kind.RESIDENT, id_number="440524188001010014")
    with pytest.raises(Http404):
        material_for_user(neighbour, material.id)


@pytest.mark.parametrize("material_id", [uuid.uuid4(), "not-a-uuid"])
def test_unknown_ids_are_not_found_and_audited(role_users: dict[str, Any], material_id: object) -> None:
    with pytest.raises(Http404):
        material_for_user(role_users["resident"], material_id)  # type: ignore[arg-type]
    assert AuditRecord.objects.filter(action="permission.denied", object_type="material").count() == 1


def test_inactive_uploader_cannot_read(role_users: dict[str, Any], material: Material) -> None:
    resident: User = role_users["resident"]
    resident.is_active = False
    resident.save(update_fields=["is_active"])

    assert material_readable(resident, material) is False


# --- attaching -----------------------------------------------------------------------------------------


def test_attach_sets_the_application_and_audits(
    role_users: dict[str, Any], material: Material, application: Application
) -> None:
    attached = material_attach(acting_user=role_users["resident"], material=material, application=application)

    assert attached.application == application
    assert material.application == application
    assert Material.objects.get(pk=material.pk).application_id == application.pk
    record = AuditRecord.objects.get(action="material.attached")
    assert (record.object_id, record.details) == (
        str(material.id),
        {"application": "350100202611270001", "sha256": material.sha256},
    )


def test_attach_someone_elses_material_is_refused(
    role_users: dict[str, Any], material: Material, application: Application
) -> None:
    with pytest.raises(RuleViolation) as excinfo:
        material_attach(acting_user=role_users["window_clerk"], material=material, application=application)

    assert (excinfo.value.code, excinfo.value.status) == ("material_not_yours", 422)
    assert Material.objects.get(pk=material.pk).application_id is None
    assert not AuditRecord.objects.filter(action="material.attached").exists()


def test_attach_twice_is_refused(
    role_users: dict[str, Any], material: Material, application: Application
) -> None:
    material_attach(acting_user=role_users["resident"], material=material, application=application)
    stale = Material.objects.get(pk=material.pk)
    stale.application = None  # a caller holding an out-of-date copy

    with pytest.raises(RuleViolation) as excinfo:
        material_attach(acting_user=role_users["resident"], material=stale, application=application)

    assert (excinfo.value.code, excinfo.value.status) == ("material_already_attached", 409)
    assert AuditRecord.objects.filter(action="material.attached").count() == 1


# --- after attachment: whoever may read the application -------------------------------------------------


@pytest.mark.parametrize("role", APPLICATION_READERS)
def test_application_readers_read_attached_material(
    role: str, role_users: dict[str, Any], material: Material, application: Application
) -> None:
    material_attach(acting_user=role_users["resident"], material=material, application=application)

    assert material_for_user(role_users[role], material.id).pk == material.pk


@pytest.mark.parametrize("role", NOT_APPLICATION_READERS)
def test_others_do_not_read_attached_material(
    role: str, role_users: dict[str, Any], material: Material, application: Application
) -> None:
    material_attach(acting_user=role_users["resident"], material=material, application=application)

    with pytest.raises(Http404):
        material_for_user(role_users[role], material.id)


def test_handler_of_another_department_does_not_read_attached_material(
    role_users: dict[str, Any], material: Material, application: Application
) -> None:
    from onewindow.accounts.models import Membership
    from onewindow.accounts.roles import Role
    from onewindow.organisations.tests.factories import DepartmentFactory

    other = UserFactory.create(username="other_handler", kind=Kind.STAFF)
    Membership.objects.create(
        user=other, role=Role.DEPARTMENT_HANDLER, department=DepartmentFactory.create(code="OTHER")
    )
    material_attach(acting_user=role_users["resident"], material=material, application=application)

    with pytest.raises(Http404):
        material_for_user(other, material.id)
