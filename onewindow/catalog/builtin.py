"""The built-in catalog entries: what the platform itself holds, described from its own code.

* Population base information (人口基础信息, provided by public security) — the population register's
  ``Person`` and ``Household`` fields;
* Legal-entity base information (法人单位基础信息, provided by market regulation) — ``LegalEntity``;
* the result data of every published service item (办理结果信息, provided by the item's department) — the
  case's own fields and the item's current form.

Each registry field is either catalogued (``*_ITEMS``) or excluded with a reason (``*_EXCLUDED``);
``tests/test_sync.py`` fails when a model gains a field that is in neither, so the catalog cannot fall
behind the code unnoticed. ``catalog.sync`` turns these descriptions into resources and versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from onewindow.catalog.models import (
    DataType,
    OpenType,
    ResourceFormat,
    SharingMethod,
    SharingType,
    UpdateCycle,
)

POPULATION_KEY = "population"
LEGAL_ENTITY_KEY = "legal_entity"
SERVICE_KEY_PREFIX = "service:"

# 类 1 (base) → 项 01 population / 02 legal entities → 目 001 (base information).
POPULATION_CLASSIFICATION = "101001"
LEGAL_ENTITY_CLASSIFICATION = "102001"
# In a department's own item of the departmental catalog: 目 001, results of its service items.
SERVICE_RESULTS_CATEGORY = "001"


@dataclass(frozen=True)
class ItemSpec:
    """How one model field appears as a data item."""

    name: str
    name_en: str
    data_type: str
    sharing_type: str
    length: int | None = None
    description: str = ""

    def as_item(self, source_field: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "name_en": self.name_en,
            "data_type": self.data_type,
            "length": self.length,
            "sharing_type": self.sharing_type,
            "description": self.description,
            "source_field": source_field,
        }


_C = SharingType.CONDITIONAL
_U = SharingType.UNCONDITIONAL

# --- Population: registry.Person and registry.Household ------------------------------------------------

POPULATION_ITEMS: dict[str, ItemSpec] = {
    "Person.id_number": ItemSpec("公民身份号码", "Citizen ID number", DataType.CHARACTER, _C, 18),
    "Person.name": ItemSpec("姓名", "Name", DataType.CHARACTER, _C, 50),
    "Person.former_names_text": ItemSpec("曾用名", "Former names", DataType.CHARACTER, _C),
    "Person.gender": ItemSpec("性别", "Gender", DataType.CHARACTER, _C, 1, "GB/T 2261.1"),
    "Person.ethnicity": ItemSpec("民族", "Ethnicity", DataType.CHARACTER, _C, 2, "GB/T 3304"),
    "Person.birth_date": ItemSpec("出生日期", "Date of birth", DataType.DATE, _C),
    "Person.birthplace_code": ItemSpec(
        "出生地行政区划代码", "Birthplace division code", DataType.CHARACTER, _C, 12, "GB/T 2260"
    ),
    "Person.household": ItemSpec("户号", "Household number", DataType.CHARACTER, _C, 20),
    "Person.relation_to_head": ItemSpec(
        "与户主关系", "Relation to the head of household", DataType.CHARACTER, _C, 20, "GB/T 4761"
    ),
    "Person.status": ItemSpec("人员状态", "Status (active, moved out, deceased)", DataType.CHARACTER, _C, 10),
    "Person.died_on": ItemSpec("死亡日期", "Date of death", DataType.DATE, _C),
    "Household.household_no": ItemSpec("户籍户号", "Registered household number", DataType.CHARACTER, _C, 20),
    "Household.division": ItemSpec(
        "户籍地行政区划代码", "Registered division code", DataType.CHARACTER, _C, 12, "GB/T 2260"
    ),
    "Household.address": ItemSpec("户籍地址", "Registered address", DataType.CHARACTER, _C, 300),
    "Household.head": ItemSpec("户主", "Head of household", DataType.CHARACTER, _C),
}
POPULATION_EXCLUDED: dict[str, str] = {
    "Person.id": "internal key",
    "Person.id_number_index": "blind index of the ID number (a lookup key, not data)",
    "Person.province_code": "derived from the ID number (partition key)",
    "Person.version": "record version counter",
    "Person.created_at": "record bookkeeping",
    "Person.updated_at": "record bookkeeping",
    "Household.id": "internal key",
    "Household.created_at": "record bookkeeping",
    "Household.updated_at": "record bookkeeping",
}

# --- Legal entities: registry.LegalEntity ----------------------------------------------------------------

LEGAL_ENTITY_ITEMS: dict[str, ItemSpec] = {
    "LegalEntity.credit_code": ItemSpec(
        "统一社会信用代码", "Unified social credit code", DataType.CHARACTER, _U, 18, "GB 32100-2015"
    ),
    "LegalEntity.name": ItemSpec("名称", "Name", DataType.CHARACTER, _U, 100),
    "LegalEntity.type": ItemSpec("市场主体类型", "Entity type", DataType.CHARACTER, _U, 12),
    "LegalEntity.legal_rep": ItemSpec(
        "法定代表人", "Legal representative", DataType.CHARACTER, _C, description="个人信息 / personal data"
    ),
    "LegalEntity.registered_capital": ItemSpec(
        "注册资本（万元）", "Registered capital (10,000 yuan)", DataType.CURRENCY, _U
    ),
    "LegalEntity.division_code": ItemSpec(
        "住所所在行政区划代码", "Division code of the domicile", DataType.CHARACTER, _U, 12, "GB/T 2260"
    ),
    "LegalEntity.address": ItemSpec("住所", "Domicile", DataType.CHARACTER, _U, 300),
    "LegalEntity.business_scope": ItemSpec("经营范围", "Business scope", DataType.MEMO, _U),
    "LegalEntity.established_on": ItemSpec("成立日期", "Date of establishment", DataType.DATE, _U),
    "LegalEntity.status": ItemSpec("登记状态", "Registration status", DataType.CHARACTER, _U, 10),
    "LegalEntity.registration_authority": ItemSpec(
        "登记机关", "Registration authority", DataType.CHARACTER, _U, 20
    ),
}
LEGAL_ENTITY_EXCLUDED: dict[str, str] = {
    "LegalEntity.id": "internal key",
    "LegalEntity.legal_rep_index": "blind index of the representative's ID number (a lookup key)",
    "LegalEntity.version": "record version counter",
    "LegalEntity.created_at": "record bookkeeping",
    "LegalEntity.updated_at": "record bookkeeping",
}


def _items(specs: dict[str, ItemSpec]) -> list[dict[str, Any]]:
    return [spec.as_item(source) for source, spec in specs.items()]


def population_metadata() -> dict[str, Any]:
    return {
        "name": "人口基础信息",
        "name_en": "Population base information",
        "abstract": (
            "户籍人口的基础信息：公民身份号码、姓名、曾用名、性别、民族、出生日期和出生地、户籍户号与地址、"
            "与户主关系、人员状态和死亡日期，随出生登记、迁移、死亡注销、姓名变更和更正实时更新，历史版本完整保留。"
        ),
        "abstract_en": (
            "Base information on registered residents: ID number, name, former names, gender, ethnicity, "
            "date and place of birth, household and registered address, relation to the head of household, "
            "status and date of death; updated in real time by birth registration, transfer, death, change "
            "of name and correction, with every earlier version kept."
        ),
        "format": ResourceFormat.DATABASE,
        "sharing_type": SharingType.CONDITIONAL,
        "sharing_condition": (
            "依法履职需要，写明用途和依据，经公安部门审核；按最小必要原则只提供所需信息项。"
            " / For a department's statutory duties, with purpose and legal basis, approved by public "
            "security; only the data items needed (PIPL Art. 6, 34)."
        ),
        "sharing_method": SharingMethod.PLATFORM_API,
        "open_type": OpenType.NOT_OPEN,
        "open_condition": "",
        "update_cycle": UpdateCycle.REAL_TIME,
        "data_items": _items(POPULATION_ITEMS),
        "related_codes": [],
        "theme_codes": [],
    }


def legal_entity_metadata() -> dict[str, Any]:
    return {
        "name": "法人单位基础信息",
        "name_en": "Legal-entity base information",
        "abstract": (
            "市场主体登记信息：统一社会信用代码、名称、类型、法定代表人、注册资本、住所、经营范围、成立日期、"
            "登记状态和登记机关，随设立、变更、注销登记实时更新，历史版本完整保留。"
        ),
        "abstract_en": (
            "Registration of market entities: unified social credit code, name, type, legal representative, "
            "registered capital, domicile, business scope, date of establishment, status and registration "
            "authority; updated in real time by registration, change and cancellation, with every earlier "
            "version kept."
        ),
        "format": ResourceFormat.DATABASE,
        "sharing_type": SharingType.UNCONDITIONAL,
        "sharing_condition": "",
        "sharing_method": SharingMethod.PLATFORM_API,
        "open_type": OpenType.CONDITIONAL,
        "open_condition": (
            "仅企业公示信息（名称、类型、状态、登记机关、成立日期）向社会开放（企业信息公示暂行条例第六条）。"
            " / Only the publicly disclosed registration (name, type, status, authority, date of "
            "establishment) is open to the public."
        ),
        "update_cycle": UpdateCycle.REAL_TIME,
        "data_items": _items(LEGAL_ENTITY_ITEMS),
        "related_codes": [],
        "theme_codes": [],
    }


# --- Service item results ----------------------------------------------------------------------------------

CASE_ITEMS: tuple[tuple[str, ItemSpec], ...] = (
    ("Application.tracking_no", ItemSpec("办件编号", "Tracking number", DataType.CHARACTER, _C, 24)),
    ("Application.applicant_name", ItemSpec("申请人名称", "Applicant's name", DataType.CHARACTER, _C, 200)),
    (
        "Application.applicant_identifier",
        ItemSpec("申请人证件号码", "Applicant's ID number or credit code", DataType.CHARACTER, _C, 18),
    ),
    ("Application.submitted_at", ItemSpec("申请时间", "Submitted at", DataType.DATETIME, _C)),
    ("Application.decided_at", ItemSpec("办结时间", "Decided at", DataType.DATETIME, _C)),
    ("Application.decision", ItemSpec("办理结果", "Decision", DataType.CHARACTER, _C)),
)

_JSON_TYPES = {
    "integer": DataType.INTEGER,
    "number": DataType.NUMERIC,
    "boolean": DataType.LOGICAL,
    "array": DataType.MEMO,
    "object": DataType.MEMO,
}
_STRING_FORMATS = {"date": DataType.DATE, "date-time": DataType.DATETIME}


def _form_item_type(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((entry for entry in kind if entry != "null"), "string")
    if kind == "string" or kind is None:
        return _STRING_FORMATS.get(str(schema.get("format", "")), DataType.CHARACTER)
    return _JSON_TYPES.get(str(kind), DataType.CHARACTER)


def form_items(form_schema: dict[str, Any], taken: set[str]) -> list[dict[str, Any]]:
    """A data item per top-level field of a service form (JSON Schema), in the form's order."""
    properties = form_schema.get("properties") or {}
    if not isinstance(properties, dict):
        return []
    order = [key for key in form_schema.get("x-order") or [] if key in properties]
    order += [key for key in properties if key not in order]
    items: list[dict[str, Any]] = []
    for key in order:
        schema = properties[key] if isinstance(properties[key], dict) else {}
        name = str(schema.get("title") or key).strip()[:100] or key
        if name in taken:  # two fields with one title: the key tells them apart
            name = f"{name}（{key}）"[:100]
        taken.add(name)
        max_length = schema.get("maxLength")
        items.append(
            {
                "name": name,
                "name_en": str(schema.get("x-title-en") or "")[:100],
                "data_type": _form_item_type(schema),
                "length": max_length if isinstance(max_length, int) and max_length > 0 else None,
                "sharing_type": _C,
                "description": "",
                "source_field": f"form.{key}"[:100],
            }
        )
    return items


def service_result_metadata(
    *, code: str, name: str, name_en: str, form_schema: dict[str, Any]
) -> dict[str, Any]:
    """The result data of one published service item: the case's fields and the item's form fields."""
    fixed = [spec.as_item(source) for source, spec in CASE_ITEMS]
    items = fixed + form_items(form_schema, {item["name"] for item in fixed})
    return {
        "name": f"{name}办理结果信息",
        "name_en": f"Results of: {name_en}" if name_en else "",
        "abstract": (
            f"政务服务事项“{name}”（事项编码 {code}）的申请与办理结果：办件编号、申请人、申请与办结时间、"
            "办理结果，以及申请表中填写的信息。随事项发布的版本同步更新。"
        ),
        "abstract_en": (
            f"Applications for and results of the service item {name_en or name} ({code}): tracking number, "
            "applicant, submission and decision times, decision, and the fields of the application form. "
            "Follows the item's published version."
        ),
        "format": ResourceFormat.DATABASE,
        "sharing_type": SharingType.CONDITIONAL,
        "sharing_condition": (
            "依法履职需要，写明用途和依据，经事项主管部门审核；涉及个人信息的按最小必要原则提供。"
            " / For a department's statutory duties, with purpose and legal basis, approved by the item's "
            "department; personal data only as far as needed."
        ),
        "sharing_method": SharingMethod.PLATFORM_API,
        "open_type": OpenType.NOT_OPEN,
        "open_condition": "",
        "update_cycle": UpdateCycle.REAL_TIME,
        "data_items": items,
        "related_codes": [],
        "theme_codes": [],
    }
