"""Extensions of a case's time limit: requested by a handler, decided by the department's admin.

Administrative Licensing Law Art. 42: a decision within 20 working days, extendable with the approval of
the head of the administrative organ, the applicant being told the reason. Approval moves the promised and
statutory due dates and the requesting task's due date by the working days granted (Art. 82).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.applications.models import Application, ApplicationEvent
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.workcalendar.calendar import add_working_days
from onewindow.workflow.deadlines import extension_decide, extension_request
from onewindow.workflow.models import CaseEvent, CaseEventKind, Extension, ExtensionStatus, ProcessDefinition
from onewindow.workflow.supervision import extension_for_user, extensions_for_user
from onewindow.workflow.tests.test_deadlines_support import (
    calendar_reset,
    case_started,
    database_state,
    denials,
    notified,
    review_task,
)

pytestmark = pytest.mark.django_db

TDEPT_WORKERS = {"department_handler", "department_admin"}


@pytest.fixture(autouse=True)
def _calendar() -> Iterator[None]:
    calendar_reset()
    yield
    calendar_reset()


@pytest.fixture
def case(accepted_application: Callable[[], Application], qykb_definition: ProcessDefinition) -> Application:
    return case_started(accepted_application)


@pytest.fixture
def requested(case: Application, role_users: dict[str, Any]) -> Extension:
    return extension_request(
        acting_user=role_users["department_handler"],
        task=review_task(case),
        working_days=10,
        reason="需现场核查，材料较多",
    )


def test_a_request_is_recorded_and_the_department_admins_are_told(
    case: Application, role_users: dict[str, Any], requested: Extension
) -> None:
    handler: User = role_users["department_handler"]
    assert (requested.status, requested.department_code, requested.working_days) == ("pending", "TDEPT", 10)
    assert (requested.requested_by_id, requested.task_id) == (handler.pk, review_task(case).pk)
    event = CaseEvent.objects.get(application=case, kind=CaseEventKind.EXTENSION_REQUESTED)
    assert event.data == {"extension": requested.pk, "working_days": 10, "reason": "需现场核查，材料较多"}
    (notice,) = notified(role_users["department_admin"], "extension_requested")
    assert case.tracking_no in notice.title
    assert notice.link == "/extensions/"
    assert notified(handler, "extension_requested") == []  # handlers are not admins
    assert AuditRecord.objects.filter(action="extension.requested", object_id=str(requested.pk)).count() == 1


def test_one_pending_request_per_case(
    case: Application, role_users: dict[str, Any], requested: Extension
) -> None:
    before = database_state()
    with pytest.raises(RuleViolation) as pending:
        extension_request(
            acting_user=role_users["department_admin"], task=review_task(case), working_days=5, reason="再延"
        )
    assert (pending.value.code, pending.value.status) == ("extension_pending", 409)
    assert database_state() == before


@pytest.mark.parametrize(("days", "reason"), [(0, "理由"), (31, "理由"), (True, "理由"), (5, "  ")])
def test_a_request_is_1_to_30_working_days_with_a_reason(
    case: Application, role_users: dict[str, Any], days: int, reason: str
) -> None:
    before = database_state()
    with pytest.raises(FieldErrors) as invalid:
        extension_request(
            acting_user=role_users["department_handler"],
            task=review_task(case),
            working_days=days,
            reason=reason,
        )
    expected = "reason" if days == 5 else "working_days"
    assert [error.field for error in invalid.value.errors] == [expected]
    assert database_state() == before


def test_approval_moves_the_due_dates_and_tells_the_applicant(
    case: Application, role_users: dict[str, Any], requested: Extension
) -> None:
    admin: User = role_users["department_admin"]
    review = review_task(case)
    due, statutory, task_due = case.due_date, case.statutory_due_date, review.due_date
    assert due is not None
    assert statutory is not None
    assert task_due is not None

    decided = extension_decide(acting_user=admin, extension=requested, approve=True)

    assert (decided.status, decided.decided_by_id, decided.decision_reason) == ("approved", admin.pk, "")
    case.refresh_from_db()
    review.refresh_from_db()
    assert case.due_date == add_working_days(due, 10)
    assert case.statutory_due_date == add_working_days(statutory, 10)
    assert review.due_date == add_working_days(task_due, 10)
    (notice,) = notified(role_users["resident"], "extension_approved")
    assert case.due_date.isoformat() in notice.body
    assert "10" in notice.body_en
    timeline = ApplicationEvent.objects.get(application=case, kind="extension_approved")
    assert timeline.visible_to_applicant
    (told,) = notified(role_users["department_handler"], "extension_decided")
    assert "批准" in told.title
    assert told.link == f"/tasks/{review.pk}/"
    event = CaseEvent.objects.get(application=case, kind=CaseEventKind.EXTENSION_DECIDED)
    assert event.data["approved"] is True
    assert event.data["due_date"] == case.due_date.isoformat()
    assert AuditRecord.objects.filter(action="extension.approved", object_id=str(requested.pk)).count() == 1

    before = database_state()
    with pytest.raises(RuleViolation) as again:
        extension_decide(acting_user=admin, extension=requested, approve=False, reason="重复")
    assert (again.value.code, again.value.status) == ("extension_not_pending", 409)
    assert database_state() == before


def test_refusal_needs_a_reason_and_changes_no_date(
    case: Application, role_users: dict[str, Any], requested: Extension
) -> None:
    admin: User = role_users["department_admin"]
    before = database_state()
    with pytest.raises(FieldErrors) as bare:
        extension_decide(acting_user=admin, extension=requested, approve=False, reason=" ")
    assert [(error.field, error.code) for error in bare.value.errors] == [("reason", "required")]
    assert database_state() == before

    due = case.due_date
    decided = extension_decide(acting_user=admin, extension=requested, approve=False, reason="理由不充分")

    assert (decided.status, decided.decision_reason) == (ExtensionStatus.REFUSED, "理由不充分")
    case.refresh_from_db()
    assert case.due_date == due
    assert notified(role_users["resident"], "extension_approved") == []
    (told,) = notified(role_users["department_handler"], "extension_decided")
    assert "不予批准" in told.title
    assert told.body == "理由不充分"
    assert AuditRecord.objects.filter(action="extension.refused", object_id=str(requested.pk)).count() == 1
    # Refused: the handler may ask again.
    extension_request(
        acting_user=role_users["department_handler"],
        task=review_task(case),
        working_days=3,
        reason="补充理由",
    )


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_request_an_extension(case: Application, role_users: dict[str, Any], role: str) -> None:
    user: User = role_users[role]
    before = database_state()
    if role in TDEPT_WORKERS:
        extension = extension_request(acting_user=user, task=review_task(case), working_days=2, reason="理由")
        assert extension.requested_by_id == user.pk
        return
    with pytest.raises(PermissionDenied):
        extension_request(acting_user=user, task=review_task(case), working_days=2, reason="理由")
    assert database_state() == before
    assert denials(user) == 1


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_the_departments_admin_decides(
    role_users: dict[str, Any], requested: Extension, role: str
) -> None:
    user: User = role_users[role]
    before = database_state()
    if role == "department_admin":
        assert extension_decide(acting_user=user, extension=requested, approve=True).status == "approved"
        return
    with pytest.raises(PermissionDenied):
        extension_decide(acting_user=user, extension=requested, approve=True)
    assert database_state() == before
    assert denials(user) == 1


def test_an_admin_of_another_department_cannot_decide(requested: Extension) -> None:
    other = staff_user(Role.DEPARTMENT_ADMIN, department_code="PSB", username="a_psb")
    before = database_state()
    with pytest.raises(PermissionDenied):
        extension_decide(acting_user=other, extension=requested, approve=True)
    assert database_state() == before


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_sees_which_requests(
    role_users: dict[str, Any], handlers: dict[str, User], requested: Extension, role: str
) -> None:
    """Admins: their department's requests; handlers: their own; everyone else is refused (audited)."""
    user: User = role_users[role]
    if role in TDEPT_WORKERS:
        assert list(extensions_for_user(user)) == [requested]
        assert list(extensions_for_user(user, status="pending")) == [requested]
        assert list(extensions_for_user(user, status="approved")) == []
        assert extension_for_user(user, requested.pk) == requested
        return
    with pytest.raises(PermissionDenied):
        extensions_for_user(user)
    with pytest.raises(PermissionDenied):
        extension_for_user(user, requested.pk)
    assert denials(user) == 2


def test_other_handlers_do_not_see_a_request(handlers: dict[str, User], requested: Extension) -> None:
    colleague = staff_user(Role.DEPARTMENT_HANDLER, department_code="TDEPT", username="h_colleague")
    for user in (handlers["PSB"], colleague):
        assert list(extensions_for_user(user)) == []
        with pytest.raises(RuleViolation) as missing:
            extension_for_user(user, requested.pk)
        assert (missing.value.code, missing.value.status) == ("extension_not_found", 404)
    with pytest.raises(FieldErrors):
        extensions_for_user(handlers["PSB"], status="lost")
