"""Catalog actions: versions, immutability, publication checks, bundles, permissions (DOMAIN.md §2)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from onewindow.audit.models import AuditRecord
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.services import actions, selectors
from onewindow.services.models import BundleComponent, Service, ServiceVersion, VersionStatus
from onewindow.services.tests.conftest import item_fields, published_item

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int]:
    return Service.objects.count(), ServiceVersion.objects.count(), BundleComponent.objects.count()


def test_department_admin_creates_a_draft_item(role_users: dict[str, Any]) -> None:
    # Given the administrator of TDEPT
    admin = role_users["department_admin"]
    # When they create a service item
    version = actions.service_create(
        acting_user=admin, code="tdept-a1", kind="item", department_code="TDEPT", **item_fields()
    )
    # Then it exists as draft version 1, not yet current, and the creation is audited
    assert (version.service.code, version.number, version.status) == ("TDEPT-A1", 1, VersionStatus.DRAFT)
    assert version.service.current_version is None
    record = AuditRecord.objects.filter(action="service.created").get()
    assert (record.object_id, record.actor_username) == ("TDEPT-A1", "t_department_admin")


@pytest.mark.parametrize("role", ["system_admin", "department_handler", "resident", "leader", "auditor"])
def test_others_may_not_create_services(role_users: dict[str, Any], role: str) -> None:
    before = _counts()
    with pytest.raises(PermissionDenied):
        actions.service_create(
            acting_user=role_users[role], code="X1", kind="item", department_code="TDEPT", **item_fields()
        )
    assert _counts() == before
    assert AuditRecord.objects.filter(action="permission.denied", object_id="X1").count() == 1


def test_admin_of_another_department_is_refused(role_users: dict[str, Any], demo_departments: Any) -> None:
    version = published_item("AMR-1", department_code="AMR")
    before = _counts()
    with pytest.raises(PermissionDenied):
        actions.service_version_draft(acting_user=role_users["department_admin"], service=version.service)
    assert _counts() == before


def test_a_published_version_is_immutable(role_users: dict[str, Any]) -> None:
    published = published_item("T-IMM")
    with pytest.raises(RuleViolation) as refused:
        actions.service_version_update(
            acting_user=role_users["department_admin"], version=published, name="新"
        )
    assert (refused.value.code, refused.value.status) == ("version_immutable", 409)
    published.refresh_from_db()
    assert published.name == "测试事项"


def test_only_one_draft_at_a_time(role_users: dict[str, Any]) -> None:
    published = published_item("T-ONE")
    admin = role_users["department_admin"]
    draft = actions.service_version_draft(acting_user=admin, service=published.service)
    assert (draft.number, draft.status, draft.name) == (2, VersionStatus.DRAFT, "测试事项")
    with pytest.raises(RuleViolation) as refused:
        actions.service_version_draft(acting_user=admin, service=published.service)
    assert (refused.value.code, refused.value.status) == ("draft_exists", 409)
    assert published.service.versions.count() == 2


def test_publishing_moves_the_current_version_and_keeps_the_old_row(role_users: dict[str, Any]) -> None:
    # Given version 1 published (an application would keep this version)
    first = published_item("T-MOVE")
    snapshot = ServiceVersion.objects.filter(pk=first.pk).values().get()
    admin = role_users["department_admin"]
    # When version 2 is drafted, changed and published
    draft = actions.service_version_draft(acting_user=admin, service=first.service)
    actions.service_version_update(acting_user=admin, version=draft, name="新名称", promised_days=3)
    actions.service_version_publish(acting_user=admin, version=draft)
    # Then the service points at version 2 and version 1 is retired, its content unchanged
    service = Service.objects.get(code="T-MOVE")
    assert service.current_version_id == draft.pk
    retired = ServiceVersion.objects.filter(pk=first.pk).values().get()
    assert retired["status"] == VersionStatus.RETIRED
    assert {**retired, "status": snapshot["status"]} == snapshot
    assert ServiceVersion.objects.get(pk=draft.pk).status == VersionStatus.PUBLISHED


def test_a_new_publication_is_seen_by_a_process_that_cached_the_old_one(role_users: dict[str, Any]) -> None:
    # Given version 1 published and looked up (the process keeps published versions)
    first = published_item("T-CACHE")
    assert selectors.published_service("T-CACHE")[1].pk == first.pk
    admin = role_users["department_admin"]
    # When version 2 is published
    draft = actions.service_version_draft(acting_user=admin, service=first.service)
    actions.service_version_update(acting_user=admin, version=draft, name="第二版")
    actions.service_version_publish(acting_user=admin, version=draft)
    # Then the next look-up answers version 2, with its content
    service, version = selectors.published_service("T-CACHE")
    assert (version.pk, version.number, version.name) == (draft.pk, 2, "第二版")
    assert service.code == "T-CACHE"


def test_publication_lists_every_problem_at_once(role_users: dict[str, Any]) -> None:
    # Administrative Licensing Law Art. 42: the promised limit may not exceed the statutory one.
    draft = actions.service_create(
        acting_user=None,
        code="T-BAD",
        kind="item",
        department_code="TDEPT",
        **item_fields(
            promised_days=30,
            statutory_days=20,
            audience=[],
            channels=[],
            form_schema={"type": "array", "x-order": ["nope"]},
        ),
    )
    with pytest.raises(FieldErrors) as refused:
        actions.service_version_publish(acting_user=role_users["department_admin"], version=draft)
    codes = {error.code for error in refused.value.errors}
    assert {
        "promised_exceeds_statutory",
        "audience_required",
        "channels_invalid",
        "schema_not_object",
    } <= codes
    assert refused.value.code == "version_not_publishable"
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT
    assert draft.service.current_version is None


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"audience": ["aliens"]}, "audience_invalid"),
        ({"channels": ["fax"]}, "channels_invalid"),
        ({"statutory_days": -1}, "statutory_days_invalid"),
        ({"category": "nonsense"}, "category_invalid"),
        ({"materials": [{"code": "a"}]}, "materials_invalid"),
        (
            {"materials": [{"code": "a", "name": "甲"}, {"code": "a", "name": "乙"}]},
            "materials_duplicate_code",
        ),
        ({"colour": "red"}, "unknown_field"),
    ],
)
def test_fields_are_checked_on_update(role_users: dict[str, Any], fields: dict[str, Any], code: str) -> None:
    draft = actions.service_create(
        acting_user=None, code="T-FLD", kind="item", department_code="TDEPT", **item_fields()
    )
    with pytest.raises(RuleViolation) as refused:
        actions.service_version_update(acting_user=role_users["department_admin"], version=draft, **fields)
    assert refused.value.code == code


def test_a_bundle_merges_its_components_forms_and_materials(role_users: dict[str, Any]) -> None:
    # 一件事一次办: one form, one de-duplicated materials list.
    published_item("T-I1")
    published_item(
        "T-I2",
        materials=[
            {"code": "id_card", "name": "居民身份证"},
            {"code": "photo", "name": "照片", "required": False},
        ],
        form_schema={
            "type": "object",
            "properties": {
                "full_name": {"type": "string", "title": "姓名"},
                "age": {"type": "integer", "title": "年龄"},
            },
            "required": ["age"],
        },
    )
    admin = role_users["department_admin"]
    draft = actions.service_create(
        acting_user=admin, code="T-B", kind="bundle", department_code="TDEPT", **item_fields(form_schema={})
    )
    actions.bundle_components_set(acting_user=admin, version=draft, item_codes=["T-I1", "T-I2"])
    published = actions.service_version_publish(acting_user=admin, version=draft)
    assert published.form_schema_merged is True
    assert list(published.form_schema["properties"]) == ["full_name", "age"]
    assert sorted(published.form_schema["required"]) == ["age", "full_name"]
    assert [m["code"] for m in published.materials] == ["id_card", "photo"]
    # The next draft merges again rather than keeping the merged copy as its own form.
    second = actions.service_version_draft(acting_user=admin, service=published.service)
    assert second.form_schema == {}
    assert [link.item_version.service.code for link in second.component_links.all()] == ["T-I1", "T-I2"]


def test_a_bundle_keeps_its_own_designed_form(role_users: dict[str, Any]) -> None:
    published_item("T-I3")
    own = {"type": "object", "properties": {"x": {"type": "string", "title": "甲"}}, "required": ["x"]}
    draft = actions.service_create(
        acting_user=None, code="T-B2", kind="bundle", department_code="TDEPT", **item_fields(form_schema=own)
    )
    actions.bundle_components_set(acting_user=None, version=draft, item_codes=["T-I3"])
    published = actions.service_version_publish(acting_user=role_users["department_admin"], version=draft)
    assert (published.form_schema, published.form_schema_merged) == (own, False)
    assert [m["code"] for m in published.materials] == ["id_card"]


def test_bundle_components_must_be_published_items(role_users: dict[str, Any]) -> None:
    actions.service_create(
        acting_user=None, code="T-UNPUB", kind="item", department_code="TDEPT", **item_fields()
    )
    draft = actions.service_create(
        acting_user=None, code="T-B3", kind="bundle", department_code="TDEPT", **item_fields(form_schema={})
    )
    with pytest.raises(RuleViolation) as refused:
        actions.bundle_components_set(acting_user=None, version=draft, item_codes=["T-UNPUB"])
    assert refused.value.code == "component_not_published"
    with pytest.raises(FieldErrors) as empty:
        actions.service_version_publish(acting_user=role_users["department_admin"], version=draft)
    assert "bundle_components_required" in {error.code for error in empty.value.errors}


def test_a_retired_component_stops_a_bundle_draft_from_publishing(role_users: dict[str, Any]) -> None:
    item = published_item("T-I4")
    bundle = actions.service_create(
        acting_user=None, code="T-B4", kind="bundle", department_code="TDEPT", **item_fields(form_schema={})
    )
    actions.bundle_components_set(acting_user=None, version=bundle, item_codes=["T-I4"])
    newer = actions.service_version_draft(acting_user=None, service=item.service)
    actions.service_version_publish(acting_user=None, version=newer)
    with pytest.raises(FieldErrors) as refused:
        actions.service_version_publish(acting_user=None, version=bundle)
    assert "component_not_published" in {error.code for error in refused.value.errors}


def test_a_service_code_is_unique(role_users: dict[str, Any]) -> None:
    published_item("T-UNIQ")
    with pytest.raises(RuleViolation) as refused:
        actions.service_create(
            acting_user=None, code="T-UNIQ", kind="item", department_code="TDEPT", **item_fields()
        )
    assert (refused.value.code, refused.value.status) == ("service_code_taken", 409)
