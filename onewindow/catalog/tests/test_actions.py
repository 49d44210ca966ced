"""Catalog actions: codes, core-metadata validation (GB/T 21063.3), versions, withdrawal, who may write.

Sharing rules: State Council 2016 No. 51 Art. 5 (three sharing types) and Art. 9 (conditions, and the
basis for not sharing).
"""

from __future__ import annotations

from typing import Any

import pytest

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.catalog import actions, codes
from onewindow.catalog.models import DataItem, Resource, ResourceStatus, ResourceVersion
from onewindow.catalog.tests.conftest import create, metadata, not_shared_metadata, open_metadata
from onewindow.core.errors import FieldErrors, RuleViolation

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int]:
    return Resource.objects.count(), ResourceVersion.objects.count(), DataItem.objects.count()


# --- Codes ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["101001/000001", "301001/123456", "2120019/000001", "101001123456/999999"])
def test_valid_resource_codes(code: str) -> None:
    assert codes.validate_resource_code(code) == code


@pytest.mark.parametrize(
    "code",
    [
        "",
        "401001/000001",
        "10100/000001",
        "101001/00001",
        "101001-000001",
        "101001/0000001",
        "1010011234567/000001",
    ],
)
def test_invalid_resource_codes_are_refused_in_both_languages(code: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        codes.validate_resource_code(code)
    assert refused.value.code == "resource_code_format"
    assert "101001/000001" in refused.value.message_zh
    assert "101001/000001" in refused.value.message_en


def test_codes_are_allocated_in_sequence_within_a_classification(role_users: Any, departments: Any) -> None:
    # Given two resources in base → population → 目 002 and one in 目 003
    first = create("PSB", "101002", **metadata())
    second = create("PSB", "101002", **metadata(name="流动人口信息"))
    other = create("PSB", "1010031", **metadata(name="户籍迁移信息"))

    # Then each classification counts on its own, from 000001
    assert (first.code, second.code, other.code) == ("101002/000001", "101002/000002", "1010031/000001")
    assert first.kind == "1"
    assert first.section.code == "101"
    assert first.current_version is not None
    assert first.current_version.number == 1
    assert first.current_version.provider_code == departments["PSB"].credit_code


def test_departmental_items_are_allocated_per_department(role_users: Any, departments: Any) -> None:
    from django.db import transaction

    from onewindow.organisations.models import Department

    with transaction.atomic():
        tdept = actions.departmental_section(Department.objects.get(code="TDEPT"))
        other = actions.departmental_section(Department.objects.get(code="OTHER"))
        again = actions.departmental_section(Department.objects.get(code="TDEPT"))
    assert tdept.pk == again.pk
    assert {tdept.code, other.code} == {"301", "302"}
    assert tdept.name == "测试部门"


def test_a_department_cannot_catalogue_under_another_departments_item(
    role_users: Any, departments: Any
) -> None:
    from django.db import transaction

    from onewindow.organisations.models import Department

    with transaction.atomic():
        other = actions.departmental_section(Department.objects.get(code="OTHER"))
    before = _counts()
    with pytest.raises(RuleViolation) as refused:
        actions.resource_create(
            acting_user=role_users["department_admin"],
            provider_department="TDEPT",
            classification_code=f"{other.code}001",
            **metadata(),
        )
    assert refused.value.code == "classification_not_own_department"
    assert refused.value.field == "classification_code"
    assert _counts() == before


def test_unknown_item_and_malformed_classification_are_refused(role_users: Any, departments: Any) -> None:
    with pytest.raises(RuleViolation) as unknown:
        create("PSB", "199001", **metadata())
    assert unknown.value.code == "classification_not_found"
    with pytest.raises(RuleViolation) as malformed:
        create("PSB", "10A001", **metadata())
    assert malformed.value.code == "classification_code_format"
    assert Resource.objects.count() == 0


# --- Core metadata validation ------------------------------------------------------------------------------


def test_every_missing_mandatory_field_is_refused_by_name(role_users: Any, departments: Any) -> None:
    # Given no metadata at all
    with pytest.raises(FieldErrors) as refused:
        create("PSB", "101002")

    # Then each mandatory field has its own bilingual refusal, and nothing was written
    errors = {error.field: error for error in refused.value.errors}
    assert refused.value.code == "metadata_invalid"
    assert set(errors) == {
        "name",
        "abstract",
        "format",
        "sharing_type",
        "open_type",
        "update_cycle",
        "data_items",
    }
    assert errors["name"].code == "name_required"
    assert errors["name"].message_zh == "请填写资源名称。"
    assert errors["name"].message_en == "Enter the name."
    assert errors["abstract"].message_zh == "请填写资源摘要。"
    assert errors["data_items"].code == "data_items_required"
    assert Resource.objects.count() == 0


def test_conditions_follow_the_sharing_and_open_types(role_users: Any, departments: Any) -> None:
    cases = {
        "sharing_condition_required": metadata(sharing_condition=""),
        "sharing_basis_required": not_shared_metadata(sharing_condition=""),
        "sharing_method_required": metadata(sharing_method=""),
        "open_condition_required": open_metadata(open_type="conditional", open_condition=""),
        "open_but_not_shared": not_shared_metadata(open_type="open"),
    }
    for code, fields in cases.items():
        with pytest.raises(FieldErrors) as refused:
            create("PSB", "101002", **fields)
        assert [error.code for error in refused.value.errors] == [code], code
    assert Resource.objects.count() == 0


def test_invalid_values_and_data_items_are_refused_per_field(role_users: Any, departments: Any) -> None:
    with pytest.raises(FieldErrors) as refused:
        create(
            "PSB",
            "101002",
            **metadata(
                format="paper",
                update_cycle="hourly",
                data_items=[
                    {"name": "", "data_type": "C"},
                    {"name": "姓名", "data_type": "Q"},
                    {"name": "姓名", "data_type": "C"},
                    {"name": "住址", "data_type": "C", "sharing_type": "unconditional"},
                    {"name": "年龄", "data_type": "I", "length": 0, "colour": "red"},
                ],
                related_codes=["101002/999999", "bad"],
                theme_codes=["299"],
            ),
        )
    found = {(error.field, error.code) for error in refused.value.errors}
    assert found == {
        ("format", "format_invalid"),
        ("update_cycle", "update_cycle_invalid"),
        ("data_items.1.name", "data_item_name_required"),
        ("data_items.2.data_type", "data_item_type_invalid"),
        ("data_items.3.name", "data_item_name_duplicate"),
        ("data_items.4.sharing_type", "data_item_more_open_than_resource"),
        ("data_items.5", "data_item_unknown_key"),
        ("data_items.5.length", "data_item_length_invalid"),
        ("related_codes", "related_code_format"),
        ("theme_codes", "theme_not_found"),
    }
    assert all(error.message_zh and error.message_en for error in refused.value.errors)


def test_items_default_to_the_resources_sharing_and_may_be_less_open(
    role_users: Any, departments: Any
) -> None:
    resource = create(
        "PSB",
        "101002",
        **open_metadata(
            data_items=[
                {"name": "名称", "data_type": "C"},
                {"name": "联系人电话", "data_type": "C", "sharing_type": "conditional"},
            ]
        ),
    )
    items = list(resource.current_version.data_items.values_list("name", "sharing_type", "position"))
    assert items == [("名称", "unconditional", 1), ("联系人电话", "conditional", 2)]


# --- Versions and withdrawal -------------------------------------------------------------------------------


def test_publishing_a_change_adds_a_version_and_keeps_the_old_one(role_users: Any, departments: Any) -> None:
    resource = create("TDEPT", **metadata(theme_codes=["201"]))
    related = create("TDEPT", **open_metadata())
    admin = role_users["department_admin"]

    version = actions.resource_publish_version(
        acting_user=admin,
        resource=resource,
        change_note="增加学段",
        update_cycle="quarterly",
        related_codes=[related.code],
        data_items=[
            {"name": "学校名称", "data_type": "C"},
            {"name": "学段", "name_en": "Level", "data_type": "C"},
        ],
    )

    resource.refresh_from_db()
    assert version.number == 2
    assert resource.current_version_id == version.pk
    assert version.update_cycle == "quarterly"
    assert version.name == "学校基本信息"
    assert version.related_codes == [related.code]
    assert [theme.code for theme in version.themes.all()] == ["201"]
    first = resource.versions.get(number=1)
    assert first.update_cycle == "yearly"
    assert list(first.data_items.values_list("name", flat=True)) == ["学校名称", "在校生人数"]
    assert list(version.data_items.values_list("name", flat=True)) == ["学校名称", "学段"]
    record = AuditRecord.objects.filter(action="catalog.version_published").get()
    assert record.object_id == resource.code
    assert record.details["version"] == 2
    assert record.details["changed"] == ["data_items", "related_codes", "update_cycle"]
    assert record.actor_username == admin.username


def test_a_change_that_breaks_the_metadata_publishes_nothing(role_users: Any, departments: Any) -> None:
    resource = create("TDEPT", **metadata())
    before = _counts()
    with pytest.raises(FieldErrors):
        actions.resource_publish_version(
            acting_user=role_users["department_admin"], resource=resource, sharing_type="not_shared"
        )
    assert _counts() == before
    resource.refresh_from_db()
    assert resource.sharing_type == "conditional"


def test_withdrawal_keeps_history_and_stops_new_versions(role_users: Any, departments: Any) -> None:
    resource = create("TDEPT", **metadata())
    admin = role_users["department_admin"]
    with pytest.raises(FieldErrors) as no_reason:
        actions.resource_withdraw(acting_user=admin, resource=resource, reason=" ")
    assert no_reason.value.errors[0].code == "reason_required"

    actions.resource_withdraw(acting_user=admin, resource=resource, reason="数据已并入教育统计库")

    resource.refresh_from_db()
    assert resource.status == ResourceStatus.WITHDRAWN
    assert resource.withdrawn_at is not None
    assert resource.versions.count() == 1
    with pytest.raises(RuleViolation) as refused:
        actions.resource_publish_version(acting_user=admin, resource=resource, name="新名称")
    assert refused.value.code == "resource_withdrawn"
    assert refused.value.status == 409
    with pytest.raises(RuleViolation):
        actions.resource_withdraw(acting_user=admin, resource=resource, reason="again")
    assert AuditRecord.objects.filter(action="catalog.resource_withdrawn").count() == 1


def test_built_in_entries_are_changed_by_the_sync_only(catalog: dict[str, Any], role_users: Any) -> None:
    population = catalog["population"]
    before = _counts()
    with pytest.raises(RuleViolation) as refused:
        actions.resource_publish_version(
            acting_user=role_users["system_admin"], resource=population, name="人口"
        )
    assert refused.value.code == "resource_builtin"
    with pytest.raises(RuleViolation):
        actions.resource_withdraw(acting_user=role_users["system_admin"], resource=population, reason="x")
    assert _counts() == before


# --- Who may write -----------------------------------------------------------------------------------------

WRITERS = {"department_admin", "system_admin"}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_create_is_for_the_providers_administrators_and_system_admins(
    role: str, role_users: dict[str, Any], departments: Any
) -> None:
    user = role_users[role]
    before = _counts()
    if role in WRITERS:
        resource = actions.resource_create(
            acting_user=user, provider_department="TDEPT", classification_code="101002", **metadata()
        )
        assert resource.code == "101002/000001"
        assert AuditRecord.objects.get(action="catalog.resource_created").actor_username == user.username
        return
    denied_before = AuditRecord.objects.filter(action="permission.denied").count()
    with pytest.raises(Exception) as refused:
        actions.resource_create(
            acting_user=user, provider_department="TDEPT", classification_code="101002", **metadata()
        )
    from django.core.exceptions import PermissionDenied

    assert isinstance(refused.value, PermissionDenied)
    assert _counts() == before
    assert AuditRecord.objects.filter(action="permission.denied").count() == denied_before + 1


@pytest.mark.parametrize("role", ALL_ROLES)
def test_versions_and_withdrawal_of_another_departments_resource(
    role: str, role_users: dict[str, Any], departments: Any
) -> None:
    """A department's administrator manages its own resources only; the system administrator any."""
    from django.core.exceptions import PermissionDenied

    other = create("OTHER", **metadata())
    user = role_users[role]
    before = _counts()
    if role == "system_admin":
        actions.resource_publish_version(acting_user=user, resource=other, update_cycle="monthly")
        actions.resource_withdraw(acting_user=user, resource=other, reason="合并")
        assert Resource.objects.get(pk=other.pk).status == ResourceStatus.WITHDRAWN
        return
    with pytest.raises(PermissionDenied):
        actions.resource_publish_version(acting_user=user, resource=other, update_cycle="monthly")
    with pytest.raises(PermissionDenied):
        actions.resource_withdraw(acting_user=user, resource=other, reason="合并")
    assert _counts() == before
    assert Resource.objects.get(pk=other.pk).status == ResourceStatus.ACTIVE


def test_a_department_admin_manages_its_own_resources(role_users: dict[str, Any], departments: Any) -> None:
    own = create("TDEPT", **metadata())
    admin = role_users["department_admin"]
    assert (
        actions.resource_publish_version(acting_user=admin, resource=own, update_cycle="monthly").number == 2
    )
    actions.resource_withdraw(acting_user=admin, resource=own, reason="不再维护")
    assert Resource.objects.get(pk=own.pk).status == ResourceStatus.WITHDRAWN
