"""Front-desk operations on the population register (户籍): birth, transfer, death, renaming, correction.

Each action is for public-security handlers (``HANDLE_TASKS`` in ``REGISTRY_POPULATION_DEPARTMENT``),
validates everything before writing, and in one transaction updates the person, adds a ``PersonVersion``
(history is never overwritten), appends an audit record and appends a domain event to the outbox. A refused
call writes nothing but the audit record of the refusal.

Events (``person.born``, ``person.moved``, ``person.deceased``, ``person.renamed``, ``person.corrected``)
are keyed by the person's blind index (HMAC-SM3 of the ID number) and carry no ID number, name or address:
only the person's internal id, the version, the dates, division codes and household numbers. A subscriber
that needs personal data looks the person up through the registry, which audits the lookup and its purpose.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import require_permission
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.core.validators import Gender, InvalidIdentifier, parse_id_number, validate_division_code
from onewindow.organisations.models import Division
from onewindow.organisations.selectors import division_by_code
from onewindow.outbox.actions import outbox_append
from onewindow.registry.ethnicity import is_ethnicity_code
from onewindow.registry.models import Household, Person, PersonStatus, PersonVersion, Relation, VersionKind
from onewindow.registry.protection import blind_index

# The department whose handlers keep the population register (公安机关户籍部门). A constant, not a setting:
# which department keeps the register is the law's choice (户口登记条例 第三条), not a deployment's.
REGISTRY_POPULATION_DEPARTMENT = "PSB"

NAME_MAX_LENGTH = 50
HOUSEHOLD_NO_MAX_LENGTH = 20
ADDRESS_MAX_LENGTH = 300
REASON_MAX_LENGTH = 500
# Fields a correction may change. Gender and birth date are encoded in the ID number, and the ID number
# itself is changed by its own procedure, so none of them is corrected here.
CORRECTABLE_FIELDS = frozenset({"name", "ethnicity", "birthplace_code", "relation_to_head"})


# --- Shared checks ----------------------------------------------------------------------------------------


def _require_registrar(acting_user: User, action: str) -> None:
    require_permission(
        acting_user,
        Permission.HANDLE_TASKS,
        department_code=REGISTRY_POPULATION_DEPARTMENT,
        object_type="person",
        object_id=action,
    )


def _text(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def _id_number_index(id_number: str, errors: list[FieldError]) -> tuple[str, str]:
    """The normalised ID number and its blind index; ("", "") with an error when it is not valid."""
    try:
        parse_id_number(id_number)
        code = _text(id_number).upper()
    except InvalidIdentifier as error:
        errors.append(FieldError("id_number", str(error.code), error.message_zh, error.message_en))
        return "", ""
    return code, blind_index(code, kind="id_number")


def _check_name(value: str, field: str, errors: list[FieldError]) -> str:
    name = _text(value)
    if not name:
        errors.append(FieldError(field, "name_required", "请填写姓名。", "Enter the name."))
    elif len(name) > NAME_MAX_LENGTH:
        errors.append(
            FieldError(
                field,
                "name_too_long",
                f"姓名不能超过 {NAME_MAX_LENGTH} 个字符。",
                f"A name has at most {NAME_MAX_LENGTH} characters.",
            )
        )
    return name


def _check_ethnicity(code: str, errors: list[FieldError]) -> None:
    if not is_ethnicity_code(code):
        errors.append(
            FieldError(
                "ethnicity",
                "ethnicity_unknown",
                f"“{code}”不是 GB/T 3304 民族代码（01–56、97、98）。",
                f"'{code}' is not a GB/T 3304 ethnic group code (01–56, 97, 98).",
            )
        )


def _check_relation(value: str, errors: list[FieldError]) -> None:
    if value not in Relation.values:
        errors.append(
            FieldError(
                "relation_to_head",
                "relation_unknown",
                f"“{value}”不是有效的与户主关系。",
                f"'{value}' is not a valid relation to the head of household.",
            )
        )


def _division(code: str, field: str, errors: list[FieldError]) -> Division | None:
    """The division with this code, or None with an error: an invalid code, or one not in the table."""
    try:
        normalised = validate_division_code(code)
    except InvalidIdentifier as error:
        errors.append(FieldError(field, str(error.code), error.message_zh, error.message_en))
        return None
    try:
        return division_by_code(normalised)
    except Http404:
        errors.append(
            FieldError(
                field,
                "division_not_found",
                f"行政区划 {normalised} 不存在。",
                f"Division {normalised} does not exist.",
            )
        )
        return None


def _check_effective_on(
    value: dt.date | None, errors: list[FieldError], field: str = "effective_on"
) -> dt.date:
    today = timezone.localdate()
    if value is None:
        return today
    if value > today:
        errors.append(
            FieldError(field, "date_in_future", "日期不能晚于今天。", "The date cannot be in the future.")
        )
    return value


def _check_case(value: str, errors: list[FieldError]) -> str:
    tracking_no = _text(value)
    if len(tracking_no) > 24:
        errors.append(
            FieldError("case_tracking_no", "case_too_long", "办件编号过长。", "The case number is too long.")
        )
    return tracking_no


def _raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise FieldErrors(errors)


class _HouseholdChoice:
    """Where a person goes: an existing household (``household``) or a new one (``division`` + address)."""

    def __init__(
        self, household_no: str, household: Household | None, division: Division | None, address: str
    ):
        self.household_no = household_no
        self.household = household
        self.division = division
        self.address = address


def _household_choice(
    *, household_no: str, division_code: str, address: str, relation_to_head: str, errors: list[FieldError]
) -> _HouseholdChoice:
    """Check a target household: an existing number, or a new number with its division and address."""
    number = _text(household_no)
    address = _text(address)
    if not number or len(number) > HOUSEHOLD_NO_MAX_LENGTH or not number.isascii() or not number.isalnum():
        errors.append(
            FieldError(
                "household_no",
                "household_no_invalid",
                f"户号应为 1–{HOUSEHOLD_NO_MAX_LENGTH} 位数字或字母。",
                f"A household number has 1–{HOUSEHOLD_NO_MAX_LENGTH} digits or letters.",
            )
        )
        return _HouseholdChoice(number, None, None, address)
    household = Household.objects.select_related("division").filter(household_no=number).first()
    if household is not None:
        if division_code and _text(division_code) != household.division.code:
            errors.append(
                FieldError(
                    "division_code",
                    "household_division_mismatch",
                    f"户 {number} 登记在行政区划 {household.division.code}，不在 {division_code}。",
                    f"Household {number} is registered in division {household.division.code}, "
                    f"not {division_code}.",
                )
            )
        if address:
            errors.append(
                FieldError(
                    "address",
                    "household_exists",
                    f"户 {number} 已存在，地址以该户登记的为准，请留空。",
                    f"Household {number} exists and has its own address; leave the address empty.",
                )
            )
        return _HouseholdChoice(number, household, household.division, "")
    if not division_code:
        errors.append(
            FieldError(
                "division_code",
                "division_required",
                f"户 {number} 是新户，请填写其所在行政区划。",
                f"Household {number} is new: enter its division.",
            )
        )
        division = None
    else:
        division = _division(division_code, "division_code", errors)
    if not address:
        errors.append(
            FieldError(
                "address", "address_required", "新立户须填写住址。", "A new household needs an address."
            )
        )
    elif len(address) > ADDRESS_MAX_LENGTH:
        errors.append(
            FieldError(
                "address",
                "address_too_long",
                f"住址不能超过 {ADDRESS_MAX_LENGTH} 个字符。",
                f"An address has at most {ADDRESS_MAX_LENGTH} characters.",
            )
        )
    if relation_to_head in Relation.values and relation_to_head != Relation.HEAD:
        errors.append(
            FieldError(
                "relation_to_head",
                "new_household_needs_head",
                "新立户的第一人须为户主。",
                "The first person of a new household is its head.",
            )
        )
    return _HouseholdChoice(number, None, division, address)


def _household_join(choice: _HouseholdChoice) -> Household:
    """Inside the transaction: the existing household (locked) or the new one, created now."""
    if choice.household is not None:
        return Household.objects.select_for_update().select_related("division").get(pk=choice.household.pk)
    assert choice.division is not None  # noqa: S101 - checked by _household_choice
    try:
        with transaction.atomic():
            return Household.objects.create(
                household_no=choice.household_no, division=choice.division, address=choice.address
            )
    except IntegrityError:
        raise RuleViolation(
            "household_no_taken",
            f"户号 {choice.household_no} 刚被另一次登记使用，请重试。",
            f"Household number {choice.household_no} was just taken by another registration; try again.",
            field="household_no",
            status=409,
        ) from None


def _head_set(household: Household, person: Person) -> None:
    """Make ``person`` the head, refusing when the household already has another living, present head."""
    if household.head_id is not None and household.head_id != person.pk:
        head_active = Person.objects.filter(pk=household.head_id, status=PersonStatus.ACTIVE).exists()
        if head_active:
            raise RuleViolation(
                "household_has_head",
                f"户 {household.household_no} 已有户主。",
                f"Household {household.household_no} already has a head.",
                field="relation_to_head",
                status=409,
            )
    Household.objects.filter(pk=household.pk).update(head=person, updated_at=timezone.now())
    household.head = person


def _head_clear_if(household: Household, person: Person) -> None:
    if household.head_id == person.pk:
        Household.objects.filter(pk=household.pk).update(head=None, updated_at=timezone.now())


def _active_exists(verb_zh: str) -> RuleViolation:
    """A second active record for one ID number (checked first, and by the database's constraint)."""
    return RuleViolation(
        "id_number_active_exists",
        f"已有在册人员使用该身份证号码，不能再{verb_zh}一条在册记录。",
        "An active person already has this ID number; a second active record is refused.",
        field="id_number",
        status=409,
    )


def _person_for_update(code: str, index: str) -> Person:
    """The person with this ID number, locked: the active record first, else the latest one; 404 if none.

    Filtered on the issuing province too, so PostgreSQL reads one partition (docs/scaling.md)."""
    active_first = Case(
        When(status=PersonStatus.ACTIVE, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    person = (
        Person.objects.select_for_update()
        .filter(id_number_index=index, province_code=code[:2])
        .order_by(active_first, "-id")
        .first()
    )
    if person is None:
        raise RuleViolation(
            "person_not_found",
            "户籍登记中没有该身份证号码的人员。",
            "No person with this ID number is in the register.",
            field="id_number",
            status=404,
        )
    return person


def _refuse_deceased(person: Person, *, operation_zh: str, operation_en: str) -> None:
    if person.status == PersonStatus.DECEASED:
        raise RuleViolation(
            "person_deceased",
            f"该人员已死亡注销，不能办理{operation_zh}。",
            f"This person is registered as deceased; {operation_en} is refused.",
            field="id_number",
            status=409,
        )


def _refuse_not_active(person: Person, *, operation_zh: str, operation_en: str) -> None:
    _refuse_deceased(person, operation_zh=operation_zh, operation_en=operation_en)
    if person.status != PersonStatus.ACTIVE:
        raise RuleViolation(
            "person_not_active",
            f"该人员户口已迁出本登记，不能办理{operation_zh}。",
            f"This person has moved out of the register; {operation_en} is refused.",
            field="id_number",
            status=409,
        )


def _snapshot(person: Person, household: Household) -> dict[str, Any]:
    return {
        "id_number": person.id_number,
        "name": person.name,
        "former_names": person.former_names,
        "gender": person.gender,
        "ethnicity": person.ethnicity,
        "birth_date": person.birth_date.isoformat(),
        "birthplace_code": person.birthplace_code,
        "household_no": household.household_no,
        "division_code": household.division.code,
        "address": household.address,
        "relation_to_head": person.relation_to_head,
        "status": person.status,
        "died_on": person.died_on.isoformat() if person.died_on else None,
    }


def _version_add(
    *,
    person: Person,
    household: Household,
    kind: VersionKind,
    effective_on: dt.date,
    changed: list[str],
    acting_user: User,
    case_tracking_no: str,
    reason: str = "",
) -> PersonVersion:
    return PersonVersion.objects.create(
        person=person,
        version=person.version,
        kind=kind,
        effective_on=effective_on,
        snapshot=json.dumps(_snapshot(person, household), ensure_ascii=False),
        changed=changed,
        acting_user=acting_user,
        case_tracking_no=case_tracking_no,
        reason=reason,
    )


def _record(
    *,
    person: Person,
    household: Household,
    kind: VersionKind,
    topic: str,
    effective_on: dt.date,
    changed: list[str],
    acting_user: User,
    case_tracking_no: str,
    payload: dict[str, Any],
    reason: str = "",
) -> None:
    """The version, the audit record and the event of one change (inside the action's transaction)."""
    _version_add(
        person=person,
        household=household,
        kind=kind,
        effective_on=effective_on,
        changed=changed,
        acting_user=acting_user,
        case_tracking_no=case_tracking_no,
        reason=reason,
    )
    audit_append(
        action=f"registry.{topic}",
        acting_user=acting_user,
        object_type="person",
        object_id=person.pk,
        details={
            "version": person.version,
            "changed": changed,
            "case": case_tracking_no,
            "household_no": household.household_no,
        },
    )
    outbox_append(
        topic=topic,
        key=person.id_number_index,
        payload={
            "person_id": person.pk,
            "version": person.version,
            "effective_on": effective_on.isoformat(),
            "case_tracking_no": case_tracking_no,
            "status": person.status,
            **payload,
        },
    )


def _person_save(person: Person, fields: list[str]) -> None:
    # The row is locked (select_for_update) for the whole transaction, so the version read is current.
    person.version += 1
    person.save(update_fields=[*fields, "version", "updated_at"])


# --- Actions ------------------------------------------------------------------------------------------------


def person_birth_register(
    *,
    acting_user: User,
    id_number: str,
    name: str,
    gender: str,
    ethnicity: str,
    birth_date: dt.date,
    birthplace_code: str,
    household_no: str,
    relation_to_head: str,
    division_code: str = "",
    address: str = "",
    case_tracking_no: str = "",
) -> Person:
    """Register a birth (出生登记) into an existing household, or a new one (then the person is its head).

    Refused: an invalid ID number, or one whose birth date or gender (GB 11643-1999) disagrees with the
    ones given; an ID number already held by an active person (409) or by any earlier record (409); an
    unknown ethnicity, relation or birthplace; a division that does not exist.
    """
    _require_registrar(acting_user, "person_birth_register")
    errors: list[FieldError] = []
    code, index = _id_number_index(id_number, errors)
    name = _check_name(name, "name", errors)
    if gender not in Gender.values:
        errors.append(FieldError("gender", "gender_unknown", "性别无效。", "The gender is not valid."))
    _check_ethnicity(ethnicity, errors)
    _check_relation(relation_to_head, errors)
    birthplace = _division(birthplace_code, "birthplace_code", errors)
    if code:
        parts = parse_id_number(code)
        if parts.birth_date != birth_date:
            errors.append(
                FieldError(
                    "birth_date",
                    "birth_date_mismatch",
                    f"出生日期与身份证号码中的 {parts.birth_date.isoformat()} 不一致。",
                    f"The birth date differs from the one in the ID number ({parts.birth_date.isoformat()}).",
                )
            )
        if gender in Gender.values and parts.gender != gender:
            errors.append(
                FieldError(
                    "gender",
                    "gender_mismatch",
                    "性别与身份证号码第 17 位不一致。",
                    "The gender differs from the one the ID number encodes (17th digit).",
                )
            )
    _check_effective_on(birth_date, errors, field="birth_date")
    case_tracking_no = _check_case(case_tracking_no, errors)
    choice = _household_choice(
        household_no=household_no,
        division_code=division_code,
        address=address,
        relation_to_head=relation_to_head,
        errors=errors,
    )
    _raise_if(errors)
    assert birthplace is not None  # noqa: S101 - no errors means it was found

    with transaction.atomic():
        existing = list(
            Person.objects.filter(id_number_index=index, province_code=code[:2]).values_list(
                "status", flat=True
            )
        )
        if PersonStatus.ACTIVE in existing:
            raise _active_exists("登记")
        if existing:
            raise RuleViolation(
                "id_number_used",
                "该身份证号码已登记过（已迁出或已死亡注销），出生登记不能重复使用。",
                "This ID number was registered before (moved out or deceased); a birth cannot reuse it.",
                field="id_number",
                status=409,
            )
        household = _household_join(choice)
        person = Person(
            id_number=code,
            id_number_index=index,
            province_code=code[:2],
            name=name,
            gender=gender,
            ethnicity=ethnicity,
            birth_date=birth_date,
            birthplace_code=birthplace.code,
            household=household,
            relation_to_head=relation_to_head,
            status=PersonStatus.ACTIVE,
            version=1,
        )
        try:
            with transaction.atomic():
                person.save(force_insert=True)
        except IntegrityError:
            raise _active_exists("登记") from None
        if relation_to_head == Relation.HEAD:
            _head_set(household, person)
        _record(
            person=person,
            household=household,
            kind=VersionKind.BORN,
            topic="person.born",
            effective_on=birth_date,
            changed=["*"],
            acting_user=acting_user,
            case_tracking_no=case_tracking_no,
            payload={
                "division_code": household.division.code,
                "household_no": household.household_no,
                "birth_date": birth_date.isoformat(),
                "gender": gender,
            },
        )
    return person


def person_transfer(
    *,
    acting_user: User,
    id_number: str,
    household_no: str,
    relation_to_head: str,
    division_code: str = "",
    address: str = "",
    effective_on: dt.date | None = None,
    case_tracking_no: str = "",
) -> Person:
    """Move a person out of their household and into another (迁出 + 迁入) as one change.

    The target is an existing household (``household_no``; ``division_code`` if given must be its
    division) or a new one (``household_no`` with ``division_code`` and ``address``; the person becomes its
    head). Refused: a deceased person, a person not in the register, the household they are already in, a
    division that does not exist. A moved-out person may move back in unless another active record holds
    their ID number.
    """
    _require_registrar(acting_user, "person_transfer")
    errors: list[FieldError] = []
    code, index = _id_number_index(id_number, errors)
    _check_relation(relation_to_head, errors)
    effective = _check_effective_on(effective_on, errors)
    case_tracking_no = _check_case(case_tracking_no, errors)
    choice = _household_choice(
        household_no=household_no,
        division_code=division_code,
        address=address,
        relation_to_head=relation_to_head,
        errors=errors,
    )
    _raise_if(errors)

    with transaction.atomic():
        person = _person_for_update(code, index)
        _refuse_deceased(person, operation_zh="迁入", operation_en="a move-in")
        source = Household.objects.select_for_update().select_related("division").get(pk=person.household_id)
        if (
            choice.household is not None
            and choice.household.pk == source.pk
            and person.status == PersonStatus.ACTIVE
        ):
            raise RuleViolation(
                "same_household",
                f"该人员已在户 {source.household_no} 中。",
                f"This person is already in household {source.household_no}.",
                field="household_no",
                status=409,
            )
        target = _household_join(choice)
        _head_clear_if(source, person)
        person.household = target
        person.relation_to_head = relation_to_head
        person.status = PersonStatus.ACTIVE
        try:
            with transaction.atomic():
                _person_save(person, ["household", "relation_to_head", "status"])
        except IntegrityError:  # a moved-out record coming back while another is active
            raise _active_exists("迁入") from None
        if relation_to_head == Relation.HEAD:
            _head_set(target, person)
        _record(
            person=person,
            household=target,
            kind=VersionKind.MOVED,
            topic="person.moved",
            effective_on=effective,
            changed=["household", "relation_to_head", "status"],
            acting_user=acting_user,
            case_tracking_no=case_tracking_no,
            payload={
                "from_division_code": source.division.code,
                "from_household_no": source.household_no,
                "to_division_code": target.division.code,
                "to_household_no": target.household_no,
            },
        )
    return person


def person_death_register(
    *,
    acting_user: User,
    id_number: str,
    died_on: dt.date,
    case_tracking_no: str = "",
) -> Person:
    """Deregister a death (死亡注销). Refused: a person already deceased or moved out, a date in the future or
    before the birth. The person stays in their household's history; a head leaves the household headless."""
    _require_registrar(acting_user, "person_death_register")
    errors: list[FieldError] = []
    code, index = _id_number_index(id_number, errors)
    _check_effective_on(died_on, errors, field="died_on")
    case_tracking_no = _check_case(case_tracking_no, errors)
    _raise_if(errors)

    with transaction.atomic():
        person = _person_for_update(code, index)
        _refuse_not_active(person, operation_zh="死亡注销", operation_en="death deregistration")
        if died_on < person.birth_date:
            raise FieldErrors(
                [
                    FieldError(
                        "died_on",
                        "died_before_birth",
                        "死亡日期不能早于出生日期。",
                        "The date of death cannot be before the birth date.",
                    )
                ]
            )
        household = (
            Household.objects.select_for_update().select_related("division").get(pk=person.household_id)
        )
        person.status = PersonStatus.DECEASED
        person.died_on = died_on
        _person_save(person, ["status", "died_on"])
        _head_clear_if(household, person)
        _record(
            person=person,
            household=household,
            kind=VersionKind.DECEASED,
            topic="person.deceased",
            effective_on=died_on,
            changed=["status", "died_on"],
            acting_user=acting_user,
            case_tracking_no=case_tracking_no,
            payload={"division_code": household.division.code, "household_no": household.household_no},
        )
    return person


def person_rename(
    *,
    acting_user: User,
    id_number: str,
    new_name: str,
    effective_on: dt.date | None = None,
    case_tracking_no: str = "",
) -> Person:
    """Change a person's name (变更姓名); the old name joins the former names. Refused: a deceased or
    moved-out person, the same name, an empty or too long name."""
    _require_registrar(acting_user, "person_rename")
    errors: list[FieldError] = []
    code, index = _id_number_index(id_number, errors)
    name = _check_name(new_name, "new_name", errors)
    effective = _check_effective_on(effective_on, errors)
    case_tracking_no = _check_case(case_tracking_no, errors)
    _raise_if(errors)

    with transaction.atomic():
        person = _person_for_update(code, index)
        _refuse_not_active(person, operation_zh="姓名变更", operation_en="a change of name")
        if name == person.name:
            raise FieldErrors(
                [
                    FieldError(
                        "new_name",
                        "name_unchanged",
                        "新姓名与现姓名相同。",
                        "The new name is the current name.",
                    )
                ]
            )
        person.former_names = [*person.former_names, person.name]
        person.name = name
        _person_save(person, ["name", "former_names_text"])
        household = Household.objects.select_related("division").get(pk=person.household_id)
        _record(
            person=person,
            household=household,
            kind=VersionKind.RENAMED,
            topic="person.renamed",
            effective_on=effective,
            changed=["name", "former_names"],
            acting_user=acting_user,
            case_tracking_no=case_tracking_no,
            payload={"division_code": household.division.code},
        )
    return person


def person_correct(
    *,
    acting_user: User,
    id_number: str,
    corrections: dict[str, str],
    reason: str,
    case_tracking_no: str = "",
) -> Person:
    """Correct an error in the record (更正): ``corrections`` maps field to right value, among ``name``,
    ``ethnicity``, ``birthplace_code`` and ``relation_to_head``. A corrected name is not a former name.

    Refused: no reason, no corrections, another field (gender and birth date are encoded in the ID number),
    values that are not valid, values equal to the current ones. Records of deceased persons may be
    corrected too.
    """
    _require_registrar(acting_user, "person_correct")
    errors: list[FieldError] = []
    code, index = _id_number_index(id_number, errors)
    reason = _text(reason)
    if not reason:
        errors.append(
            FieldError("reason", "reason_required", "请说明更正理由。", "Give the reason for the correction.")
        )
    elif len(reason) > REASON_MAX_LENGTH:
        errors.append(
            FieldError(
                "reason",
                "reason_too_long",
                f"理由不能超过 {REASON_MAX_LENGTH} 个字符。",
                f"A reason has at most {REASON_MAX_LENGTH} characters.",
            )
        )
    if not corrections:
        errors.append(
            FieldError("corrections", "corrections_empty", "请填写要更正的项目。", "Enter what to correct.")
        )
    values: dict[str, str] = {}
    for field, raw in corrections.items():
        if field not in CORRECTABLE_FIELDS:
            errors.append(
                FieldError(
                    f"corrections.{field}",
                    "field_not_correctable",
                    f"“{field}”不能在此更正（性别、出生日期由身份证号码决定）。",
                    f"'{field}' cannot be corrected here (gender and birth date come from the ID number).",
                )
            )
            continue
        value = _text(str(raw))
        if field == "name":
            value = _check_name(value, "corrections.name", errors)
        elif field == "ethnicity":
            _check_ethnicity(value, errors)
        elif field == "relation_to_head":
            _check_relation(value, errors)
        elif field == "birthplace_code":
            division = _division(value, "corrections.birthplace_code", errors)
            value = division.code if division is not None else value
        values[field] = value
    case_tracking_no = _check_case(case_tracking_no, errors)
    _raise_if(errors)

    with transaction.atomic():
        person = _person_for_update(code, index)
        changed = sorted(field for field, value in values.items() if getattr(person, field) != value)
        if not changed:
            raise FieldErrors(
                [
                    FieldError(
                        "corrections",
                        "nothing_to_correct",
                        "更正后的内容与现登记内容相同。",
                        "The corrected values are the ones already registered.",
                    )
                ]
            )
        household = (
            Household.objects.select_for_update().select_related("division").get(pk=person.household_id)
        )
        if values.get("relation_to_head") == Relation.HEAD and person.status == PersonStatus.ACTIVE:
            _head_set(household, person)
        elif "relation_to_head" in changed:
            _head_clear_if(household, person)
        for field in changed:
            setattr(person, field, values[field])
        _person_save(person, changed)
        _record(
            person=person,
            household=household,
            kind=VersionKind.CORRECTED,
            topic="person.corrected",
            effective_on=timezone.localdate(),
            changed=changed,
            acting_user=acting_user,
            case_tracking_no=case_tracking_no,
            payload={"division_code": household.division.code, "fields": changed},
            reason=reason,
        )
    return person
