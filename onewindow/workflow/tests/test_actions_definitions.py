"""Uploading and publishing process versions: only the owning department's admin; problems refused."""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.services.models import Service
from onewindow.workflow.definitions import process_definition_create, process_definition_publish
from onewindow.workflow.models import DefinitionStatus, ProcessDefinition
from onewindow.workflow.tests.factories import QYKB_BPMN

pytestmark = pytest.mark.django_db


def test_admin_uploads_versions_and_publishes(
    role_users: dict[str, Any], handlers: dict[str, User], qykb_service: Service
) -> None:
    admin = role_users["department_admin"]
    # The key is used by a TDEPT service, so TDEPT's admin owns it.
    first = process_definition_create(acting_user=admin, key="QYKB_T", bpmn_xml=QYKB_BPMN)
    second = process_definition_create(acting_user=admin, key="QYKB_T", bpmn_xml=QYKB_BPMN)
    assert [(d.version, d.status, d.department_code) for d in (first, second)] == [
        (1, DefinitionStatus.DRAFT, "TDEPT"),
        (2, DefinitionStatus.DRAFT, "TDEPT"),
    ]
    assert (first.process_id, first.result_keys, len(first.sha256)) == (
        "qykb_test",
        ["credit_code", "license_number"],
        64,
    )
    process_definition_publish(acting_user=admin, definition=first)
    process_definition_publish(acting_user=admin, definition=second)
    statuses = dict(ProcessDefinition.objects.values_list("version", "status"))
    assert statuses == {1: DefinitionStatus.RETIRED, 2: DefinitionStatus.PUBLISHED}
    # Published is immutable: publishing again is refused
    with pytest.raises(RuleViolation) as caught:
        process_definition_publish(acting_user=admin, definition=second)
    assert (caught.value.code, caught.value.status) == ("process_not_draft", 409)


def test_problems_are_refused_one_error_each(role_users: dict[str, Any], handlers: dict[str, User]) -> None:
    admin = role_users["department_admin"]
    broken = QYKB_BPMN.replace('name="TAX"', 'name="NOSUCH"').replace(
        'outcome == "approve"', "().__class__.__base__.__subclasses__()"
    )
    with pytest.raises(FieldErrors) as caught:
        process_definition_create(acting_user=admin, key="X", bpmn_xml=broken, department_code="TDEPT")
    assert caught.value.code == "process_invalid"
    assert len(caught.value.errors) >= 2
    assert {error.field for error in caught.value.errors} == {"bpmn_xml"}
    assert all(error.message_zh and error.message_en for error in caught.value.errors)
    assert ProcessDefinition.objects.count() == 0


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_only_the_owning_department_admin_may_upload_and_publish(
    role: str, role_users: dict[str, Any], handlers: dict[str, User], qykb_service: Service
) -> None:
    user = cast(User, AnonymousUser()) if role == "anonymous" else role_users[role]
    draft = process_definition_create(
        acting_user=role_users["department_admin"], key="QYKB_T", bpmn_xml=QYKB_BPMN
    )
    if role == "department_admin":
        process_definition_create(acting_user=user, key="QYKB_T", bpmn_xml=QYKB_BPMN)
        assert (
            process_definition_publish(acting_user=user, definition=draft).status
            == DefinitionStatus.PUBLISHED
        )
        return
    with pytest.raises(PermissionDenied):
        process_definition_create(acting_user=user, key="QYKB_T", bpmn_xml=QYKB_BPMN)
    with pytest.raises(PermissionDenied):
        process_definition_publish(acting_user=user, definition=draft)
    assert list(ProcessDefinition.objects.values_list("version", "status")) == [(1, DefinitionStatus.DRAFT)]


def test_another_departments_admin_cannot_take_over_a_key(
    role_users: dict[str, Any], handlers: dict[str, User], qykb_service: Service
) -> None:
    from onewindow.accounts.roles import Role
    from onewindow.accounts.tests.factories import staff_user

    tax_admin = staff_user(Role.DEPARTMENT_ADMIN, department_code="TAX", username="a_tax")
    with pytest.raises(PermissionDenied):
        process_definition_create(
            acting_user=tax_admin, key="QYKB_T", bpmn_xml=QYKB_BPMN, department_code="TAX"
        )
    assert ProcessDefinition.objects.count() == 0
