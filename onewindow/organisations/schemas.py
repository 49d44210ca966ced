"""API request and response bodies for divisions, departments, service points and memberships."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from onewindow.accounts.models import Membership
from onewindow.organisations.models import Department, Division, ServicePoint


class DivisionOut(Schema):
    code: str = Field(description="6-digit GB/T 2260 code, or 12-digit township/village statistical code")
    name: str
    level: str = Field(description="province, city, county, township or village")
    parent_code: str | None = None
    children_count: int = Field(default=0, description="How many divisions sit directly under this one")

    @staticmethod
    def resolve_parent_code(obj: Division) -> str | None:
        return obj.parent.code if obj.parent else None


class DepartmentIn(Schema):
    code: str = Field(max_length=20, description="Short permanent code, for example PSB", examples=["PSB"])
    name: str = Field(max_length=200)
    name_en: str = Field(default="", max_length=200)
    credit_code: str = Field(
        max_length=30, description="Unified social credit code of a government agency (starts with 11)"
    )
    division_code: str = Field(max_length=12)
    parent_code: str | None = Field(default=None, max_length=20)


class DepartmentOut(Schema):
    code: str
    name: str
    name_en: str
    credit_code: str
    division_code: str
    division_name: str
    parent_code: str | None = None
    is_active: bool

    @staticmethod
    def resolve_division_code(obj: Department) -> str:
        return obj.division.code

    @staticmethod
    def resolve_division_name(obj: Department) -> str:
        return obj.division.name

    @staticmethod
    def resolve_parent_code(obj: Department) -> str | None:
        return obj.parent.code if obj.parent else None


class ServicePointOut(Schema):
    code: str
    name: str
    kind: str = Field(description="hall, village or community")
    division_code: str
    division_name: str
    address: str
    opening_hours: str
    phone: str

    @staticmethod
    def resolve_division_code(obj: ServicePoint) -> str:
        return obj.division.code

    @staticmethod
    def resolve_division_name(obj: ServicePoint) -> str:
        return obj.division.name


class MembershipIn(Schema):
    username: str = Field(max_length=150)
    role: str = Field(max_length=30, examples=["department_handler"])
    department_code: str | None = Field(default=None, max_length=20)
    service_point_code: str | None = Field(default=None, max_length=30)
    valid_from: datetime | None = None
    valid_until: datetime | None = Field(default=None, description="Required for vendor staff")
    system_codes: list[str] = Field(
        default_factory=list, max_length=50, description="Information systems a vendor operates"
    )


class MembershipOut(Schema):
    id: int
    username: str
    role: str
    department_code: str | None = None
    service_point_code: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    system_codes: list[str]

    @staticmethod
    def resolve_username(obj: Membership) -> str:
        return obj.user.get_username()

    @staticmethod
    def resolve_department_code(obj: Membership) -> str | None:
        return obj.department.code if obj.department else None

    @staticmethod
    def resolve_service_point_code(obj: Membership) -> str | None:
        return obj.service_point.code if obj.service_point else None
