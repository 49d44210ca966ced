"""Reads of the population register that cross a trust boundary: every lookup is authorised and audited.

A lookup answers masked data (ID number: first 6 and last 4 characters; name: the first character; no
birth date, which would unmask the ID number; no address, no former names) unless a full view is asked
for with a purpose, normally the tracking number of the case being handled. Both are audited as
``registry.person_viewed`` with the purpose and whether the view was full, never with the ID number.
"""

from __future__ import annotations

from typing import TypedDict

from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404

from onewindow.accounts.models import User
from onewindow.accounts.permissions import require_permission
from onewindow.accounts.roles import Permission
from onewindow.applications.models import Application
from onewindow.audit.actions import audit_append
from onewindow.core.errors import RuleViolation
from onewindow.core.validators import InvalidIdentifier, mask_id_number, validate_id_number
from onewindow.registry.actions import REGISTRY_POPULATION_DEPARTMENT
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


def _department_works_on(tracking_no: str) -> bool:
    """True if ``tracking_no`` is a case the population register's department is working on now."""
    pending = (
        Application.objects.filter(tracking_no=tracking_no)
        .values_list("pending_department_codes", flat=True)
        .first()
    )
    return isinstance(pending, list) and REGISTRY_POPULATION_DEPARTMENT in pending


def person_by_id_number(
    user: User | AnonymousUser, id_number: str, *, purpose: str = "", full: bool = False
) -> PersonView:
    """The person holding ``id_number`` (the active record, else the latest), for a public-security
    handler; masked unless ``full`` with a ``purpose``: the tracking number of a case the department is
    working on now (otherwise 403 ``purpose_not_a_case``, audited).

    Refused (audited ``permission.denied``) for everyone else. Http404 for an invalid ID number or one
    not in the register, so the answer says nothing about numbers the caller cannot see.
    """
    reader = require_permission(
        user,
        Permission.HANDLE_TASKS,
        department_code=REGISTRY_POPULATION_DEPARTMENT,
        object_type="person",
        object_id="person_by_id_number",
    )
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
    if full and not _department_works_on(purpose):
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
    try:
        code = validate_id_number(id_number)
    except InvalidIdentifier:
        raise Http404("person") from None
    active_first = Case(
        When(status=PersonStatus.ACTIVE, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    person = (
        Person.objects.select_related("household__division")
        .filter(id_number_index=blind_index(code, kind="id_number"))
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
    )
    household = person.household
    return PersonView(
        person_id=person.pk,
        masked=not full,
        id_number=person.id_number if full else mask_id_number(person.id_number),
        name=person.name if full else mask_name(person.name),
        former_names=person.former_names if full else [],
        gender=person.gender,
        ethnicity=person.ethnicity,
        # Hidden when masked: digits 7–14 of the ID number are the birth date.
        birth_date=person.birth_date.isoformat() if full else None,
        birthplace_code=person.birthplace_code,
        household_no=household.household_no,
        division_code=household.division.code,
        address=household.address if full else "",
        relation_to_head=person.relation_to_head,
        status=person.status,
        died_on=person.died_on.isoformat() if person.died_on else None,
        version=person.version,
    )
