"""Who may open each audience home page (MLPS 2.0 / GB/T 22239-2019 §8.1.4.2 access control).

Every page is tried by every role in conftest.ALL_ROLES and by an anonymous visitor: allowed users get the
page, signed-in users without the permission get 403 and an audited refusal (§8.1.4.3 a) and nothing else
changes, anonymous visitors are sent to sign in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import ALL_ROLES
from onewindow.accounts.models import Membership, User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.audit.models import AuditRecord

pytestmark = pytest.mark.django_db

ClientFor = Callable[[object], Client]
ANONYMOUS = "anonymous"
STAFF_WITH_WORKBENCH = {
    "window_clerk",
    "village_agent",
    "department_handler",
    "department_admin",
    "leader",
    "security_officer",
    "system_admin",
    "vendor_staff",
}
EVERYONE = {*ALL_ROLES, ANONYMOUS}

# Page → the identities that may open it (the permission each page requires is in views.py).
PAGE_ACCESS: dict[str, set[str]] = {
    "/": EVERYONE,
    "/accessibility/": EVERYONE,
    "/resident/": {"resident"},
    "/enterprise/": {"enterprise_representative"},
    "/workbench/": STAFF_WITH_WORKBENCH,
    "/leader/": {"leader"},
    "/auditor/": {"auditor"},
    "/supervisor/": {"supervisor"},
}
CASES = [(path, role) for path in PAGE_ACCESS for role in [*ALL_ROLES, ANONYMOUS]]


def _state() -> tuple[int, int, list[tuple[int, str]]]:
    return (
        User.objects.count(),
        Membership.objects.count(),
        list(AuditRecord.objects.values_list("seq", "action")),
    )


@pytest.mark.parametrize(("path", "role"), CASES, ids=[f"{path}-{role}" for path, role in CASES])
def test_page_access_for_every_role(
    path: str, role: str, role_users: dict[str, Any], client_for: ClientFor
) -> None:
    # Given a visitor in the role (or anonymous)
    client = Client() if role == ANONYMOUS else client_for(role_users[role])
    users_before, memberships_before, audit_before = _state()

    # When they open the page
    response = client.get(path)

    # Then: allowed → the page; anonymous → sign in; anyone else → 403, one audited refusal, nothing else
    users_after, memberships_after, audit_after = _state()
    assert (users_after, memberships_after) == (users_before, memberships_before)
    if role in PAGE_ACCESS[path]:
        assert response.status_code == 200
        assert audit_after == audit_before
    elif role == ANONYMOUS:
        assert response.status_code == 302
        assert response["Location"] == f"{resolve_url(settings.LOGIN_URL)}?next={quote(path)}"
        assert audit_after == audit_before
    else:
        assert response.status_code == 403
        assert audit_after[: len(audit_before)] == audit_before
        new_records = AuditRecord.objects.filter(seq__gt=audit_before[-1][0] if audit_before else 0)
        assert [(r.action, r.outcome, r.actor_username) for r in new_records] == [
            ("permission.denied", "denied", role_users[role].username)
        ]


START_TARGETS = {
    "resident": "/resident/",
    "enterprise_representative": "/enterprise/",
    "window_clerk": "/workbench/",
    "village_agent": "/workbench/",
    "department_handler": "/workbench/",
    "department_admin": "/workbench/",
    "leader": "/leader/",
    "security_officer": "/workbench/",
    "auditor": "/auditor/",
    "system_admin": "/workbench/",
    "vendor_staff": "/workbench/",
    "supervisor": "/supervisor/",
}


def test_start_targets_cover_every_role() -> None:
    assert sorted(START_TARGETS) == sorted(ALL_ROLES)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_start_sends_each_role_to_a_home_page_it_may_open(
    role: str, role_users: dict[str, Any], client_for: ClientFor
) -> None:
    # Given a signed-in user
    client = client_for(role_users[role])

    # When sign-in lands them on /start/
    response = client.get("/start/")

    # Then they are sent to their audience's home page, which they may open
    assert response.status_code == 302
    assert response["Location"] == START_TARGETS[role]
    assert client.get(response["Location"]).status_code == 200


def test_start_sends_anonymous_visitors_to_sign_in() -> None:
    response = Client().get("/start/")

    assert response.status_code == 302
    assert response["Location"] == f"{resolve_url(settings.LOGIN_URL)}?next=/start/"


def test_staff_member_without_roles_starts_on_the_landing_page(client_for: ClientFor) -> None:
    # Given a staff account, past two-factor sign-in, whose only membership has ended
    user = staff_user(Role.WINDOW_CLERK)
    Membership.objects.filter(user=user).update(valid_until=timezone.now() - timedelta(days=1))
    TOTPDevice.objects.create(user=user, name="default", confirmed=True)

    # When they sign in
    response = client_for(user).get("/start/")

    # Then they land on the public landing page rather than a page that would refuse them
    assert response.status_code == 302
    assert response["Location"] == "/"
