"""Fixtures of the seals tests: the test department ``TDEPT`` with an active seal and one appointed holder."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from onewindow.accounts.models import Membership, User
from onewindow.accounts.roles import Kind, Role
from onewindow.accounts.tests.factories import UserFactory
from onewindow.organisations.models import Department
from onewindow.seals.actions import seal_holder_appoint, seal_rotate
from onewindow.seals.models import Seal

HOLDER = "t_seal_holder"


@pytest.fixture
def department(role_users: dict[str, Any]) -> Department:
    return Department.objects.get(code="TDEPT")


@pytest.fixture
def seal(department: Department) -> Seal:
    """TDEPT's first seal, issued by the system (the root is created on this first need)."""
    return seal_rotate(acting_user=None, department=department)


def staff_of(department: Department, username: str, role: Role = Role.DEPARTMENT_HANDLER) -> User:
    """A staff member of ``department`` with a confirmed TOTP device (so pages do not ask to enrol one)."""
    user = UserFactory.create(username=username, kind=Kind.STAFF)
    Membership.objects.create(user=user, role=role, department=department)
    TOTPDevice.objects.create(user=user, name="default", confirmed=True, key=secrets.token_hex(20))
    return user


@pytest.fixture
def holder(role_users: dict[str, Any], department: Department, seal: Seal) -> User:
    """A handler of TDEPT appointed seal holder by TDEPT's administrator (no other role holds the seal)."""
    user = staff_of(department, HOLDER)
    admin = role_users["department_admin"]
    assert isinstance(admin, User)
    seal_holder_appoint(acting_user=admin, department=department, user=user)
    return User.objects.get(pk=user.pk)  # fresh: no cached roles
