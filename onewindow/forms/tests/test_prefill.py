"""Pre-fill and 免提交 (once-only, DOMAIN.md §1 "at most one trip": ask nothing the government holds)."""

from __future__ import annotations

from typing import Any

import pytest

from onewindow.accounts.models import User
from onewindow.accounts.roles import Kind
from onewindow.accounts.tests.factories import UserFactory
from onewindow.forms.prefill import (
    PREFILL_KEYS,
    Identity,
    IdentityPrefillSource,
    materials_held,
    prefill_form,
    prefill_keys,
    prefill_sources,
)

# The demo company-opening bundle (QYKB): the legal representative is pre-filled from the applicant.
QYKB_FORM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "company_name": {"type": "string", "x-prefill": "applicant.name"},
        "credit_code": {"type": "string", "x-prefill": "applicant.credit_code"},
        "legal_rep_name": {"type": "string", "x-prefill": "person.name"},
        "legal_rep_id_number": {"type": "string", "x-prefill": "person.id_number"},
        "legal_rep_mobile": {"type": "string", "x-prefill": "applicant.mobile"},
        "contact_email": {"type": "string", "x-prefill": "applicant.email"},
        "capital": {"type": "number"},
    },
}


class FakeRegistrySource:
    """A base-registry stand-in: knows a household address and holds the population record."""

    keys = frozenset({"household.address"})
    calls: list[set[str]] = []

    def values(self, identity: Identity, keys: set[str]) -> dict[str, Any]:
        FakeRegistrySource.calls.append(set(keys))
        return {"household.address": "福州市鼓楼区", "person.name": "户籍姓名", "not.asked": "x"}

    def held_resources(self, identity: Identity, resources: set[str]) -> set[str]:
        held = {"population.household"} if identity.kind == "resident" else {"legal_entity.licence"}
        return held | {"never.asked.for"}


@pytest.fixture
def resident() -> User:
    return UserFactory.create(
        username="prefill_resident",
        kind=Kind.RESIDENT,
        display_name="张三",
        id_number="11010519491231002X",
        mobile="13800138000",
        email="zhang@example.com",
    )


@pytest.fixture
def enterprise() -> User:
    return UserFactory.create(
        username="prefill_enterprise",
        kind=Kind.ENTERPRISE,
        display_name="李四",
        id_number="440524188001010014",
        mobile="13900139000",
        enterprise_name="福州示例有限公司",
        enterprise_credit_code="91350100M000100Y43",
    )


@pytest.mark.django_db
def test_identity_of_a_resident(resident: User) -> None:
    identity = Identity.of_user(resident)

    assert identity == Identity(
        kind="resident",
        name="张三",
        identifier="11010519491231002X",
        mobile="13800138000",
        email="zhang@example.com",
        person_name="张三",
        person_id_number="11010519491231002X",
        user=resident,
    )


@pytest.mark.django_db
def test_identity_of_an_enterprise_representative(enterprise: User) -> None:
    identity = Identity.of_user(enterprise)

    assert (identity.kind, identity.name, identity.identifier) == (
        "enterprise",
        "福州示例有限公司",
        "91350100M000100Y43",
    )
    assert (identity.person_name, identity.person_id_number) == ("李四", "440524188001010014")


@pytest.mark.django_db
def test_identity_falls_back_to_the_full_name() -> None:
    user = UserFactory.create(username="u_full", display_name="", first_name="五", last_name="王")

    assert Identity.of_user(user).name == user.get_full_name()


@pytest.mark.django_db
def test_prefill_for_an_enterprise(enterprise: User) -> None:
    values = prefill_form(QYKB_FORM, Identity.of_user(enterprise))

    assert values == {
        "company_name": "福州示例有限公司",
        "credit_code": "91350100M000100Y43",
        "legal_rep_name": "李四",
        "legal_rep_id_number": "440524188001010014",
        "legal_rep_mobile": "13900139000",
    }


@pytest.mark.django_db
def test_prefill_for_a_resident_person_is_the_resident(resident: User) -> None:
    # a resident opening a company is their own legal representative
    values = prefill_form(QYKB_FORM, Identity.of_user(resident))

    assert values == {
        "company_name": "张三",
        "legal_rep_name": "张三",
        "legal_rep_id_number": "11010519491231002X",
        "legal_rep_mobile": "13800138000",
        "contact_email": "zhang@example.com",
    }


def test_an_identity_without_a_user() -> None:
    # a clerk at a village point applying for someone (代办) builds the identity from the verified card
    identity = Identity(kind="resident", name="赵六", identifier="11010519491231002X")

    assert prefill_form(QYKB_FORM, identity) == {
        "company_name": "赵六",
        "legal_rep_name": "赵六",
        "legal_rep_id_number": "11010519491231002X",
    }


def test_identity_source_answers_only_what_is_asked() -> None:
    identity = Identity(kind="enterprise", name="公司", identifier="91350100M000100Y43")

    values = IdentityPrefillSource().values(
        identity, {"applicant.name", "applicant.id_number", "person.name"}
    )

    assert values == {"applicant.name": "公司"}
    assert IdentityPrefillSource().held_resources(identity, {"population.household"}) == set()


def test_sources_come_from_settings_in_order_first_wins(settings: Any) -> None:
    settings.PREFILL_SOURCES = [
        "onewindow.forms.tests.test_prefill.FakeRegistrySource",
        "onewindow.forms.prefill.IdentityPrefillSource",
    ]
    FakeRegistrySource.calls.clear()
    schema = {
        "type": "object",
        "properties": {
            "address": {"type": "string", "x-prefill": "household.address"},
            "name": {"type": "string", "x-prefill": "person.name"},
            "id": {"type": "string", "x-prefill": "person.id_number"},
        },
    }

    values = prefill_form(schema, Identity(kind="resident", name="赵六", identifier="11010519491231002X"))

    assert [type(source).__name__ for source in prefill_sources()] == [
        "FakeRegistrySource",
        "IdentityPrefillSource",
    ]
    assert values == {"address": "福州市鼓楼区", "name": "户籍姓名", "id": "11010519491231002X"}
    assert FakeRegistrySource.calls == [{"household.address", "person.name", "person.id_number"}]
    assert prefill_keys() == PREFILL_KEYS | {"household.address"}


def test_sources_are_instantiated_once(settings: Any) -> None:
    settings.PREFILL_SOURCES = ["onewindow.forms.tests.test_prefill.FakeRegistrySource"]

    assert prefill_sources()[0] is prefill_sources()[0]


MATERIALS: list[dict[str, Any]] = [
    {"code": "HUKOU", "name": "户口簿", "shared_resource": "population.household"},
    {"code": "LICENCE", "name": "营业执照", "shared_resource": "legal_entity.licence"},
    {"code": "LEASE", "name": "租赁合同"},
    {"code": "OTHER", "name": "其他", "shared_resource": "not.held"},
]


def test_materials_held_by_a_configured_source(settings: Any) -> None:
    settings.PREFILL_SOURCES = [
        "onewindow.forms.prefill.IdentityPrefillSource",
        "onewindow.forms.tests.test_prefill.FakeRegistrySource",
    ]

    resident = Identity(kind="resident", name="赵六", identifier="11010519491231002X")
    company = Identity(kind="enterprise", name="公司", identifier="91350100M000100Y43")

    assert materials_held(MATERIALS, resident) == {"HUKOU"}
    assert materials_held(MATERIALS, company) == {"LICENCE"}


@pytest.mark.django_db  # the default sources include the registry, which holds nobody here
def test_nothing_is_held_with_the_default_source() -> None:
    identity = Identity(kind="resident", name="赵六", identifier="11010519491231002X")

    assert materials_held(MATERIALS, identity) == set()
    assert materials_held([], identity) == set()
