"""Who may open which application page: every role of ``conftest.ALL_ROLES`` and anonymous.

Anonymous → the sign-in page; a role without the page's permission → 403 (audited); an application the user
may not read → 404 (its existence is not revealed). Refused POSTs change nothing. Security (MLPS 2.0 level 3,
GB/T 22239-2019 §8.1.4.2, least privilege); PIPL Art. 10 (no one reads personal information without need).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from conftest import ALL_ROLES
from onewindow.applications.models import Application, Review, Status, SupplementRequest
from onewindow.audit.models import AuditRecord

pytestmark = pytest.mark.django_db

APPLICANTS = {"resident", "enterprise_representative"}
DEPARTMENT = {"department_handler", "department_admin"}


def _expected(allowed: set[str]) -> dict[str, int]:
    return {role: 200 if role in allowed else 403 for role in ALL_ROLES}


PAGES: dict[str, dict[str, int]] = {
    "/applications/": _expected(APPLICANTS),
    "/applications/new/TSVC/": _expected(APPLICANTS),
    "/window/": _expected({"window_clerk"}),
    "/window/apply/": _expected({"window_clerk"}),
    "/agent/": _expected({"village_agent"}),
    "/agent/apply/": _expected({"village_agent"}),
    "/reviews/follow-ups/": _expected(DEPARTMENT),
    "/reviews/stats/": _expected({"leader", "supervisor"}),
    "/notifications/": dict.fromkeys(ALL_ROLES, 200),
}


def _status(client: Client, path: str) -> int:
    return client.get(path).status_code


@pytest.mark.parametrize("path", list(PAGES))
def test_page_access_for_every_role(
    path: str, service: Any, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    # Given every role, when each opens the page, then only the roles holding its permission get it
    statuses = {role: _status(client_for(role_users[role]), path) for role in ALL_ROLES}
    assert statuses == PAGES[path]


@pytest.mark.parametrize("path", [*PAGES, "/applications/X/", "/window/X/", "/applications/X/receipt/"])
def test_anonymous_is_sent_to_sign_in(path: str, service: Any) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# A resident's submitted application: readable by the resident, the window (while it waits there) and the
# handlers and admins of the department involved; a 404 for everyone else.
READERS = {"resident", "window_clerk", *DEPARTMENT}


@pytest.mark.parametrize("suffix", ["", "receipt/"])
def test_application_pages_are_404_for_those_who_may_not_read_it(
    suffix: str,
    submit: Callable[..., Application],
    role_users: dict[str, Any],
    client_for: Callable[..., Client],
) -> None:
    application = submit()
    path = f"/applications/{application.tracking_no}/{suffix}"
    statuses = {role: _status(client_for(role_users[role]), path) for role in ALL_ROLES}
    assert statuses == {role: 200 if role in READERS else 404 for role in ALL_ROLES}


def test_window_application_page_access(
    submit: Callable[..., Application], role_users: dict[str, Any], client_for: Callable[..., Client]
) -> None:
    application = submit()
    path = f"/window/{application.tracking_no}/"
    statuses = {role: _status(client_for(role_users[role]), path) for role in ALL_ROLES}
    assert statuses == _expected({"window_clerk"})


def test_unknown_application_is_404(role_users: dict[str, Any], client_for: Callable[..., Client]) -> None:
    assert client_for(role_users["resident"]).get("/applications/NOPE/").status_code == 404


@pytest.mark.parametrize("action", ["accept", "refuse", "supplement"])
def test_refused_window_actions_change_nothing(
    action: str,
    submit: Callable[..., Application],
    role_users: dict[str, Any],
    client_for: Callable[..., Client],
) -> None:
    # Given a submitted application
    application = submit()
    path = f"/window/{application.tracking_no}/{action}/"
    for role in ALL_ROLES:
        if role == "window_clerk":
            continue
        # When anyone but a window clerk posts the window's action
        response = client_for(role_users[role]).post(path, {"reason": "不符合条件", "extra_items": "x"})
        # Then it is refused and nothing changes
        assert response.status_code == 403, role
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert application.row_version == 1
    assert SupplementRequest.objects.count() == 0
    assert Client().post(path, {"reason": "x"}).status_code == 302


def test_refusals_are_audited(role_users: dict[str, Any], client_for: Callable[..., Client]) -> None:
    before = AuditRecord.objects.filter(action="permission.denied").count()
    client_for(role_users["leader"]).get("/window/")
    assert AuditRecord.objects.filter(action="permission.denied").count() == before + 1


def test_others_cannot_withdraw_supplement_or_review(
    submit: Callable[..., Application], role_users: dict[str, Any], client_for: Callable[..., Client]
) -> None:
    # Given the resident's application
    application = submit()
    no = application.tracking_no
    for role in ALL_ROLES:
        if role == "resident":
            continue
        client = client_for(role_users[role])
        # When someone else posts a withdrawal, a supplement or a review
        for path in (
            f"/applications/{no}/withdraw/",
            f"/applications/{no}/supplement/",
            f"/applications/{no}/review/",
        ):
            response = client.post(path, {"reason": "x", "score": "1"})
            # Then it is refused (404 when they may not read it, 403 when they may read but not act)
            assert response.status_code in (403, 404, 422), (role, path, response.status_code)
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert application.row_version == 1
    assert Review.objects.count() == 0
