"""Once-only from the base registries (issue #5 item 4; 国发〔2018〕27号: "一次采集、多方复用"; PIPL Art. 6,
minimum necessary): pre-fill from the applicant's own population record and the enterprise's own entity,
which materials the registers hold (免提交), the verified extract of a material, and the audit of every
lookup with its purpose.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from onewindow.accounts.models import User
from onewindow.accounts.roles import Kind, Role
from onewindow.accounts.tests.factories import UserFactory, staff_user
from onewindow.applications.tests.factories import published_service
from onewindow.audit.models import AuditRecord
from onewindow.core.validators import make_credit_code
from onewindow.forms.prefill import Identity, materials_held, prefill_form, prefill_keys, prefill_sources
from onewindow.registry.actions import person_death_register
from onewindow.registry.entities import entity_cancel, entity_register
from onewindow.registry.models import Person
from onewindow.registry.models_entities import LegalEntity
from onewindow.registry.prefill import (
    EXTRACT_FIELDS,
    RegistryPrefillSource,
    active_entity,
    active_entity_record,
    entity_record,
)
from onewindow.registry.tests.test_population_support import GULOU, MOTHER_ID, register, registrar

pytestmark = pytest.mark.django_db

CODE = make_credit_code(authority="9", entity_type="1", division="350100", organisation_base="MA000031")
COMPANY = "福州闽江软件有限公司"

PERSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "x-prefill": "person.name"},
        "gender": {"type": "string", "x-prefill": "person.gender"},
        "birth_date": {"type": "string", "x-prefill": "person.birth_date"},
        "ethnicity": {"type": "string", "x-prefill": "person.ethnicity"},
        "household_no": {"type": "string", "x-prefill": "person.household_no"},
        "division": {"type": "string", "x-prefill": "person.division_code"},
        "address": {"type": "string", "x-prefill": "person.address"},
    },
}
ENTITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "company": {"type": "string", "x-prefill": "entity.name"},
        "type": {"type": "string", "x-prefill": "entity.type"},
        "legal_rep": {"type": "string", "x-prefill": "entity.legal_rep_name"},
        "capital": {"type": "number", "x-prefill": "entity.registered_capital"},
        "division": {"type": "string", "x-prefill": "entity.division_code"},
        "address": {"type": "string", "x-prefill": "entity.address"},
        "scope": {"type": "string", "x-prefill": "entity.business_scope"},
        "established_on": {"type": "string", "x-prefill": "entity.established_on"},
    },
}
MATERIALS: list[dict[str, Any]] = [
    {"code": "id_card", "name": "居民身份证", "shared_resource": "population.id_card"},
    {"code": "household_register", "name": "居民户口簿", "shared_resource": "population.household"},
    {"code": "business_licence", "name": "营业执照", "shared_resource": "amr.business_licence"},
    {"code": "lease", "name": "租赁合同"},
]


@pytest.fixture
def mother() -> Person:
    """林美华, born 1990-06-01, head of household 350102000001 in 鼓楼区 (the population test defaults)."""
    return register(registrar(), case_tracking_no="ZW1")


@pytest.fixture
def resident(mother: Person) -> User:
    """林美华's own account, verified with her ID number."""
    return UserFactory.create(
        username="lin_meihua", kind=Kind.RESIDENT, display_name="林美华", id_number=MOTHER_ID
    )


@pytest.fixture
def company(mother: Person) -> LegalEntity:
    amr = staff_user(Role.DEPARTMENT_HANDLER, department_code="AMR", username="amr_prefill")
    return entity_register(
        acting_user=amr,
        credit_code=CODE,
        name=COMPANY,
        type="llc",
        division_code=GULOU,
        legal_rep_id_number=MOTHER_ID,
        registered_capital="150.5",
        address="福州市鼓楼区五四路 9 号",
        business_scope="软件开发、信息技术咨询服务",
        established_on=dt.date(2024, 5, 6),
    )


@pytest.fixture
def enterprise(company: LegalEntity) -> User:
    """The company's own account, its representative 林美华."""
    return UserFactory.create(
        username="minjiang_soft",
        kind=Kind.ENTERPRISE,
        display_name="林美华",
        id_number=MOTHER_ID,
        enterprise_name=COMPANY,
        enterprise_credit_code=CODE,
    )


def _reads() -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(action="registry.prefill_read").order_by("seq"))


# --- Configuration ------------------------------------------------------------------------------------------


def test_the_registry_source_comes_after_the_identity_source_by_default() -> None:
    assert django_settings.PREFILL_SOURCES == [
        "onewindow.forms.prefill.IdentityPrefillSource",
        "onewindow.registry.prefill.RegistryPrefillSource",
    ]
    assert [type(source).__name__ for source in prefill_sources()] == [
        "IdentityPrefillSource",
        "RegistryPrefillSource",
    ]


def test_forms_may_use_the_registry_keys() -> None:
    keys = prefill_keys()

    assert {
        "person.gender",
        "person.birth_date",
        "person.address",
        "entity.name",
        "entity.business_scope",
    } <= keys


# --- Pre-fill ---------------------------------------------------------------------------------------------


def test_a_resident_is_prefilled_from_their_own_record(resident: User, mother: Person) -> None:
    values = prefill_form(PERSON_SCHEMA, Identity.of_user(resident), purpose="prefill:HJQY")

    assert values == {
        "name": "林美华",  # the identity source answers first
        "gender": "female",
        "birth_date": "1990-06-01",
        "ethnicity": "01",
        "household_no": "350102000001",
        "division": GULOU,
        "address": "福州市鼓楼区东街 1 号",
    }
    (read,) = _reads()
    assert (read.actor_id, read.object_type, read.object_id) == (resident.pk, "person", str(mother.pk))
    assert read.details == {
        "purpose": "prefill:HJQY",
        "keys": [
            "person.address",
            "person.birth_date",
            "person.division_code",
            "person.ethnicity",
            "person.gender",
            "person.household_no",
        ],
    }
    assert MOTHER_ID not in json.dumps(read.details)


def test_an_enterprise_is_prefilled_from_its_own_entity(enterprise: User, company: LegalEntity) -> None:
    values = prefill_form(ENTITY_SCHEMA, Identity.of_user(enterprise), purpose="prefill:QYKB")

    assert values == {
        "company": COMPANY,
        "type": "llc",
        "legal_rep": "林美华",
        "capital": 150.5,
        "division": GULOU,
        "address": "福州市鼓楼区五四路 9 号",
        "scope": "软件开发、信息技术咨询服务",
        "established_on": "2024-05-06",
    }
    (read,) = _reads()
    assert (read.actor_id, read.object_type, read.object_id) == (
        enterprise.pk,
        "legal_entity",
        str(company.pk),
    )
    assert read.details["purpose"] == "prefill:QYKB"
    assert "entity.name" in read.details["keys"]


def test_the_representative_is_prefilled_from_their_own_record_too(enterprise: User) -> None:
    values = prefill_form(PERSON_SCHEMA, Identity.of_user(enterprise))

    assert values["address"] == "福州市鼓楼区东街 1 号"
    assert {read.details["purpose"] for read in _reads()} == {"prefill"}


def test_a_person_not_in_the_registry_gets_only_the_identity_prefill(role_users: dict[str, Any]) -> None:
    # t_resident (11010519491231002X) has no record in the population register
    values = prefill_form(PERSON_SCHEMA, Identity.of_user(role_users["resident"]))

    assert values == {"name": role_users["resident"].get_full_name() or role_users["resident"].display_name}
    assert _reads() == []


def test_another_persons_record_is_never_prefilled(mother: Person, role_users: dict[str, Any]) -> None:
    someone = Identity.of_user(role_users["resident"])
    typed_in = [
        # a window clerk or village agent typing 林美华's ID number (no account behind the identity)
        Identity(kind="resident", name="林美华", identifier=MOTHER_ID, person_id_number=MOTHER_ID),
        # another account claiming her ID number
        dataclasses.replace(someone, identifier=MOTHER_ID, person_id_number=MOTHER_ID),
    ]

    for identity in typed_in:
        assert RegistryPrefillSource().values(identity, set(RegistryPrefillSource.keys)) == {}
    assert _reads() == []


def test_another_enterprises_entity_is_never_prefilled(
    company: LegalEntity, role_users: dict[str, Any]
) -> None:
    other = Identity.of_user(role_users["enterprise_representative"])
    typed_in = [
        Identity(kind="enterprise", name=COMPANY, identifier=CODE),
        dataclasses.replace(other, identifier=CODE, name=COMPANY),
    ]

    for identity in typed_in:
        assert RegistryPrefillSource().values(identity, set(RegistryPrefillSource.keys)) == {}
    assert _reads() == []


def test_the_apply_page_prefills_and_audits_the_service_code(
    resident: User, client_for: Callable[[object], Client]
) -> None:
    published_service("HJQY", form_schema=PERSON_SCHEMA)

    html = client_for(resident).get("/applications/new/HJQY/").content.decode()

    assert 'value="福州市鼓楼区东街 1 号"' in html
    assert 'value="350102000001"' in html
    assert [read.details["purpose"] for read in _reads()] == ["prefill:HJQY"]


# --- Held resources (免提交) ------------------------------------------------------------------------------


def test_an_active_record_makes_the_population_materials_no_need_to_submit(
    resident: User, role_users: dict[str, Any]
) -> None:
    assert materials_held(MATERIALS, Identity.of_user(resident)) == {"id_card", "household_register"}
    # the applicant's ID number, however the identity was built (a walk-in at the window)
    walk_in = Identity(kind="resident", name="林美华", identifier=MOTHER_ID)
    assert materials_held(MATERIALS, walk_in) == {"id_card", "household_register"}
    assert materials_held(MATERIALS, Identity.of_user(role_users["resident"])) == set()


def test_a_deceased_person_holds_nothing(mother: Person) -> None:
    person_death_register(
        acting_user=registrar("psb_death"), id_number=MOTHER_ID, died_on=dt.date(2024, 1, 2)
    )

    assert materials_held(MATERIALS, Identity(kind="resident", name="林美华", identifier=MOTHER_ID)) == set()


def test_an_active_entity_makes_its_licence_no_need_to_submit(enterprise: User, company: LegalEntity) -> None:
    assert materials_held(MATERIALS, Identity.of_user(enterprise)) == {"business_licence"}

    entity_cancel(
        acting_user=staff_user(Role.DEPARTMENT_HANDLER, department_code="AMR", username="amr_cancel"),
        credit_code=CODE,
        reason="股东决定解散",
    )
    assert materials_held(MATERIALS, Identity.of_user(enterprise)) == set()


# --- Extracts ---------------------------------------------------------------------------------------------


def test_an_extract_holds_only_what_its_material_shows_and_is_audited(
    mother: Person, role_users: dict[str, Any]
) -> None:
    clerk = role_users["window_clerk"]
    walk_in = Identity(kind="resident", name="林美华", identifier=MOTHER_ID)

    card = RegistryPrefillSource().extract(walk_in, "population.id_card", purpose="ZW1", acting_user=clerk)
    household = RegistryPrefillSource().extract(
        walk_in, "population.household", purpose="ZW1", acting_user=clerk
    )

    assert card is not None
    assert household is not None
    assert card.data == {
        "id_number": MOTHER_ID,
        "name": "林美华",
        "gender": "female",
        "ethnicity": "01",
        "birth_date": "1990-06-01",
        "address": "福州市鼓楼区东街 1 号",
    }
    assert (card.source, card.record_version) == ("registry", 1)
    assert household.data == {
        "name": "林美华",
        "household_no": "350102000001",
        "division_code": GULOU,
        "address": "福州市鼓楼区东街 1 号",
        "relation_to_head": "head",
    }
    fetched = list(AuditRecord.objects.filter(action="registry.extract_fetched").order_by("seq"))
    assert [(record.actor_id, record.object_id, record.details) for record in fetched] == [
        (
            clerk.pk,
            str(mother.pk),
            {
                "purpose": "ZW1",
                "resource": "population.id_card",
                "fields": list(EXTRACT_FIELDS["population.id_card"]),
            },
        ),
        (
            clerk.pk,
            str(mother.pk),
            {
                "purpose": "ZW1",
                "resource": "population.household",
                "fields": list(EXTRACT_FIELDS["population.household"]),
            },
        ),
    ]
    assert all(MOTHER_ID not in json.dumps(record.details) for record in fetched)


def test_an_entity_extract_is_the_licence(company: LegalEntity) -> None:
    licence = RegistryPrefillSource().extract(
        Identity(kind="enterprise", name=COMPANY, identifier=CODE),
        "amr.business_licence",
        purpose="ZW2",
        acting_user=None,
    )

    assert licence is not None
    assert licence.data == {
        "credit_code": CODE,
        "name": COMPANY,
        "type": "llc",
        "legal_rep_name": "林美华",
        "registered_capital": "150.5",
        "division_code": GULOU,
        "address": "福州市鼓楼区五四路 9 号",
        "business_scope": "软件开发、信息技术咨询服务",
        "established_on": "2024-05-06",
        "status": "active",
        "registration_authority": "AMR",
    }
    record = AuditRecord.objects.get(action="registry.extract_fetched")
    assert (record.actor_id, record.actor_username, record.object_type) == (None, "system", "legal_entity")


def test_nothing_is_extracted_that_is_not_held(mother: Person, role_users: dict[str, Any]) -> None:
    source = RegistryPrefillSource()
    resident = Identity(kind="resident", name="林美华", identifier=MOTHER_ID)
    unknown = Identity(kind="resident", name="赵六", identifier="11010519491231002X")

    assert source.extract(unknown, "population.id_card", purpose="ZW1", acting_user=None) is None
    # a resident has no licence, an enterprise no ID card; other sources' resources are not the registry's
    assert source.extract(resident, "amr.business_licence", purpose="ZW1", acting_user=None) is None
    assert (
        source.extract(
            Identity(kind="enterprise", name=COMPANY, identifier=CODE),
            "population.id_card",
            purpose="ZW1",
            acting_user=None,
        )
        is None
    )
    assert source.extract(resident, "health.birth_certificate", purpose="ZW1", acting_user=None) is None
    assert not AuditRecord.objects.filter(action="registry.extract_fetched").exists()


# --- The exchange's one-statement entity record -------------------------------------------------------------


@pytest.mark.parametrize(
    ("capital", "text"),
    [("150.5", "150.5"), ("100", "100"), ("0.0001", "0.0001"), ("9999999999.1234", "9999999999.1234")],
)
def test_the_one_statement_entity_record_is_the_orm_record(mother: Person, capital: str, text: str) -> None:
    amr = staff_user(Role.DEPARTMENT_HANDLER, department_code="AMR", username="amr_record")
    entity_register(
        acting_user=amr,
        credit_code=CODE,
        name=COMPANY,
        type="llc",
        division_code=GULOU,
        legal_rep_id_number=MOTHER_ID,
        registered_capital=capital,
        established_on=dt.date(2024, 5, 6),
    )
    entity = active_entity(CODE)
    assert entity is not None
    record = active_entity_record(CODE)
    assert record == entity_record(entity)
    assert record["legal_rep_name"] == "林美华"
    assert record["registered_capital"] == text
    assert record["established_on"] == "2024-05-06"


def test_the_one_statement_record_without_representative_or_capital() -> None:
    amr = staff_user(Role.DEPARTMENT_HANDLER, department_code="AMR", username="amr_record")
    entity_register(
        acting_user=amr,
        credit_code=CODE,
        name=COMPANY,
        type="llc",
        division_code=GULOU,
        established_on=dt.date(2024, 5, 6),
    )
    entity = active_entity(CODE)
    assert entity is not None
    record = active_entity_record(CODE)
    assert record == entity_record(entity)
    assert record is not None
    assert record["legal_rep_name"] == ""
    assert record["registered_capital"] == ""


def test_the_one_statement_record_holds_only_active_valid_codes(company: LegalEntity) -> None:
    assert active_entity_record("not a code") is None
    assert active_entity_record(CODE.lower()) == active_entity_record(CODE)
    other = make_credit_code(authority="9", entity_type="1", division="350100", organisation_base="MA000032")
    assert active_entity_record(other) is None
    amr = staff_user(Role.DEPARTMENT_HANDLER, department_code="AMR", username="amr_cancel")
    entity_cancel(acting_user=amr, credit_code=CODE, reason="注销")
    assert active_entity_record(CODE) is None
