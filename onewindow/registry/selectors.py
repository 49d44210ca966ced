"""Reads of the population register that cross a trust boundary: every lookup is authorised and audited.

A lookup answers masked data (ID number: first 6 and last 4 characters; name: the first character; no
birth date, which would unmask the ID number; no address, no former names) unless a full view is asked
for with a purpose, normally the tracking number of the case being handled. Both are audited as
``registry.person_viewed`` with the purpose and whether the view was full, never with the ID number.

Which fields a caller sees at all is the field-level access policy's (``registry.access``): the register's
keepers (public security) every field, other departments' handlers the basic fields and only for a case
their department is working on; the fields outside the caller's policy are answered empty.
"""

from __future__ import annotations

from typing import TypedDict

from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.core.errors import RuleViolation
from onewindow.core.validators import InvalidIdentifier, mask_id_number, validate_id_number
from onewindow.registry.access import departments_working_on, field_grants
from onewindow.registry.models import Person, PersonStatus
from onewindow.registry.protection import blind_index

PURPOSE_MAX_LENGTH = 100


class PersonView(TypedDict):
    person_id: int
    masked: bool
    id_number: str
    name: str
    former_names: list[str]
    gender: str
    ethnicity: str
    birth_date: str | None
    birthplace_code: str
    household_no: str
    division_code: str
    address: str
    relation_to_head: str
    status: str
    died_on: str | None
    version: int


def mask_name(name: str) -> str:
    """The first character (usually the surname) and one star per other character: 张三 → 张*."""
    return name[:1] + "*" * (len(name) - 1)


def _refused(user: User | AnonymousUser) -> Exception:
    """The refusal of a lookup (403 ``permission_denied``), audited as ``permission.denied``."""
    return permission_denied(
        user, Permission.HANDLE_TASKS, object_type="person", object_id="person_by_id_number"
    )


def person_by_id_number(
    user: User | AnonymousUser, id_number: str, *, purpose: str = "", full: bool = False
) -> PersonView:
    """The person holding ``id_number`` (the active record, else the latest), with the fields the caller's
    department and role may see (``registry.access``); masked unless ``full`` with a ``purpose``.

    - Public-security handlers and administrators (the register's keepers): any lookup; a full view only
      with the tracking number of a case their department is working on now (otherwise 403
      ``purpose_not_a_case``, audited as ``registry.person_view_refused``).
    - Handlers of another department the policy names: only with the tracking number of a case their own
      department is working on now as ``purpose`` (masked, or full with ``full``), and only their fields.

    Refused (403, audited ``permission.denied``) for everyone else, and for another department's handler
    without such a case. Http404 for an invalid ID number or one not in the register, so the answer says
    nothing about numbers the caller cannot see.
    """
    grants = field_grants(user)
    if not grants or not isinstance(user, User):
        raise _refused(user)
    reader = user
    purpose = purpose.strip()
    if full and not purpose:
        raise RuleViolation(
            "purpose_required",
            "查看完整信息须说明用途（办件编号）。",
            "A full view needs a purpose (the case's tracking number).",
            field="purpose",
        )
    if len(purpose) > PURPOSE_MAX_LENGTH:
        raise RuleViolation(
            "purpose_too_long",
            f"用途不能超过 {PURPOSE_MAX_LENGTH} 个字符。",
            f"A purpose has at most {PURPOSE_MAX_LENGTH} characters.",
            field="purpose",
        )
    working = set(departments_working_on(purpose))
    # A grant serves a case its department is working on; the keepers' also a masked lookup without one.
    serving = [grant for grant in grants if grant.department_code in working or (grant.keeper and not full)]
    if not serving:
        if not (full and any(grant.keeper for grant in grants)):
            raise _refused(reader)
        audit_append(
            action="registry.person_view_refused",
            acting_user=reader,
            object_type="person",
            object_id="person_by_id_number",
            details={"purpose": purpose},
        )
        raise RuleViolation(
            "purpose_not_a_case",
            "完整信息只能为本部门正在办理的办件查看：用途须为该办件的编号。",
            "A full view is only for a case your department is working on: give its tracking number.",
            field="purpose",
            status=403,
        )
    fields = frozenset().union(*(grant.fields for grant in serving))
    try:
        code = validate_id_number(id_number)
    except InvalidIdentifier:
        raise Http404("person") from None
    active_first = Case(
        When(status=PersonStatus.ACTIVE, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    person = (
        Person.objects.select_related("household__division")
        .filter(id_number_index=blind_index(code, kind="id_number"), province_code=code[:2])
        .order_by(active_first, "-id")
        .first()
    )
    if person is None:
        raise Http404("person")
    audit_append(
        action="registry.person_viewed",
        acting_user=reader,
        object_type="person",
        object_id=person.pk,
        details={"purpose": purpose, "full": full},
        # The department whose access served the lookup (the keepers' when theirs did).
        department_code=next(
            (grant.department_code for grant in serving if grant.keeper), serving[0].department_code
        ),
    )
    return _person_view(person, fields=fields, full=full)


def _person_view(person: Person, *, fields: frozenset[str], full: bool) -> PersonView:
    """The record with only ``fields`` (the others empty), masked unless ``full``."""
    household = person.household

    def shown(field: str) -> bool:
        return field in fields

    return PersonView(
        person_id=person.pk,
        masked=not full,
        id_number=(person.id_number if full else mask_id_number(person.id_number))
        if shown("id_number")
        else "",
        name=(person.name if full else mask_name(person.name)) if shown("name") else "",
        former_names=person.former_names if full and shown("former_names") else [],
        gender=person.gender if shown("gender") else "",
        ethnicity=person.ethnicity if shown("ethnicity") else "",
        # Hidden when masked: digits 7–14 of the ID number are the birth date.
        birth_date=person.birth_date.isoformat() if full and shown("birth_date") else None,
        birthplace_code=person.birthplace_code if shown("birthplace_code") else "",
        household_no=household.household_no if shown("household_no") else "",
        division_code=household.division.code if shown("division_code") else "",
        address=household.address if full and shown("address") else "",
        relation_to_head=person.relation_to_head if shown("relation_to_head") else "",
        status=person.status if shown("status") else "",
        died_on=person.died_on.isoformat() if person.died_on and shown("died_on") else None,
        version=person.version,
    )
