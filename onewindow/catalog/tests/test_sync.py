"""Built-in entries: the registries and every published service item, catalogued from the code and kept in
step with it (issue #7 item 2)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from onewindow.audit.models import AuditRecord
from onewindow.catalog import builtin
from onewindow.catalog.models import Resource, ResourceStatus, ResourceVersion
from onewindow.catalog.sync import catalog_sync

pytestmark = pytest.mark.django_db


def _model_fields(model: Any) -> set[str]:
    return {f"{model.__name__}.{field.name}" for field in model._meta.concrete_fields}


@pytest.mark.parametrize(
    ("models", "items", "excluded"),
    [
        ("Person Household", builtin.POPULATION_ITEMS, builtin.POPULATION_EXCLUDED),
        ("LegalEntity", builtin.LEGAL_ENTITY_ITEMS, builtin.LEGAL_ENTITY_EXCLUDED),
    ],
)
def test_every_registry_field_is_catalogued_or_excluded_with_a_reason(
    models: str, items: dict[str, Any], excluded: dict[str, str]
) -> None:
    """Fails when a registry model gains (or loses) a field the catalog does not follow: map the new field
    to a data item in onewindow/catalog/builtin.py, or exclude it there with the reason."""
    from onewindow.registry import models as registry

    fields: set[str] = set()
    for name in models.split():
        fields |= _model_fields(getattr(registry, name))
    assert not set(items) & set(excluded)
    assert set(items) | set(excluded) == fields, (
        f"not catalogued: {sorted(fields - set(items) - set(excluded))}; "
        f"gone from the model: {sorted(set(items) | set(excluded) - fields)}"
    )


def test_sync_catalogues_the_registries(departments: Any) -> None:
    report = catalog_sync()

    population = Resource.objects.get(builtin_key="population")
    entities = Resource.objects.get(builtin_key="legal_entity")
    assert report.created == [population.code, entities.code]
    assert (population.code, entities.code) == ("101001/000001", "102001/000001")
    assert population.provider.code == "PSB"
    assert entities.provider.code == "AMR"
    version = population.current_version
    assert version is not None
    assert version.name == "人口基础信息"
    assert version.sharing_type == "conditional"
    assert version.open_type == "not_open"
    sources = list(version.data_items.values_list("source_field", flat=True))
    assert sources == list(builtin.POPULATION_ITEMS)
    assert entities.open_type == "conditional"
    assert entities.sharing_type == "unconditional"
    rep = entities.current_version.data_items.get(source_field="LegalEntity.legal_rep")  # type: ignore[union-attr]
    assert rep.sharing_type == "conditional"


def test_sync_is_idempotent(departments: Any) -> None:
    catalog_sync()
    counts = (Resource.objects.count(), ResourceVersion.objects.count(), AuditRecord.objects.count())

    report = catalog_sync()

    assert not report.changed
    assert (Resource.objects.count(), ResourceVersion.objects.count(), AuditRecord.objects.count()) == counts


def test_a_changed_description_publishes_a_new_version(
    departments: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog_sync()
    spec = builtin.POPULATION_ITEMS["Person.name"]
    monkeypatch.setitem(
        builtin.POPULATION_ITEMS,
        "Person.name",
        builtin.ItemSpec("姓名", "Full name", spec.data_type, spec.sharing_type, 60),
    )

    report = catalog_sync()

    population = Resource.objects.get(builtin_key="population")
    assert report.updated == [population.code]
    assert population.current_version is not None
    assert population.current_version.number == 2
    item = population.current_version.data_items.get(source_field="Person.name")
    assert (item.name_en, item.length) == ("Full name", 60)
    assert population.versions.get(number=1).data_items.get(source_field="Person.name").length == 50


def test_registries_are_skipped_until_their_departments_exist(db: None) -> None:
    report = catalog_sync()
    assert report.skipped == ["population: department PSB missing", "legal_entity: department AMR missing"]
    assert not Resource.objects.exists()


def test_published_service_items_are_catalogued_and_follow_their_versions(
    role_users: Any, departments: Any
) -> None:
    from onewindow.services import actions as service_actions
    from onewindow.services.tests.conftest import published_item

    # Given a published service item of TDEPT with a one-field form
    published_item("T-JY", name="就业登记", name_en="Employment registration")
    catalog_sync()
    resource = Resource.objects.get(builtin_key="service:T-JY")
    version = resource.current_version
    assert version is not None
    assert resource.provider.code == "TDEPT"
    assert resource.code.endswith("001/000001")
    assert version.name == "就业登记办理结果信息"
    assert version.name_en == "Results of: Employment registration"
    names = list(version.data_items.values_list("name", flat=True))
    assert names == ["办件编号", "申请人名称", "申请人证件号码", "申请时间", "办结时间", "办理结果", "姓名"]

    # When the item publishes a version with another form field, the catalog follows at the next sync
    from onewindow.services.models import Service

    draft = service_actions.service_version_draft(acting_user=None, service=Service.objects.get(code="T-JY"))
    service_actions.service_version_update(
        acting_user=None,
        version=draft,
        form_schema={
            "type": "object",
            "properties": {
                "full_name": {"type": "string", "title": "姓名"},
                "start_date": {
                    "type": "string",
                    "format": "date",
                    "title": "就业日期",
                    "x-title-en": "Start date",
                },
            },
        },
    )
    service_actions.service_version_publish(acting_user=None, version=draft)
    report = catalog_sync()
    resource.refresh_from_db()
    assert report.updated == [resource.code]
    added = resource.current_version.data_items.get(name="就业日期")  # type: ignore[union-attr]
    assert (added.data_type, added.name_en, added.source_field) == ("D", "Start date", "form.start_date")


def test_an_item_no_longer_published_is_withdrawn_and_comes_back(
    role_users: Any, departments: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onewindow.catalog import sync
    from onewindow.services.tests.conftest import published_item

    published_item("T-JY", name="就业登记")
    catalog_sync()
    items = sync._service_items()
    monkeypatch.setattr(sync, "_service_items", list)

    report = catalog_sync()

    resource = Resource.objects.get(builtin_key="service:T-JY")
    assert report.withdrawn == [resource.code]
    assert resource.status == ResourceStatus.WITHDRAWN

    monkeypatch.setattr(sync, "_service_items", lambda: items)
    report = catalog_sync()
    resource.refresh_from_db()
    assert report.updated == [resource.code]
    assert resource.status == ResourceStatus.ACTIVE
    assert resource.versions.count() == 2


def test_the_command_reports_what_it_did(departments: Any) -> None:
    out = StringIO()
    call_command("catalog_sync", stdout=out)
    assert "2 created, 0 updated, 0 withdrawn" in out.getvalue()
    out = StringIO()
    call_command("catalog_sync", stdout=out)
    assert "(nothing changed)" in out.getvalue()
    record = AuditRecord.objects.get(action="catalog.synced")
    assert record.actor_username == "system"
    assert record.details["created"] == [
        "101001/000001",
        "102001/000001",
    ]


def test_the_demo_loader_catalogues_the_demo(tmp_path: Any, settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from onewindow.demo.actions import demo_load

    demo_load(accounts_path=tmp_path / "accounts.json")

    keys = set(Resource.objects.values_list("builtin_key", flat=True))
    assert {"population", "legal_entity", "service:PSB-CSDJ"} <= keys
    from onewindow.services.models import Service, ServiceKind

    items = Service.objects.filter(kind=ServiceKind.ITEM, current_version__isnull=False).count()
    assert len([key for key in keys if key.startswith("service:")]) == items
