"""Service-task actions of the registries (imported by ``RegistryConfig.ready``).

``enterprise_register``: after ``QYKB``'s ``licence`` task, the approved enterprise enters the legal-entity
register with the credit code the process assigned (``enterprise_credit_code_assign``), so that every later
form and check finds it there (issue #5 item 3).

``enterprise_name_check``: right after market regulation approves, before a credit code is assigned: a
name an active entity took while the case was under review (names are unique among active entities)
sends the case to its "name taken" end with ``decision = "rejected"`` and the reason, instead of failing
later. A name taken in the short time between that check and ``enterprise_register`` still fails the
service task (``entity_name_taken``), and the last handler's completion is refused with that reason.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from onewindow.core.errors import RuleViolation
from onewindow.registry.entities import REGISTRY_ENTITY_DEPARTMENT, entity_register
from onewindow.registry.models_entities import EntityStatus, EntityType, LegalEntity
from onewindow.workflow.registry import LICENCE_TIMEZONE, ServiceActionContext, register_service_action

# The case form's company types (services.demo.COMPANY_TYPES) and the register's; others are "other".
COMPANY_TYPES: dict[str, EntityType] = {
    "joint_stock": EntityType.JOINT_STOCK,
    "llc": EntityType.LLC,
    "sole": EntityType.SOLE,
    "partnership": EntityType.PARTNERSHIP,
    "individual": EntityType.INDIVIDUAL,
}


def enterprise_name_check(context: ServiceActionContext) -> dict[str, Any]:
    """``name_available``: no active entity holds the case's company name; when one does, the case is to
    be rejected (``decision``, ``decision_reason`` naming the holder's credit code, which is public)."""
    name = unicodedata.normalize("NFKC", str(context.data.get("company_name", ""))).strip()
    holder = (
        LegalEntity.objects.filter(name=name, status=EntityStatus.ACTIVE)
        .values_list("credit_code", flat=True)
        .first()
    )
    if holder is None:
        return {"name_available": True}
    return {
        "name_available": False,
        "decision": "rejected",
        "decision_reason": (
            f"企业名称“{name}”已被存续的市场主体（统一社会信用代码 {holder}）登记，不能重复使用。"
            f" / The name '{name}' is already registered by an active entity ({holder})."
        ),
    }


def enterprise_register(context: ServiceActionContext) -> dict[str, Any]:
    """Register the enterprise of the case from its data, as the registration authority (the engine).

    Idempotent: the engine may run a service task again, and a credit code already in the register adds
    nothing. Refused (the task fails) without a credit code or with data the register does not accept.
    """
    data = context.data
    credit_code = str(data.get("credit_code", "")).strip().upper()
    if not credit_code:
        raise RuleViolation(
            "credit_code_missing",
            "流程尚未赋统一社会信用代码，不能登记企业。",
            "The process has not assigned a credit code yet; the enterprise cannot be registered.",
            field="credit_code",
        )
    existing = LegalEntity.objects.filter(credit_code=credit_code).values_list("pk", flat=True).first()
    if existing is not None:
        return {"entity_id": existing}
    now = context.now or datetime.now(LICENCE_TIMEZONE)
    try:
        entity = entity_register(
            acting_user=None,
            credit_code=credit_code,
            name=str(data.get("company_name", "")),
            type=COMPANY_TYPES.get(str(data.get("company_type", "")), EntityType.OTHER),
            division_code=str(data.get("division_code", "")),
            legal_rep_id_number=str(data.get("legal_rep_id_number", "")),
            registered_capital=data.get("registered_capital"),
            address=str(data.get("address", "")),
            business_scope=str(data.get("business_scope", "")),
            established_on=now.astimezone(LICENCE_TIMEZONE).date(),
            registration_authority=context.department_code or REGISTRY_ENTITY_DEPARTMENT,
            case_tracking_no=context.tracking_no,
        )
    except RuleViolation as error:
        if error.code != "credit_code_registered":
            raise
        # Registered by a concurrent run of the same task between the check and the insert.
        entity = LegalEntity.objects.get(credit_code=credit_code)
    return {"entity_id": entity.pk}


register_service_action(
    "enterprise_name_check",
    enterprise_name_check,
    description="核查企业名称是否已被登记",
    description_en="Check that no active entity holds the company name",
)
register_service_action(
    "enterprise_register",
    enterprise_register,
    description="将新设企业登记入市场主体库",
    description_en="Enter the new enterprise in the legal-entity register",
)
