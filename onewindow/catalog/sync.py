"""Keeping the catalog in step with the code: the classification tree and the built-in entries.

:func:`catalog_sync` is idempotent. It makes sure the classification's catalogs and items exist
(reference data), then for each built-in entry of ``catalog.builtin``: creates the resource if it is
missing, publishes a new version when what the code describes differs from the current version, and
withdraws the result data of a service item that is no longer published. It runs after every ``migrate``
(``post_migrate``, so a deployment's catalog follows its code), from the demo loader, and as
``manage.py catalog_sync``. Every change goes through the actions (audited as ``system``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from onewindow.audit.actions import audit_append
from onewindow.catalog import actions, builtin
from onewindow.catalog.models import CatalogKind, Classification, Resource, ResourceStatus
from onewindow.core.logging import get_logger
from onewindow.organisations.models import Department

logger = get_logger(__name__)

# (code, name, English name): the catalogs and the base and thematic items of the 2017 catalog guide.
CLASSIFICATIONS: tuple[tuple[str, str, str], ...] = (
    ("1", "基础信息资源目录", "Base information resources"),
    ("101", "人口基础信息", "Population"),
    ("102", "法人单位基础信息", "Legal entities"),
    ("103", "自然资源和空间地理基础信息", "Natural resources and spatial geography"),
    ("104", "社会信用基础信息", "Social credit"),
    ("105", "电子证照基础信息", "Electronic licences"),
    ("2", "主题信息资源目录", "Thematic information resources"),
    ("201", "公共服务", "Public services"),
    ("202", "健康保障", "Health"),
    ("203", "社会保障", "Social security"),
    ("204", "食品药品安全", "Food and drug safety"),
    ("205", "安全生产", "Work safety"),
    ("206", "价格监管", "Price supervision"),
    ("207", "能源安全", "Energy security"),
    ("208", "信用体系", "Credit system"),
    ("209", "城乡建设", "Urban and rural construction"),
    ("210", "社区治理", "Community governance"),
    ("211", "生态环保", "Ecology and environment"),
    ("212", "应急维稳", "Emergencies and stability"),
    ("3", "部门信息资源目录", "Departmental information resources"),
)

SYNC_NOTE = "随平台代码同步 / synchronised with the platform's code"


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    classifications_created: int = 0

    @property
    def resources_changed(self) -> bool:
        return bool(self.created or self.updated or self.withdrawn)

    @property
    def changed(self) -> bool:
        return self.resources_changed or bool(self.classifications_created)


def classifications_ensure() -> int:
    """Create the catalogs and items that are missing (names are corrected); returns how many were new."""
    existing = {
        node.code: node for node in Classification.objects.filter(code__in=[c for c, _, _ in CLASSIFICATIONS])
    }
    created = 0
    for code, name, name_en in CLASSIFICATIONS:
        node = existing.get(code)
        if node is None:
            parent = existing.get(code[0]) if len(code) > 1 else None
            existing[code] = Classification.objects.create(
                code=code, kind=code[0], parent=parent, name=name, name_en=name_en
            )
            created += 1
        elif (node.name, node.name_en) != (name, name_en):
            node.name, node.name_en = name, name_en
            node.save(update_fields=["name", "name_en"])
    return created


def _normalise(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata as the actions store it, for comparing what the code says with the current version."""
    fields, items, themes = actions.clean_metadata(metadata)
    for item in items:
        item.pop("position", None)
    return {**fields, "data_items": items, "theme_codes": [theme.code for theme in themes]}


def _ensure(
    report: SyncReport,
    *,
    key: str,
    department: Department,
    classification_code: str,
    metadata: dict[str, Any],
) -> None:
    resource = Resource.objects.select_related("provider", "current_version").filter(builtin_key=key).first()
    if resource is None:
        created = actions.resource_create(
            acting_user=None,
            provider_department=department.code,
            classification_code=classification_code,
            builtin_key=key,
            **metadata,
        )
        report.created.append(created.code)
        return
    current = resource.current_version
    wanted = _normalise(metadata)
    have = _normalise(actions.current_metadata(current)) if current is not None else None
    if have != wanted or resource.status == ResourceStatus.WITHDRAWN:
        actions.resource_publish_version(
            acting_user=None, resource=resource, change_note=SYNC_NOTE, **metadata
        )
        report.updated.append(resource.code)


def _service_items() -> list[Any]:
    from onewindow.services.models import ServiceKind
    from onewindow.services.selectors import published_services

    return [service for service in published_services() if service.kind == ServiceKind.ITEM]


def catalog_sync() -> SyncReport:
    """Bring the classification and the built-in entries in line with the code (idempotent)."""
    from onewindow.registry.actions import REGISTRY_POPULATION_DEPARTMENT
    from onewindow.registry.entities import REGISTRY_ENTITY_DEPARTMENT

    report = SyncReport()
    with transaction.atomic():
        report.classifications_created = classifications_ensure()
    departments = {department.code: department for department in Department.objects.filter(is_active=True)}
    registries = (
        (
            builtin.POPULATION_KEY,
            REGISTRY_POPULATION_DEPARTMENT,
            builtin.POPULATION_CLASSIFICATION,
            builtin.population_metadata(),
        ),
        (
            builtin.LEGAL_ENTITY_KEY,
            REGISTRY_ENTITY_DEPARTMENT,
            builtin.LEGAL_ENTITY_CLASSIFICATION,
            builtin.legal_entity_metadata(),
        ),
    )
    for key, department_code, classification_code, metadata in registries:
        department = departments.get(department_code)
        if department is None:
            report.skipped.append(f"{key}: department {department_code} missing")
            continue
        _ensure(
            report, key=key, department=department, classification_code=classification_code, metadata=metadata
        )
    published: set[str] = set()
    for service in _service_items():
        version = service.current_version
        department = departments.get(service.department.code)
        if version is None or department is None:
            continue
        key = f"{builtin.SERVICE_KEY_PREFIX}{service.code}"
        published.add(key)
        with transaction.atomic():
            section = actions.departmental_section(department)
            _ensure(
                report,
                key=key,
                department=department,
                classification_code=f"{section.code}{builtin.SERVICE_RESULTS_CATEGORY}",
                metadata=builtin.service_result_metadata(
                    code=service.code,
                    name=version.name,
                    name_en=version.name_en,
                    form_schema=version.form_schema or {},
                ),
            )
    stale = (
        Resource.objects.select_related("provider")
        .filter(builtin_key__startswith=builtin.SERVICE_KEY_PREFIX, status=ResourceStatus.ACTIVE)
        .exclude(builtin_key__in=published)
    )
    for resource in stale:
        actions.resource_withdraw(
            acting_user=None,
            resource=resource,
            reason=f"事项 {resource.builtin_key.removeprefix(builtin.SERVICE_KEY_PREFIX)} 已不再发布"
            " / the service item is no longer published",
        )
        report.withdrawn.append(resource.code)
    # The classification is reference data (re-created after a test database is flushed): only changes to
    # resources are summed up in the audit trail, each having its own record from its action.
    if report.resources_changed:
        audit_append(
            action="catalog.synced",
            acting_user=None,
            actor_username=actions.SYSTEM_ACTOR,
            object_type="catalog",
            details={
                "created": report.created,
                "updated": report.updated,
                "withdrawn": report.withdrawn,
            },
        )
    logger.info(
        "catalog_synced",
        created=len(report.created),
        updated=len(report.updated),
        withdrawn=len(report.withdrawn),
        skipped=report.skipped,
    )
    return report


def sync_after_migrate(using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """``post_migrate`` receiver: sync once the tables it reads exist (a partial migrate skips it)."""
    if using != DEFAULT_DB_ALIAS:
        return
    tables = set(connections[using].introspection.table_names())
    needed = {"catalog_resource", "catalog_classification", "services_service", "organisations_department"}
    if not needed <= tables:
        return
    catalog_sync()


__all__ = ["CLASSIFICATIONS", "CatalogKind", "SyncReport", "catalog_sync", "classifications_ensure"]
