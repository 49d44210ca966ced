"""Separation of duties: MLPS 2.0 level 3, GB/T 22239-2019 §8.1.4.2 (access control) — least privilege and
separate system administrator, security officer and auditor (三员分立); the system administrator has no path
to the audit records, the auditor can read them and nothing else."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from onewindow.accounts.actions import membership_grant
from onewindow.accounts.models import Membership, User
from onewindow.accounts.permissions import user_has_permission
from onewindow.accounts.roles import ROLE_PERMISSIONS, SEPARATED_ROLES, STAFF_ROLES, Permission, Role
from onewindow.accounts.tests.factories import UserFactory
from onewindow.audit.models import AuditRecord
from onewindow.organisations.tests.factories import DepartmentFactory


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


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("held", "granted"),
    [
        (Role.SYSTEM_ADMIN, Role.AUDITOR),
        (Role.AUDITOR, Role.SYSTEM_ADMIN),
        (Role.SECURITY_OFFICER, Role.AUDITOR),
        (Role.SYSTEM_ADMIN, Role.SECURITY_OFFICER),
    ],
)
def test_separated_roles_cannot_be_combined(held: Role, granted: Role) -> None:
    # Given a staff account holding one of the three separated roles
    user = UserFactory.create(kind="staff")
    membership_grant(user=user, role=held, acting_user=None)
    records = AuditRecord.objects.count()
    # When another of them is granted, Then it is refused and nothing changes
    with pytest.raises(ValidationError, match="cannot be combined"):
        membership_grant(user=user, role=granted, acting_user=None)
    assert list(Membership.objects.filter(user=user).values_list("role", flat=True)) == [held]
    assert AuditRecord.objects.count() == records


@pytest.mark.django_db
def test_only_system_admin_grants_roles(role_users: dict[str, object]) -> None:
    target = UserFactory.create(kind="staff")
    records_before = AuditRecord.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    for role_name, actor in role_users.items():
        if role_name == "system_admin":
            continue
        with pytest.raises(PermissionDenied, match="manage_system"):
            membership_grant(user=target, role=Role.LEADER, acting_user=actor)  # type: ignore[arg-type]
    # Then nothing changed but one audited refusal each
    assert not Membership.objects.filter(user=target).exists()
    new_records = AuditRecord.objects.filter(seq__gt=records_before)
    assert set(new_records.values_list("action", flat=True)) == {"permission.denied"}
    assert new_records.count() == len(role_users) - 1
    # And the system administrator may
    membership = membership_grant(user=target, role=Role.LEADER, acting_user=role_users["system_admin"])  # type: ignore[arg-type]
    assert membership.role == Role.LEADER
    assert AuditRecord.objects.filter(action="membership.granted", object_id=str(target.pk)).count() == 1


@pytest.mark.django_db
def test_membership_rules_for_department_and_vendor_roles() -> None:
    user = UserFactory.create(kind="staff")
    department = DepartmentFactory.create(code="RULES")
    with pytest.raises(ValidationError, match="needs a department"):
        membership_grant(user=user, role=Role.DEPARTMENT_HANDLER, acting_user=None)
    with pytest.raises(ValidationError, match="needs a department"):
        membership_grant(user=user, role=Role.LEADER, department=department, acting_user=None)
    with pytest.raises(ValidationError, match="end date and the information systems"):
        membership_grant(user=user, role=Role.VENDOR_STAFF, acting_user=None)
    resident = UserFactory.create(kind="resident")
    with pytest.raises(ValidationError, match="Only staff accounts"):
        membership_grant(user=resident, role=Role.LEADER, acting_user=None)
    assert Membership.objects.filter(user__in=[user, resident]).count() == 0
    assert User.objects.filter(pk=user.pk).exists()
