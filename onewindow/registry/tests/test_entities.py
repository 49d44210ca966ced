"""The legal-entity register (issue #5 items 3 and 7): registration, change and cancellation by market
regulation, names unique among active entities, history, events in the same transaction, public basic
information, and the QYKB service task that registers the approved enterprise (市场主体登记管理条例
第五条, 第二十四条, 第三十一条; 企业名称登记管理规定 第十七条; GB 32100-2015)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.core.validators import make_credit_code
from onewindow.outbox.actions import outbox_append
from onewindow.outbox.models import OutboxEvent
from onewindow.registry.entities import entity_cancel, entity_change, entity_public, entity_register
from onewindow.registry.models import Person
from onewindow.registry.models_entities import EntityVersionKind, LegalEntity, LegalEntityVersion
from onewindow.registry.protection import blind_index
from onewindow.registry.service_actions import enterprise_register
from onewindow.registry.tests.test_population_support import GULOU, MOTHER_ID, register, registrar
from onewindow.workflow.registry import ServiceActionContext, service_action

pytestmark = pytest.mark.django_db

CODE = make_credit_code(authority="9", entity_type="1", division="350100", organisation_base="MA000001")
OTHER_CODE = make_credit_code(authority="9", entity_type="1", division="350100", organisation_base="MA000002")
NAME = "福州闽江科技有限公司"


@pytest.fixture
def handler() -> User:
    return staff_user(Role.DEPARTMENT_HANDLER, department_code="AMR", username="amr_handler")


def _register(acting_user: User | None, **overrides: Any) -> LegalEntity:
    arguments: dict[str, Any] = {
        "acting_user": acting_user,
        "credit_code": CODE,
        "name": NAME,
        "type": "llc",
        "division_code": GULOU,
        "registered_capital": "100",
        "address": "福州市鼓楼区五四路 1 号",
        "business_scope": "软件开发",
        "established_on": dt.date(2024, 5, 6),
        "case_tracking_no": "ZW2024000009",
        **overrides,
    }
    return entity_register(**arguments)


@pytest.fixture
def entity(handler: User) -> LegalEntity:
    return _register(handler)


def _codes(error: FieldErrors) -> dict[str, str]:
    return {item.field: item.code for item in error.errors}


def state() -> dict[str, Any]:
    """Everything the entity actions write, to compare before and after a refused call."""
    return {
        "entities": list(
            LegalEntity.objects.order_by("pk").values_list(
                "pk", "credit_code", "name", "status", "version", "address", "registered_capital"
            )
        ),
        "versions": list(LegalEntityVersion.objects.order_by("pk").values_list("pk", "entity_id", "version")),
        "events": list(OutboxEvent.objects.order_by("created_at").values_list("topic", "key")),
    }


# --- Registration -------------------------------------------------------------------------------------


def test_registration_records_the_entity_its_first_version_audit_and_event(handler: User) -> None:
    entity = _register(handler)

    entity.refresh_from_db()
    assert (entity.credit_code, entity.name, entity.type, entity.status, entity.version) == (
        CODE,
        NAME,
        "llc",
        "active",
        1,
    )
    assert (entity.registered_capital, entity.division_code, entity.registration_authority) == (
        Decimal("100.0000"),
        GULOU,
        "AMR",
    )
    version = LegalEntityVersion.objects.get(entity=entity)
    assert (version.version, version.kind, version.acting_user_id, version.case_tracking_no) == (
        1,
        EntityVersionKind.REGISTERED,
        handler.pk,
        "ZW2024000009",
    )
    assert version.snapshot_data["name"] == NAME
    assert version.snapshot_data["registered_capital"] == "100.0000"
    event = OutboxEvent.objects.get(topic="entity.registered")
    assert event.key == CODE
    assert event.payload == {
        "entity_id": entity.pk,
        "credit_code": CODE,
        "version": 1,
        "name": NAME,
        "type": "llc",
        "status": "active",
        "division_code": GULOU,
        "registration_authority": "AMR",
        "case_tracking_no": "ZW2024000009",
        "changed": ["*"],
    }
    record = AuditRecord.objects.get(action="registry.entity.registered")
    assert (record.actor_id, record.object_id, record.department_code) == (handler.pk, str(entity.pk), "AMR")


def test_the_legal_representative_is_linked_to_the_population_register(handler: User) -> None:
    person = register(registrar())

    entity = _register(handler, legal_rep_id_number=MOTHER_ID)

    assert entity.legal_rep_id == person.pk
    assert entity.legal_rep_index == blind_index(MOTHER_ID, kind="id_number")


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"credit_code": CODE[:-1] + ("0" if CODE[-1] != "0" else "1")}, "credit_code", "credit_code_check"),
        ({"credit_code": "123"}, "credit_code", "credit_code_length"),
        ({"name": "  "}, "name", "name_required"),
        ({"type": "trust"}, "type", "entity_type_unknown"),
        ({"division_code": "350199"}, "division_code", "division_code_unknown"),
        ({"registered_capital": "-5"}, "registered_capital", "capital_invalid"),
        ({"established_on": dt.date(2999, 1, 1)}, "established_on", "date_in_future"),
        ({"legal_rep_id_number": "110105194912310021"}, "legal_rep_id_number", "id_number_check"),
    ],
)
def test_invalid_registrations_are_refused_and_write_nothing(
    handler: User, overrides: dict[str, Any], field: str, code: str
) -> None:
    before = state()

    with pytest.raises(FieldErrors) as error:
        _register(handler, **overrides)

    assert _codes(error.value)[field] == code
    assert state() == before


def test_a_credit_code_is_registered_once(handler: User, entity: LegalEntity) -> None:
    before = state()

    with pytest.raises(RuleViolation) as error:
        _register(handler, name="另一家公司")

    assert (error.value.code, error.value.status) == ("credit_code_registered", 409)
    assert state() == before


def test_names_are_unique_among_active_entities_only(handler: User, entity: LegalEntity) -> None:
    before = state()
    with pytest.raises(RuleViolation) as error:
        _register(handler, credit_code=OTHER_CODE)
    assert (error.value.code, error.value.status) == ("entity_name_taken", 409)
    assert NAME in error.value.message_zh
    assert NAME in error.value.message_en
    assert state() == before

    entity_cancel(acting_user=handler, credit_code=CODE, reason="决议解散")
    second = _register(handler, credit_code=OTHER_CODE)

    assert (second.name, second.status) == (NAME, "active")


def test_a_failure_after_the_event_leaves_no_entity_and_no_event(
    handler: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def outbox_then_fail(**kwargs: Any) -> OutboxEvent:
        outbox_append(**kwargs)
        raise RuntimeError("the database went away")

    monkeypatch.setattr("onewindow.registry.entities.outbox_append", outbox_then_fail)
    with pytest.raises(RuntimeError):
        _register(handler)

    assert state() == {"entities": [], "versions": [], "events": []}
    assert not AuditRecord.objects.filter(action="registry.entity.registered").exists()


# --- Change and cancellation -----------------------------------------------------------------------------


def test_a_change_adds_a_version_and_an_event(handler: User, entity: LegalEntity) -> None:
    person = register(registrar())

    changed = entity_change(
        acting_user=handler,
        credit_code=CODE.lower(),
        name="福州闽江软件有限公司",
        address=entity.address,  # unchanged: not listed
        registered_capital=Decimal("250.5"),
        legal_rep_id_number=MOTHER_ID,
        case_tracking_no="ZW2024000010",
    )

    changed.refresh_from_db()
    assert (changed.name, changed.registered_capital, changed.version, changed.legal_rep_id) == (
        "福州闽江软件有限公司",
        Decimal("250.5000"),
        2,
        person.pk,
    )
    version = LegalEntityVersion.objects.get(entity=entity, version=2)
    assert (version.kind, version.changed) == (
        EntityVersionKind.CHANGED,
        ["legal_rep", "name", "registered_capital"],
    )
    assert LegalEntityVersion.objects.get(entity=entity, version=1).snapshot_data["name"] == NAME
    event = OutboxEvent.objects.get(topic="entity.changed")
    assert (event.key, event.payload["version"], event.payload["changed"]) == (
        CODE,
        2,
        ["legal_rep", "name", "registered_capital"],
    )


def test_a_change_to_another_active_entitys_name_or_to_nothing_is_refused(
    handler: User, entity: LegalEntity
) -> None:
    _register(handler, credit_code=OTHER_CODE, name="福州台江贸易有限公司")
    before = state()

    with pytest.raises(RuleViolation) as taken:
        entity_change(acting_user=handler, credit_code=CODE, name="福州台江贸易有限公司")
    with pytest.raises(FieldErrors) as same:
        entity_change(acting_user=handler, credit_code=CODE, name=NAME, business_scope="软件开发")

    assert taken.value.code == "entity_name_taken"
    assert _codes(same.value) == {"": "nothing_to_change"}
    assert state() == before


def test_cancellation_needs_a_reason_and_happens_once(handler: User, entity: LegalEntity) -> None:
    with pytest.raises(FieldErrors) as missing:
        entity_cancel(acting_user=handler, credit_code=CODE, reason=" ")
    assert _codes(missing.value) == {"reason": "reason_required"}

    cancelled = entity_cancel(acting_user=handler, credit_code=CODE, reason="决议解散")
    before = state()

    assert (cancelled.status, cancelled.version) == ("cancelled", 2)
    version = LegalEntityVersion.objects.get(entity=entity, version=2)
    assert (version.kind, version.reason) == (EntityVersionKind.CANCELLED, "决议解散")
    assert OutboxEvent.objects.get(topic="entity.cancelled").payload["status"] == "cancelled"
    with pytest.raises(RuleViolation) as again:
        entity_cancel(acting_user=handler, credit_code=CODE, reason="再次")
    with pytest.raises(RuleViolation) as change:
        entity_change(acting_user=handler, credit_code=CODE, address="新地址")
    assert (again.value.code, again.value.status) == ("entity_not_active", 409)
    assert change.value.code == "entity_not_active"
    assert state() == before


def test_an_unknown_entity_is_not_found(handler: User) -> None:
    with pytest.raises(RuleViolation) as error:
        entity_cancel(acting_user=handler, credit_code=CODE, reason="x")

    assert (error.value.code, error.value.status) == ("entity_not_found", 404)


# --- Public basic information ------------------------------------------------------------------------------


def test_public_information_is_the_basic_fields_only(entity: LegalEntity) -> None:
    assert entity_public(CODE.lower()) == {
        "credit_code": CODE,
        "name": NAME,
        "type": "llc",
        "status": "active",
        "registration_authority": "AMR",
        "established_on": "2024-05-06",
    }


@pytest.mark.parametrize("code", [OTHER_CODE, "123", ""])
def test_public_information_of_unknown_or_invalid_codes_is_not_found(entity: LegalEntity, code: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        entity_public(code)
    assert (refused.value.code, refused.value.status) == ("entity_not_found", 404)


# --- Roles: only market-regulation handlers -------------------------------------------------------------


def _operations(actor: User) -> dict[str, Callable[[], Any]]:
    return {
        "register": lambda: _register(actor, credit_code=OTHER_CODE, name="福州台江贸易有限公司"),
        "change": lambda: entity_change(acting_user=actor, credit_code=CODE, address="福州市台江区"),
        "cancel": lambda: entity_cancel(acting_user=actor, credit_code=CODE, reason="决议解散"),
    }


OPERATIONS = ["register", "change", "cancel"]
TOPICS = {"register": "entity.registered", "change": "entity.changed", "cancel": "entity.cancelled"}


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_outside_market_regulation_is_refused_and_nothing_changes(
    role_users: dict[str, User], entity: LegalEntity, role: str, operation: str
) -> None:
    # The department handler and administrator of role_users belong to TDEPT, not AMR.
    actor = role_users[role]
    before = state()

    with pytest.raises(PermissionDenied):
        _operations(actor)[operation]()

    assert state() == before
    denied = AuditRecord.objects.filter(action="permission.denied", actor_id=actor.pk).latest("seq")
    assert (denied.outcome, denied.details) == ("denied", {"permission": "handle_tasks"})


def test_a_public_security_handler_is_refused_too(entity: LegalEntity) -> None:
    before = state()

    with pytest.raises(PermissionDenied):
        _operations(registrar())["change"]()

    assert state() == before


@pytest.mark.parametrize("role", [Role.DEPARTMENT_HANDLER, Role.DEPARTMENT_ADMIN])
@pytest.mark.parametrize("operation", OPERATIONS)
def test_market_regulation_handlers_and_admins_may(entity: LegalEntity, role: Role, operation: str) -> None:
    actor = staff_user(role, department_code="AMR", username=f"amr_{role}")

    _operations(actor)[operation]()

    assert state()["events"][-1][0] == TOPICS[operation]


# --- The QYKB service task ------------------------------------------------------------------------------


def _context(**data: Any) -> ServiceActionContext:
    return ServiceActionContext(
        application_id=1,
        tracking_no="ZW2024000123",
        service_code="QYKB",
        department_code="AMR",
        data={
            "credit_code": CODE,
            "company_name": NAME,
            "company_type": "llc",
            "registered_capital": 100,
            "division_code": GULOU,
            "address": "福州市鼓楼区五四路 1 号",
            "business_scope": "软件开发",
            "legal_rep_name": "林美华",
            "legal_rep_id_number": MOTHER_ID,
            **data,
        },
        now=dt.datetime(2024, 5, 6, 20, 0, tzinfo=ZoneInfo("UTC")),
    )


def test_the_service_task_registers_the_enterprise_once() -> None:
    person = register(registrar())

    first = service_action("enterprise_register").func(_context())
    again = enterprise_register(_context())

    entity = LegalEntity.objects.get()
    assert first == again == {"entity_id": entity.pk}
    assert (entity.credit_code, entity.name, entity.type, entity.legal_rep_id) == (
        CODE,
        NAME,
        "llc",
        person.pk,
    )
    # 20:00 UTC is the next day in Beijing.
    assert (entity.established_on, entity.registration_authority) == (dt.date(2024, 5, 7), "AMR")
    version = LegalEntityVersion.objects.get()
    assert (version.acting_user_id, version.case_tracking_no) == (None, "ZW2024000123")
    assert list(OutboxEvent.objects.filter(topic__startswith="entity.").values_list("topic", "key")) == [
        ("entity.registered", CODE)
    ]
    assert AuditRecord.objects.get(action="registry.entity.registered").actor_id is None


def test_the_service_task_maps_unknown_company_types_to_other_and_keeps_unregistered_representatives() -> (
    None
):
    enterprise_register(_context(company_type="cooperative"))

    entity = LegalEntity.objects.get()
    assert (entity.type, entity.legal_rep_id) == ("other", None)
    assert entity.legal_rep_index == blind_index(MOTHER_ID, kind="id_number")
    assert not Person.objects.exists()


def test_the_service_task_fails_without_a_credit_code() -> None:
    with pytest.raises(RuleViolation) as error:
        enterprise_register(_context(credit_code=""))

    assert error.value.code == "credit_code_missing"
    assert not LegalEntity.objects.exists()
