"""Every write to the resource catalog: create a resource, publish a new version, withdraw it.

Who may: the administrators of the provider department (``Permission.MANAGE_DEPARTMENT`` held in that
department) and the system administrators (``Permission.MANAGE_SYSTEM``), who keep the platform-wide
catalog. Nobody else; a refusal is audited and changes nothing. ``acting_user=None`` is a system job
(``catalog.sync``, the demo loader): no permission check, audited as ``system``.

Each action is one transaction that also writes its audit record. A version, once published, never
changes: publishing a change creates version n + 1 and moves ``Resource.current_version``. Entries the
platform keeps in step with its code (``builtin_key``) are changed by the sync only.

Metadata is checked field by field (GB/T 21063.3 core metadata; State Council 2016 No. 51 Art. 5 and 9):
every missing mandatory field and every invalid value is reported at once, as a ``FieldErrors`` with one
bilingual entry per field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.catalog import codes
from onewindow.catalog.models import (
    SHARING_ORDER,
    CatalogKind,
    Classification,
    DataItem,
    DataType,
    OpenType,
    Resource,
    ResourceFormat,
    ResourceStatus,
    ResourceVersion,
    SharingMethod,
    SharingType,
    UpdateCycle,
)
from onewindow.catalog.search import search_index_update
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.organisations.models import Department

SYSTEM_ACTOR = "system"
OBJECT_TYPE = "catalog_resource"
MAX_DATA_ITEMS = 500
MAX_DEPARTMENT_SECTIONS = 99

# The metadata a version carries, as resource_create and resource_publish_version accept it.
METADATA_FIELDS = (
    "name",
    "name_en",
    "abstract",
    "abstract_en",
    "format",
    "sharing_type",
    "sharing_condition",
    "sharing_method",
    "open_type",
    "open_condition",
    "update_cycle",
    "data_items",
    "related_codes",
    "theme_codes",
)
DATA_ITEM_KEYS = frozenset(
    {"name", "name_en", "data_type", "length", "sharing_type", "description", "source_field"}
)

# field: (maximum length, Chinese label, English label); the mandatory ones are in _REQUIRED.
_TEXT = {
    "name": (200, "资源名称", "name"),
    "name_en": (200, "英文名称", "English name"),
    "abstract": (5_000, "资源摘要", "abstract"),
    "abstract_en": (5_000, "英文摘要", "English abstract"),
    "sharing_condition": (2_000, "共享条件", "sharing condition"),
    "open_condition": (2_000, "开放条件", "open condition"),
}
_CHOICES: dict[str, tuple[list[str], str, str]] = {
    "format": (ResourceFormat.values, "资源格式", "format"),
    "sharing_type": (SharingType.values, "共享类型", "sharing type"),
    "sharing_method": (SharingMethod.values, "共享方式", "sharing method"),
    "open_type": (OpenType.values, "开放属性", "open attribute"),
    "update_cycle": (UpdateCycle.values, "更新周期", "update cycle"),
}
_REQUIRED = ("name", "abstract", "format", "sharing_type", "open_type", "update_cycle")


# --- Permission and audit -------------------------------------------------------------------------------


def may_manage(user: User, department_code: str) -> bool:
    """True if ``user`` may catalogue resources provided by ``department_code``."""
    return user_has_permission(
        user, Permission.MANAGE_DEPARTMENT, department_code=department_code
    ) or user_has_permission(user, Permission.MANAGE_SYSTEM)


def _require_manager(acting_user: User | None, department_code: str, *, object_id: str) -> None:
    """Refuse (audited) unless ``acting_user`` may manage the provider's entries; None is a system job."""
    if acting_user is not None and not may_manage(acting_user, department_code):
        raise permission_denied(
            acting_user, Permission.MANAGE_DEPARTMENT, object_type=OBJECT_TYPE, object_id=object_id
        )


def _audit(acting_user: User | None, action: str, *, resource: Resource, details: dict[str, Any]) -> None:
    audit_append(
        action=action,
        acting_user=acting_user,
        actor_username="" if acting_user else SYSTEM_ACTOR,
        object_type=OBJECT_TYPE,
        object_id=resource.code,
        details=details,
        department_code=resource.provider.code,
    )


# --- Metadata checks ------------------------------------------------------------------------------------


def _missing(field: str, zh: str, en: str) -> FieldError:
    return FieldError(field, f"{field}_required", f"请填写{zh}。", f"Enter the {en}.")


def _clean_text(field: str, value: object, errors: list[FieldError]) -> str:
    limit, zh, en = _TEXT[field]
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.append(FieldError(field, f"{field}_invalid", f"{zh}应为文本。", f"The {en} must be text."))
        return ""
    text = value.strip()
    if len(text) > limit:
        errors.append(
            FieldError(
                field,
                f"{field}_too_long",
                f"{zh}不能超过 {limit} 个字符（现有 {len(text)} 个）。",
                f"The {en} can have at most {limit} characters (it has {len(text)}).",
            )
        )
    return text


def _clean_choice(field: str, value: object, errors: list[FieldError]) -> str:
    allowed, zh, en = _CHOICES[field]
    if value in (None, ""):
        return ""
    if value not in allowed:
        errors.append(
            FieldError(
                field,
                f"{field}_invalid",
                f"{zh}“{value}”无效，可选：{'、'.join(allowed)}。",
                f"The {en} '{value}' is not valid; choose one of {', '.join(allowed)}.",
            )
        )
        return ""
    return str(value)


def _clean_items(value: object, sharing_type: str, errors: list[FieldError]) -> list[dict[str, Any]]:
    """The data items, each checked; an item's sharing type defaults to the resource's and may not be
    more open than it (an unconditional item in a conditional resource would be shared without the
    conditions)."""
    field = "data_items"
    if value is None or value == []:
        errors.append(
            FieldError(
                field,
                "data_items_required",
                "请至少填写一个信息项（名称和数据类型）。",
                "Enter at least one data item (its name and data type).",
            )
        )
        return []
    if not isinstance(value, list):
        errors.append(
            FieldError(field, "data_items_invalid", "信息项应为列表。", "The data items must be a list.")
        )
        return []
    if len(value) > MAX_DATA_ITEMS:
        errors.append(
            FieldError(
                field,
                "data_items_too_many",
                f"信息项不能超过 {MAX_DATA_ITEMS} 个。",
                f"A resource can have at most {MAX_DATA_ITEMS} data items.",
            )
        )
        return []
    cleaned: list[dict[str, Any]] = []
    names: set[str] = set()
    for position, raw in enumerate(value, start=1):
        path = f"{field}.{position}"
        if not isinstance(raw, Mapping):
            errors.append(
                FieldError(
                    path,
                    "data_item_invalid",
                    f"第 {position} 个信息项格式不正确。",
                    f"Data item {position} is not an object.",
                )
            )
            continue
        unknown = sorted(set(raw) - DATA_ITEM_KEYS)
        if unknown:
            errors.append(
                FieldError(
                    path,
                    "data_item_unknown_key",
                    f"第 {position} 个信息项含有未知的属性：{', '.join(unknown)}。",
                    f"Data item {position} has unknown keys: {', '.join(unknown)}.",
                )
            )
        name = raw.get("name")
        name = name.strip() if isinstance(name, str) else ""
        if not name:
            errors.append(
                FieldError(
                    f"{path}.name",
                    "data_item_name_required",
                    f"请填写第 {position} 个信息项的名称。",
                    f"Enter the name of data item {position}.",
                )
            )
        elif len(name) > 100:
            errors.append(
                FieldError(
                    f"{path}.name",
                    "data_item_name_too_long",
                    f"第 {position} 个信息项的名称不能超过 100 个字符。",
                    f"The name of data item {position} can have at most 100 characters.",
                )
            )
        elif name in names:
            errors.append(
                FieldError(
                    f"{path}.name",
                    "data_item_name_duplicate",
                    f"信息项名称“{name}”重复。",
                    f"The data item name '{name}' appears twice.",
                )
            )
        names.add(name)
        data_type = raw.get("data_type")
        if not data_type:
            errors.append(
                FieldError(
                    f"{path}.data_type",
                    "data_item_type_required",
                    f"请选择第 {position} 个信息项的数据类型。",
                    f"Choose the data type of data item {position}.",
                )
            )
        elif data_type not in DataType.values:
            errors.append(
                FieldError(
                    f"{path}.data_type",
                    "data_item_type_invalid",
                    f"第 {position} 个信息项的数据类型“{data_type}”无效，"
                    f"可选：{'、'.join(DataType.values)}。",
                    f"The data type '{data_type}' of data item {position} is not valid; choose one of "
                    f"{', '.join(DataType.values)}.",
                )
            )
        item_sharing = raw.get("sharing_type") or sharing_type
        if not item_sharing:
            pass  # neither the item nor the resource has one: the resource's refusal says so
        elif item_sharing not in SharingType.values:
            errors.append(
                FieldError(
                    f"{path}.sharing_type",
                    "data_item_sharing_invalid",
                    f"第 {position} 个信息项的共享类型“{item_sharing}”无效。",
                    f"The sharing type '{item_sharing}' of data item {position} is not valid.",
                )
            )
        elif (
            sharing_type in SharingType.values
            and SHARING_ORDER[SharingType(item_sharing)] < SHARING_ORDER[SharingType(sharing_type)]
        ):
            errors.append(
                FieldError(
                    f"{path}.sharing_type",
                    "data_item_more_open_than_resource",
                    f"第 {position} 个信息项的共享类型不能比资源本身更开放。",
                    f"Data item {position} cannot be shared more openly than the resource itself.",
                )
            )
        length = raw.get("length")
        if length is not None and (isinstance(length, bool) or not isinstance(length, int) or length < 1):
            errors.append(
                FieldError(
                    f"{path}.length",
                    "data_item_length_invalid",
                    f"第 {position} 个信息项的长度应为正整数。",
                    f"The length of data item {position} must be a positive whole number.",
                )
            )
            length = None
        description = raw.get("description") or ""
        name_en = raw.get("name_en") or ""
        cleaned.append(
            {
                "position": position,
                "name": name,
                "name_en": str(name_en).strip()[:100],
                "data_type": data_type,
                "length": length,
                "sharing_type": item_sharing,
                "description": str(description).strip()[:500],
                "source_field": str(raw.get("source_field") or "")[:100],
            }
        )
    return cleaned


def _clean_related(value: object, own_code: str, errors: list[FieldError]) -> list[str]:
    field = "related_codes"
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        errors.append(
            FieldError(
                field,
                "related_codes_invalid",
                "关联资源代码应为文本列表。",
                "The related resource codes must be a list of text.",
            )
        )
        return []
    wanted = list(dict.fromkeys(code.strip() for code in value if code.strip()))
    bad = [code for code in wanted if not codes.RESOURCE_CODE.match(code)]
    if bad:
        errors.append(
            FieldError(
                field,
                "related_code_format",
                f"关联资源代码“{bad[0]}”格式不正确（应如 101001/000001）。",
                f"The related resource code '{bad[0]}' is not valid (it looks like 101001/000001).",
            )
        )
        return []
    if own_code in wanted:
        errors.append(
            FieldError(
                field, "related_code_self", "资源不能与自身关联。", "A resource cannot be related to itself."
            )
        )
        return []
    found = set(Resource.objects.filter(code__in=wanted).values_list("code", flat=True))
    missing = [code for code in wanted if code not in found]
    if missing:
        errors.append(
            FieldError(
                field,
                "related_code_not_found",
                f"关联资源 {', '.join(missing)} 不在目录中。",
                f"Related resource {', '.join(missing)} is not in the catalog.",
            )
        )
        return []
    return wanted


def _clean_themes(value: object, errors: list[FieldError]) -> list[Classification]:
    field = "theme_codes"
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        errors.append(
            FieldError(
                field, "theme_codes_invalid", "主题应为文本列表。", "The themes must be a list of text."
            )
        )
        return []
    wanted = list(dict.fromkeys(value))
    found = {
        theme.code: theme
        for theme in Classification.objects.filter(
            code__in=wanted, kind=CatalogKind.THEMATIC, parent__isnull=False
        )
    }
    missing = [code for code in wanted if code not in found]
    if missing:
        errors.append(
            FieldError(
                field,
                "theme_not_found",
                f"主题 {', '.join(missing)} 不存在（主题为主题目录中的项，如 201）。",
                f"Theme {', '.join(missing)} does not exist (themes are items of the thematic catalog, "
                "e.g. 201).",
            )
        )
        return []
    return [found[code] for code in wanted]


def clean_metadata(
    fields: Mapping[str, Any], *, own_code: str = ""
) -> tuple[dict[str, Any], list[dict[str, Any]], list[Classification]]:
    """Check a complete set of metadata: (version fields, data items, themes), or ``FieldErrors`` listing
    every problem, one bilingual entry per field."""
    errors: list[FieldError] = []
    unknown = sorted(set(fields) - set(METADATA_FIELDS))
    if unknown:
        errors.extend(
            FieldError(name, "unknown_field", f"未知的字段：{name}。", f"Unknown field: {name}.")
            for name in unknown
        )
    cleaned: dict[str, Any] = {}
    for field in _TEXT:
        cleaned[field] = _clean_text(field, fields.get(field), errors)
    for field in _CHOICES:
        cleaned[field] = _clean_choice(field, fields.get(field), errors)
    labels = {
        **{f: (zh, en) for f, (_, zh, en) in _TEXT.items()},
        **{f: (zh, en) for f, (_, zh, en) in _CHOICES.items()},
    }
    already = {error.field for error in errors}
    errors.extend(
        _missing(field, *labels[field]) for field in _REQUIRED if not cleaned[field] and field not in already
    )
    sharing, open_type = cleaned["sharing_type"], cleaned["open_type"]
    # State Council 2016 No. 51 Art. 9: conditional sharing states its conditions; not sharing states the
    # law, regulation or policy it rests on.
    if sharing == SharingType.CONDITIONAL and not cleaned["sharing_condition"]:
        errors.append(
            FieldError(
                "sharing_condition",
                "sharing_condition_required",
                "有条件共享的资源须写明共享条件。",
                "A resource shared on conditions needs its conditions.",
            )
        )
    if sharing == SharingType.NOT_SHARED and not cleaned["sharing_condition"]:
        errors.append(
            FieldError(
                "sharing_condition",
                "sharing_basis_required",
                "不予共享的资源须写明所依据的法律、行政法规或政策。",
                "A resource that is not shared needs the law, regulation or policy it rests on.",
            )
        )
    shared = sharing in (SharingType.UNCONDITIONAL, SharingType.CONDITIONAL)
    if shared and not cleaned["sharing_method"] and "sharing_method" not in already:
        errors.append(
            FieldError(
                "sharing_method",
                "sharing_method_required",
                "请选择共享方式。",
                "Choose how the resource is shared (the sharing method).",
            )
        )
    if sharing == SharingType.NOT_SHARED:
        cleaned["sharing_method"] = ""
    if open_type == OpenType.CONDITIONAL and not cleaned["open_condition"]:
        errors.append(
            FieldError(
                "open_condition",
                "open_condition_required",
                "有条件开放的资源须写明开放条件。",
                "A conditionally open resource needs its conditions.",
            )
        )
    if open_type in (OpenType.OPEN, OpenType.CONDITIONAL) and sharing == SharingType.NOT_SHARED:
        errors.append(
            FieldError(
                "open_type",
                "open_but_not_shared",
                "向社会开放的资源不能对政务部门不予共享。",
                "A resource open to the public cannot be withheld from government departments.",
            )
        )
    items = _clean_items(fields.get("data_items"), sharing, errors)
    cleaned["related_codes"] = _clean_related(fields.get("related_codes"), own_code, errors)
    themes = _clean_themes(fields.get("theme_codes"), errors)
    if errors:
        raise FieldErrors(errors, code="metadata_invalid")
    return cleaned, items, themes


# --- Classification and codes ---------------------------------------------------------------------------


def departmental_section(department: Department) -> Classification:
    """The department's item (项) in the departmental catalog, allocated on first use (next free number).

    Call inside a transaction: the departmental catalog's row is locked while the number is chosen.
    """
    existing = Classification.objects.filter(department=department).first()
    if existing is not None:
        return existing
    parent = Classification.objects.select_for_update().get(code=CatalogKind.DEPARTMENTAL)
    existing = Classification.objects.filter(department=department).first()
    if existing is not None:  # allocated while we waited for the lock
        return existing
    taken = set(Classification.objects.filter(parent=parent).values_list("code", flat=True))
    free = next(
        (
            f"3{number:02d}"
            for number in range(1, MAX_DEPARTMENT_SECTIONS + 1)
            if f"3{number:02d}" not in taken
        ),
        None,
    )
    if free is None:
        raise RuleViolation(
            "departmental_catalog_full",
            "部门信息资源目录的项已用完（最多 99 个部门）。",
            "The departmental catalog has no free item left (at most 99 departments).",
            status=409,
        )
    return Classification.objects.create(
        code=free,
        kind=CatalogKind.DEPARTMENTAL,
        parent=parent,
        name=department.name,
        name_en=department.name_en,
        department=department,
    )


def _section_for(classification_code: str, department: Department) -> Classification:
    section = Classification.objects.filter(code=codes.item_code(classification_code)).first()
    if classification_code.startswith(CatalogKind.DEPARTMENTAL):
        own = departmental_section(department)
        if section is None or section.pk != own.pk:
            raise RuleViolation(
                "classification_not_own_department",
                f"部门信息资源目录中，{department.name}的资源应编在项 {own.code} 下"
                f"（分类代码以 {own.code} 开头）。",
                f"In the departmental catalog, {department.name_en or department.code}'s resources go under "
                f"item {own.code} (classification codes starting with {own.code}).",
                field="classification_code",
            )
        return section
    if section is None:
        raise RuleViolation(
            "classification_not_found",
            f"分类代码 {classification_code} 中的项 {codes.item_code(classification_code)} 不存在。",
            f"Item {codes.item_code(classification_code)} of classification code {classification_code} "
            "does not exist.",
            field="classification_code",
        )
    return section


def _next_code(classification_code: str) -> str:
    """The next resource code in ``classification_code`` (the caller holds the section's lock)."""
    last = (
        Resource.objects.filter(classification_code=classification_code)
        .order_by("-code")
        .values_list("code", flat=True)
        .first()
    )
    sequence = codes.sequence_of(last) + 1 if last else 1
    if sequence > codes.MAX_SEQUENCE:
        raise RuleViolation(
            "classification_full",
            f"分类 {classification_code} 下的顺序码已用完。",
            f"Classification {classification_code} has no sequence number left.",
            field="classification_code",
            status=409,
        )
    return codes.resource_code(classification_code, sequence)


def _department(code: str) -> Department:
    department = Department.objects.filter(code=code, is_active=True).first()
    if department is None:
        raise RuleViolation(
            "department_not_found",
            f"部门 {code} 不存在或已停用。",
            f"Department {code} does not exist or is inactive.",
            field="provider_department",
        )
    return department


# --- Publishing -----------------------------------------------------------------------------------------


def _publish(
    *,
    resource: Resource,
    number: int,
    fields: dict[str, Any],
    items: list[dict[str, Any]],
    themes: list[Classification],
    acting_user: User | None,
    change_note: str,
) -> ResourceVersion:
    now = timezone.now()
    version = ResourceVersion.objects.create(
        resource=resource,
        number=number,
        provider_name=resource.provider.name,
        provider_code=resource.provider.credit_code,
        change_note=change_note,
        published_on=timezone.localdate(now),
        published_at=now,
        published_by=acting_user,
        **fields,
    )
    DataItem.objects.bulk_create(DataItem(version=version, **item) for item in items)
    version.themes.set(themes)
    resource.current_version = version
    resource.sharing_type = fields["sharing_type"]
    resource.open_type = fields["open_type"]
    resource.save(update_fields=["current_version", "sharing_type", "open_type"])
    search_index_update(
        resource=resource,
        version=version,
        item_names=[i["name"] for i in items] + [i["name_en"] for i in items if i["name_en"]],
        themes=themes,
    )
    return version


def _reindex(resource: Resource) -> None:
    """Index the current version again (the status changed; the search filters on it)."""
    version = resource.current_version
    if version is None:  # pragma: no cover - resource_create always publishes version 1
        return
    items = list(version.data_items.all())
    search_index_update(
        resource=resource,
        version=version,
        item_names=[item.name for item in items] + [item.name_en for item in items if item.name_en],
        themes=list(version.themes.all()),
    )


def current_metadata(version: ResourceVersion) -> dict[str, Any]:
    """A version's metadata in the shape the actions take (what a new version starts from)."""
    fields: dict[str, Any] = {
        field: getattr(version, field)
        for field in METADATA_FIELDS
        if field not in ("data_items", "related_codes", "theme_codes")
    }
    fields["related_codes"] = list(version.related_codes)
    fields["theme_codes"] = [theme.code for theme in version.themes.all()]
    fields["data_items"] = [
        {
            "name": item.name,
            "name_en": item.name_en,
            "data_type": item.data_type,
            "length": item.length,
            "sharing_type": item.sharing_type,
            "description": item.description,
            "source_field": item.source_field,
        }
        for item in version.data_items.all()
    ]
    return fields


def resource_create(
    *,
    acting_user: User | None,
    provider_department: str,
    classification_code: str,
    builtin_key: str = "",
    **metadata: Any,
) -> Resource:
    """Catalogue a new resource of ``provider_department`` and publish its version 1.

    The resource code is allocated here: ``classification_code`` + ``/`` + the next six-digit sequence in
    that classification. Returns the resource with ``current_version`` set.
    """
    _require_manager(acting_user, provider_department, object_id=str(classification_code))
    department = _department(provider_department)
    classification_code = codes.validate_classification_code(classification_code)
    fields, items, themes = clean_metadata(metadata)
    try:
        with transaction.atomic():
            section = _section_for(classification_code, department)
            # Serialises allocation within the section (SQLite: the IMMEDIATE transaction already does).
            Classification.objects.select_for_update().filter(pk=section.pk).first()
            resource = Resource.objects.create(
                code=_next_code(classification_code),
                classification_code=classification_code,
                section=section,
                kind=classification_code[0],
                provider=department,
                sharing_type=fields["sharing_type"],
                open_type=fields["open_type"],
                builtin_key=builtin_key,
            )
            version = _publish(
                resource=resource,
                number=1,
                fields=fields,
                items=items,
                themes=themes,
                acting_user=acting_user,
                change_note="",
            )
            _audit(
                acting_user,
                "catalog.resource_created",
                resource=resource,
                details={
                    "version": version.number,
                    "name": version.name,
                    "sharing_type": version.sharing_type,
                    "open_type": version.open_type,
                    "data_items": len(items),
                    "builtin_key": builtin_key,
                },
            )
    except IntegrityError as error:
        raise RuleViolation(
            "resource_conflict",
            "另一项操作同时修改了目录，请重试。",
            "Another change to the catalog happened at the same time; try again.",
            status=409,
        ) from error
    return resource


def _locked(resource: Resource) -> Resource:
    return (
        Resource.objects.select_for_update(of=("self",))
        .select_related("provider", "section", "current_version")
        .get(pk=resource.pk)
    )


def resource_publish_version(
    *, acting_user: User | None, resource: Resource, change_note: str = "", **changes: Any
) -> ResourceVersion:
    """Publish version n + 1 of ``resource``: the current metadata with ``changes`` applied.

    Only the given fields change (``data_items`` replaces the whole list). Refused for a withdrawn resource
    and, unless it is the sync (``acting_user=None``), for a built-in entry.
    """
    _require_manager(acting_user, resource.provider.code, object_id=resource.code)
    if acting_user is not None and resource.builtin_key:
        raise _builtin_refusal(resource)
    note = str(change_note or "").strip()
    if len(note) > 500:
        raise FieldErrors(
            [
                FieldError(
                    "change_note",
                    "change_note_too_long",
                    "变更说明不能超过 500 个字符。",
                    "The change note can have at most 500 characters.",
                )
            ],
            code="metadata_invalid",
        )
    with transaction.atomic():
        locked = _locked(resource)
        if locked.status == ResourceStatus.WITHDRAWN and acting_user is not None:
            raise RuleViolation(
                "resource_withdrawn",
                f"资源 {locked.code} 已撤销，不能发布新版本。",
                f"Resource {locked.code} has been withdrawn; it cannot publish a new version.",
                status=409,
            )
        current = locked.current_version
        if current is None:  # pragma: no cover - resource_create always publishes version 1
            raise RuleViolation("version_missing", "该资源没有版本。", "The resource has no version.")
        metadata = {**current_metadata(current), **changes}
        fields, items, themes = clean_metadata(metadata, own_code=locked.code)
        reinstated = locked.status == ResourceStatus.WITHDRAWN
        if reinstated:  # the sync bringing back a built-in entry whose source is back
            locked.status = ResourceStatus.ACTIVE
            locked.withdrawn_at = None
            locked.save(update_fields=["status", "withdrawn_at"])
        version = _publish(
            resource=locked,
            number=current.number + 1,
            fields=fields,
            items=items,
            themes=themes,
            acting_user=acting_user,
            change_note=note,
        )
        _audit(
            acting_user,
            "catalog.version_published",
            resource=locked,
            details={
                "version": version.number,
                "changed": sorted(changes),
                "change_note": note,
                "reinstated": reinstated,
            },
        )
    resource.refresh_from_db()
    return version


def _builtin_refusal(resource: Resource) -> RuleViolation:
    return RuleViolation(
        "resource_builtin",
        f"资源 {resource.code} 由平台根据基础库和事项自动编目，随代码同步更新，不能手工修改。",
        f"Resource {resource.code} is catalogued by the platform from its registries and service items and "
        "follows the code; it cannot be changed by hand.",
        status=409,
    )


def resource_withdraw(*, acting_user: User | None, resource: Resource, reason: str) -> Resource:
    """Withdraw ``resource`` from the catalog (it stops being listed and found); its history is kept."""
    _require_manager(acting_user, resource.provider.code, object_id=resource.code)
    if acting_user is not None and resource.builtin_key:
        raise _builtin_refusal(resource)
    reason = str(reason or "").strip()
    if not reason:
        raise FieldErrors(
            [
                FieldError(
                    "reason", "reason_required", "请填写撤销原因。", "Enter why the resource is withdrawn."
                )
            ],
            code="metadata_invalid",
        )
    if len(reason) > 500:
        raise FieldErrors(
            [
                FieldError(
                    "reason",
                    "reason_too_long",
                    "撤销原因不能超过 500 个字符。",
                    "The reason can have at most 500 characters.",
                )
            ],
            code="metadata_invalid",
        )
    with transaction.atomic():
        locked = _locked(resource)
        if locked.status == ResourceStatus.WITHDRAWN:
            raise RuleViolation(
                "resource_withdrawn",
                f"资源 {locked.code} 已经撤销。",
                f"Resource {locked.code} is already withdrawn.",
                status=409,
            )
        locked.status = ResourceStatus.WITHDRAWN
        locked.withdrawn_at = timezone.now()
        locked.save(update_fields=["status", "withdrawn_at"])
        _reindex(locked)
        _audit(acting_user, "catalog.resource_withdrawn", resource=locked, details={"reason": reason})
    resource.refresh_from_db()
    return resource
