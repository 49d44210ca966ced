"""Front-desk operations on the population register (issue #5 items 1, 2 and 7): birth, transfer, death,
change of name and correction; their refusals; history that is never overwritten; events in the same
transaction; encryption at rest (PIPL Art. 51; 户口登记条例 Arts. 7, 8, 10, 13, 17, 18)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.core.validators import make_id_number
from onewindow.outbox.models import OutboxEvent
from onewindow.registry.actions import (
    person_correct,
    person_death_register,
    person_rename,
    person_transfer,
)
from onewindow.registry.models import Household, Person, PersonStatus, PersonVersion, VersionKind
from onewindow.registry.protection import blind_index
from onewindow.registry.tests.test_population_support import (
    BABY_ID,
    BIRTH_DATE,
    GULOU,
    MOTHER_ID,
    TAIJIANG,
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
    return register(handler)


def _codes(error: FieldErrors) -> dict[str, str]:
    return {item.field: item.code for item in error.errors}


def _event(topic: str) -> OutboxEvent:
    return OutboxEvent.objects.get(topic=topic)


# --- Birth registration ----------------------------------------------------------------------------------


def test_birth_into_a_new_household_makes_the_person_its_head(handler: User) -> None:
    person = register(handler, case_tracking_no="ZW2024000001")

    person.refresh_from_db()
    household = Household.objects.get(household_no="350102000001")
    assert (person.status, person.version, person.name, person.id_number) == (
        "active",
        1,
        "林美华",
        MOTHER_ID,
    )
    assert person.id_number_index == blind_index(MOTHER_ID, kind="id_number")
    assert (household.division.code, household.address, household.head_id) == (
        GULOU,
        "福州市鼓楼区东街 1 号",
        person.pk,
    )
    version = PersonVersion.objects.get(person=person)
    assert (version.version, version.kind, version.case_tracking_no, version.acting_user_id) == (
        1,
        VersionKind.BORN,
        "ZW2024000001",
        handler.pk,
    )
    assert version.snapshot_data["name"] == "林美华"
    assert version.snapshot_data["household_no"] == "350102000001"
    event = _event("person.born")
    assert event.key == person.id_number_index
    assert event.payload == {
        "person_id": person.pk,
        "version": 1,
        "effective_on": "1990-06-01",
        "case_tracking_no": "ZW2024000001",
        "status": "active",
        "division_code": GULOU,
        "household_no": "350102000001",
        "birth_date": "1990-06-01",
        "gender": "female",
    }
    record = AuditRecord.objects.get(action="registry.person.born")
    assert (record.actor_id, record.object_id, record.department_code) == (handler.pk, str(person.pk), "PSB")


def test_birth_into_an_existing_household_as_a_child(handler: User, mother: Person) -> None:
    baby = register(
        handler,
        id_number=BABY_ID,
        name="林小宝",
        relation_to_head="child",
        division_code="",
        address="",
    )

    assert baby.household_id == mother.household_id
    assert (baby.gender, baby.birth_date, baby.relation_to_head) == ("male", BIRTH_DATE, "child")
    assert Household.objects.get(pk=mother.household_id).head_id == mother.pk


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"id_number": BABY_ID[:17] + "0"}, {"id_number": "id_number_check"}),
        ({"birth_date": dt.date(2020, 3, 15)}, {"birth_date": "birth_date_mismatch"}),
        ({"gender": "female"}, {"gender": "gender_mismatch"}),
        ({"ethnicity": "57"}, {"ethnicity": "ethnicity_unknown"}),
        ({"relation_to_head": "cousin"}, {"relation_to_head": "relation_unknown"}),
        ({"name": "  "}, {"name": "name_required"}),
        ({"birthplace_code": "350199"}, {"birthplace_code": "division_code_unknown"}),
        # A well-formed township code (GB/T 2260 county + township) that is not in the divisions table.
        ({"birthplace_code": "350102001000"}, {"birthplace_code": "division_not_found"}),
        ({"household_no": "H-1"}, {"household_no": "household_no_invalid"}),
    ],
)
def test_birth_with_invalid_data_is_refused_field_by_field(
    handler: User, overrides: dict[str, Any], expected: dict[str, str]
) -> None:
    before = state()
    arguments: dict[str, Any] = {"id_number": BABY_ID, "name": "林小宝", **overrides}

    with pytest.raises(FieldErrors) as refused:
        register(handler, **arguments)

    assert _codes(refused.value) == expected
    assert all(item.message_zh and item.message_en for item in refused.value.errors)
    assert state() == before


def test_new_household_in_a_division_that_does_not_exist_is_refused(handler: User) -> None:
    before = state()

    with pytest.raises(FieldErrors) as refused:
        register(handler, division_code="350102001000")

    assert _codes(refused.value) == {"division_code": "division_not_found"}
    assert refused.value.errors[0].message_en == "Division 350102001000 does not exist."
    assert state() == before


def test_new_household_needs_a_division_an_address_and_a_head(handler: User) -> None:
    with pytest.raises(FieldErrors) as refused:
        register(handler, division_code="", address="", relation_to_head="child")

    assert _codes(refused.value) == {
        "division_code": "division_required",
        "address": "address_required",
        "relation_to_head": "new_household_needs_head",
    }


def test_existing_household_keeps_its_division_and_address(handler: User, mother: Person) -> None:
    with pytest.raises(FieldErrors) as refused:
        register(handler, id_number=BABY_ID, relation_to_head="child", division_code=TAIJIANG)

    assert _codes(refused.value) == {
        "division_code": "household_division_mismatch",
        "address": "household_exists",
    }


def test_a_second_active_record_with_one_id_number_is_refused(handler: User, mother: Person) -> None:
    before = state()

    with pytest.raises(RuleViolation) as refused:
        register(handler, household_no="350102000002", name="另一人")

    assert (refused.value.code, refused.value.status, refused.value.field) == (
        "id_number_active_exists",
        409,
        "id_number",
    )
    assert "second active record" in refused.value.message_en
    assert state() == before


def test_a_birth_cannot_reuse_the_id_number_of_a_deceased_person(handler: User, mother: Person) -> None:
    person_death_register(acting_user=handler, id_number=MOTHER_ID, died_on=dt.date(2023, 1, 2))
    before = state()

    with pytest.raises(RuleViolation) as refused:
        register(handler, household_no="350102000002")

    assert (refused.value.code, refused.value.status) == ("id_number_used", 409)
    assert state() == before


def test_a_second_head_for_a_household_is_refused_and_leaves_no_event(handler: User, mother: Person) -> None:
    # Refused late, after the person row was inserted: the whole transaction, event included, rolls back.
    before = state()

    with pytest.raises(RuleViolation) as refused:
        register(handler, id_number=BABY_ID, relation_to_head="head", division_code="", address="")

    assert (refused.value.code, refused.value.status) == ("household_has_head", 409)
    assert state() == before
    assert not OutboxEvent.objects.filter(topic="person.born").exclude(key=mother.id_number_index).exists()


# --- Transfer (move-out + move-in) ----------------------------------------------------------------------


def test_transfer_to_a_new_household_in_another_division(handler: User, mother: Person) -> None:
    source = mother.household

    moved = person_transfer(
        acting_user=handler,
        id_number=MOTHER_ID,
        household_no="350103000009",
        relation_to_head="head",
        division_code=TAIJIANG,
        address="福州市台江区江滨路 9 号",
        effective_on=dt.date(2024, 5, 6),
        case_tracking_no="ZW2024000002",
    )

    moved.refresh_from_db()
    target = Household.objects.get(household_no="350103000009")
    assert (moved.household_id, moved.version, moved.status) == (target.pk, 2, "active")
    assert target.head_id == moved.pk
    source.refresh_from_db()
    assert source.head_id is None
    versions = list(PersonVersion.objects.filter(person=moved).order_by("version"))
    assert [(v.version, v.kind) for v in versions] == [(1, "born"), (2, "moved")]
    # History is never overwritten: version 1 still says where she lived before.
    assert versions[0].snapshot_data["household_no"] == "350102000001"
    assert versions[0].snapshot_data["division_code"] == GULOU
    assert versions[1].snapshot_data["division_code"] == TAIJIANG
    assert versions[1].effective_on == dt.date(2024, 5, 6)
    assert _event("person.moved").payload == {
        "person_id": moved.pk,
        "version": 2,
        "effective_on": "2024-05-06",
        "case_tracking_no": "ZW2024000002",
        "status": "active",
        "from_division_code": GULOU,
        "from_household_no": "350102000001",
        "to_division_code": TAIJIANG,
        "to_household_no": "350103000009",
    }


def test_transfer_into_an_existing_household(handler: User, mother: Person) -> None:
    other = register(
        handler,
        id_number=make_id_number(TAIJIANG, dt.date(1988, 2, 3), 31),
        name="陈建",
        household_no="T1",
        division_code=TAIJIANG,
        address="台江区 2 号",
    )

    moved = person_transfer(
        acting_user=handler, id_number=MOTHER_ID, household_no="T1", relation_to_head="spouse"
    )

    assert (moved.household_id, moved.relation_to_head) == (other.household_id, "spouse")
    assert Household.objects.get(household_no="T1").head_id == other.pk


def test_move_in_of_a_deceased_person_is_refused(handler: User, mother: Person) -> None:
    person_death_register(acting_user=handler, id_number=MOTHER_ID, died_on=dt.date(2023, 1, 2))
    before = state()

    with pytest.raises(RuleViolation) as refused:
        person_transfer(
            acting_user=handler,
            id_number=MOTHER_ID,
            household_no="350103000009",
            relation_to_head="head",
            division_code=TAIJIANG,
            address="台江区 9 号",
        )

    assert (refused.value.code, refused.value.status) == ("person_deceased", 409)
    assert refused.value.message_en == "This person is registered as deceased; a move-in is refused."
    assert state() == before


def test_move_into_a_division_that_does_not_exist_is_refused(handler: User, mother: Person) -> None:
    before = state()

    with pytest.raises(FieldErrors) as refused:
        person_transfer(
            acting_user=handler,
            id_number=MOTHER_ID,
            household_no="350199000001",
            relation_to_head="head",
            division_code="350199",
            address="某地",
        )

    assert _codes(refused.value) == {"division_code": "division_code_unknown"}
    assert "350199 is not a known administrative division code" in refused.value.errors[0].message_en
    assert state() == before


def test_transfer_into_the_same_household_is_refused(handler: User, mother: Person) -> None:
    with pytest.raises(RuleViolation) as refused:
        person_transfer(
            acting_user=handler, id_number=MOTHER_ID, household_no="350102000001", relation_to_head="head"
        )

    assert (refused.value.code, refused.value.status) == ("same_household", 409)


def test_transfer_of_a_person_not_in_the_register_is_refused(handler: User) -> None:
    with pytest.raises(RuleViolation) as refused:
        person_transfer(
            acting_user=handler,
            id_number=BABY_ID,
            household_no="X1",
            relation_to_head="head",
            division_code=GULOU,
            address="鼓楼区",
        )

    assert (refused.value.code, refused.value.status) == ("person_not_found", 404)
    assert BABY_ID not in refused.value.message_en


# --- Death deregistration --------------------------------------------------------------------------------


def test_death_registration(handler: User, mother: Person) -> None:
    person = person_death_register(
        acting_user=handler, id_number=MOTHER_ID, died_on=dt.date(2023, 1, 2), case_tracking_no="ZW3"
    )

    person.refresh_from_db()
    assert (person.status, person.died_on, person.version) == ("deceased", dt.date(2023, 1, 2), 2)
    assert Household.objects.get(pk=person.household_id).head_id is None
    version = PersonVersion.objects.get(person=person, version=2)
    assert (version.kind, version.effective_on, version.snapshot_data["status"]) == (
        "deceased",
        dt.date(2023, 1, 2),
        "deceased",
    )
    assert _event("person.deceased").payload["effective_on"] == "2023-01-02"


def test_death_refusals(handler: User, mother: Person) -> None:
    with pytest.raises(FieldErrors) as early:
        person_death_register(acting_user=handler, id_number=MOTHER_ID, died_on=dt.date(1989, 1, 1))
    assert _codes(early.value) == {"died_on": "died_before_birth"}
    with pytest.raises(FieldErrors) as future:
        person_death_register(
            acting_user=handler, id_number=MOTHER_ID, died_on=timezone.localdate() + dt.timedelta(days=1)
        )
    assert _codes(future.value) == {"died_on": "date_in_future"}
    person_death_register(acting_user=handler, id_number=MOTHER_ID, died_on=dt.date(2023, 1, 2))
    before = state()

    with pytest.raises(RuleViolation) as twice:
        person_death_register(acting_user=handler, id_number=MOTHER_ID, died_on=dt.date(2023, 1, 3))

    assert (twice.value.code, twice.value.status) == ("person_deceased", 409)
    assert state() == before


# --- Change of name and correction -----------------------------------------------------------------------


def test_rename_keeps_the_old_name_as_a_former_name(handler: User, mother: Person) -> None:
    person = person_rename(acting_user=handler, id_number=MOTHER_ID, new_name="林美玲")
    person = person_rename(acting_user=handler, id_number=MOTHER_ID, new_name="林悦")

    person.refresh_from_db()
    assert (person.name, person.former_names, person.version) == ("林悦", ["林美华", "林美玲"], 3)
    names = [v.snapshot_data["name"] for v in PersonVersion.objects.filter(person=person).order_by("version")]
    assert names == ["林美华", "林美玲", "林悦"]
    assert OutboxEvent.objects.filter(topic="person.renamed").count() == 2
    assert "林悦" not in json.dumps(_event_payloads("person.renamed"), ensure_ascii=False)


def _event_payloads(topic: str) -> list[dict[str, Any]]:
    return [event.payload for event in OutboxEvent.objects.filter(topic=topic)]


def test_rename_refusals(handler: User, mother: Person) -> None:
    with pytest.raises(FieldErrors) as same:
        person_rename(acting_user=handler, id_number=MOTHER_ID, new_name="林美华")
    assert _codes(same.value) == {"new_name": "name_unchanged"}
    person_death_register(acting_user=handler, id_number=MOTHER_ID, died_on=dt.date(2023, 1, 2))
    before = state()

    with pytest.raises(RuleViolation) as deceased:
        person_rename(acting_user=handler, id_number=MOTHER_ID, new_name="林悦")

    assert (deceased.value.code, deceased.value.status) == ("person_deceased", 409)
    assert state() == before


def test_correction_changes_the_fields_without_adding_a_former_name(handler: User, mother: Person) -> None:
    person = person_correct(
        acting_user=handler,
        id_number=MOTHER_ID,
        corrections={"name": "林美桦", "ethnicity": "22"},
        reason="登记时录入错误",
        case_tracking_no="ZW4",
    )

    person.refresh_from_db()
    assert (person.name, person.ethnicity, person.former_names, person.version) == ("林美桦", "22", [], 2)
    version = PersonVersion.objects.get(person=person, version=2)
    assert (version.kind, version.changed, version.reason) == (
        "corrected",
        ["ethnicity", "name"],
        "登记时录入错误",
    )
    assert _event("person.corrected").payload["fields"] == ["ethnicity", "name"]


def test_correction_refusals(handler: User, mother: Person) -> None:
    before = state()
    with pytest.raises(FieldErrors) as refused:
        person_correct(
            acting_user=handler,
            id_number=MOTHER_ID,
            corrections={"gender": "male", "ethnicity": "99", "birthplace_code": "350199"},
            reason="",
        )
    assert _codes(refused.value) == {
        "reason": "reason_required",
        "corrections.gender": "field_not_correctable",
        "ethnicity": "ethnicity_unknown",
        "corrections.birthplace_code": "division_code_unknown",
    }
    with pytest.raises(FieldErrors) as unchanged:
        person_correct(
            acting_user=handler, id_number=MOTHER_ID, corrections={"ethnicity": "01"}, reason="核对"
        )
    assert _codes(unchanged.value) == {"corrections": "nothing_to_correct"}
    assert state() == before


def test_a_deceased_persons_record_can_be_corrected(handler: User, mother: Person) -> None:
    person_death_register(acting_user=handler, id_number=MOTHER_ID, died_on=dt.date(2023, 1, 2))

    person = person_correct(
        acting_user=handler,
        id_number=MOTHER_ID,
        corrections={"birthplace_code": TAIJIANG},
        reason="出生地错误",
    )

    assert (person.birthplace_code, person.status, person.version) == (TAIJIANG, "deceased", 3)


# --- Events and transactions -----------------------------------------------------------------------------


def test_the_event_is_written_in_the_actions_transaction(handler: User) -> None:
    seen_inside: list[int] = []

    def register_then_fail() -> None:
        with transaction.atomic():
            register(handler)
            seen_inside.append(OutboxEvent.objects.filter(topic="person.born").count())
            message = "the surrounding transaction fails after the action"
            raise RuntimeError(message)

    with pytest.raises(RuntimeError):
        register_then_fail()

    assert seen_inside == [1]

    assert not OutboxEvent.objects.exists()
    assert not Person.objects.exists()
    assert not PersonVersion.objects.exists()


def test_every_change_writes_exactly_one_event_and_one_version(handler: User, mother: Person) -> None:
    person_rename(acting_user=handler, id_number=MOTHER_ID, new_name="林悦")
    person_transfer(
        acting_user=handler,
        id_number=MOTHER_ID,
        household_no="T2",
        relation_to_head="head",
        division_code=TAIJIANG,
        address="台江区",
    )
    person_correct(acting_user=handler, id_number=MOTHER_ID, corrections={"ethnicity": "03"}, reason="更正")
    person_death_register(acting_user=handler, id_number=MOTHER_ID, died_on=dt.date(2024, 1, 1))

    topics = list(OutboxEvent.objects.order_by("created_at").values_list("topic", flat=True))
    assert topics == ["person.born", "person.renamed", "person.moved", "person.corrected", "person.deceased"]
    assert list(PersonVersion.objects.order_by("version").values_list("version", "kind")) == [
        (1, "born"),
        (2, "renamed"),
        (3, "moved"),
        (4, "corrected"),
        (5, "deceased"),
    ]
    assert set(OutboxEvent.objects.values_list("key", flat=True)) == {mother.id_number_index}


# --- Encryption at rest ----------------------------------------------------------------------------------


def test_the_database_holds_no_plaintext_id_number_name_or_address(handler: User, mother: Person) -> None:
    person_rename(acting_user=handler, id_number=MOTHER_ID, new_name="林悦")
    tables = {
        Person._meta.db_table: ["id_number", "name", "former_names_text", "id_number_index"],
        Household._meta.db_table: ["address"],
        PersonVersion._meta.db_table: ["snapshot"],
    }
    stored: list[str] = []
    with connection.cursor() as cursor:
        for table, columns in tables.items():
            cursor.execute(f"SELECT {', '.join(columns)} FROM {table}")  # noqa: S608 - constant names
            stored.extend(str(value) for row in cursor.fetchall() for value in row)
        cursor.execute(f"SELECT payload FROM {OutboxEvent._meta.db_table}")  # noqa: S608
        stored.extend(str(row[0]) for row in cursor.fetchall())
        cursor.execute(f"SELECT details FROM {AuditRecord._meta.db_table}")  # noqa: S608
        stored.extend(str(row[0]) for row in cursor.fetchall())

    text = "\n".join(stored)
    for plaintext in (MOTHER_ID, "林美华", "林悦", "东街"):
        assert plaintext not in text
    person_row = Person.objects.filter(pk=mother.pk).values_list("status", flat=True).get()
    assert person_row == PersonStatus.ACTIVE


def test_earlier_versions_are_never_rewritten(handler: User, mother: Person) -> None:
    def stored() -> list[tuple[int, str, str]]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT version, kind, snapshot FROM {PersonVersion._meta.db_table} ORDER BY version"  # noqa: S608
            )
            return [tuple(row) for row in cursor.fetchall()]

    first = stored()
    person_rename(acting_user=handler, id_number=MOTHER_ID, new_name="林悦")
    person_death_register(acting_user=handler, id_number=MOTHER_ID, died_on=dt.date(2024, 1, 1))

    after = stored()
    assert after[:1] == first
    assert [row[:2] for row in after] == [(1, "born"), (2, "renamed"), (3, "deceased")]


def test_the_database_refuses_a_second_active_record_with_one_id_number(mother: Person) -> None:
    # The backstop under the action's check, for writers that bypass it (the bulk import, a race).
    twin = Person(
        id_number=MOTHER_ID,
        id_number_index=mother.id_number_index,
        province_code=MOTHER_ID[:2],
        name="重复",
        gender="female",
        ethnicity="01",
        birth_date=mother.birth_date,
        birthplace_code=GULOU,
        household=mother.household,
        relation_to_head="other_relative",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()
    twin.status = PersonStatus.DECEASED
    twin.save()
    assert Person.objects.filter(id_number_index=mother.id_number_index).count() == 2
