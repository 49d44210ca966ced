"""Verified data of 免提交 materials kept with the case (issue #5 item 4, once-only; 国发〔2018〕27号
"一次采集、多方复用"; Administrative Licensing Law Art. 31: no materials beyond what the matter
needs): fetched from the base registries in the transaction that submits (or, at the window, accepts)
the case, each fetch audited with the tracking number as purpose, encrypted at rest, shown to the
applicant and to each department's handlers as the field-level access policy allows (PIPL Arts. 6, 51).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from onewindow.accounts.models import User
from onewindow.accounts.roles import Kind, Role
from onewindow.accounts.tests.factories import UserFactory, staff_user
from onewindow.applications.actions import OnBehalfOf, application_accept, application_submit
from onewindow.applications.models import Application, Status, VerifiedExtract
from onewindow.applications.tests.factories import VALID_FORM, published_service, uploaded_material
from onewindow.audit.models import AuditRecord
from onewindow.core.validators import make_credit_code
from onewindow.registry.entities import entity_register
from onewindow.registry.models import Person
from onewindow.registry.protection import keys_rotate, token_key_id
from onewindow.registry.tests.test_population_support import (
    BABY_ID,
    BIRTH_DATE,
    GULOU,
    MOTHER_ID,
    register,
    registrar,
)
from onewindow.services.models import Channel, Service
from onewindow.workflow.models import HumanTask
from onewindow.workflow.tests.factories import _HEADER, _flow, _user_task, published_definition

pytestmark = pytest.mark.django_db

MASKED_MOTHER_ID = MOTHER_ID[:6] + "********" + MOTHER_ID[-4:]
ADDRESS = "福州市鼓楼区东街 1 号"
CODE = make_credit_code(authority="9", entity_type="1", division="350100", organisation_base="MA000041")

MATERIALS: list[dict[str, Any]] = [
    {"code": "id_card", "name": "居民身份证", "name_en": "ID card", "shared_resource": "population.id_card"},
    {
        "code": "household_register",
        "name": "居民户口簿",
        "name_en": "Household register",
        "shared_resource": "population.household",
    },
    {
        "code": "business_licence",
        "name": "营业执照",
        "name_en": "Business licence",
        "shared_resource": "amr.business_licence",
        "required": False,
    },
    {"code": "LEASE", "name": "租赁合同", "name_en": "Lease contract"},
]

# Public security verifies, the service's own department reviews, in parallel.
CHECK_BPMN = (
    _HEADER
    + """
  <bpmn:collaboration id="collab"><bpmn:participant id="p" processRef="check_test"/></bpmn:collaboration>
  <bpmn:process id="check_test" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_t" name="TDEPT"><bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_psb" name="PSB"><bpmn:flowNodeRef>verify</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f_t</bpmn:outgoing><bpmn:outgoing>f_p</bpmn:outgoing>
    </bpmn:parallelGateway>"""
    + _user_task("review", "审查", "Review", "f_t", "j_t")
    + _user_task("verify", "核验户籍", "Verify the household record", "f_p", "j_p")
    + """
    <bpmn:parallelGateway id="join">
      <bpmn:incoming>j_t</bpmn:incoming><bpmn:incoming>j_p</bpmn:incoming><bpmn:outgoing>f_end</bpmn:outgoing>
    </bpmn:parallelGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f_end</bpmn:incoming></bpmn:endEvent>
"""
    + "\n".join(
        [
            _flow("f1", "start", "split"),
            _flow("f_t", "split", "review"),
            _flow("f_p", "split", "verify"),
            _flow("j_t", "review", "join"),
            _flow("j_p", "verify", "join"),
            _flow("f_end", "join", "end"),
        ]
    )
    + """
  </bpmn:process>
</bpmn:definitions>
"""
)


@pytest.fixture
def mother(role_users: dict[str, Any]) -> Person:
    return register(registrar(), case_tracking_no="ZW1")


@pytest.fixture
def resident(mother: Person) -> User:
    """林美华's own account."""
    return UserFactory.create(
        username="lin_meihua", kind=Kind.RESIDENT, display_name="林美华", id_number=MOTHER_ID
    )


@pytest.fixture
def service(role_users: dict[str, Any]) -> Service:
    """A TDEPT service asking for the ID card, the household register and a lease; accepted when complete."""
    return published_service("HJSQ", materials=MATERIALS, auto_accept=True)


@pytest.fixture
def window_service(role_users: dict[str, Any]) -> Service:
    """The same materials, accepted by a clerk at the window."""
    return published_service("HJCK", materials=MATERIALS)


def _submit(user: User, service: Service, **kwargs: Any) -> Application:
    lease = uploaded_material(user, "LEASE")
    arguments: dict[str, Any] = {
        "acting_user": user,
        "service_code": service.code,
        "form": dict(VALID_FORM),
        "material_ids": [str(lease.pk)],
        "channel": Channel.WEB,
        **kwargs,
    }
    application, _ = application_submit(**arguments)
    return application


def _fetches() -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(action="registry.extract_fetched").order_by("seq"))


def _raw_data() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT data_text FROM applications_verifiedextract ORDER BY id")
        return [str(row[0]) for row in cursor.fetchall()]


def _extracts_section(html: str) -> str:
    """The page's verified-data section ("" when there is none)."""
    start = html.find('id="ow-verified-extracts-title"')
    return html[start : html.index("</section>", start)] if start >= 0 else ""


def _walk_in(identifier: str, name: str) -> OnBehalfOf:
    return OnBehalfOf(name=name, identifier=identifier, id_checked=True)


# --- Attached at submission ---------------------------------------------------------------------------------


def test_submission_attaches_the_verified_data_of_the_materials_not_submitted(
    resident: User, mother: Person, service: Service
) -> None:
    application = _submit(resident, service)

    # the ID card and the household register need not be submitted, so the case is complete and accepted
    assert application.status in {Status.ACCEPTED, Status.IN_PROGRESS}
    extracts = list(VerifiedExtract.objects.filter(application=application).order_by("material_code"))
    assert [(e.material_code, e.resource, e.source, e.record_version) for e in extracts] == [
        ("household_register", "population.household", "registry", 1),
        ("id_card", "population.id_card", "registry", 1),
    ]
    assert extracts[1].data == {
        "id_number": MOTHER_ID,
        "name": "林美华",
        "gender": "female",
        "ethnicity": "01",
        "birth_date": "1990-06-01",
        "address": ADDRESS,
    }
    assert extracts[0].data["household_no"] == "350102000001"
    assert {e.fetched_by_id for e in extracts} == {resident.pk}
    # each fetch audited: who, which resource, for which case; never the ID number
    fetched = _fetches()
    assert [(r.actor_id, r.object_id, r.details["resource"], r.details["purpose"]) for r in fetched] == [
        (resident.pk, str(mother.pk), "population.id_card", application.tracking_no),
        (resident.pk, str(mother.pk), "population.household", application.tracking_no),
    ]
    assert all(MOTHER_ID not in json.dumps(record.details) for record in fetched)


def test_the_extracts_are_encrypted_at_rest(resident: User, service: Service) -> None:
    _submit(resident, service)

    stored = _raw_data()
    assert len(stored) == 2
    for token in stored:
        assert token.startswith("v1.")
        assert MOTHER_ID not in token
        assert "林美华" not in token
        assert "东街" not in token


def test_a_person_not_in_the_registry_submits_the_materials_and_gets_no_extract(
    role_users: dict[str, Any], mother: Person, service: Service
) -> None:
    application = _submit(role_users["resident"], service)

    assert application.status == Status.SUBMITTED  # the ID card and household register are missing
    assert not VerifiedExtract.objects.exists()
    assert _fetches() == []


def test_an_enterprise_gets_its_licence_attached(
    role_users: dict[str, Any], mother: Person, service: Service
) -> None:
    amr = staff_user(Role.DEPARTMENT_HANDLER, department_code="AMR", username="amr_extract")
    entity_register(
        acting_user=amr,
        credit_code=CODE,
        name="福州鼓楼示例有限公司",
        type="llc",
        division_code=GULOU,
        established_on=dt.date(2023, 3, 1),
    )
    enterprise = UserFactory.create(
        username="gulou_example",
        kind=Kind.ENTERPRISE,
        enterprise_name="福州鼓楼示例有限公司",
        enterprise_credit_code=CODE,
    )

    application = _submit(enterprise, service)

    (extract,) = VerifiedExtract.objects.filter(application=application)
    assert (extract.material_code, extract.resource) == ("business_licence", "amr.business_licence")
    assert (extract.data["credit_code"], extract.data["name"], extract.data["status"]) == (
        CODE,
        "福州鼓楼示例有限公司",
        "active",
    )


def test_a_walk_in_at_the_window_gets_the_extracts_fetched_by_the_clerk(
    role_users: dict[str, Any], mother: Person, service: Service
) -> None:
    clerk = role_users["window_clerk"]

    application = _submit(clerk, service, channel=Channel.WINDOW, on_behalf_of=_walk_in(MOTHER_ID, "林美华"))

    assert VerifiedExtract.objects.filter(application=application, fetched_by=clerk).count() == 2
    assert {record.actor_id for record in _fetches()} == {clerk.pk}


def test_a_failed_submission_leaves_no_extract_and_no_audit_of_it(
    resident: User, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onewindow.applications.actions import submit

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("notification failed")

    monkeypatch.setattr(submit, "applicant_notify", fail)

    with pytest.raises(RuntimeError):
        _submit(resident, service)

    assert not Application.objects.exists()
    assert not VerifiedExtract.objects.exists()
    assert _fetches() == []


# --- Attached at acceptance at the window -------------------------------------------------------------------


def test_acceptance_at_the_window_fetches_what_the_submission_could_not(
    role_users: dict[str, Any], mother: Person, window_service: Service
) -> None:
    clerk = role_users["window_clerk"]
    # Given a walk-in whose birth is registered only after the application was submitted
    application = _submit(
        clerk, window_service, channel=Channel.WINDOW, on_behalf_of=_walk_in(BABY_ID, "林小宝")
    )
    assert not VerifiedExtract.objects.exists()
    register(
        registrar("psb_births"),
        id_number=BABY_ID,
        name="林小宝",
        relation_to_head="child",
        birth_date=BIRTH_DATE,
        division_code="",
        address="",
    )

    # When the clerk accepts it
    accepted = application_accept(acting_user=clerk, application=application)

    # Then the verified data is attached, fetched by the clerk for this case
    assert accepted.status in {Status.ACCEPTED, Status.IN_PROGRESS}
    extracts = VerifiedExtract.objects.filter(application=application)
    assert {extract.material_code for extract in extracts} == {"id_card", "household_register"}
    assert {extract.fetched_by_id for extract in extracts} == {clerk.pk}
    assert {(r.actor_id, r.details["purpose"]) for r in _fetches()} == {(clerk.pk, application.tracking_no)}


def test_acceptance_does_not_fetch_again(
    role_users: dict[str, Any], mother: Person, window_service: Service
) -> None:
    clerk = role_users["window_clerk"]
    application = _submit(
        clerk, window_service, channel=Channel.WINDOW, on_behalf_of=_walk_in(MOTHER_ID, "林美华")
    )
    first = list(VerifiedExtract.objects.order_by("id").values_list("id", "data_text"))

    application_accept(acting_user=clerk, application=Application.objects.get(pk=application.pk))

    assert list(VerifiedExtract.objects.order_by("id").values_list("id", "data_text")) == first
    assert len(_fetches()) == 2


# --- Who sees them ------------------------------------------------------------------------------------------


def test_the_applicant_sees_their_own_data_masked_on_their_case_page(
    resident: User, service: Service, client_for: Callable[[object], Client]
) -> None:
    application = _submit(resident, service)

    html = client_for(resident).get(f"/applications/{application.tracking_no}/").content.decode()

    assert "来自基础库的核验数据" in html
    assert "居民身份证" in html
    assert MASKED_MOTHER_ID in html
    assert MOTHER_ID not in html
    assert ADDRESS in html
    assert "350102000001" in html


def test_the_clerk_who_submitted_for_a_walk_in_does_not_see_the_data(
    role_users: dict[str, Any], mother: Person, service: Service, client_for: Callable[[object], Client]
) -> None:
    clerk = role_users["window_clerk"]
    application = _submit(clerk, service, channel=Channel.WINDOW, on_behalf_of=_walk_in(MOTHER_ID, "林美华"))

    response = client_for(clerk).get(f"/applications/{application.tracking_no}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "来自基础库的核验数据" not in html
    assert ADDRESS not in html


@pytest.fixture
def case(resident: User, service: Service) -> Application:
    """林美华's accepted case: public security verifies and TDEPT reviews, in parallel."""
    assert service.current_version is not None
    service.current_version.process_key = "CHECK_T"
    service.current_version.save(update_fields=["process_key"])
    published_definition("CHECK_T", CHECK_BPMN, process_id="check_test")
    application = _submit(resident, service)
    assert set(HumanTask.objects.filter(application=application).values_list("task_spec", flat=True)) == {
        "review",
        "verify",
    }
    return application


def _staff_client(user: User, client_for: Callable[[object], Client]) -> Client:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.get_or_create(user=user, name="default", defaults={"confirmed": True})
    return client_for(user)


def test_each_department_sees_the_fields_its_policy_allows_on_the_task_page(
    case: Application, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    psb = User.objects.get(username="psb_handler")
    verify = HumanTask.objects.get(application=case, task_spec="verify")
    review = HumanTask.objects.get(application=case, task_spec="review")

    psb_page = _extracts_section(_staff_client(psb, client_for).get(f"/tasks/{verify.pk}/").content.decode())
    tdept_page = _extracts_section(
        client_for(role_users["department_handler"]).get(f"/tasks/{review.pk}/").content.decode()
    )

    # public security: every field, the ID number masked
    assert "居民身份证" in psb_page
    assert MASKED_MOTHER_ID in psb_page
    assert ADDRESS in psb_page
    assert "户主" in psb_page  # relation to the head
    # another department: the basic fields only
    assert "居民户口簿" in tdept_page
    assert "林美华" in tdept_page
    assert "1990-06-01" in tdept_page
    assert "汉族" in tdept_page
    assert "350102000001" in tdept_page
    assert ADDRESS not in tdept_page
    assert MASKED_MOTHER_ID not in tdept_page
    assert MOTHER_ID not in tdept_page + psb_page


def test_each_department_sees_the_fields_its_policy_allows_in_the_task_api(
    case: Application, role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    psb = User.objects.get(username="psb_handler")
    verify = HumanTask.objects.get(application=case, task_spec="verify")
    review = HumanTask.objects.get(application=case, task_spec="review")

    def extracts(user: User, task: HumanTask) -> dict[str, dict[str, Any]]:
        client = Client(headers={"authorization": f"Bearer {api_token_for(user)}"})
        response = client.get(f"/api/v1/tasks/{task.pk}")
        assert response.status_code == 200, response.content
        return {item["material_code"]: item["data"] for item in response.json()["case"]["verified_extracts"]}

    psb_sees = extracts(psb, verify)
    tdept_sees = extracts(role_users["department_handler"], review)

    assert psb_sees["id_card"] == {
        "id_number": MASKED_MOTHER_ID,
        "name": "林美华",
        "gender": "female",
        "ethnicity": "01",
        "birth_date": "1990-06-01",
        "address": ADDRESS,
    }
    assert tdept_sees == {
        "id_card": {"name": "林美华", "gender": "female", "ethnicity": "01", "birth_date": "1990-06-01"},
        "household_register": {"name": "林美华", "household_no": "350102000001", "division_code": GULOU},
    }


def test_the_policy_setting_applies_to_the_task_page(
    settings: Any, case: Application, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    settings.REGISTRY_FIELD_ACCESS = {"TDEPT": {"department_handler": ["address"]}}
    review = HumanTask.objects.get(application=case, task_spec="review")

    html = client_for(role_users["department_handler"]).get(f"/tasks/{review.pk}/").content.decode()

    section = _extracts_section(html)
    assert ADDRESS in section
    assert "1990-06-01" not in section
    assert "林美华" not in section


# --- Key rotation -------------------------------------------------------------------------------------------


def test_key_rotation_reseals_the_extracts(settings: Any, resident: User, service: Service) -> None:
    import hashlib

    old, new = hashlib.sha256(b"old key").digest(), hashlib.sha256(b"new key").digest()
    settings.REGISTRY_KEYS = {"old": old, **settings.REGISTRY_KEYS}
    application = _submit(resident, service)
    assert {token_key_id(token) for token in _raw_data()} == {"old"}

    settings.REGISTRY_KEYS = {"new": new, **settings.REGISTRY_KEYS}
    assert keys_rotate() >= 2
    assert {token_key_id(token) for token in _raw_data()} == {"new"}

    settings.REGISTRY_KEYS = {"new": new}
    extract = VerifiedExtract.objects.get(application=application, material_code="id_card")
    assert extract.data["name"] == "林美华"
