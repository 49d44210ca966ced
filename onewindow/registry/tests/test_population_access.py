"""Who may read and change the population register, and how a read is masked and audited (issue #5
items 2 and 5; PIPL Arts. 6 and 51: minimum necessary, access control; GB/T 22239-2019 §8.1.4.2)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.registry.actions import (
    person_birth_register,
    person_correct,
    person_death_register,
    person_rename,
    person_transfer,
)
from onewindow.registry.models import Person
from onewindow.registry.selectors import person_by_id_number
from onewindow.registry.tests.test_population_support import (
    BABY_ID,
    BIRTH_DATE,
    GULOU,
    MOTHER_ID,
    TAIJIANG,
    psb_case,
    register,
    registrar,
    state,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def handler() -> User:
    return registrar()


@pytest.fixture
def mother(handler: User) -> Person:
    return register(handler, case_tracking_no="ZW1")


# --- Reading: masking and purpose ------------------------------------------------------------------------


def test_a_lookup_is_masked_and_audited(handler: User, mother: Person) -> None:
    view = person_by_id_number(handler, MOTHER_ID.lower())

    assert view["masked"] is True
    assert view["id_number"] == MOTHER_ID[:6] + "********" + MOTHER_ID[-4:]
    assert (view["name"], view["address"], view["former_names"], view["birth_date"]) == ("林**", "", [], None)
    assert (view["household_no"], view["division_code"], view["status"]) == ("350102000001", GULOU, "active")
    record = AuditRecord.objects.get(action="registry.person_viewed")
    assert (record.actor_id, record.object_id, record.details) == (
        handler.pk,
        str(mother.pk),
        {"purpose": "", "full": False},
    )


def test_a_full_view_needs_a_purpose_and_the_purpose_is_audited(handler: User, mother: Person) -> None:
    with pytest.raises(RuleViolation) as refused:
        person_by_id_number(handler, MOTHER_ID, full=True)
    assert (refused.value.code, refused.value.field, refused.value.status) == (
        "purpose_required",
        "purpose",
        422,
    )
    assert not AuditRecord.objects.filter(action="registry.person_viewed").exists()

    with pytest.raises(RuleViolation) as refused:
        person_by_id_number(handler, MOTHER_ID, purpose="ZW2024000001", full=True)
    assert (refused.value.code, refused.value.status) == ("purpose_not_a_case", 403)
    assert AuditRecord.objects.filter(action="registry.person_view_refused").count() == 1
    assert not AuditRecord.objects.filter(action="registry.person_viewed").exists()
    psb_case("ZW2024000001")

    view = person_by_id_number(handler, MOTHER_ID, purpose="ZW2024000001", full=True)

    assert view["masked"] is False
    assert (view["id_number"], view["name"], view["address"], view["birth_date"]) == (
        MOTHER_ID,
        "林美华",
        "福州市鼓楼区东街 1 号",
        "1990-06-01",
    )
    record = AuditRecord.objects.get(action="registry.person_viewed")
    assert record.details == {"purpose": "ZW2024000001", "full": True}
    assert MOTHER_ID not in str(record.details) + record.object_id


def test_a_lookup_prefers_the_active_record_and_shows_the_deceased_otherwise(
    handler: User, mother: Person
) -> None:
    person_death_register(acting_user=handler, id_number=MOTHER_ID, died_on=dt.date(2023, 1, 2))

    view = person_by_id_number(handler, MOTHER_ID)

    assert (view["status"], view["died_on"], view["version"]) == ("deceased", "2023-01-02", 2)


@pytest.mark.parametrize("id_number", [BABY_ID, "123", BABY_ID[:17] + "0"])
def test_unknown_or_invalid_id_numbers_are_not_found(handler: User, mother: Person, id_number: str) -> None:
    with pytest.raises(Http404):
        person_by_id_number(handler, id_number)


# --- Roles: only public-security handlers --------------------------------------------------------------


def _operations(actor: User) -> dict[str, Callable[[], Any]]:
    return {
        "birth": lambda: person_birth_register(
            acting_user=actor,
            id_number=BABY_ID,
            name="林小宝",
            gender="male",
            ethnicity="01",
            birth_date=BIRTH_DATE,
            birthplace_code=GULOU,
            household_no="350102000001",
            relation_to_head="child",
        ),
        "transfer": lambda: person_transfer(
            acting_user=actor,
            id_number=MOTHER_ID,
            household_no="T9",
            relation_to_head="head",
            division_code=TAIJIANG,
            address="台江区",
        ),
        "death": lambda: person_death_register(
            acting_user=actor, id_number=MOTHER_ID, died_on=dt.date(2023, 1, 2)
        ),
        "rename": lambda: person_rename(acting_user=actor, id_number=MOTHER_ID, new_name="林悦"),
        "correct": lambda: person_correct(
            acting_user=actor, id_number=MOTHER_ID, corrections={"ethnicity": "03"}, reason="更正"
        ),
        "view": lambda: person_by_id_number(actor, MOTHER_ID, purpose="ZW1", full=True),
    }


OPERATIONS = ["birth", "transfer", "death", "rename", "correct", "view"]


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_outside_public_security_is_refused_and_nothing_changes(
    role_users: dict[str, User], mother: Person, role: str, operation: str
) -> None:
    # The department handler and administrator of role_users belong to TDEPT, not PSB.
    actor = role_users[role]
    before = state()
    viewed_before = AuditRecord.objects.filter(action="registry.person_viewed").count()

    with pytest.raises(PermissionDenied):
        _operations(actor)[operation]()

    assert state() == before
    assert AuditRecord.objects.filter(action="registry.person_viewed").count() == viewed_before
    denied = AuditRecord.objects.filter(action="permission.denied", actor_id=actor.pk).latest("seq")
    assert (denied.outcome, denied.details) == ("denied", {"permission": "handle_tasks"})


@pytest.mark.parametrize("role", [Role.DEPARTMENT_HANDLER, Role.DEPARTMENT_ADMIN])
@pytest.mark.parametrize("operation", OPERATIONS)
def test_public_security_handlers_and_admins_may(mother: Person, role: Role, operation: str) -> None:
    actor = staff_user(role, department_code="PSB", username=f"psb_{role}")
    psb_case("ZW1")

    result = _operations(actor)[operation]()

    assert result is not None
    if operation != "view":
        assert state()["events"][-1][0].startswith("person.")
