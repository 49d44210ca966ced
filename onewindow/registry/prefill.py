"""Once-only (最多跑一次) from the base registries: pre-fill values, 免提交 resources and verified extracts
answered by the population register and the legal-entity register (issue #5 item 4; docs/registry.md,
"Once-only").

:class:`RegistryPrefillSource` is a pre-fill source (``onewindow.forms.prefill``), configured in
``settings.PREFILL_SOURCES`` after the identity source:

- ``values``: the ``person.*`` keys from the applicant's **own** active record (the ID number the signed-in
  account was verified with), the ``entity.*`` keys from the enterprise account's **own** active entity.
  Never another person's data: an identity typed in by a window clerk or a village agent (no account, or
  another account) gets nothing from here. Each lookup that reads a record is audited
  (``registry.prefill_read``: who, which keys, the purpose).
- ``held_resources``: ``population.id_card`` and ``population.household`` when the applicant's ID number has
  an active record; ``amr.business_licence`` when the enterprise's credit code is an active entity.
- ``extract``: the verified data of one of those resources, only the fields its material shows, for the case
  it is attached to; audited (``registry.extract_fetched``: who, which resource, the case's tracking number as
  purpose; never the ID number).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from onewindow.accounts.roles import Kind
from onewindow.audit.actions import audit_append
from onewindow.core.validators import InvalidIdentifier, validate_credit_code, validate_id_number
from onewindow.forms.prefill import Identity, VerifiedData
from onewindow.registry.models import Person, PersonStatus
from onewindow.registry.models_entities import EntityStatus, LegalEntity
from onewindow.registry.protection import blind_index, decrypt, normalise

if TYPE_CHECKING:
    from onewindow.accounts.models import User

SOURCE_NAME = "registry"

# Information resources (MaterialSpec.shared_resource) the registers hold.
POPULATION_ID_CARD = "population.id_card"
POPULATION_HOUSEHOLD = "population.household"
AMR_BUSINESS_LICENCE = "amr.business_licence"
PERSON_RESOURCES = frozenset({POPULATION_ID_CARD, POPULATION_HOUSEHOLD})
ENTITY_RESOURCES = frozenset({AMR_BUSINESS_LICENCE})

# What each resource's extract holds: only what the material itself shows (PIPL Art. 6, minimum necessary).
EXTRACT_FIELDS: dict[str, tuple[str, ...]] = {
    # 居民身份证 (Resident Identity Card Law Art. 3)
    POPULATION_ID_CARD: ("id_number", "name", "gender", "ethnicity", "birth_date", "address"),
    # 居民户口簿: the person's own page
    POPULATION_HOUSEHOLD: ("name", "household_no", "division_code", "address", "relation_to_head"),
    # 营业执照 (市场主体登记管理条例 第二十一条)
    AMR_BUSINESS_LICENCE: (
        "credit_code",
        "name",
        "type",
        "legal_rep_name",
        "registered_capital",
        "division_code",
        "address",
        "business_scope",
        "established_on",
        "status",
        "registration_authority",
    ),
}


def _capital_text(capital: Decimal | None) -> str:
    """Registered capital in 10,000 yuan without trailing zeros: ``Decimal("100.0000")`` -> ``"100"``."""
    if capital is None:
        return ""
    text = format(capital, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _capital_number(capital: Decimal | None) -> int | float | None:
    if capital is None:
        return None
    return int(capital) if capital == capital.to_integral_value() else float(capital)


# Pre-fill key -> how to read it from the person (their current record and household).
PERSON_PREFILL: dict[str, Callable[[Person], Any]] = {
    "person.gender": lambda person: person.gender,
    "person.birth_date": lambda person: person.birth_date.isoformat(),
    "person.ethnicity": lambda person: person.ethnicity,
    "person.household_no": lambda person: person.household.household_no,
    "person.division_code": lambda person: person.household.division.code,
    "person.address": lambda person: person.household.address,
}

# Pre-fill key -> how to read it from the enterprise's entity.
ENTITY_PREFILL: dict[str, Callable[[LegalEntity], Any]] = {
    "entity.name": lambda entity: entity.name,
    "entity.type": lambda entity: entity.type,
    "entity.legal_rep_name": lambda entity: entity.legal_rep.name if entity.legal_rep is not None else "",
    "entity.registered_capital": lambda entity: _capital_number(entity.registered_capital),
    "entity.division_code": lambda entity: entity.division_code,
    "entity.address": lambda entity: entity.address,
    "entity.business_scope": lambda entity: entity.business_scope,
    "entity.established_on": lambda entity: entity.established_on.isoformat(),
}


def active_person(id_number: str) -> Person | None:
    """The active record holding ``id_number`` (with its household), or None (also for an invalid number).

    Trusted code only: no permission check and no audit here; the callers audit.
    """
    try:
        code = validate_id_number(id_number)
    except InvalidIdentifier:
        return None
    return (
        Person.objects.select_related("household__division")
        .filter(
            id_number_index=blind_index(code, kind="id_number"),
            province_code=code[:2],
            status=PersonStatus.ACTIVE,
        )
        .first()
    )


def _person_held(id_number: str) -> bool:
    try:
        code = validate_id_number(id_number)
    except InvalidIdentifier:
        return False
    return Person.objects.filter(
        id_number_index=blind_index(code, kind="id_number"),
        province_code=code[:2],
        status=PersonStatus.ACTIVE,
    ).exists()


def active_entity(credit_code: str) -> LegalEntity | None:
    """The active entity with ``credit_code`` (with its legal representative), or None. Trusted code only."""
    try:
        code = validate_credit_code(credit_code)
    except InvalidIdentifier:
        return None
    return (
        LegalEntity.objects.select_related("legal_rep")
        .filter(credit_code=code, status=EntityStatus.ACTIVE)
        .first()
    )


def person_record(person: Person) -> dict[str, Any]:
    """Every field an extract of a person may hold, as JSON values."""
    household = person.household
    return {
        "id_number": person.id_number,
        "name": person.name,
        "gender": person.gender,
        "ethnicity": person.ethnicity,
        "birth_date": person.birth_date.isoformat(),
        "household_no": household.household_no,
        "division_code": household.division.code,
        "address": household.address,
        "relation_to_head": person.relation_to_head,
        "status": person.status,
    }


def entity_record(entity: LegalEntity) -> dict[str, Any]:
    """Every field an extract of an entity may hold, as JSON values."""
    return {
        "credit_code": entity.credit_code,
        "name": entity.name,
        "type": entity.type,
        "legal_rep_name": entity.legal_rep.name if entity.legal_rep is not None else "",
        "registered_capital": _capital_text(entity.registered_capital),
        "division_code": entity.division_code,
        "address": entity.address,
        "business_scope": entity.business_scope,
        "established_on": entity.established_on.isoformat(),
        "status": entity.status,
        "registration_authority": entity.registration_authority,
    }


# The exchange's ``entity_basic`` answers from this, one statement without ORM query building: the same join
# as ``active_entity`` (representative's record), the columns ``entity_record`` reads, and only the
# representative's name decrypted (the ORM would decrypt every encrypted field of that person).
_ENTITY_RECORD_SQL = (
    "SELECT e.credit_code, e.name, e.type, e.registered_capital, e.division_code, e.address, "
    "e.business_scope, e.established_on, e.status, e.registration_authority, p.name "
    "FROM registry_legalentity e LEFT JOIN registry_person p ON p.id = e.legal_rep_id "
    "WHERE e.credit_code = %s AND e.status = %s"
)


def active_entity_record(credit_code: str) -> dict[str, Any] | None:
    """``entity_record(active_entity(credit_code))`` in one constant SQL statement, or None (also for an
    invalid code). Trusted code only: no permission check and no audit here; the callers audit."""
    try:
        code = validate_credit_code(credit_code)
    except InvalidIdentifier:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_ENTITY_RECORD_SQL, [code, EntityStatus.ACTIVE.value])
        row = cursor.fetchone()
    if row is None:
        return None
    (found, name, kind, capital, division, address, scope, established, status, authority, rep_name) = row
    # SQLite hands back a NUMERIC column as int or float (exact for 14 digits) and a date as text.
    return {
        "credit_code": found,
        "name": name,
        "type": kind,
        "legal_rep_name": decrypt(rep_name) if rep_name else "",
        "registered_capital": _capital_text(None if capital is None else Decimal(str(capital))),
        "division_code": division,
        "address": address,
        "business_scope": scope,
        "established_on": established if isinstance(established, str) else established.isoformat(),
        "status": status,
        "registration_authority": authority,
    }


def own_id_number(identity: Identity) -> str:
    """The ID number of the person acting, if it is the signed-in account's own verified number; else ""."""
    user = identity.user
    if user is None or not user.is_authenticated or not user.id_number:
        return ""
    claimed = identity.person_id_number or ("" if identity.is_enterprise else identity.identifier)
    return user.id_number if claimed and normalise(claimed) == normalise(user.id_number) else ""


def own_credit_code(identity: Identity) -> str:
    """The enterprise's credit code, if the signed-in account is that enterprise's account; else ""."""
    user = identity.user
    if (
        not identity.is_enterprise
        or user is None
        or not user.is_authenticated
        or user.kind != Kind.ENTERPRISE
        or not user.enterprise_credit_code
    ):
        return ""
    same = normalise(identity.identifier) == normalise(user.enterprise_credit_code)
    return user.enterprise_credit_code if same else ""


class RegistryPrefillSource:
    """The population and legal-entity registers as a pre-fill source (see the module docstring)."""

    name = SOURCE_NAME
    keys = frozenset(PERSON_PREFILL) | frozenset(ENTITY_PREFILL)
    purpose_aware = True

    def values(self, identity: Identity, keys: set[str], *, purpose: str = "prefill") -> dict[str, Any]:
        """Values of the ``person.*`` / ``entity.*`` keys asked for, from the applicant's own records."""
        answers: dict[str, Any] = {}
        person_keys = sorted(keys & PERSON_PREFILL.keys())
        id_number = own_id_number(identity) if person_keys else ""
        person = active_person(id_number) if id_number else None
        if person is not None:
            found = {key: PERSON_PREFILL[key](person) for key in person_keys}
            found = {key: value for key, value in found.items() if value not in (None, "")}
            self._audit_read(identity, "person", person.pk, sorted(found), purpose)
            answers.update(found)
        entity_keys = sorted(keys & ENTITY_PREFILL.keys())
        credit_code = own_credit_code(identity) if entity_keys else ""
        entity = active_entity(credit_code) if credit_code else None
        if entity is not None:
            found = {key: ENTITY_PREFILL[key](entity) for key in entity_keys}
            found = {key: value for key, value in found.items() if value not in (None, "")}
            self._audit_read(identity, "legal_entity", entity.pk, sorted(found), purpose)
            answers.update(found)
        return answers

    @staticmethod
    def _audit_read(
        identity: Identity, object_type: str, object_id: int, keys: list[str], purpose: str
    ) -> None:
        with transaction.atomic():
            audit_append(
                action="registry.prefill_read",
                acting_user=identity.user,
                object_type=object_type,
                object_id=object_id,
                details={"purpose": purpose[:100], "keys": keys},
            )

    def held_resources(self, identity: Identity, resources: set[str]) -> set[str]:
        """``population.*`` for a resident with an active record; ``amr.business_licence`` for an active
        enterprise. Nothing is read but whether the record exists."""
        held: set[str] = set()
        person_resources = resources & PERSON_RESOURCES
        if person_resources and not identity.is_enterprise and _person_held(identity.identifier):
            held |= person_resources
        if resources & ENTITY_RESOURCES and identity.is_enterprise:
            try:
                code = validate_credit_code(identity.identifier)
            except InvalidIdentifier:
                return held
            if LegalEntity.objects.filter(credit_code=code, status=EntityStatus.ACTIVE).exists():
                held |= resources & ENTITY_RESOURCES
        return held

    def extract(
        self, identity: Identity, resource: str, *, purpose: str, acting_user: User | None
    ) -> VerifiedData | None:
        """The verified data of ``resource`` for the applicant (only :data:`EXTRACT_FIELDS`), audited as
        ``registry.extract_fetched`` with ``purpose`` (the case's tracking number); None if not held.

        Call it inside the transaction that attaches the data to the case, so the audit record commits
        or rolls back with it.
        """
        fields = EXTRACT_FIELDS.get(resource)
        if fields is None:
            return None
        record: dict[str, Any]
        if resource in PERSON_RESOURCES and not identity.is_enterprise:
            person = active_person(identity.identifier)
            if person is None:
                return None
            object_type, object_id, version, record = (
                "person",
                person.pk,
                person.version,
                person_record(person),
            )
        elif resource in ENTITY_RESOURCES and identity.is_enterprise:
            entity = active_entity(identity.identifier)
            if entity is None:
                return None
            object_type, object_id, version = "legal_entity", entity.pk, entity.version
            record = entity_record(entity)
        else:
            return None
        audit_append(
            action="registry.extract_fetched",
            acting_user=acting_user,
            actor_username="" if acting_user is not None else "system",
            object_type=object_type,
            object_id=object_id,
            details={"purpose": purpose[:100], "resource": resource, "fields": list(fields)},
        )
        return VerifiedData(
            resource=resource,
            data={field: record[field] for field in fields},
            source=SOURCE_NAME,
            record_version=version,
        )
