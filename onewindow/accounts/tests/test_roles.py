"""Separation of duties: MLPS 2.0 level 3, GB/T 22239-2019 §8.1.4.2 (access control) — least privilege and
separate system administrator, security officer and auditor (三员分立); the system administrator has no path
to the audit records, the auditor can read them and nothing else."""

from __future__ import annotations

import pytest

from onewindow.accounts.permissions import user_has_permission
from onewindow.accounts.roles import ROLE_PERMISSIONS, SEPARATED_ROLES, STAFF_ROLES, Permission, Role


def test_auditor_may_only_read_audit_records() -> None:
    assert ROLE_PERMISSIONS[Role.AUDITOR] == frozenset({Permission.VIEW_AUDIT})


def test_system_admin_has_no_path_to_audit_records() -> None:
    assert Permission.VIEW_AUDIT not in ROLE_PERMISSIONS[Role.SYSTEM_ADMIN]
    assert ROLE_PERMISSIONS[Role.SYSTEM_ADMIN] == frozenset(
        {Permission.MANAGE_SYSTEM, Permission.VIEW_WORKBENCH}
    )


def test_only_the_auditor_reads_audit_records() -> None:
    assert [role for role, granted in ROLE_PERMISSIONS.items() if Permission.VIEW_AUDIT in granted] == [
        Role.AUDITOR
    ]


def test_supervisor_is_read_only() -> None:
    assert ROLE_PERMISSIONS[Role.SUPERVISOR] == frozenset({Permission.SUPERVISE})


def test_security_officer_cannot_administer_the_system_or_read_audit() -> None:
    granted = ROLE_PERMISSIONS[Role.SECURITY_OFFICER]
    assert Permission.MANAGE_SYSTEM not in granted
    assert Permission.VIEW_AUDIT not in granted


def test_every_role_has_a_permission_set() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_OFFICER, Role.AUDITOR}) == SEPARATED_ROLES
    assert SEPARATED_ROLES <= STAFF_ROLES


@pytest.mark.django_db
def test_role_users_hold_exactly_their_permissions(role_users: dict[str, object]) -> None:
    for role_name, user in role_users.items():
        for permission in Permission:
            expected = permission in ROLE_PERMISSIONS[Role(role_name)]
            assert user_has_permission(user, permission) is expected, (role_name, permission)  # type: ignore[arg-type]


# Granting roles (separation of duties, department and vendor rules) is the organisations app's
# membership_grant action; its rules are tested in onewindow/organisations/tests/test_memberships.py.
