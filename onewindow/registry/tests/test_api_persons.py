"""The population register over HTTP (issue #5, "API"): the masked lookup and its audited purpose, the
front-desk operations and their refusals (201/200, 404, 409, 422), and no plaintext ID number or name in a
masked answer (PIPL Arts. 6 and 51; 户口登记条例 Arts. 7, 8, 10, 17, 18)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from onewindow.audit.models import AuditRecord
from onewindow.outbox.models import OutboxEvent
from onewindow.registry.models import Household, Person, PersonStatus
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

PERSONS = "/api/v1/registry/persons"
MASKED_MOTHER_ID = MOTHER_ID[:6] + "********" + MOTHER_ID[-4:]


@pytest.fixture
def mother() -> Person:
    return register(registrar(), case_tracking_no="ZW1")


@pytest.fixture
def client(mother: Person, api_token_for: Callable[[object], str]) -> Client:
    handler = registrar("psb_api")
    return Client(headers={"authorization": f"Bearer {api_token_for(handler)}"})


def _post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(PERSONS + path, body, content_type="application/json")


def _codes(response: Any) -> dict[str, str]:
    return {error["field"]: error["code"] for error in response.json()["errors"]}


def _birth(**overrides: Any) -> dict[str, Any]:
    return {
        "id_number": BABY_ID,
        "name": "林小宝",
        "gender": "male",
        "ethnicity": "01",
        "birth_date": BIRTH_DATE.isoformat(),
        "birthplace_code": GULOU,
        "household_no": "350102000001",
        "relation_to_head": "child",
        "case_tracking_no": "ZW2024000002",
        **overrides,
    }


# --- Lookup ------------------------------------------------------------------------------------------------


def test_a_lookup_answers_the_masked_record_and_audits_the_purpose(client: Client, mother: Person) -> None:
    response = client.get(f"{PERSONS}/{MOTHER_ID}?purpose=ZW2024000001")

    assert response.status_code == 200
    assert response.json() == {
        "person_id": mother.pk,
        "masked": True,
        "id_number": MASKED_MOTHER_ID,
        "name": "林**",
        "former_names": [],
        "gender": "female",
        "ethnicity": "01",
        "birth_date": None,
        "birthplace_code": GULOU,
        "household_no": "350102000001",
        "division_code": GULOU,
        "address": "",
        "relation_to_head": "head",
        "status": "active",
        "died_on": None,
        "version": 1,
    }
    assert MOTHER_ID not in response.content.decode()
    record = AuditRecord.objects.get(action="registry.person_viewed")
    assert (record.actor_username, record.object_id, record.details) == (
        "psb_api",
        str(mother.pk),
        {"purpose": "ZW2024000001", "full": False},
    )


def test_a_full_view_needs_a_purpose(client: Client, mother: Person) -> None:
    refused = client.get(f"{PERSONS}/{MOTHER_ID}?full=true")

    assert refused.status_code == 422
    assert (refused.json()["code"], refused.json()["field"]) == ("purpose_required", "purpose")
    assert MOTHER_ID not in refused.content.decode()
    assert not AuditRecord.objects.filter(action="registry.person_viewed").exists()

    not_a_case = client.get(f"{PERSONS}/{MOTHER_ID}?full=true&purpose=ZW2024000001")
    assert (not_a_case.status_code, not_a_case.json()["code"]) == (403, "purpose_not_a_case")
    assert MOTHER_ID not in not_a_case.content.decode()
    psb_case("ZW2024000001")

    response = client.get(f"{PERSONS}/{MOTHER_ID}?full=true&purpose=ZW2024000001")

    assert response.status_code == 200
    body = response.json()
    assert (body["masked"], body["id_number"], body["name"], body["birth_date"], body["address"]) == (
        False,
        MOTHER_ID,
        "林美华",
        "1990-06-01",
        "福州市鼓楼区东街 1 号",
    )
    record = AuditRecord.objects.get(action="registry.person_viewed")
    assert record.details == {"purpose": "ZW2024000001", "full": True}


def test_a_lookup_by_lower_case_or_full_width_number_finds_the_person(client: Client, mother: Person) -> None:
    full_width = MOTHER_ID.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    for written in (MOTHER_ID.lower(), full_width):
        response = client.get(f"{PERSONS}/{written}")
        assert (response.status_code, response.json()["person_id"]) == (200, mother.pk)


@pytest.mark.parametrize("id_number", [BABY_ID, "123", BABY_ID[:17] + "0", "x" * 32])
def test_unknown_or_invalid_id_numbers_are_not_found(client: Client, id_number: str) -> None:
    response = client.get(f"{PERSONS}/{id_number}")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert not AuditRecord.objects.filter(action="registry.person_viewed").exists()


def test_a_purpose_too_long_is_refused(client: Client) -> None:
    response = client.get(f"{PERSONS}/{MOTHER_ID}?purpose={'Z' * 101}")

    assert (response.status_code, response.json()["code"]) == (422, "purpose_too_long")


# --- Birth registration ----------------------------------------------------------------------------------


def test_a_birth_is_registered_and_answered_masked(client: Client, mother: Person) -> None:
    response = _post(client, "/births", _birth())

    assert response.status_code == 201, response.content
    baby = Person.objects.get(pk=response.json()["person_id"])
    assert (baby.name, baby.id_number, baby.household_id, baby.status) == (
        "林小宝",
        BABY_ID,
        mother.household_id,
        "active",
    )
    body = response.json()
    assert (body["id_number"], body["name"], body["birth_date"], body["masked"]) == (
        BABY_ID[:6] + "********" + BABY_ID[-4:],
        "林**",
        None,
        True,
    )
    assert BABY_ID not in response.content.decode()
    assert OutboxEvent.objects.filter(topic="person.born", key=baby.id_number_index).exists()


def test_a_birth_into_a_new_household_answers_its_division(client: Client) -> None:
    body = _birth(
        household_no="350103000009",
        relation_to_head="head",
        division_code=TAIJIANG,
        address="福州市台江区中亭街 9 号",
    )

    response = _post(client, "/births", body)

    assert response.status_code == 201, response.content
    assert (
        response.json()["household_no"],
        response.json()["division_code"],
        response.json()["address"],
    ) == (
        "350103000009",
        TAIJIANG,
        "",
    )


def test_a_birth_with_invalid_data_is_refused_field_by_field(client: Client) -> None:
    before = state()

    response = _post(client, "/births", _birth(gender="female", ethnicity="57", household_no="H-1"))

    assert response.status_code == 422
    assert response.json()["code"] == "form_invalid"
    assert _codes(response) == {
        "gender": "gender_mismatch",
        "ethnicity": "ethnicity_unknown",
        "household_no": "household_no_invalid",
    }
    assert state() == before


def test_a_birth_with_a_malformed_body_is_refused(client: Client) -> None:
    before = state()

    response = _post(client, "/births", {"id_number": BABY_ID, "birth_date": "not a date"})

    assert (response.status_code, response.json()["code"]) == (422, "invalid_request")
    assert state() == before


def test_a_second_active_record_for_one_id_number_is_a_conflict(client: Client) -> None:
    before = state()

    response = _post(
        client,
        "/births",
        _birth(id_number=MOTHER_ID, name="林美华", gender="female", birth_date="1990-06-01"),
    )

    assert response.status_code == 409
    assert (response.json()["code"], response.json()["field"]) == ("id_number_active_exists", "id_number")
    assert MOTHER_ID not in response.content.decode()
    assert state() == before


# --- Transfer, death, renaming, correction ----------------------------------------------------------------


def test_a_transfer_moves_the_person_into_a_new_household(client: Client, mother: Person) -> None:
    response = _post(
        client,
        f"/{MOTHER_ID}/transfer",
        {
            "household_no": "350103000007",
            "relation_to_head": "head",
            "division_code": TAIJIANG,
            "address": "福州市台江区中亭街 8 号",
            "case_tracking_no": "ZW2024000003",
        },
    )

    assert response.status_code == 200, response.content
    assert (
        response.json()["household_no"],
        response.json()["division_code"],
        response.json()["version"],
    ) == (
        "350103000007",
        TAIJIANG,
        2,
    )
    mother.refresh_from_db()
    assert mother.household.household_no == "350103000007"
    assert Household.objects.get(household_no="350103000007").head_id == mother.pk


def test_a_move_in_of_a_deceased_person_is_a_conflict(client: Client, mother: Person) -> None:
    assert _post(client, f"/{MOTHER_ID}/death", {"died_on": "2023-01-02"}).status_code == 200
    before = state()

    response = _post(
        client,
        f"/{MOTHER_ID}/transfer",
        {
            "household_no": "350103000007",
            "relation_to_head": "head",
            "division_code": TAIJIANG,
            "address": "x",
        },
    )

    assert (response.status_code, response.json()["code"]) == (409, "person_deceased")
    assert state() == before


def test_a_transfer_into_a_division_that_does_not_exist_is_refused(client: Client) -> None:
    before = state()

    response = _post(
        client,
        f"/{MOTHER_ID}/transfer",
        {
            "household_no": "350102009999",
            "relation_to_head": "head",
            "division_code": "350102001000",
            "address": "某地",
        },
    )

    assert response.status_code == 422
    assert _codes(response) == {"division_code": "division_not_found"}
    assert state() == before


def test_an_operation_on_a_person_not_in_the_register_is_not_found(client: Client) -> None:
    before = state()

    response = _post(client, f"/{BABY_ID}/rename", {"new_name": "林大宝"})

    assert (response.status_code, response.json()["code"]) == (404, "person_not_found")
    assert state() == before


def test_a_death_is_deregistered(client: Client, mother: Person) -> None:
    response = _post(client, f"/{MOTHER_ID}/death", {"died_on": "2023-01-02", "case_tracking_no": "ZW9"})

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["died_on"]) == ("deceased", "2023-01-02")
    mother.refresh_from_db()
    assert (mother.status, mother.died_on) == (PersonStatus.DECEASED, dt.date(2023, 1, 2))


def test_a_death_in_the_future_is_refused(client: Client) -> None:
    before = state()
    tomorrow = timezone.localdate() + dt.timedelta(days=1)

    response = _post(client, f"/{MOTHER_ID}/death", {"died_on": tomorrow.isoformat()})

    assert response.status_code == 422
    assert _codes(response) == {"died_on": "date_in_future"}
    assert state() == before


def test_a_rename_keeps_the_old_name_and_answers_masked(client: Client, mother: Person) -> None:
    response = _post(client, f"/{MOTHER_ID}/rename", {"new_name": "林美丽"})

    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["former_names"]) == ("林**", [])
    assert "林美丽" not in response.content.decode()
    assert "林美华" not in response.content.decode()
    mother.refresh_from_db()
    assert (mother.name, mother.former_names) == ("林美丽", ["林美华"])


def test_a_rename_to_the_same_name_is_refused(client: Client) -> None:
    before = state()

    response = _post(client, f"/{MOTHER_ID}/rename", {"new_name": "林美华"})

    assert response.status_code == 422
    assert _codes(response) == {"new_name": "name_unchanged"}
    assert "林美华" not in response.content.decode()
    assert state() == before


def test_a_correction_changes_the_field_with_its_reason(client: Client, mother: Person) -> None:
    response = _post(
        client, f"/{MOTHER_ID}/correct", {"corrections": {"ethnicity": "02"}, "reason": "登记时民族填错"}
    )

    assert response.status_code == 200, response.content
    assert (response.json()["ethnicity"], response.json()["version"]) == ("02", 2)
    mother.refresh_from_db()
    assert mother.ethnicity == "02"


def test_a_correction_of_the_birth_date_is_refused(client: Client) -> None:
    before = state()

    response = _post(
        client, f"/{MOTHER_ID}/correct", {"corrections": {"birth_date": "1990-06-02"}, "reason": "填错"}
    )

    assert response.status_code == 422
    assert _codes(response) == {"corrections.birth_date": "field_not_correctable"}
    assert state() == before
