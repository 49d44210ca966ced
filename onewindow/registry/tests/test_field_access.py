"""Field-level access to the population register per department and role (issue #5 item 5; PIPL Art. 6:
minimum necessary; PIPL Art. 51 and GB/T 22239-2019 §8.1.4.2: access control by role and object).

The register's keepers (public-security handlers and administrators) see every field; another department's
handlers see the basic fields, and only for a case their department is working on now; everyone else is
refused (403, audited) and a refused lookup writes nothing but its audit record. ID numbers are masked
(first 6, last 4) unless a full view is asked for with a purpose. The policy is data and can be replaced
by ``ONEWINDOW_REGISTRY_FIELD_ACCESS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.test import Client
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.applications.models import Application, Status
from onewindow.applications.tests.factories import published_service
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.core.validators import mask_id_number
from onewindow.organisations.models import Department
from onewindow.registry.access import (
    BASIC_PERSON_FIELDS,
    PERSON_FIELDS,
    fields_in_department,
    masked,
    parse_policy,
    person_data_shown,
    person_fields,
)
from onewindow.registry.models import Person
from onewindow.registry.selectors import person_by_id_number
from onewindow.registry.tests.test_population_support import (
    GULOU,
    MOTHER_ID,
    psb_case,
    register,
    registrar,
    state,
)

pytestmark = pytest.mark.django_db

TDEPT_CASE = "ZW2024000101"
PSB_CASE = "ZW2024000102"
PSB = "psb_handler"
PATH = f"/api/v1/registry/persons/{MOTHER_ID}"

# What a masked lookup answers for fields outside the caller's policy, and for the hidden ones.
EMPTY: dict[str, Any] = {
    "id_number": "",
    "name": "",
    "former_names": [],
    "gender": "",
    "ethnicity": "",
    "birth_date": None,
    "birthplace_code": "",
    "household_no": "",
    "division_code": "",
    "address": "",
    "relation_to_head": "",
    "status": "",
    "died_on": None,
}


def department_case(tracking_no: str, department_code: str) -> Application:
    """A case ``department_code`` is working on now."""
    department = Department.objects.get(code=department_code)
    service = published_service(f"S-{tracking_no[-6:]}", department=department)
    assert service.current_version is not None
    return Application.objects.create(
        tracking_no=tracking_no,
        service=service,
        version=service.current_version,
        status=Status.IN_PROGRESS,
        channel="web",
        applicant_name="林美华",
        applicant_identifier=MOTHER_ID,
        submitted_by=registrar("case_submitter"),
        submitted_at=timezone.now(),
        department_codes=[department_code],
        pending_department_codes=[department_code],
    )


@pytest.fixture
def mother(role_users: dict[str, Any]) -> Person:
    return register(registrar(PSB), case_tracking_no="ZW1")


@pytest.fixture
def cases(mother: Person) -> None:
    department_case(TDEPT_CASE, "TDEPT")
    psb_case(PSB_CASE)


def _audit_without_refusals() -> list[Any]:
    return list(
        AuditRecord.objects.exclude(action="permission.denied")
        .order_by("seq")
        .values_list("action", "object_id", "details")
    )


# --- The policy as data -------------------------------------------------------------------------------------


def test_the_default_policy() -> None:
    assert person_fields("PSB", "department_handler") == frozenset(PERSON_FIELDS)
    assert person_fields("PSB", "department_admin") == frozenset(PERSON_FIELDS)
    assert person_fields("TDEPT", "department_handler") == frozenset(BASIC_PERSON_FIELDS)
    assert person_fields("HEALTH", "department_admin") == frozenset(BASIC_PERSON_FIELDS)
    assert BASIC_PERSON_FIELDS == (
        "name",
        "gender",
        "ethnicity",
        "birth_date",
        "division_code",
        "status",
        "household_no",
    )
    for role in ("window_clerk", "leader", "auditor", "system_admin", "resident", "supervisor"):
        assert person_fields("PSB", role) == frozenset()


def test_a_json_setting_replaces_the_default(settings: Any) -> None:
    settings.REGISTRY_FIELD_ACCESS = {
        "*": {"department_handler": ["gender", "status"]},
        "TDEPT": {"department_handler": ["name", "address", "id_number"]},
        "HEALTH": {"department_handler": []},
    }

    # a department's own entry wins over "*"; the default's PSB entry is gone with the rest of it
    assert person_fields("TDEPT", "department_handler") == {"name", "address", "id_number"}
    assert person_fields("PSB", "department_handler") == {"gender", "status"}
    assert person_fields("HEALTH", "department_handler") == frozenset()
    assert person_fields("TDEPT", "department_admin") == frozenset()


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        (["PSB"], "must be a JSON object"),
        ({"PSB": ["department_handler"]}, "must be an object"),
        ({"PSB": {"chief": ["*"]}}, "'chief' (under 'PSB') is not a role"),
        ({"PSB": {"department_handler": "*"}}, "must be a list of field names"),
        ({"*": {"department_handler": ["name", "salary"]}}, "unknown field(s) salary"),
    ],
)
def test_a_wrong_policy_is_refused_naming_the_problem(settings: Any, policy: Any, problem: str) -> None:
    settings.REGISTRY_FIELD_ACCESS = policy

    with pytest.raises(ImproperlyConfigured) as refused:
        person_fields("PSB", "department_handler")
    assert problem in str(refused.value)
    assert "ONEWINDOW_REGISTRY_FIELD_ACCESS" in str(refused.value)


def test_the_environment_variable_is_read_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from config.settings import _registry_field_access

    monkeypatch.delenv("ONEWINDOW_REGISTRY_FIELD_ACCESS", raising=False)
    assert _registry_field_access() is None
    monkeypatch.setenv("ONEWINDOW_REGISTRY_FIELD_ACCESS", '{"*": {"department_handler": ["name"]}}')
    assert _registry_field_access() == {"*": {"department_handler": ["name"]}}
    assert parse_policy(_registry_field_access()) == {("*", "department_handler"): frozenset({"name"})}
    monkeypatch.setenv("ONEWINDOW_REGISTRY_FIELD_ACCESS", "{not json")
    with pytest.raises(ValueError, match="must be JSON"):
        _registry_field_access()
    monkeypatch.setenv("ONEWINDOW_REGISTRY_FIELD_ACCESS", '["PSB"]')
    with pytest.raises(ValueError, match="must be a JSON object"):
        _registry_field_access()


def test_a_users_fields_are_those_of_their_roles_in_the_department(role_users: dict[str, Any]) -> None:
    psb = staff_user(Role.DEPARTMENT_ADMIN, department_code="PSB", username="psb_admin")

    assert fields_in_department(psb, "PSB") == frozenset(PERSON_FIELDS)
    assert fields_in_department(psb, "TDEPT") == frozenset()
    assert fields_in_department(role_users["department_handler"], "TDEPT") == frozenset(BASIC_PERSON_FIELDS)
    assert fields_in_department(role_users["window_clerk"], "TDEPT") == frozenset()


def test_shown_data_keeps_only_the_allowed_fields_and_masks_numbers() -> None:
    data = {"id_number": MOTHER_ID, "name": "林美华", "address": "东街 1 号", "mobile": "13800138000"}

    assert person_data_shown(data, {"name", "id_number", "mobile"}) == {
        "id_number": "350102********" + MOTHER_ID[-4:],
        "name": "林美华",
        "mobile": "138****8000",
    }
    assert person_data_shown(data, set()) == {}
    assert masked({"credit_code": "91350100MA0000314X"}) == {"credit_code": "91350100MA0000314X"}


# --- Lookups by another department --------------------------------------------------------------------------


def test_another_departments_handler_sees_the_basic_fields_for_its_own_case(
    role_users: dict[str, Any], cases: None, mother: Person
) -> None:
    handler = role_users["department_handler"]

    view = person_by_id_number(handler, MOTHER_ID, purpose=TDEPT_CASE)

    assert view == {
        **EMPTY,
        "person_id": mother.pk,
        "masked": True,
        "name": "林**",
        "gender": "female",
        "ethnicity": "01",
        "household_no": "350102000001",
        "division_code": GULOU,
        "status": "active",
        "version": 1,
    }
    record = AuditRecord.objects.filter(action="registry.person_viewed").latest("seq")
    assert (record.actor_id, record.object_id, record.details) == (
        handler.pk,
        str(mother.pk),
        {"purpose": TDEPT_CASE, "full": False},
    )
    assert record.department_code == "TDEPT"


def test_a_full_view_for_another_department_unmasks_only_its_fields(
    role_users: dict[str, Any], cases: None
) -> None:
    view = person_by_id_number(role_users["department_admin"], MOTHER_ID, purpose=TDEPT_CASE, full=True)

    assert (view["masked"], view["name"], view["birth_date"]) == (False, "林美华", "1990-06-01")
    # the ID number, the address and the rest stay outside the basic fields even in a full view
    assert (view["id_number"], view["address"], view["relation_to_head"], view["former_names"]) == (
        "",
        "",
        "",
        [],
    )


@pytest.mark.parametrize("purpose", ["", PSB_CASE, "ZW2099999999"])
@pytest.mark.parametrize("full", [False, True])
def test_another_department_without_its_own_case_is_refused_and_nothing_changes(
    role_users: dict[str, Any], cases: None, purpose: str, full: bool
) -> None:
    handler = role_users["department_handler"]
    before = (state(), _audit_without_refusals())

    with pytest.raises((PermissionDenied, RuleViolation)) as refused:
        person_by_id_number(handler, MOTHER_ID, purpose=purpose, full=full)

    if full and not purpose:
        assert isinstance(refused.value, RuleViolation)
        assert refused.value.code == "purpose_required"
    else:
        assert isinstance(refused.value, PermissionDenied)
        denied = AuditRecord.objects.filter(action="permission.denied").latest("seq")
        assert (denied.actor_id, denied.object_type) == (handler.pk, "person")
    assert (state(), _audit_without_refusals()) == before


def test_a_case_the_department_no_longer_works_on_opens_nothing(
    role_users: dict[str, Any], cases: None
) -> None:
    Application.objects.filter(tracking_no=TDEPT_CASE).update(pending_department_codes=["PSB"])

    with pytest.raises(PermissionDenied):
        person_by_id_number(role_users["department_handler"], MOTHER_ID, purpose=TDEPT_CASE)


def test_the_keepers_see_every_field_masked_or_full(cases: None, mother: Person) -> None:
    handler = User.objects.get(username=PSB)

    masked_view = person_by_id_number(handler, MOTHER_ID)
    full_view = person_by_id_number(handler, MOTHER_ID, purpose=PSB_CASE, full=True)

    assert masked_view["id_number"] == mask_id_number(MOTHER_ID) == "350102********" + MOTHER_ID[-4:]
    assert (masked_view["name"], masked_view["birth_date"], masked_view["address"]) == ("林**", None, "")
    assert (masked_view["relation_to_head"], masked_view["birthplace_code"]) == ("head", GULOU)
    assert (full_view["id_number"], full_view["name"], full_view["address"]) == (
        MOTHER_ID,
        "林美华",
        "福州市鼓楼区东街 1 号",
    )
    # a keeper's full view is for public security's cases, not another department's
    with pytest.raises(RuleViolation) as refused:
        person_by_id_number(handler, MOTHER_ID, purpose=TDEPT_CASE, full=True)
    assert (refused.value.code, refused.value.status) == ("purpose_not_a_case", 403)


def test_the_policy_from_the_setting_applies_to_lookups(
    settings: Any, role_users: dict[str, Any], cases: None
) -> None:
    settings.REGISTRY_FIELD_ACCESS = {
        "PSB": {"department_handler": ["gender"]},
        "TDEPT": {"department_handler": ["name", "address", "id_number"]},
    }

    tdept = person_by_id_number(role_users["department_handler"], MOTHER_ID, purpose=TDEPT_CASE, full=True)
    psb = person_by_id_number(User.objects.get(username=PSB), MOTHER_ID)

    assert (tdept["id_number"], tdept["name"], tdept["address"], tdept["gender"]) == (
        MOTHER_ID,
        "林美华",
        "福州市鼓楼区东街 1 号",
        "",
    )
    assert (psb["gender"], psb["name"], psb["id_number"], psb["household_no"]) == ("female", "", "", "")
    # a role the setting leaves out is refused
    with pytest.raises(PermissionDenied):
        person_by_id_number(role_users["department_admin"], MOTHER_ID, purpose=TDEPT_CASE)


# --- The API, for every role --------------------------------------------------------------------------------


def _client(role: str, users: dict[str, Any], api_token_for: Callable[[object], str]) -> Client:
    if role == "anonymous":
        return Client()
    return Client(headers={"authorization": f"Bearer {api_token_for(users[role])}"})


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous", PSB])
def test_the_lookup_for_another_departments_case_by_role(
    role_users: dict[str, Any], cases: None, api_token_for: Callable[[object], str], role: str
) -> None:
    users = {**role_users, PSB: User.objects.get(username=PSB)}
    client = _client(role, users, api_token_for)
    before = (state(), _audit_without_refusals())

    response = client.get(f"{PATH}?purpose={TDEPT_CASE}")

    body = response.json()
    assert MOTHER_ID not in response.content.decode()
    if role == PSB:
        assert response.status_code == 200
        assert (body["id_number"], body["relation_to_head"]) == (mask_id_number(MOTHER_ID), "head")
        return
    if role in {"department_handler", "department_admin"}:  # TDEPT, which is working on the case
        assert response.status_code == 200
        shown = {field for field in EMPTY if body[field] not in ("", None, [])}
        assert shown == {"name", "gender", "ethnicity", "division_code", "status", "household_no"}
        assert body["name"] == "林**"
        return
    assert response.status_code == (401 if role == "anonymous" else 403)
    assert body["code"] == ("not_authenticated" if role == "anonymous" else "permission_denied")
    assert body["message_zh"]
    assert body["message_en"]
    assert (state(), _audit_without_refusals()) == before


@pytest.mark.parametrize("role", ["department_handler", "department_admin"])
def test_the_api_full_view_for_another_departments_case(
    role_users: dict[str, Any], cases: None, api_token_for: Callable[[object], str], role: str
) -> None:
    client = _client(role, role_users, api_token_for)

    response = client.get(f"{PATH}?purpose={TDEPT_CASE}&full=true")
    refused = client.get(f"{PATH}?purpose={PSB_CASE}&full=true")

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["birth_date"]) == ("林美华", "1990-06-01")
    assert (response.json()["id_number"], response.json()["address"]) == ("", "")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
