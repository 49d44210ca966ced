"""Acceptance within the law (Administrative Licensing Law Art. 32): accept, refuse, one-time supplement
notice, the applicant's supplement, withdrawal, deemed acceptance, and the stale-write guard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from onewindow.applications.actions import (
    SupplementItem,
    application_accept,
    application_decide,
    application_refuse,
    application_request_supplement,
    application_supplement,
    application_withdraw,
    applications_deem_accepted,
)
from onewindow.applications.models import Application, Document, Status, SupplementRequest
from onewindow.applications.selectors import application_missing_items
from onewindow.applications.tests.factories import VALID_FORM, published_service, uploaded_material
from onewindow.applications.tracking import CHINA
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.notifications.models import Notification
from onewindow.workcalendar.calendar import add_working_days

pytestmark = pytest.mark.django_db


def test_clerk_accepts_with_working_day_due_dates(
    role_users: dict[str, Any], submit: Callable[..., Application]
) -> None:
    """Art. 42, 82: time limits in working days from acceptance."""
    application = submit()
    accepted = application_accept(acting_user=role_users["window_clerk"], application=application)
    assert accepted.status == Status.IN_PROGRESS  # accepted, then routed to TDEPT
    assert accepted.accepted_at is not None
    today = accepted.accepted_at.astimezone(CHINA).date()
    assert accepted.due_date == add_working_days(today, 3)
    assert accepted.statutory_due_date == add_working_days(today, 20)
    assert accepted.pending_department_codes == ["TDEPT"]
    notes = list(accepted.events.values_list("kind", "note_en"))
    assert notes[-1] == ("routed", "Routed to Test department")


def test_stale_copy_is_refused_with_409(
    role_users: dict[str, Any], submit: Callable[..., Application]
) -> None:
    application = submit()
    stale = Application.objects.get(pk=application.pk)
    application_accept(acting_user=role_users["window_clerk"], application=application)
    with pytest.raises(RuleViolation) as raised:
        application_refuse(acting_user=role_users["window_clerk"], application=stale, reason="x")
    assert (raised.value.code, raised.value.status) == ("application_changed", 409)


@pytest.mark.parametrize(
    "role", ["resident", "village_agent", "leader", "auditor", "supervisor", "system_admin"]
)
def test_only_window_or_owning_department_accepts(
    role_users: dict[str, Any], submit: Callable[..., Application], role: str
) -> None:
    application = submit()
    with pytest.raises(PermissionDenied):
        application_accept(acting_user=role_users[role], application=application)
    application.refresh_from_db()
    assert (application.status, application.row_version) == (Status.SUBMITTED, 1)


def test_refuse_needs_reasons_and_issues_a_notice(
    role_users: dict[str, Any], submit: Callable[..., Application]
) -> None:
    application = submit()
    with pytest.raises(FieldErrors):
        application_refuse(acting_user=role_users["window_clerk"], application=application, reason=" ")
    refused = application_refuse(
        acting_user=role_users["window_clerk"], application=application, reason="不属于本机关职权范围"
    )
    assert refused.status == Status.NOT_ACCEPTED
    assert refused.documents.filter(kind=Document.Kind.NOT_ACCEPTED_NOTICE).count() == 1
    with pytest.raises(RuleViolation) as raised:
        application_accept(acting_user=role_users["window_clerk"], application=refused)
    assert raised.value.status == 409


def test_supplement_notice_lists_every_missing_item_at_once(
    role_users: dict[str, Any], submit: Callable[..., Application]
) -> None:
    """Art. 32 (4): 一次性告知 — the clerk names one form problem, the missing materials are added."""
    application = submit()  # neither LEASE nor CHARTER attached; PHOTO is optional
    assert [item.material_code for item in application_missing_items(application)] == ["LEASE", "CHARTER"]
    request = application_request_supplement(
        acting_user=role_users["window_clerk"],
        application=application,
        items=[SupplementItem(field="company_name", reason="名称须与核名通知书一致")],
    )
    assert [item["field"] or item["material_code"] for item in request.items] == [
        "company_name",
        "LEASE",
        "CHARTER",
    ]
    application.refresh_from_db()
    assert application.status == Status.SUPPLEMENT_REQUESTED
    assert application.documents.filter(kind=Document.Kind.SUPPLEMENT_NOTICE).count() == 1
    notification = Notification.objects.get(kind="application_supplement_requested")
    assert "名称须与核名通知书一致" in notification.body
    assert "租赁合同" in notification.body
    assert "公司章程" in notification.body
    # Only one open notice at a time: a second one is a conflict.
    with pytest.raises(RuleViolation):
        application_request_supplement(
            acting_user=role_users["window_clerk"], application=application, items=[]
        )


def test_supplement_items_need_a_target_and_a_reason(
    role_users: dict[str, Any], submit: Callable[..., Application]
) -> None:
    application = submit()
    with pytest.raises(FieldErrors) as raised:
        application_request_supplement(
            acting_user=role_users["window_clerk"],
            application=application,
            items=[SupplementItem(reason="x"), SupplementItem(field="company_name")],
        )
    assert [error.field for error in raised.value.errors] == ["items.0", "items.1.reason"]
    assert SupplementRequest.objects.count() == 0


def test_applicant_supplements_and_auto_accepts_when_complete(role_users: dict[str, Any]) -> None:
    published_service("AUTO", auto_accept=True)
    from onewindow.applications.actions import application_submit
    from onewindow.services.models import Channel

    resident = role_users["resident"]
    application, _ = application_submit(
        acting_user=resident,
        service_code="AUTO",
        form=dict(VALID_FORM),
        material_ids=[str(uploaded_material(resident, "LEASE").pk)],
        channel=Channel.WEB,
    )
    application_request_supplement(acting_user=role_users["window_clerk"], application=application, items=[])
    application.refresh_from_db()
    with pytest.raises(FieldErrors):
        application_supplement(acting_user=resident, application=application, form={"employees": -1})
    with pytest.raises(PermissionDenied):
        application_supplement(acting_user=role_users["enterprise_representative"], application=application)
    answered = application_supplement(
        acting_user=resident,
        application=application,
        material_ids=[str(uploaded_material(resident, "CHARTER").pk)],
    )
    assert answered.status == Status.IN_PROGRESS
    assert SupplementRequest.objects.get().answered_at is not None


def test_withdraw_only_by_applicant_side_and_before_decision(
    role_users: dict[str, Any], submit: Callable[..., Application]
) -> None:
    application = submit()
    for role in ("window_clerk", "department_handler", "enterprise_representative"):
        with pytest.raises(PermissionDenied):
            application_withdraw(acting_user=role_users[role], application=application)
    withdrawn = application_withdraw(
        acting_user=role_users["resident"], application=application, reason="改日再办"
    )
    assert withdrawn.status == Status.WITHDRAWN
    with pytest.raises(RuleViolation):
        application_withdraw(acting_user=role_users["resident"], application=withdrawn)
    decided = submit()
    decided = application_accept(acting_user=role_users["window_clerk"], application=decided)
    decided = application_decide(
        acting_user=role_users["department_handler"], application=decided, outcome="approved"
    )
    with pytest.raises(RuleViolation) as raised:
        application_withdraw(acting_user=role_users["resident"], application=decided)
    assert raised.value.code == "application_wrong_status"


def test_agent_withdraws_what_they_submitted(
    role_users: dict[str, Any], submit: Callable[..., Application]
) -> None:
    from onewindow.applications.actions import OnBehalfOf
    from onewindow.services.models import Channel

    application = submit(
        role_users["village_agent"],
        channel=Channel.AGENT,
        on_behalf_of=OnBehalfOf(name="张三", identifier="11010519491231002X", consent_method="in_person"),
    )
    assert application.applicant == role_users["resident"]  # shows in the resident's own account
    assert (
        application_withdraw(acting_user=role_users["village_agent"], application=application).status
        == "withdrawn"
    )


def test_decision_rules(role_users: dict[str, Any], submit: Callable[..., Application]) -> None:
    application = submit()
    with pytest.raises(RuleViolation):
        application_decide(acting_user=None, application=application, outcome="approved")  # not accepted
    application = application_accept(acting_user=role_users["window_clerk"], application=application)
    with pytest.raises(PermissionDenied):
        application_decide(
            acting_user=role_users["window_clerk"], application=application, outcome="approved"
        )
    with pytest.raises(FieldErrors):
        application_decide(acting_user=None, application=application, outcome="rejected")
    decided = application_decide(
        acting_user=None, application=application, outcome="rejected", reason="不符合条件"
    )
    assert decided.decision is not None
    assert (decided.status, decided.decision["outcome"], decided.pending_department_codes) == (
        "rejected",
        "rejected",
        [],
    )
    assert decided.documents.filter(kind=Document.Kind.DECISION).count() == 1


def test_deemed_acceptance_after_five_working_days_across_a_holiday(
    role_users: dict[str, Any], submit: Callable[..., Application]
) -> None:
    """Art. 32: no notice within 5 (working) days → accepted from receipt. Submitted Friday 2025-09-26,
    before the National Day holiday: the working days are 9-28 (make-up Sunday), 9-29, 9-30, 10-9, 10-10."""
    application = submit()
    received = datetime(2025, 9, 26, 10, 0, tzinfo=CHINA)
    Application.objects.filter(pk=application.pk).update(submitted_at=received)
    assert add_working_days(date(2025, 9, 26), 5) == date(2025, 10, 10)
    assert applications_deem_accepted(now=datetime(2025, 10, 10, 23, 0, tzinfo=CHINA)) == 0
    assert applications_deem_accepted(now=datetime(2025, 10, 11, 9, 0, tzinfo=CHINA)) == 1
    application.refresh_from_db()
    assert application.status == Status.IN_PROGRESS
    assert application.accepted_at == received
    assert application.due_date == add_working_days(date(2025, 9, 26), 3)
    assert "第三十二条" in application.events.get(kind="accepted").note
    assert applications_deem_accepted(now=datetime(2025, 10, 13, 9, 0, tzinfo=CHINA)) == 0


def test_no_deemed_acceptance_while_a_notice_is_open(
    role_users: dict[str, Any], submit: Callable[..., Application]
) -> None:
    application = submit()
    application_request_supplement(acting_user=role_users["window_clerk"], application=application, items=[])
    Application.objects.filter(pk=application.pk).update(submitted_at=datetime(2025, 9, 1, tzinfo=CHINA))
    assert applications_deem_accepted(now=datetime(2025, 10, 31, tzinfo=CHINA)) == 0
