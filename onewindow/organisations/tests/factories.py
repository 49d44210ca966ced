"""Factories for organisations."""

from __future__ import annotations

import factory

from onewindow.organisations.models import Department, Division, DivisionLevel, ServicePoint, ServicePointKind


class DivisionFactory(factory.django.DjangoModelFactory[Division]):
    class Meta:
        model = Division
        django_get_or_create = ("code",)

    code = "350100"
    name = "福州市"
    level = DivisionLevel.CITY


# Valid unified social credit codes of government agencies (prefix 11), used in turn by the factory.
AGENCY_CREDIT_CODES = [
    "11350100003639483N",
    "113501000036394839",
    "11350100MB0000000A",
]


class DepartmentFactory(factory.django.DjangoModelFactory[Department]):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"D{n}")
    name = factory.LazyAttribute(lambda o: f"部门 {o.code}")
    name_en = factory.LazyAttribute(lambda o: f"Department {o.code}")
    credit_code = factory.Sequence(lambda n: f"11350100MB{n:07d}X")
    division = factory.SubFactory(DivisionFactory)


class ServicePointFactory(factory.django.DjangoModelFactory[ServicePoint]):
    class Meta:
        model = ServicePoint
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"SP{n}")
    name = factory.LazyAttribute(lambda o: f"服务点 {o.code}")
    kind = ServicePointKind.HALL
    division = factory.SubFactory(DivisionFactory)
