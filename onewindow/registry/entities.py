"""The legal-entity register's actions and selectors: registration, change and cancellation by market
regulation (市场主体登记管理条例 第五条, 第二十四条, 第三十一条), and the public basic information.

Each action is for market-regulation handlers (``HANDLE_TASKS`` in ``REGISTRY_ENTITY_DEPARTMENT``), or for
the back office's engine (``acting_user=None``, registration only: the ``enterprise_register`` service task
of an approved ``QYKB`` case). It validates everything before writing and, in one transaction, updates the
entity, adds a ``LegalEntityVersion``, appends an audit record and a domain event (``entity.registered``,
``entity.changed``, ``entity.cancelled``, keyed by the credit code). A refused call writes nothing but the
audit record of the refusal.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import require_permission
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.core.validators import (
    InvalidIdentifier,
    validate_credit_code,
    validate_division_code,
    validate_id_number,
)
from onewindow.organisations.selectors import division_by_code
from onewindow.outbox.actions import outbox_append
from onewindow.registry.models import Person, PersonStatus
from onewindow.registry.models_entities import (
    EntityStatus,
    EntityType,
    EntityVersionKind,
    LegalEntity,
    LegalEntityVersion,
)
from onewindow.registry.protection import blind_index

# The department that keeps the legal-entity register (市场监督管理部门). A constant, like the population
# register's: the law names the registration authority, not the deployment.
REGISTRY_ENTITY_DEPARTMENT = "AMR"

ENTITY_NAME_MAX_LENGTH = 100
ADDRESS_MAX_LENGTH = 300
SCOPE_MAX_LENGTH = 4000
REASON_MAX_LENGTH = 500
CASE_MAX_LENGTH = 24
# 10,000 yuan, four decimals (one yuan); at most ten digits before the point.
CAPITAL_MAX = Decimal("9999999999.9999")
CAPITAL_QUANTUM = Decimal("0.0001")


# --- Checks ---------------------------------------------------------------------------------------------


def _require_registrar(acting_user: User | None, action: str) -> None:
    """Market-regulation handlers; ``None`` is the back office's engine, trusted by construction."""
    if acting_user is None:
        return
    require_permission(
        acting_user,
        Permission.HANDLE_TASKS,
        department_code=REGISTRY_ENTITY_DEPARTMENT,
        object_type="legal_entity",
        object_id=action,
    )


def _text(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def _check_credit_code(value: str, errors: list[FieldError]) -> str:
    try:
        return validate_credit_code(value)
    except InvalidIdentifier as error:
        errors.append(FieldError("credit_code", str(error.code), error.message_zh, error.message_en))
        return ""


def _check_name(value: str, errors: list[FieldError], field: str = "name") -> str:
    name = _text(value)
    if not name:
        errors.append(FieldError(field, "name_required", "请填写名称。", "Enter the name."))
    elif len(name) > ENTITY_NAME_MAX_LENGTH:
        errors.append(
            FieldError(
                field,
                "name_too_long",
                f"名称不能超过 {ENTITY_NAME_MAX_LENGTH} 个字符。",
                f"A name has at most {ENTITY_NAME_MAX_LENGTH} characters.",
            )
        )
    return name


def _check_type(value: str, errors: list[FieldError]) -> None:
    if value not in EntityType.values:
        errors.append(
            FieldError(
                "type",
                "entity_type_unknown",
                f"“{value}”不是有效的市场主体类型。",
                f"'{value}' is not a valid entity type.",
            )
        )


def _check_division(value: str, errors: list[FieldError]) -> str:
    try:
        code = validate_division_code(value)
    except InvalidIdentifier as error:
        errors.append(FieldError("division_code", str(error.code), error.message_zh, error.message_en))
        return ""
    try:
        division_by_code(code)
    except Http404:
        errors.append(
            FieldError(
                "division_code",
                "division_not_found",
                f"行政区划 {code} 不存在。",
                f"Division {code} does not exist.",
            )
        )
    return code


def _check_capital(value: Decimal | int | float | str | None, errors: list[FieldError]) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        capital = Decimal(str(value))
    except InvalidOperation:
        capital = Decimal("NaN")
    if not capital.is_finite() or capital <= 0 or capital > CAPITAL_MAX:
        errors.append(
            FieldError(
                "registered_capital",
                "capital_invalid",
                "注册资本应为大于 0 的金额（万元）。",
                "The registered capital is an amount above 0 (in 10,000 yuan).",
            )
        )
        return None
    return capital.quantize(CAPITAL_QUANTUM)


def _check_length(value: str, field: str, limit: int, errors: list[FieldError]) -> str:
    text = _text(value)
    if len(text) > limit:
        errors.append(
            FieldError(
                field,
                f"{field}_too_long",
                f"不能超过 {limit} 个字符。",
                f"At most {limit} characters.",
            )
        )
    return text


def _legal_rep(value: str, errors: list[FieldError]) -> tuple[Person | None, str]:
    """The representative's active record in the population register (or None) and their blind index."""
    id_number = _text(value)
    if not id_number:
        return None, ""
    try:
        code = validate_id_number(id_number)
    except InvalidIdentifier as error:
        errors.append(FieldError("legal_rep_id_number", str(error.code), error.message_zh, error.message_en))
        return None, ""
    index = blind_index(code, kind="id_number")
    person = Person.objects.filter(
        id_number_index=index, province_code=code[:2], status=PersonStatus.ACTIVE
    ).first()
    return person, index


def _raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise FieldErrors(errors)


def _name_taken(name: str) -> RuleViolation:
    return RuleViolation(
        "entity_name_taken",
        f"已有存续的市场主体使用名称“{name}”，名称不能重复。",
        f"An active entity is already named '{name}'; names are unique among active entities.",
        field="name",
        status=409,
    )


def _entity_for_update(credit_code: str) -> LegalEntity:
    entity = LegalEntity.objects.select_for_update().filter(credit_code=credit_code).first()
    if entity is None:
        raise RuleViolation(
            "entity_not_found",
            "登记中没有该统一社会信用代码的市场主体。",
            "No entity with this unified social credit code is in the register.",
            field="credit_code",
            status=404,
        )
    return entity


_STATUS_ZH: dict[str, str] = {EntityStatus.REVOKED: "被吊销营业执照", EntityStatus.CANCELLED: "注销"}


def _refuse_not_active(entity: LegalEntity, *, operation_zh: str, operation_en: str) -> None:
    if entity.status != EntityStatus.ACTIVE:
        raise RuleViolation(
            "entity_not_active",
            f"该市场主体已{_STATUS_ZH.get(entity.status, entity.status)}，不能办理{operation_zh}。",
            f"This entity is {entity.status}; {operation_en} is refused.",
            field="credit_code",
            status=409,
        )


def _save_unique_name(entity: LegalEntity, **save: Any) -> None:
    """Save in a savepoint: a concurrent registration of the same name loses on the constraint."""
    try:
        with transaction.atomic():
            entity.save(**save)
    except IntegrityError:
        raise _name_taken(entity.name) from None


# --- History, audit and event -----------------------------------------------------------------------------


def _snapshot(entity: LegalEntity) -> dict[str, Any]:
    return {
        "credit_code": entity.credit_code,
        "name": entity.name,
        "type": entity.type,
        "legal_rep_id": entity.legal_rep_id,
        "legal_rep_index": entity.legal_rep_index,
        "registered_capital": str(entity.registered_capital)
        if entity.registered_capital is not None
        else None,
        "division_code": entity.division_code,
        "address": entity.address,
        "business_scope": entity.business_scope,
        "established_on": entity.established_on.isoformat(),
        "status": entity.status,
        "registration_authority": entity.registration_authority,
    }


def _record(
    *,
    entity: LegalEntity,
    kind: EntityVersionKind,
    topic: str,
    changed: list[str],
    acting_user: User | None,
    case_tracking_no: str,
    reason: str = "",
) -> None:
    """The version, the audit record and the event of one change (inside the action's transaction)."""
    LegalEntityVersion.objects.create(
        entity=entity,
        version=entity.version,
        kind=kind,
        snapshot=_snapshot(entity),
        changed=changed,
        acting_user=acting_user,
        case_tracking_no=case_tracking_no,
        reason=reason,
    )
    audit_append(
        action=f"registry.{topic}",
        acting_user=acting_user,
        object_type="legal_entity",
        object_id=entity.pk,
        details={
            "credit_code": entity.credit_code,
            "version": entity.version,
            "changed": changed,
            "case": case_tracking_no,
        },
        department_code="" if acting_user is not None else entity.registration_authority,
    )
    outbox_append(
        topic=topic,
        key=entity.credit_code,
        payload={
            "entity_id": entity.pk,
            "credit_code": entity.credit_code,
            "version": entity.version,
            "name": entity.name,
            "type": entity.type,
            "status": entity.status,
            "division_code": entity.division_code,
            "registration_authority": entity.registration_authority,
            "case_tracking_no": case_tracking_no,
            "changed": changed,
        },
    )


# --- Actions ------------------------------------------------------------------------------------------------


def entity_register(
    *,
    acting_user: User | None,
    credit_code: str,
    name: str,
    type: str,
    division_code: str,
    legal_rep_id_number: str = "",
    registered_capital: Decimal | int | float | str | None = None,
    address: str = "",
    business_scope: str = "",
    established_on: dt.date | None = None,
    registration_authority: str = REGISTRY_ENTITY_DEPARTMENT,
    case_tracking_no: str = "",
) -> LegalEntity:
    """Register a new legal entity (设立登记) with the credit code assigned to it.

    Refused: an invalid credit code, or one already registered (409); a name an active entity already has
    (409); an unknown type or division; a capital that is not above 0; an establishment date in the future;
    an invalid representative's ID number. The representative is linked to their active record in the
    population register when there is one; their ID number is kept only as its blind index.
    """
    _require_registrar(acting_user, "entity_register")
    errors: list[FieldError] = []
    code = _check_credit_code(credit_code, errors)
    name = _check_name(name, errors)
    _check_type(type, errors)
    division = _check_division(division_code, errors)
    capital = _check_capital(registered_capital, errors)
    address = _check_length(address, "address", ADDRESS_MAX_LENGTH, errors)
    business_scope = _check_length(business_scope, "business_scope", SCOPE_MAX_LENGTH, errors)
    case_tracking_no = _check_length(case_tracking_no, "case_tracking_no", CASE_MAX_LENGTH, errors)
    established = established_on or timezone.localdate()
    if established > timezone.localdate():
        errors.append(
            FieldError(
                "established_on",
                "date_in_future",
                "成立日期不能晚于今天。",
                "The date cannot be in the future.",
            )
        )
    legal_rep, legal_rep_index = _legal_rep(legal_rep_id_number, errors)
    _raise_if(errors)

    with transaction.atomic():
        if LegalEntity.objects.filter(credit_code=code).exists():
            raise RuleViolation(
                "credit_code_registered",
                f"统一社会信用代码 {code} 已登记。",
                f"Unified social credit code {code} is already registered.",
                field="credit_code",
                status=409,
            )
        if LegalEntity.objects.filter(name=name, status=EntityStatus.ACTIVE).exists():
            raise _name_taken(name)
        entity = LegalEntity(
            credit_code=code,
            name=name,
            type=type,
            legal_rep=legal_rep,
            legal_rep_index=legal_rep_index,
            registered_capital=capital,
            division_code=division,
            address=address,
            business_scope=business_scope,
            established_on=established,
            status=EntityStatus.ACTIVE,
            registration_authority=registration_authority,
            version=1,
        )
        _save_unique_name(entity, force_insert=True)
        _record(
            entity=entity,
            kind=EntityVersionKind.REGISTERED,
            topic="entity.registered",
            changed=["*"],
            acting_user=acting_user,
            case_tracking_no=case_tracking_no,
        )
    return entity


def entity_change(
    *,
    acting_user: User,
    credit_code: str,
    name: str | None = None,
    address: str | None = None,
    registered_capital: Decimal | int | float | str | None = None,
    business_scope: str | None = None,
    legal_rep_id_number: str | None = None,
    case_tracking_no: str = "",
) -> LegalEntity:
    """Change an active entity's registration (变更登记): name, address, capital, scope or representative;
    ``None`` leaves a field as it is.

    Refused: an entity not in the register (404) or not active (409); a name another active entity has
    (409); values that are not valid; nothing actually changing.
    """
    _require_registrar(acting_user, "entity_change")
    errors: list[FieldError] = []
    code = _check_credit_code(credit_code, errors)
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _check_name(name, errors)
    if address is not None:
        values["address"] = _check_length(address, "address", ADDRESS_MAX_LENGTH, errors)
    if registered_capital is not None:
        values["registered_capital"] = _check_capital(registered_capital, errors)
    if business_scope is not None:
        values["business_scope"] = _check_length(business_scope, "business_scope", SCOPE_MAX_LENGTH, errors)
    if legal_rep_id_number is not None:
        if not _text(legal_rep_id_number):
            errors.append(
                FieldError(
                    "legal_rep_id_number",
                    "legal_rep_required",
                    "请填写法定代表人的公民身份号码。",
                    "Enter the legal representative's ID number.",
                )
            )
        person, index = _legal_rep(legal_rep_id_number, errors)
        values["legal_rep_index"] = index
        values["legal_rep"] = person
    case_tracking_no = _check_length(case_tracking_no, "case_tracking_no", CASE_MAX_LENGTH, errors)
    _raise_if(errors)

    with transaction.atomic():
        entity = _entity_for_update(code)
        _refuse_not_active(entity, operation_zh="变更登记", operation_en="a change of registration")
        changed = sorted(field for field, value in values.items() if getattr(entity, field) != value)
        if not changed:
            raise FieldErrors(
                [
                    FieldError(
                        "",
                        "nothing_to_change",
                        "变更后的内容与现登记内容相同。",
                        "The new values are the ones already registered.",
                    )
                ]
            )
        if (
            "name" in changed
            and LegalEntity.objects.filter(name=values["name"], status=EntityStatus.ACTIVE)
            .exclude(pk=entity.pk)
            .exists()
        ):
            raise _name_taken(values["name"])
        for field in changed:
            setattr(entity, field, values[field])
        # The row is locked for the whole transaction, so the version read is current.
        entity.version += 1
        _save_unique_name(entity, update_fields=[*changed, "version", "updated_at"])
        # The representative is one public item, whether or not they are in the population register.
        public_changed = sorted({"legal_rep" if f.startswith("legal_rep") else f for f in changed})
        _record(
            entity=entity,
            kind=EntityVersionKind.CHANGED,
            topic="entity.changed",
            changed=public_changed,
            acting_user=acting_user,
            case_tracking_no=case_tracking_no,
        )
    return entity


def entity_cancel(
    *, acting_user: User, credit_code: str, reason: str, case_tracking_no: str = ""
) -> LegalEntity:
    """Cancel an active entity's registration (注销登记); its name becomes free for a new entity.

    Refused: no reason; an entity not in the register (404), already cancelled or revoked (409).
    """
    _require_registrar(acting_user, "entity_cancel")
    errors: list[FieldError] = []
    code = _check_credit_code(credit_code, errors)
    reason = _check_length(reason, "reason", REASON_MAX_LENGTH, errors)
    if not reason:
        errors.append(
            FieldError(
                "reason", "reason_required", "请说明注销原因。", "Give the reason for the cancellation."
            )
        )
    case_tracking_no = _check_length(case_tracking_no, "case_tracking_no", CASE_MAX_LENGTH, errors)
    _raise_if(errors)

    with transaction.atomic():
        entity = _entity_for_update(code)
        _refuse_not_active(entity, operation_zh="注销登记", operation_en="cancellation")
        entity.status = EntityStatus.CANCELLED
        entity.version += 1
        entity.save(update_fields=["status", "version", "updated_at"])
        _record(
            entity=entity,
            kind=EntityVersionKind.CANCELLED,
            topic="entity.cancelled",
            changed=["status"],
            acting_user=acting_user,
            case_tracking_no=case_tracking_no,
            reason=reason,
        )
    return entity


# --- Selectors ----------------------------------------------------------------------------------------------


class EntityPublicView(TypedDict):
    credit_code: str
    name: str
    type: str
    status: str
    registration_authority: str
    established_on: str


def entity_public(credit_code: str) -> EntityPublicView:
    """The public basic information of an entity (企业信息公示暂行条例 第六条), for anyone.

    404 ``entity_not_found`` for an invalid code or one not in the register.
    """
    not_found = RuleViolation(
        "entity_not_found",
        "市场主体库中没有该统一社会信用代码。",
        "No entity with this credit code.",
        status=404,
    )
    try:
        code = validate_credit_code(credit_code)
    except InvalidIdentifier:
        raise not_found from None
    entity = LegalEntity.objects.filter(credit_code=code).first()
    if entity is None:
        raise not_found
    return EntityPublicView(
        credit_code=entity.credit_code,
        name=entity.name,
        type=entity.type,
        status=entity.status,
        registration_authority=entity.registration_authority,
        established_on=entity.established_on.isoformat(),
    )
