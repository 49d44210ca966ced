"""Who may open and use the back-office pages: every role of ``conftest.ALL_ROLES`` and anonymous.

Anonymous → the sign-in page; a role without the page's permission → 403 (audited); a task of another
department → 404 (its existence is not revealed). Refused POSTs change nothing. Security (MLPS 2.0 level 3,
GB/T 22239-2019 §8.1.4.2, least privilege); PIPL Art. 10 (no one reads personal information without need).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.applications.models import Application, Status
from onewindow.applications.tracking import china_date
from onewindow.audit.models import AuditRecord
from onewindow.notifications.models import Notification
from onewindow.workflow.assignment import delegation_create
from onewindow.workflow.deadlines import extension_request
from onewindow.workflow.models import (
    CaseEvent,
    ClockStop,
    Delegation,
    Extension,
    HumanTask,
    ProcessDefinition,
    TaskView,
)

pytestmark = pytest.mark.django_db

DEPARTMENT = {"department_handler", "department_admin"}
SUPERVISING = {"leader", "supervisor", "department_admin"}


def staff_client(user: User, client_for: Callable[[object], Client]) -> Client:
    """A signed-in client for a staff account made without a TOTP device (the extra handlers)."""
    TOTPDevice.objects.get_or_create(user=user, name="default", defaults={"confirmed": True})
    return client_for(user)


def _expected(allowed: set[str]) -> dict[str, int]:
    return {role: 200 if role in allowed else 403 for role in ALL_ROLES}


@pytest.fixture
def case(accepted_application: Callable[[], Application], qykb_definition: ProcessDefinition) -> Application:
    """An accepted application whose process started on acceptance: the review waits in TDEPT's pool."""
    application = accepted_application()
    assert application.status == Status.IN_PROGRESS
    return application


@pytest.fixture
def review(case: Application) -> HumanTask:
    return HumanTask.objects.get(application=case, task_spec="review")


def _pages(review: HumanTask) -> dict[str, dict[str, int]]:
    return {
        "/tasks/": _expected(DEPARTMENT),
        "/tasks/?scope=mine": _expected(DEPARTMENT),
        f"/tasks/{review.pk}/": _expected(DEPARTMENT),
        "/supervision/": _expected(SUPERVISING),
        "/supervision/tasks/?department=TDEPT&light=green": _expected(SUPERVISING),
        "/extensions/": _expected({"department_admin"}),
        "/delegations/": _expected({"department_admin"}),
    }


def test_page_access_for_every_role(
    review: HumanTask, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    # Given every role, when each opens each back-office page
    for path, expected in _pages(review).items():
        statuses = {role: client_for(role_users[role]).get(path).status_code for role in ALL_ROLES}
        # Then only the roles holding the page's permission get it; the others are refused
        assert statuses == expected, path


def test_anonymous_is_sent_to_sign_in(review: HumanTask) -> None:
    for path in _pages(review):
        response = Client().get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/"), path


def test_refusals_are_audited(
    review: HumanTask, role_users: dict[str, Any], client_for: Callable[..., Client]
) -> None:
    before = AuditRecord.objects.filter(action="permission.denied").count()
    client_for(role_users["leader"]).get("/tasks/")
    client_for(role_users["resident"]).get("/supervision/")
    assert AuditRecord.objects.filter(action="permission.denied").count() == before + 2


def test_a_task_of_another_department_is_404(
    review: HumanTask, handlers: dict[str, User], client_for: Callable[..., Client]
) -> None:
    # Given a handler of PSB, who handles tasks but not TDEPT's
    client = staff_client(handlers["PSB"], client_for)
    # When they open or act on TDEPT's review, then it does not exist for them
    assert client.get(f"/tasks/{review.pk}/").status_code == 404
    for action in ("claim", "release", "complete", "suspend", "resume", "extension"):
        assert client.post(f"/tasks/{review.pk}/{action}/", {"outcome": "approve"}).status_code == 404
    assert client.get("/tasks/999999/").status_code == 404
    review.refresh_from_db()
    assert (review.status, review.assignee_id) == ("open", None)


def test_department_admins_supervise_only_their_departments(
    review: HumanTask,
    handlers: dict[str, User],
    role_users: dict[str, Any],
    client_for: Callable[..., Client],
) -> None:
    admin = client_for(role_users["department_admin"])
    assert admin.get("/supervision/tasks/?department=PSB").status_code == 403
    assert client_for(role_users["leader"]).get("/supervision/tasks/?department=PSB").status_code == 200


def _state() -> dict[str, Any]:
    """Everything a back-office POST could change (audit records of refusals aside)."""
    return {
        "tasks": sorted(
            HumanTask.objects.values_list("pk", "status", "assignee_id", "changed_at", "due_date")
        ),
        "views": TaskView.objects.count(),
        "events": CaseEvent.objects.count(),
        "stops": sorted(ClockStop.objects.values_list("pk", "ended_at")),
        "extensions": sorted(Extension.objects.values_list("pk", "status")),
        "delegations": sorted(Delegation.objects.values_list("pk", "revoked_at")),
        "applications": sorted(Application.objects.values_list("pk", "status", "due_date", "row_version")),
        "notifications": Notification.objects.count(),
    }


def test_refused_posts_change_nothing(
    review: HumanTask,
    handlers: dict[str, User],
    role_users: dict[str, Any],
    client_for: Callable[..., Client],
) -> None:
    # Given a claimed review with a pending extension request, and a delegation in TDEPT
    admin = role_users["department_admin"]
    handler = role_users["department_handler"]
    client_for(handler).post(f"/tasks/{review.pk}/claim/")
    extension = extension_request(acting_user=handler, task=review, working_days=3, reason="需要现场核查")
    today = china_date(timezone.now())
    delegation = delegation_create(
        acting_user=admin,
        department_code="TDEPT",
        delegator=handler,
        delegate=admin,
        starts_on=today,
        ends_on=today + timedelta(days=5),
    )
    posts = {
        f"/tasks/{review.pk}/claim/": {},
        f"/tasks/{review.pk}/release/": {},
        f"/tasks/{review.pk}/complete/": {"outcome": "approve", "opinion": "同意"},
        f"/tasks/{review.pk}/suspend/": {"kind": "hearing", "reason": "听证"},
        f"/tasks/{review.pk}/resume/": {},
        f"/tasks/{review.pk}/extension/": {"working_days": "5", "reason": "延期"},
        f"/tasks/{review.pk}/reassign/": {"assignee": str(handler.pk), "reason": "改派"},
        f"/extensions/{extension.pk}/decide/": {"decision": "approve"},
        "/delegations/": {
            "department_code": "TDEPT",
            "delegator": str(handler.pk),
            "delegate": str(admin.pk),
            "starts_on": str(today),
            "ends_on": str(today),
        },
        f"/delegations/{delegation.pk}/revoke/": {},
    }
    before = _state()
    for role in ALL_ROLES:
        if role in DEPARTMENT:
            continue
        client = client_for(role_users[role])
        for path, data in posts.items():
            # When anyone outside the department posts any back-office action
            response = client.post(path, data)
            # Then it is refused
            assert response.status_code == 403, (role, path, response.status_code)
    # And a handler of another department gets 404 for the department's objects
    other = staff_client(handlers["PSB"], client_for)
    for path, data in posts.items():
        status = other.post(path, data).status_code
        assert status in (403, 404), (path, status)
    # And the department's plain handler may not decide extensions, delegate or reassign
    plain = client_for(role_users["department_handler"])
    for path in (
        f"/extensions/{extension.pk}/decide/",
        "/delegations/",
        f"/delegations/{delegation.pk}/revoke/",
    ):
        assert plain.post(path, posts[path]).status_code == 403, path
    assert (
        plain.post(f"/tasks/{review.pk}/reassign/", posts[f"/tasks/{review.pk}/reassign/"]).status_code == 403
    )
    # And nothing changed
    assert _state() == before
    assert Client().post(f"/tasks/{review.pk}/claim/").status_code == 302
    assert _state() == before


@pytest.mark.parametrize("method", ["put", "delete"])
def test_other_methods_are_not_allowed(
    method: str, review: HumanTask, role_users: dict[str, Any], client_for: Callable[..., Client]
) -> None:
    client = client_for(role_users["department_handler"])
    assert getattr(client, method)("/tasks/").status_code == 405
    assert getattr(client, method)(f"/tasks/{review.pk}/claim/").status_code == 405
