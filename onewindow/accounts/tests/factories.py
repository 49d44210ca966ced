"""Factories for accounts. Named users per role live in the root conftest."""

from __future__ import annotations

from typing import Any

import factory

from onewindow.accounts.models import Membership, User
from onewindow.accounts.roles import Kind, Role
from onewindow.organisations.tests.factories import DepartmentFactory

TEST_PASSWORD = "Correct-Horse-42"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda o: o.username)
    kind = Kind.RESIDENT
    password = factory.django.Password(TEST_PASSWORD)


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory, kind=Kind.STAFF)
    role = Role.DEPARTMENT_HANDLER
    department = factory.SubFactory(DepartmentFactory)


def staff_user(role: Role, *, department_code: str | None = None, **kwargs: Any) -> User:
    """A staff account holding ``role`` (in the department with that code, created if missing)."""
    user = UserFactory(kind=Kind.STAFF, **kwargs)
    department = DepartmentFactory(code=department_code) if department_code else None
    Membership.objects.create(user=user, role=role, department=department)
    return user
