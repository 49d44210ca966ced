"""Shared helpers (no tests here) of the population tests: a public-security handler, valid ID numbers,
a snapshot of the register's state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.core.validators import InvalidIdentifier, make_id_number, parse_id_number
from onewindow.outbox.models import OutboxEvent
from onewindow.registry.actions import REGISTRY_POPULATION_DEPARTMENT, person_birth_register
from onewindow.registry.models import Household, Person, PersonVersion

# Divisions loaded by the organisations data migration (GB/T 2260): two districts of Fuzhou.
GULOU = "350102"
TAIJIANG = "350103"
BIRTH_DATE = dt.date(2020, 3, 14)
# GB 11643-1999: the 17th digit is odd for men and even for women.
BABY_ID = make_id_number(GULOU, BIRTH_DATE, 11)
MOTHER_ID = make_id_number(GULOU, dt.date(1990, 6, 1), 22)


def registrar(username: str = "psb_handler") -> User:
    """A department handler of the public-security department (the population register's keeper)."""
    return staff_user(
        Role.DEPARTMENT_HANDLER, department_code=REGISTRY_POPULATION_DEPARTMENT, username=username
    )


def register(
    acting_user: User,
    *,
    id_number: str = MOTHER_ID,
    name: str = "林美华",
    household_no: str = "350102000001",
    relation_to_head: str = "head",
    division_code: str = GULOU,
    address: str = "福州市鼓楼区东街 1 号",
    **overrides: Any,
) -> Person:
    """Register a birth with valid defaults (a woman born 1990-06-01 heading a new household in 鼓楼区)."""
    try:
        parts = parse_id_number(id_number)
    except InvalidIdentifier:  # the test checks the refusal; the other values need only be plausible
        parts = parse_id_number(BABY_ID)
    arguments: dict[str, Any] = {
        "acting_user": acting_user,
        "id_number": id_number,
        "name": name,
        "gender": str(parts.gender),
        "ethnicity": "01",
        "birth_date": parts.birth_date,
        "birthplace_code": parts.division_code,
        "household_no": household_no,
        "relation_to_head": relation_to_head,
        "division_code": division_code,
        "address": address,
        **overrides,
    }
    return person_birth_register(**arguments)


def state() -> dict[str, Any]:
    """Everything the population actions write, to compare before and after a refused call."""
    return {
        "households": list(Household.objects.order_by("pk").values_list("pk", "household_no", "head_id")),
        "persons": list(
            Person.objects.order_by("pk").values_list(
                "pk", "status", "version", "household_id", "relation_to_head", "ethnicity", "died_on"
            )
        ),
        "names": [(person.pk, person.name, person.former_names) for person in Person.objects.order_by("pk")],
        "versions": list(PersonVersion.objects.order_by("pk").values_list("pk", "person_id", "version")),
        "events": list(OutboxEvent.objects.order_by("created_at").values_list("topic", "key")),
    }


def psb_case(tracking_no: str = "ZW2024000001") -> None:
    """A case the public-security department is working on now: the purpose a full view needs."""
    from django.utils import timezone

    from onewindow.applications.models import Application, Status
    from onewindow.applications.tests.factories import published_service
    from onewindow.organisations.models import Department

    clerk = registrar("psb_case_clerk")
    department = Department.objects.get(code=REGISTRY_POPULATION_DEPARTMENT)
    service = published_service(f"PSB-{tracking_no[-6:]}", department=department)
    assert service.current_version is not None
    Application.objects.create(
        tracking_no=tracking_no,
        service=service,
        version=service.current_version,
        status=Status.IN_PROGRESS,
        channel="window",
        applicant_name="林美华",
        applicant_identifier=MOTHER_ID,
        submitted_by=clerk,
        submitted_at=timezone.now(),
        department_codes=[REGISTRY_POPULATION_DEPARTMENT],
        pending_department_codes=[REGISTRY_POPULATION_DEPARTMENT],
    )
