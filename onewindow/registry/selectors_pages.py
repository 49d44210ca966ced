"""Reads the registry's pages need besides ``selectors.person_by_id_number`` and ``entities.entity_public``:
a person found by internal id (the pages keep ID numbers out of URLs), a person's history, and an entity's
registration with its history for market-regulation handlers.

Each checks who is asking first (refusals audited as ``permission.denied``). The person reads go through
``person_by_id_number`` for the record itself, so masking, the purpose check and its audit record
(``registry.person_viewed``) are the same as the API's; the history read is audited as
``registry.person_history_viewed``. A masked history names the fields a change touched but never the values
in its snapshot; a full one (only after a full view with a purpose) shows the values after each change.
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from onewindow.accounts.models import User
from onewindow.accounts.permissions import require_permission
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.core.errors import RuleViolation
from onewindow.core.validators import InvalidIdentifier, validate_credit_code
from onewindow.registry.actions import REGISTRY_POPULATION_DEPARTMENT
from onewindow.registry.entities import REGISTRY_ENTITY_DEPARTMENT
from onewindow.registry.models import Person, PersonVersion, VersionKind
from onewindow.registry.models_entities import LegalEntity, LegalEntityVersion
from onewindow.registry.selectors import PersonView, person_by_id_number

# Versions whose effective date is the birth date (digits 7–14 of the ID number): hidden when masked.
BIRTH_DATED_KINDS = frozenset({VersionKind.BORN, VersionKind.IMPORTED})
# Snapshot values a full history may show: the fields a change can touch. The ID number is not among them:
# it never changes, and the full record above the history shows it already.
HISTORY_VALUE_FIELDS = (
    "name",
    "former_names",
    "ethnicity",
    "birthplace_code",
    "household_no",
    "division_code",
    "address",
    "relation_to_head",
    "status",
    "died_on",
)


class PersonVersionRow(TypedDict):
    version: int
    kind: str
    # None in a masked history for a birth or an import: their effective date is the birth date.
    effective_on: dt.date | None
    recorded_at: dt.datetime
    acting_user: str
    case_tracking_no: str
    changed: list[str]
    # Only in a full history: the correction's reason (free text that may name the person) and the
    # values of the changed fields after the change.
    reason: str
    values: dict[str, object]


class EntityVersionRow(TypedDict):
    version: int
    kind: str
    recorded_at: dt.datetime
    acting_user: str
    case_tracking_no: str
    changed: list[str]
    reason: str


def _display(user: User | None) -> str:
    if user is None:
        return ""
    return user.display_name or user.username


def _require_population_reader(user: User | AnonymousUser, object_id: str) -> User:
    return require_permission(
        user,
        Permission.HANDLE_TASKS,
        department_code=REGISTRY_POPULATION_DEPARTMENT,
        object_type="person",
        object_id=object_id,
    )


def _person(person_id: int) -> Person:
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise Http404("person")
    return person


def person_by_id(
    user: User | AnonymousUser, person_id: int, *, purpose: str = "", full: bool = False
) -> PersonView:
    """The record of the person with internal id ``person_id``, as ``person_by_id_number`` answers it
    (masked unless ``full`` with a purpose; audited). Public-security handlers only; Http404 if there is no
    such person.

    When another record holds the same ID number and is active, that record is answered (as a lookup by
    ID number would): its ``person_id`` differs from the one asked for.
    """
    _require_population_reader(user, str(person_id))
    person = _person(person_id)
    return person_by_id_number(user, person.id_number, purpose=purpose, full=full)


def person_for_operation(user: User | AnonymousUser, person_id: int) -> Person:
    """The person a front-desk operation page works on, for passing its ID number to the action (which
    checks and audits again). Public-security handlers only; Http404 if there is no such person."""
    _require_population_reader(user, str(person_id))
    return _person(person_id)


def person_history(
    user: User | AnonymousUser, view: PersonView, *, purpose: str = ""
) -> list[PersonVersionRow]:
    """Every version of the person in ``view`` (an answer of ``person_by_id_number`` or ``person_by_id``),
    oldest first: kind, effective date, who, for which case, the changed fields. The values after each
    change and a correction's reason only when ``view`` is a full view; masked, a birth's effective date
    (the birth date) is hidden too. Audited with the purpose."""
    reader = _require_population_reader(user, str(view["person_id"]))
    full = not view["masked"]
    versions = list(
        PersonVersion.objects.filter(person_id=view["person_id"])
        .select_related("acting_user")
        .order_by("version")
        # The encrypted snapshot is decrypted only when it is shown.
        .defer(*([] if full else ["snapshot"]))
    )
    audit_append(
        action="registry.person_history_viewed",
        acting_user=reader,
        object_type="person",
        object_id=view["person_id"],
        details={"purpose": purpose.strip(), "full": full, "versions": len(versions)},
    )
    rows: list[PersonVersionRow] = []
    for version in versions:
        changed = [str(field) for field in version.changed] if isinstance(version.changed, list) else []
        values: dict[str, object] = {}
        if full:
            snapshot = version.snapshot_data
            wanted = HISTORY_VALUE_FIELDS if "*" in changed else changed
            values = {field: snapshot.get(field) for field in wanted if field in HISTORY_VALUE_FIELDS}
        rows.append(
            PersonVersionRow(
                version=version.version,
                kind=version.kind,
                effective_on=None if not full and version.kind in BIRTH_DATED_KINDS else version.effective_on,
                recorded_at=version.created_at,
                acting_user=_display(version.acting_user),
                case_tracking_no=version.case_tracking_no,
                changed=changed,
                reason=version.reason if full else "",
                values=values,
            )
        )
    return rows


def _require_entity_registrar(user: User | AnonymousUser, object_id: str) -> User:
    return require_permission(
        user,
        Permission.HANDLE_TASKS,
        department_code=REGISTRY_ENTITY_DEPARTMENT,
        object_type="legal_entity",
        object_id=object_id,
    )


def entity_for_registrar(user: User | AnonymousUser, credit_code: str) -> LegalEntity:
    """The whole registration of an entity, for market-regulation handlers (registration data is public,
    so the read is not audited; a refusal is). 404 ``entity_not_found`` for an invalid or unknown code."""
    _require_entity_registrar(user, credit_code[:18])
    not_found = RuleViolation(
        "entity_not_found",
        "市场主体库中没有该统一社会信用代码。",
        "No entity with this credit code.",
        field="credit_code",
        status=404,
    )
    try:
        code = validate_credit_code(credit_code)
    except InvalidIdentifier:
        raise not_found from None
    entity = LegalEntity.objects.filter(credit_code=code).first()
    if entity is None:
        raise not_found
    return entity


def entity_history(user: User | AnonymousUser, entity: LegalEntity) -> list[EntityVersionRow]:
    """Every version of ``entity``, oldest first, for market-regulation handlers: kind, when, who, for which
    case, the changed fields and the reason (the snapshot's representative index is never shown)."""
    _require_entity_registrar(user, entity.credit_code)
    versions = (
        LegalEntityVersion.objects.filter(entity=entity)
        .select_related("acting_user")
        .defer("snapshot")
        .order_by("version")
    )
    return [
        EntityVersionRow(
            version=version.version,
            kind=version.kind,
            recorded_at=version.created_at,
            acting_user=_display(version.acting_user),
            case_tracking_no=version.case_tracking_no,
            changed=[str(field) for field in version.changed] if isinstance(version.changed, list) else [],
            reason=version.reason,
        )
        for version in versions
    ]
