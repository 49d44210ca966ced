"""Every write to the service catalog: create a service, draft, edit, publish, set a bundle's components.

Who may: the administrators of the service's owning department (``Permission.MANAGE_DEPARTMENT`` held in
that department). Nobody else — not the system administrator either: what a department offers, under
which legal basis and within which time limits, is the department's business, and the system
administrator's role is kept apart from it (separation of duties, GB/T 22239-2019 §8.1.4.2). A refusal is
audited and changes nothing. ``acting_user=None`` is a system job (the demo loader): no permission check,
audited as ``system``.

A published version never changes (``version_immutable``); a service has at most one draft at a time
(``draft_exists``); publishing moves ``Service.current_version`` and retires the version it replaces, so
applications made on the old version keep it unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import require_permission
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.organisations.models import Department
from onewindow.services.models import (
    BundleComponent,
    BusinessLine,
    CaseType,
    Category,
    Channel,
    LifeEvent,
    Service,
    ServiceKind,
    ServiceVersion,
    Stage,
    VersionStatus,
)
from onewindow.services.search import search_index_update

SERVICE_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,39}$")
AUDIENCES = ("resident", "enterprise")
MATERIAL_KEYS = frozenset(
    {"code", "name", "name_en", "required", "copies", "shared_resource", "note", "note_en"}
)
MAX_DAYS = 3650
SYSTEM_ACTOR = "system"
_STATUS_ZH: dict[str, str] = {VersionStatus.PUBLISHED: "发布", VersionStatus.RETIRED: "停用"}

# The fields of a version that service_create and service_version_update accept.
VERSION_FIELDS = (
    "name",
    "name_en",
    "summary",
    "summary_en",
    "category",
    "legal_basis",
    "audience",
    "materials",
    "statutory_days",
    "promised_days",
    "fee",
    "fee_en",
    "on_site_trips",
    "stage",
    "channels",
    "case_type",
    "auto_accept",
    "form_schema",
    "process_key",
)
# Copied into a new draft; a bundle's merged form is not (see service_version_draft).
_COPIED_FIELDS = (*VERSION_FIELDS, "form_schema_merged")

_TEXT_LIMITS = {
    "name": (200, "名称", "name"),
    "name_en": (200, "英文名称", "English name"),
    "summary": (10_000, "简介", "summary"),
    "summary_en": (10_000, "英文简介", "English summary"),
    "legal_basis": (20_000, "设定依据", "legal basis"),
    "fee": (200, "收费标准", "fee"),
    "fee_en": (200, "英文收费标准", "English fee"),
    "process_key": (80, "后台流程", "back-office process"),
}
_CHOICES = {
    "category": (Category.values, "事项类型", "category"),
    "stage": (Stage.values, "成熟度阶段", "maturity stage"),
    "case_type": (CaseType.values, "办件类型", "case type"),
}
_DAYS = {
    "statutory_days": ("法定办结时限", "statutory limit"),
    "promised_days": ("承诺办结时限", "promised limit"),
    "on_site_trips": ("到现场次数", "number of on-site trips"),
}


# --- Permission -------------------------------------------------------------------------------------


def _require_manager(acting_user: User | None, department_code: str, *, object_id: str) -> None:
    """Refuse (audited) unless ``acting_user`` administers ``department_code``; None is a system job."""
    if acting_user is not None:
        require_permission(
            acting_user,
            Permission.MANAGE_DEPARTMENT,
            department_code=department_code,
            object_type="service",
            object_id=object_id,
        )


def _audit(
    acting_user: User | None, action: str, *, object_id: str, details: dict[str, Any], department_code: str
) -> None:
    audit_append(
        action=action,
        acting_user=acting_user,
        actor_username="" if acting_user else SYSTEM_ACTOR,
        object_type="service",
        object_id=object_id,
        details=details,
        department_code=department_code,
    )


# --- Field checks -------------------------------------------------------------------------------------


def _invalid(field: str, zh: str, en: str, code: str = "") -> RuleViolation:
    return RuleViolation(code or f"{field}_invalid", zh, en, field=field)


def _clean_text(field: str, value: object) -> str:
    limit, zh, en = _TEXT_LIMITS[field]
    if not isinstance(value, str):
        raise _invalid(field, f"{zh}应为文本。", f"The {en} must be text.")
    text = value.strip()
    if field == "name" and not text:
        raise RuleViolation("name_required", "请填写事项名称。", "Enter the service's name.", field=field)
    if len(text) > limit:
        raise RuleViolation(
            f"{field}_too_long",
            f"{zh}不能超过 {limit} 个字符（现有 {len(text)} 个）。",
            f"The {en} can have at most {limit} characters (it has {len(text)}).",
            field=field,
        )
    return text


def _clean_days(field: str, value: object) -> int:
    zh, en = _DAYS[field]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise _invalid(
            field, f"{zh}应为 0–{MAX_DAYS} 的整数。", f"The {en} must be a whole number from 0 to {MAX_DAYS}."
        )
    return value


def _clean_choice(field: str, value: object) -> str:
    allowed, zh, en = _CHOICES[field]
    if value not in allowed:
        raise _invalid(
            field,
            f"{zh}“{value}”无效，可选：{'、'.join(allowed)}。",
            f"The {en} '{value}' is not valid; choose one of {', '.join(allowed)}.",
        )
    return str(value)


def _clean_string_list(field: str, value: object, allowed: Iterable[str], zh: str, en: str) -> list[str]:
    allowed = tuple(allowed)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _invalid(field, f"{zh}应为文本列表。", f"The {en} must be a list of text values.")
    unknown = [item for item in value if item not in allowed]
    if unknown:
        raise _invalid(
            field,
            f"{zh}中的“{unknown[0]}”无效，可选：{'、'.join(allowed)}。",
            f"'{unknown[0]}' is not a valid {en}; choose from {', '.join(allowed)}.",
        )
    return list(dict.fromkeys(value))


def _clean_materials(value: object) -> list[dict[str, Any]]:
    field = "materials"
    if not isinstance(value, list):
        raise _invalid(field, "材料清单应为列表。", "The materials must be a list.")
    cleaned: list[dict[str, Any]] = []
    codes: set[str] = set()
    for position, material in enumerate(value, start=1):
        if not isinstance(material, dict):
            raise _invalid(
                field, f"第 {position} 项材料格式不正确。", f"Material {position} is not an object."
            )
        code, name = material.get("code"), material.get("name")
        if not isinstance(code, str) or not code.strip() or not isinstance(name, str) or not name.strip():
            raise _invalid(
                field,
                f"第 {position} 项材料须有代码（code）和名称（name）。",
                f"Material {position} needs a code and a name.",
            )
        unknown = sorted(set(material) - MATERIAL_KEYS)
        if unknown:
            raise _invalid(
                field,
                f"第 {position} 项材料含有未知的属性：{', '.join(unknown)}。",
                f"Material {position} has unknown keys: {', '.join(unknown)}.",
            )
        if code in codes:
            raise _invalid(
                field,
                f"材料代码“{code}”重复。",
                f"Material code '{code}' appears twice.",
                code="materials_duplicate_code",
            )
        codes.add(code)
        cleaned.append(dict(material))
    return cleaned


def clean_version_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Check the type and shape of each given version field; publication checks how they fit together."""
    unknown = sorted(set(fields) - set(VERSION_FIELDS))
    if unknown:
        raise RuleViolation(
            "unknown_field",
            f"未知的字段：{', '.join(unknown)}。",
            f"Unknown fields: {', '.join(unknown)}.",
            field=unknown[0],
        )
    cleaned: dict[str, Any] = {}
    for field, value in fields.items():
        if field in _TEXT_LIMITS:
            cleaned[field] = _clean_text(field, value)
        elif field in _CHOICES:
            cleaned[field] = _clean_choice(field, value)
        elif field in _DAYS:
            cleaned[field] = _clean_days(field, value)
        elif field == "audience":
            cleaned[field] = _clean_string_list(field, value, AUDIENCES, "服务对象", "audience")
        elif field == "channels":
            cleaned[field] = _clean_string_list(field, value, Channel.values, "办理渠道", "channel")
        elif field == "materials":
            cleaned[field] = _clean_materials(value)
        elif field == "auto_accept":
            if not isinstance(value, bool):
                raise _invalid(field, "“自动受理”应为是或否。", "Automatic acceptance must be true or false.")
            cleaned[field] = value
        elif field == "form_schema":
            if not isinstance(value, dict):
                raise _invalid(field, "表单应为 JSON 对象。", "The form must be a JSON object.")
            cleaned[field] = value
    return cleaned


# --- Lookups --------------------------------------------------------------------------------------------


def _locked_service(service: Service) -> Service:
    return Service.objects.select_for_update(of=("self",)).select_related("department").get(pk=service.pk)


def _locked_draft(version: ServiceVersion) -> ServiceVersion:
    locked = (
        ServiceVersion.objects.select_for_update(of=("self",))
        .select_related("service", "service__department")
        .get(pk=version.pk)
    )
    if locked.status != VersionStatus.DRAFT:
        raise RuleViolation(
            "version_immutable",
            f"{locked.service.code} 第 {locked.number} 版已{_STATUS_ZH.get(locked.status, '发布')}，"
            "不能修改；请新建草稿。",
            f"Version {locked.number} of {locked.service.code} is {locked.status} and cannot change; "
            "start a new draft.",
            status=409,
        )
    return locked


def _department(code: str) -> Department:
    department = Department.objects.filter(code=code, is_active=True).first()
    if department is None:
        raise RuleViolation(
            "department_not_found",
            f"部门 {code} 不存在或已停用。",
            f"Department {code} does not exist or is inactive.",
            field="department_code",
        )
    return department


def _life_events(codes: Iterable[str]) -> list[LifeEvent]:
    wanted = list(dict.fromkeys(codes))
    found = {event.code: event for event in LifeEvent.objects.filter(code__in=wanted)}
    missing = [code for code in wanted if code not in found]
    if missing:
        raise RuleViolation(
            "life_event_not_found",
            f"主题（人生事件）{', '.join(missing)} 不存在。",
            f"Life event {', '.join(missing)} does not exist.",
            field="life_event_codes",
        )
    return [found[code] for code in wanted]


# --- Actions --------------------------------------------------------------------------------------------


def service_create(
    *,
    acting_user: User | None,
    code: str,
    kind: str,
    department_code: str,
    business_line_code: str | None = None,
    life_event_codes: Iterable[str] = (),
    **version_fields: Any,
) -> ServiceVersion:
    """Create a service item or bundle owned by ``department_code``, with its first version as a draft."""
    code = code.strip().upper()
    _require_manager(acting_user, department_code, object_id=code)
    if not SERVICE_CODE.match(code):
        raise RuleViolation(
            "service_code_format",
            "事项代码应为 2–40 位大写字母、数字、连字符或下划线。",
            "A service code has 2–40 capital letters, digits, hyphens or underscores.",
            field="code",
        )
    if kind not in ServiceKind.values:
        raise RuleViolation(
            "service_kind_invalid",
            f"事项类别“{kind}”无效，可选：item、bundle。",
            f"Service kind '{kind}' is not valid; choose item or bundle.",
            field="kind",
        )
    if "name" not in version_fields:
        raise RuleViolation("name_required", "请填写事项名称。", "Enter the service's name.", field="name")
    fields = clean_version_fields(version_fields)
    department = _department(department_code)
    business_line = None
    if business_line_code:
        business_line = BusinessLine.objects.filter(code=business_line_code).first()
        if business_line is None:
            raise RuleViolation(
                "business_line_not_found",
                f"业务事项 {business_line_code} 不存在。",
                f"Business line {business_line_code} does not exist.",
                field="business_line_code",
            )
    life_events = _life_events(life_event_codes)
    taken = RuleViolation(
        "service_code_taken",
        f"事项代码 {code} 已被使用。",
        f"Service code {code} is already in use.",
        field="code",
        status=409,
    )
    if Service.objects.filter(code=code).exists():
        raise taken
    try:
        with transaction.atomic():
            service = Service.objects.create(
                code=code, kind=kind, department=department, business_line=business_line
            )
            service.life_events.set(life_events)
            version = ServiceVersion.objects.create(
                service=service, number=1, created_by=acting_user, **fields
            )
            _audit(
                acting_user,
                "service.created",
                object_id=code,
                department_code=department.code,
                details={
                    "kind": kind,
                    "department": department.code,
                    "business_line": business_line_code or "",
                    "life_events": [event.code for event in life_events],
                    "fields": sorted(fields),
                },
            )
    except IntegrityError:
        raise taken from None
    return version


def service_version_draft(*, acting_user: User | None, service: Service) -> ServiceVersion:
    """Start a new draft copied from the service's latest version (one draft at a time).

    A bundle's draft lists the components' current published versions, and drops a form that was merged
    at publication, so publishing merges again from the components as they are now.
    """
    _require_manager(acting_user, service.department.code, object_id=service.code)
    with transaction.atomic():
        locked = _locked_service(service)
        latest = locked.versions.order_by("-number").first()
        if latest is None:  # pragma: no cover - service_create always makes version 1
            raise RuleViolation("version_missing", "该事项没有版本。", "The service has no version.")
        if latest.status == VersionStatus.DRAFT:
            raise RuleViolation(
                "draft_exists",
                f"{locked.code} 已有草稿（第 {latest.number} 版），请先编辑或发布它。",
                f"{locked.code} already has a draft (version {latest.number}); edit or publish it first.",
                status=409,
            )
        values = {field: getattr(latest, field) for field in _COPIED_FIELDS}
        if latest.form_schema_merged:
            values.update(form_schema={}, form_schema_merged=False)
        draft = ServiceVersion.objects.create(
            service=locked, number=latest.number + 1, created_by=acting_user, **values
        )
        if locked.kind == ServiceKind.BUNDLE:
            links = BundleComponent.objects.filter(bundle_version=latest).select_related(
                "item_version__service__current_version"
            )
            BundleComponent.objects.bulk_create(
                BundleComponent(
                    bundle_version=draft,
                    item_version=link.item_version.service.current_version or link.item_version,
                    order=link.order,
                )
                for link in links
            )
        _audit(
            acting_user,
            "service.version_drafted",
            object_id=locked.code,
            department_code=locked.department.code,
            details={"version": draft.number, "from_version": latest.number},
        )
    return draft


def service_version_update(
    *, acting_user: User | None, version: ServiceVersion, **fields: Any
) -> ServiceVersion:
    """Change fields of a draft; published and retired versions are immutable (409 version_immutable)."""
    service = version.service
    _require_manager(acting_user, service.department.code, object_id=service.code)
    cleaned = clean_version_fields(fields)
    with transaction.atomic():
        locked = _locked_draft(version)
        changed = [field for field, value in cleaned.items() if getattr(locked, field) != value]
        for field in changed:
            setattr(locked, field, cleaned[field])
        if changed:
            locked.save(update_fields=changed)
            _audit(
                acting_user,
                "service.version_updated",
                object_id=service.code,
                department_code=service.department.code,
                details={"version": locked.number, "changed": sorted(changed)},
            )
    return locked


def bundle_components_set(
    *, acting_user: User | None, version: ServiceVersion, item_codes: Iterable[str]
) -> ServiceVersion:
    """Make a bundle draft combine the current published versions of ``item_codes``, in that order."""
    service = version.service
    _require_manager(acting_user, service.department.code, object_id=service.code)
    codes = [code.strip().upper() for code in item_codes]
    if service.kind != ServiceKind.BUNDLE:
        raise RuleViolation(
            "not_a_bundle",
            f"{service.code} 不是“一件事”，不能设置组成事项。",
            f"{service.code} is not a bundle and has no components.",
            field="item_codes",
        )
    if not codes or len(set(codes)) != len(codes):
        raise RuleViolation(
            "bundle_components_invalid",
            "请列出至少一个组成事项，且不要重复。",
            "List at least one component item, each once.",
            field="item_codes",
        )
    items = {
        item.code: item for item in Service.objects.filter(code__in=codes).select_related("current_version")
    }
    for code in codes:
        item = items.get(code)
        if item is None or item.kind != ServiceKind.ITEM or item.current_version is None:
            raise RuleViolation(
                "component_not_published",
                f"{code} 不是已发布的单项事项，不能作为组成事项。",
                f"{code} is not a published service item, so it cannot be a component.",
                field="item_codes",
            )
    with transaction.atomic():
        locked = _locked_draft(version)
        BundleComponent.objects.filter(bundle_version=locked).delete()
        BundleComponent.objects.bulk_create(
            BundleComponent(bundle_version=locked, item_version=items[code].current_version, order=order)
            for order, code in enumerate(codes)
        )
        _audit(
            acting_user,
            "service.bundle_components_set",
            object_id=service.code,
            department_code=service.department.code,
            details={
                "version": locked.number,
                "components": [f"{code} v{items[code].current_version.number}" for code in codes],  # type: ignore[union-attr]
            },
        )
    return locked


def _schema_problems(schema: dict[str, Any]) -> list[FieldError]:
    from onewindow.forms.validation import check_schema

    return [
        FieldError(
            f"form_schema.{problem.field}".rstrip("."), problem.code, problem.message_zh, problem.message_en
        )
        for problem in check_schema(schema)
    ]


def _publication_problems(version: ServiceVersion, components: list[ServiceVersion]) -> list[FieldError]:
    problems: list[FieldError] = []
    if version.service.kind == ServiceKind.BUNDLE:
        if not components:
            problems.append(
                FieldError(
                    "item_codes",
                    "bundle_components_required",
                    "“一件事”须至少包含一个组成事项。",
                    "A bundle needs at least one component item.",
                )
            )
        problems.extend(
            FieldError(
                "item_codes",
                "component_not_published",
                f"组成事项 {item.service.code} 第 {item.number} 版不是已发布的单项事项，请重新选择组成事项。",
                f"Component {item.service.code} version {item.number} is not a published item; "
                "choose the components again.",
            )
            for item in components
            if item.status != VersionStatus.PUBLISHED or item.service.kind != ServiceKind.ITEM
        )
    problems.extend(_schema_problems(version.form_schema))
    if version.promised_days > version.statutory_days:
        problems.append(
            FieldError(
                "promised_days",
                "promised_exceeds_statutory",
                f"承诺办结时限（{version.promised_days} 个工作日）不能超过法定办结时限"
                f"（{version.statutory_days} 个工作日）。",
                f"The promised limit ({version.promised_days} working days) cannot exceed the statutory "
                f"limit ({version.statutory_days} working days).",
            )
        )
    if not version.audience:
        problems.append(
            FieldError("audience", "audience_required", "请选择服务对象。", "Choose who the service is for.")
        )
    invalid_channels = [channel for channel in version.channels if channel not in Channel.values]
    if not version.channels or invalid_channels:
        problems.append(
            FieldError(
                "channels",
                "channels_invalid",
                f"请选择办理渠道（可选：{'、'.join(Channel.values)}）。",
                f"Choose the channels ({', '.join(Channel.values)}).",
            )
        )
    return problems


def service_version_publish(*, acting_user: User | None, version: ServiceVersion) -> ServiceVersion:
    """Publish a draft: check it, fix a bundle's merged form and materials, make it current, index it.

    Checks (all problems at once, as ``FieldErrors`` ``version_not_publishable``): the form passes
    ``check_schema``; promised ≤ statutory days; an audience; valid channels; a bundle's components are
    published items. A bundle's materials are the merge of its components'; its form too, unless the
    draft carries a form of its own (one an administrator designed). The version it replaces is retired.
    """
    from onewindow.forms.merge import merge_materials, merge_schemas

    service = version.service
    _require_manager(acting_user, service.department.code, object_id=service.code)
    with transaction.atomic():
        locked_service = _locked_service(service)
        locked = _locked_draft(version)
        components = [
            link.item_version
            for link in BundleComponent.objects.filter(bundle_version=locked).select_related(
                "item_version__service"
            )
        ]
        update_fields = ["status", "published_at", "published_by"]
        if locked_service.kind == ServiceKind.BUNDLE and components:
            locked.materials = merge_materials([item.materials for item in components])
            update_fields.append("materials")
            if not locked.form_schema:
                locked.form_schema = merge_schemas([item.form_schema for item in components])
                locked.form_schema_merged = True
                update_fields.extend(["form_schema", "form_schema_merged"])
        problems = _publication_problems(locked, components)
        if problems:
            raise FieldErrors(problems, code="version_not_publishable")
        previous = locked_service.current_version
        if previous is not None:
            ServiceVersion.objects.filter(pk=previous.pk).update(status=VersionStatus.RETIRED)
        locked.status = VersionStatus.PUBLISHED
        locked.published_at = timezone.now()
        locked.published_by = acting_user
        locked.save(update_fields=update_fields)
        locked_service.current_version = locked
        locked_service.save(update_fields=["current_version"])
        search_index_update(service=locked_service, version=locked)
        _audit(
            acting_user,
            "service.version_published",
            object_id=locked_service.code,
            department_code=locked_service.department.code,
            details={
                "version": locked.number,
                "retired_version": previous.number if previous else None,
                "components": [f"{item.service.code} v{item.number}" for item in components],
            },
        )
    return locked
