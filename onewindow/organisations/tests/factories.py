"""Factories for organisations. Departments get valid government-agency credit codes (GB 32100-2015)."""

# factory_boy's declarations are untyped.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from factory.declarations import LazyAttribute, Sequence, SubFactory
from factory.django import DjangoModelFactory

from onewindow.core.validators import make_credit_code
from onewindow.organisations.models import Department, Division, DivisionLevel, ServicePoint, ServicePointKind


class DivisionFactory(DjangoModelFactory[Division]):
    """Fuzhou (350100) by default; the data migration has usually loaded it already, so it is fetched."""

    class Meta:
        model = Division
        django_get_or_create = ("code",)

    code = "350100"
    name = "福州市"
    level = DivisionLevel.CITY


def agency_credit_code(number: int, *, division: str = "350100") -> str:
    """A valid credit code of a government agency (prefix 11) in ``division``, distinct for each number."""
    return make_credit_code(
        authority="1", entity_type="1", division=division, organisation_base=f"MB{number:06d}"
    )


# Valid unified social credit codes of government agencies (prefix 11), for tests that need fixed ones.
AGENCY_CREDIT_CODES = [agency_credit_code(900_000 + n) for n in range(3)]


class DepartmentFactory(DjangoModelFactory[Department]):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = Sequence(lambda n: f"D{n}")
    name = LazyAttribute(lambda o: f"部门 {o.code}")
    name_en = LazyAttribute(lambda o: f"Department {o.code}")
    credit_code = Sequence(agency_credit_code)
    division = SubFactory(DivisionFactory)


class ServicePointFactory(DjangoModelFactory[ServicePoint]):
    class Meta:
        model = ServicePoint
        django_get_or_create = ("code",)

    code = Sequence(lambda n: f"SP{n}")
    name = LazyAttribute(lambda o: f"服务点 {o.code}")
    kind = ServicePointKind.HALL
    division = SubFactory(DivisionFactory)
