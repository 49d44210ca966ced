"""Fixtures for the organisations tests: divisions loaded, a township and a village, departments, points."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from onewindow.accounts.models import Membership, User
from onewindow.accounts.roles import Kind, Role
from onewindow.accounts.tests.factories import UserFactory
from onewindow.organisations.models import Department, Division, DivisionLevel, ServicePoint, ServicePointKind
from onewindow.organisations.packaged_divisions import bulk_load_divisions
from onewindow.organisations.tests.factories import DepartmentFactory, ServicePointFactory


@pytest.fixture
def divisions(db: None) -> None:
    """The GB/T 2260 divisions (normally there from the data migration; reloaded if a flush removed them)."""
    bulk_load_divisions(Division)


@pytest.fixture
def township(divisions: None) -> Division:
    return Division.objects.create(
        code="350102001000",
        name="鼓东街道",
        level=DivisionLevel.TOWNSHIP,
        parent=Division.objects.get(code="350102"),
    )


@pytest.fixture
def village(township: Division) -> Division:
    return Division.objects.create(
        code="350102001001", name="南门社区", level=DivisionLevel.VILLAGE, parent=township
    )


@pytest.fixture
def hall(divisions: None) -> ServicePoint:
    return ServicePointFactory.create(code="HALL-1", name="市民服务中心", kind=ServicePointKind.HALL)


@pytest.fixture
def village_point(village: Division) -> ServicePoint:
    return ServicePointFactory.create(
        code="VP-1", name="南门社区服务站", kind=ServicePointKind.COMMUNITY, division=village
    )


@pytest.fixture
def other_department(divisions: None) -> Department:
    return DepartmentFactory.create(code="OTHER", name="其他部门")


@pytest.fixture
def new_staff(db: None) -> Callable[..., User]:
    def make(username: str = "newstaff", **kwargs: Any) -> User:
        return UserFactory.create(username=username, kind=Kind.STAFF, **kwargs)

    return make


@pytest.fixture
def handler_membership(role_users: dict[str, Any], new_staff: Callable[..., User]) -> Membership:
    """A department handler in TDEPT (the department the role users' department roles belong to)."""
    return Membership.objects.create(
        user=new_staff("handler2"),
        role=Role.DEPARTMENT_HANDLER,
        department=Department.objects.get(code="TDEPT"),
    )
