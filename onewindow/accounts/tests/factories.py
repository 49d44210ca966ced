"""Factories for accounts. Named users per role live in the root conftest.

Use ``UserFactory.create(...)`` in typed code: factory_boy types ``create`` (it returns a ``User``) but not
its declarations, hence the ignores below.
"""

from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory, Password

from onewindow.accounts.models import Membership, User
from onewindow.accounts.roles import Kind, Role
from onewindow.organisations.tests.factories import DepartmentFactory

TEST_PASSWORD = "Correct-Horse-42"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")  # type: ignore[attr-defined, no-untyped-call]
    display_name = factory.LazyAttribute(lambda o: o.username)  # type: ignore[attr-defined, no-untyped-call]
    kind = Kind.RESIDENT
    password = Password(TEST_PASSWORD)  # type: ignore[no-untyped-call]


class MembershipFactory(DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory, kind=Kind.STAFF)  # type: ignore[attr-defined, no-untyped-call]
    role = Role.DEPARTMENT_HANDLER
    department = factory.SubFactory(DepartmentFactory)  # type: ignore[attr-defined, no-untyped-call]


def staff_user(role: Role, *, department_code: str | None = None, **kwargs: Any) -> User:
    """A staff account holding ``role`` (in the department with that code, created if missing)."""
    user = UserFactory.create(kind=Kind.STAFF, **kwargs)
    department = DepartmentFactory.create(code=department_code) if department_code else None
    Membership.objects.create(user=user, role=role, department=department)
    return user
