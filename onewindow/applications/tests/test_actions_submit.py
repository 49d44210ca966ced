"""application_submit: who may submit, channels and consent, validation, idempotency, auto-acceptance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from onewindow.applications.actions import OnBehalfOf, application_submit
from onewindow.applications.models import AgentConsent, Application, Document, Status
from onewindow.applications.tests.factories import VALID_FORM, published_service, uploaded_material
from onewindow.applications.tracking import is_valid_tracking_no
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.materials.models import Material
from onewindow.notifications.models import Notification
from onewindow.services.models import Channel, Service

pytestmark = pytest.mark.django_db

WALK_IN_ID = "440524188001010014"


def _counts() -> tuple[int, int, int, int]:
    return (
        Application.objects.count(),
        Material.objects.filter(application__isnull=False).count(),
        AuditRecord.objects.filter(action__startswith="application.").count(),
        Notification.objects.count(),
    )


def test_resident_submits_for_themself(role_users: dict[str, Any], service: Service) -> None:
    resident = role_users["resident"]
    material = uploaded_material(resident, "LEASE")
    application, created = application_submit(
        acting_user=resident,
        service_code="TSVC",
        form=dict(VALID_FORM),
        material_ids=[str(material.pk)],
        channel=Channel.WEB,
    )
    assert created is True
    assert application.status == Status.SUBMITTED  # not auto-accepted: CHARTER missing and no auto_accept
    assert is_valid_tracking_no(application.tracking_no)
    assert application.applicant == resident
    assert application.submitted_by == resident
    assert application.applicant_identifier == "11010519491231002X"
    assert application.department_codes == ["TDEPT"]
    material.refresh_from_db()
    assert material.application == application
    assert list(application.events.values_list("kind", flat=True)) == ["submitted"]
    receipt = Document.objects.get(application=application)
    assert (receipt.kind, receipt.file.name) == (Document.Kind.RECEIPT, "")
    assert Notification.objects.filter(user=resident, object_id=application.tracking_no).count() == 1
    assert AuditRecord.objects.filter(
        action="application.submitted", object_id=application.tracking_no
    ).exists()


def test_enterprise_representative_applies_for_the_enterprise(
    role_users: dict[str, Any], service: Service
) -> None:
    application, _ = application_submit(
        acting_user=role_users["enterprise_representative"],
        service_code="TSVC",
        form=dict(VALID_FORM),
        channel=Channel.API,
    )
    assert (application.applicant_kind, application.applicant_identifier) == (
        "enterprise",
        "91350100M000100Y43",
    )


def test_invalid_form_gives_field_errors_and_creates_nothing(
    role_users: dict[str, Any], service: Service
) -> None:
    resident = role_users["resident"]
    material = uploaded_material(resident, "LEASE")
    before = _counts()
    with pytest.raises(FieldErrors) as raised:
        application_submit(
            acting_user=resident,
            service_code="TSVC",
            form={"employees": -1},
            material_ids=[str(material.pk)],
            channel=Channel.WEB,
        )
    fields = {error.field for error in raised.value.errors}
    assert fields == {"company_name", "employees"}
    assert all(error.message_zh and error.message_en for error in raised.value.errors)
    assert _counts() == before


def test_unknown_or_foreign_material_is_a_field_error(role_users: dict[str, Any], service: Service) -> None:
    other = uploaded_material(role_users["enterprise_representative"], "LEASE")
    before = _counts()
    with pytest.raises(FieldErrors) as raised:
        application_submit(
            acting_user=role_users["resident"],
            service_code="TSVC",
            form=dict(VALID_FORM),
            material_ids=[str(other.pk), "not-a-uuid"],
            channel=Channel.WEB,
        )
    assert raised.value.errors[0].field == "materials.1"
    assert _counts() == before


def test_idempotent_replay_returns_the_same_application(role_users: dict[str, Any], service: Service) -> None:
    arguments: dict[str, Any] = {
        "acting_user": role_users["resident"],
        "service_code": "TSVC",
        "form": dict(VALID_FORM),
        "channel": Channel.API,
        "idempotency_key": "phone-retry-1",
    }
    first, created = application_submit(**arguments)
    again, created_again = application_submit(**arguments)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Application.objects.count() == 1
    with pytest.raises(RuleViolation) as raised:
        application_submit(**{**arguments, "form": {**VALID_FORM, "employees": 9}})
    assert raised.value.code == "idempotency_key_reused"
    assert Application.objects.count() == 1


def test_same_key_for_another_user_is_another_application(
    role_users: dict[str, Any], service: Service
) -> None:
    for role in ("resident", "enterprise_representative"):
        application_submit(
            acting_user=role_users[role],
            service_code="TSVC",
            form=dict(VALID_FORM),
            channel=Channel.API,
            idempotency_key="k",
        )
    assert Application.objects.count() == 2


def test_complete_auto_accept_application_is_accepted_and_routed(role_users: dict[str, Any]) -> None:
    """即办: every required material attached → accepted with due dates, processing started (Art. 32)."""
    published_service("AUTO", auto_accept=True, promised_days=3)
    resident = role_users["resident"]
    materials = [str(uploaded_material(resident, code).pk) for code in ("LEASE", "CHARTER")]
    application, _ = application_submit(
        acting_user=resident,
        service_code="AUTO",
        form=dict(VALID_FORM),
        material_ids=materials,
        channel=Channel.WEB,
    )
    assert application.status == Status.IN_PROGRESS
    assert application.accepted_at is not None
    assert application.due_date is not None
    assert application.pending_department_codes == ["TDEPT"]
    assert list(application.events.values_list("kind", flat=True)) == ["submitted", "accepted", "routed"]


def test_incomplete_auto_accept_application_waits(role_users: dict[str, Any]) -> None:
    published_service("AUTO", auto_accept=True)
    resident = role_users["resident"]
    application, _ = application_submit(
        acting_user=resident,
        service_code="AUTO",
        form=dict(VALID_FORM),
        material_ids=[str(uploaded_material(resident, "LEASE").pk)],
        channel=Channel.WEB,
    )
    assert application.status == Status.SUBMITTED


def test_window_clerk_applies_for_a_walk_in_and_links_their_account(
    role_users: dict[str, Any], service: Service
) -> None:
    resident = role_users["resident"]
    application, _ = application_submit(
        acting_user=role_users["window_clerk"],
        service_code="TSVC",
        form=dict(VALID_FORM),
        channel=Channel.WINDOW,
        on_behalf_of=OnBehalfOf(name="张三", identifier="11010519491231002x", id_checked=True),
    )
    assert application.channel == Channel.WINDOW
    assert application.applicant == resident  # 11010519491231002X, case-normalised
    assert application.submitted_by == role_users["window_clerk"]


def test_window_clerk_must_check_the_id_document(role_users: dict[str, Any], service: Service) -> None:
    before = _counts()
    with pytest.raises(FieldErrors) as raised:
        application_submit(
            acting_user=role_users["window_clerk"],
            service_code="TSVC",
            form=dict(VALID_FORM),
            channel=Channel.WINDOW,
            on_behalf_of=OnBehalfOf(name="李四", identifier="440524188001010015"),
        )
    assert {error.field for error in raised.value.errors} == {
        "on_behalf_of.identifier",
        "on_behalf_of.id_checked",
    }
    assert _counts() == before


def test_agent_needs_recorded_consent(role_users: dict[str, Any], service: Service) -> None:
    agent = role_users["village_agent"]
    with pytest.raises(FieldErrors) as raised:
        application_submit(
            acting_user=agent,
            service_code="TSVC",
            form=dict(VALID_FORM),
            channel=Channel.AGENT,
            on_behalf_of=OnBehalfOf(name="王五", identifier=WALK_IN_ID, consent_method="signed_form"),
        )
    assert raised.value.errors[0].field == "on_behalf_of.consent_material_id"
    consent_form = uploaded_material(agent)
    application, _ = application_submit(
        acting_user=agent,
        service_code="TSVC",
        form=dict(VALID_FORM),
        channel=Channel.AGENT,
        on_behalf_of=OnBehalfOf(
            name="王五",
            identifier=WALK_IN_ID,
            consent_method="signed_form",
            consent_reference="授权书 2025-001",
            consent_material_id=str(consent_form.pk),
        ),
    )
    consent = AgentConsent.objects.get(application=application)
    assert (consent.agent, consent.method, consent.material) == (agent, "signed_form", consent_form)
    assert application.applicant is None  # no account with that ID number


@pytest.mark.parametrize(
    ("role", "channel", "on_behalf"),
    [
        ("resident", Channel.WINDOW, True),
        ("resident", Channel.AGENT, True),
        ("window_clerk", Channel.WEB, False),
        ("village_agent", Channel.WINDOW, True),
        ("window_clerk", Channel.AGENT, True),
        ("department_handler", Channel.WEB, False),
        ("leader", Channel.WEB, False),
        ("system_admin", Channel.WEB, False),
    ],
)
def test_channel_needs_its_permission(
    role_users: dict[str, Any], service: Service, role: str, channel: str, on_behalf: bool
) -> None:
    before = _counts()
    behalf = OnBehalfOf(name="王五", identifier=WALK_IN_ID, id_checked=True, consent_method="in_person")
    with pytest.raises(PermissionDenied):
        application_submit(
            acting_user=role_users[role],
            service_code="TSVC",
            form=dict(VALID_FORM),
            channel=channel,
            on_behalf_of=behalf if on_behalf else None,
        )
    assert _counts() == before


def test_audience_and_channel_of_the_version(role_users: dict[str, Any]) -> None:
    published_service("ENT", audience=("enterprise",), channels=(Channel.WEB,))
    with pytest.raises(RuleViolation) as raised:
        application_submit(
            acting_user=role_users["resident"], service_code="ENT", form=dict(VALID_FORM), channel=Channel.WEB
        )
    assert raised.value.code == "audience_not_allowed"
    with pytest.raises(RuleViolation) as raised:
        application_submit(
            acting_user=role_users["enterprise_representative"],
            service_code="ENT",
            form=dict(VALID_FORM),
            channel=Channel.API,
        )
    assert raised.value.code == "channel_not_allowed"
    with pytest.raises(RuleViolation) as raised:
        application_submit(
            acting_user=role_users["resident"],
            service_code="NOPE",
            form=dict(VALID_FORM),
            channel=Channel.WEB,
        )
    assert (raised.value.code, raised.value.status) == ("service_not_found", 404)
    assert Application.objects.count() == 0


def test_submit_query_count_is_bounded(
    role_users: dict[str, Any], service: Service, submit: Callable[..., Application]
) -> None:
    submit()  # warm caches (calendar, roles)
    resident = role_users["resident"]
    with CaptureQueriesContext(connection) as queries:
        application_submit(
            acting_user=resident, service_code="TSVC", form=dict(VALID_FORM), channel=Channel.WEB
        )
    assert len(queries) <= 20
