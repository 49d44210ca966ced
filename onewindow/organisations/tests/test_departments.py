"""Departments: registration with a government agency's unified social credit code (GB 32100-2015:
the code of a 机关 registered by the establishment administration starts with 11), changes, and readers."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.organisations import selectors
from onewindow.organisations.actions import department_create, department_update
from onewindow.organisations.errors import RuleViolation
from onewindow.organisations.models import Department
from onewindow.organisations.tests.factories import AGENCY_CREDIT_CODES, DepartmentFactory, agency_credit_code
from onewindow.organisations.tests.helpers import denial_count, last_audit, violation

pytestmark = pytest.mark.django_db

PSB_CODE = agency_credit_code(500_001)  # far from the factory's sequence


def create(acting_user: Any, **overrides: Any) -> Department:
    values: dict[str, Any] = {
        "code": "psb",
        "name": "福州市公安局",
        "name_en": "Fuzhou Public Security Bureau",
        "credit_code": PSB_CODE.lower(),
        "division_code": "350100",
        "parent_code": None,
        **overrides,
    }
    return department_create(**values, acting_user=acting_user)


def test_system_admin_registers_a_department(role_users: dict[str, Any], divisions: None) -> None:
    # given
    parent = DepartmentFactory.create(code="GOV", name="福州市人民政府")

    # when
    department = create(role_users["system_admin"], parent_code="gov")

    # then: code and credit code normalised, audited with the department's code
    assert (department.code, department.credit_code, department.division.code, department.parent) == (
        "PSB",
        PSB_CODE,
        "350100",
        parent,
    )
    record = last_audit()
    assert (record.action, record.object_id, record.department_code, record.actor_username) == (
        "department.created",
        "PSB",
        "PSB",
        "t_system_admin",
    )
    assert record.details == {
        "name": "福州市公安局",
        "credit_code": PSB_CODE,
        "division": "350100",
        "parent": "GOV",
    }


ENTERPRISE_CODE = "91350100M000100Y43"


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        (
            {"code": "公安"},
            "code",
            (
                "department_code_format",
                "部门代码应为 2–20 位大写字母、数字、连字符或下划线，并以字母开头。",
                "A department code has 2–20 capital letters, digits, hyphens or underscores, "
                "starting with a letter.",
            ),
        ),
        ({"name": " "}, "name", ("name_required", "请填写部门名称。", "Enter the department's name.")),
        (
            {"name": "局" * 201},
            "name",
            (
                "name_too_long",
                "部门名称不能超过 200 个字符（现有 201 个）。",
                "The department's name can have at most 200 characters (it has 201).",
            ),
        ),
        (
            {"credit_code": ENTERPRISE_CODE},
            "credit_code",
            (
                "credit_code_not_government",
                "91350100M000100Y43 不是机关的统一社会信用代码：机关的代码以 11 开头。",
                "91350100M000100Y43 is not a government agency's code: agencies' codes start with 11.",
            ),
        ),
        (
            {"credit_code": PSB_CODE[:17] + ("0" if PSB_CODE[17] != "0" else "1")},
            "credit_code",
            (
                "credit_code_check",
                f"校验码应为 {PSB_CODE[17]}，实际为 {'0' if PSB_CODE[17] != '0' else '1'}。",
                f"The check character should be {PSB_CODE[17]}, not {'0' if PSB_CODE[17] != '0' else '1'}.",
            ),
        ),
        (
            {"division_code": "359999"},
            "division_code",
            ("division_not_found", "行政区划 359999 不存在。", "Division 359999 does not exist."),
        ),
        (
            {"parent_code": "NOPE"},
            "parent_code",
            (
                "department_parent_not_found",
                "上级部门 NOPE 不存在。",
                "Parent department NOPE does not exist.",
            ),
        ),
        (
            {"code": "TDEPT"},
            "code",
            (
                "department_code_taken",
                "部门代码 TDEPT 已被使用。",
                "Department code TDEPT is already in use.",
            ),
        ),
    ],
)
def test_department_create_rules(
    overrides: dict[str, Any], field: str, expected: tuple[str, str, str], role_users: dict[str, Any]
) -> None:
    before = list(Department.objects.values_list("code", flat=True))
    records = AuditRecord.objects.count()

    with pytest.raises(RuleViolation) as refused:
        create(role_users["system_admin"], **overrides)

    assert violation(refused.value) == expected
    assert refused.value.field == field
    assert list(Department.objects.values_list("code", flat=True)) == before
    assert AuditRecord.objects.count() == records


def test_a_credit_code_belongs_to_one_department(role_users: dict[str, Any]) -> None:
    taken = Department.objects.get(code="TDEPT").credit_code

    with pytest.raises(RuleViolation) as refused:
        create(role_users["system_admin"], credit_code=taken)

    assert violation(refused.value) == (
        "department_credit_code_taken",
        f"统一社会信用代码 {taken} 已被部门 TDEPT 使用。",
        f"Credit code {taken} is already used by department TDEPT.",
    )
    assert refused.value.status == 409


@pytest.mark.parametrize("role", [role for role in ALL_ROLES if role != "system_admin"])
def test_only_system_admins_register_departments(role: str, role_users: dict[str, Any]) -> None:
    before = Department.objects.count()

    with pytest.raises(PermissionDenied):
        create(role_users[role])

    assert Department.objects.count() == before
    assert not AuditRecord.objects.filter(action="department.created").exists()
    assert denial_count() == 1


def test_update_changes_fields_and_audits_each_change(role_users: dict[str, Any], divisions: None) -> None:
    # given
    department = Department.objects.get(code="TDEPT")
    parent = DepartmentFactory.create(code="GOV")
    old_code = department.credit_code

    # when
    updated = department_update(
        department=department,
        name="测试部门（新）",
        name_en="Test department",
        credit_code=AGENCY_CREDIT_CODES[0],
        division_code="350102",
        parent_code="GOV",
        is_active=False,
        acting_user=role_users["system_admin"],
    )

    # then
    updated.refresh_from_db()
    assert (updated.name, updated.credit_code, updated.division.code, updated.parent, updated.is_active) == (
        "测试部门（新）",
        AGENCY_CREDIT_CODES[0],
        "350102",
        parent,
        False,
    )
    record = last_audit()
    assert (record.action, record.object_id) == ("department.updated", "TDEPT")
    assert record.details == {
        "changed": {
            "name": ["测试部门", "测试部门（新）"],
            "credit_code": [old_code, AGENCY_CREDIT_CODES[0]],
            "division": ["350100", "350102"],
            "parent": [None, "GOV"],
            "is_active": [True, False],
        }
    }


def test_update_without_changes_writes_no_audit_record(role_users: dict[str, Any]) -> None:
    department = Department.objects.get(code="TDEPT")
    records = AuditRecord.objects.count()
    department_update(
        department=department,
        name=department.name,
        name_en=department.name_en,
        credit_code=department.credit_code,
        division_code=department.division.code,
        parent_code=None,
        is_active=True,
        acting_user=role_users["system_admin"],
    )
    assert AuditRecord.objects.count() == records


def test_a_department_cannot_be_under_itself_or_its_children(role_users: dict[str, Any]) -> None:
    # given: TDEPT → CHILD
    top = Department.objects.get(code="TDEPT")
    DepartmentFactory.create(code="CHILD", parent=top)

    for parent_code in ("TDEPT", "CHILD"):
        with pytest.raises(RuleViolation) as refused:
            department_update(
                department=top,
                name=top.name,
                name_en=top.name_en,
                credit_code=top.credit_code,
                division_code="350100",
                parent_code=parent_code,
                is_active=True,
                acting_user=role_users["system_admin"],
            )
        assert violation(refused.value) == (
            "department_parent_cycle",
            "上级部门不能是本部门或其下级部门。",
            "A department cannot be its own parent or the parent of one of its parents.",
        )
    top.refresh_from_db()
    assert top.parent is None


@pytest.mark.parametrize("role", [role for role in ALL_ROLES if role != "system_admin"])
def test_only_system_admins_change_departments(role: str, role_users: dict[str, Any]) -> None:
    department = Department.objects.get(code="TDEPT")
    with pytest.raises(PermissionDenied):
        department_update(
            department=department,
            name="改名",
            name_en="",
            credit_code=department.credit_code,
            division_code="350100",
            parent_code=None,
            is_active=False,
            acting_user=role_users[role],
        )
    department.refresh_from_db()
    assert (department.name, department.is_active) == ("测试部门", True)
    assert denial_count() == 1


# --- selectors ------------------------------------------------------------------------------------------


def test_directory_shows_active_departments_to_signed_in_users(role_users: dict[str, Any]) -> None:
    DepartmentFactory.create(code="CLOSED", is_active=False)

    for role in ALL_ROLES:
        codes = list(selectors.departments_for_user(role_users[role]).values_list("code", flat=True))
        assert codes == (["CLOSED", "TDEPT"] if role == "system_admin" else ["TDEPT"]), role

    with pytest.raises(Http404):
        selectors.department_for_user(role_users["resident"], "CLOSED")
    assert selectors.department_for_user(role_users["system_admin"], "CLOSED").code == "CLOSED"


def test_directory_refuses_anonymous_callers(db: None) -> None:
    with pytest.raises(PermissionDenied):
        selectors.departments_for_user(AnonymousUser())
    assert denial_count() == 1


def test_staff_management_is_for_system_admins_and_the_departments_own_admins(
    role_users: dict[str, Any], other_department: Department
) -> None:
    assert list(
        selectors.departments_staffed_by(role_users["system_admin"]).values_list("code", flat=True)
    ) == [
        "OTHER",
        "TDEPT",
    ]
    assert list(
        selectors.departments_staffed_by(role_users["department_admin"]).values_list("code", flat=True)
    ) == ["TDEPT"]
    assert selectors.department_for_staff_management(role_users["department_admin"], "TDEPT").code == "TDEPT"
    with pytest.raises(PermissionDenied):
        selectors.department_for_staff_management(role_users["department_admin"], "OTHER")
    for role in ALL_ROLES:
        if role not in {"system_admin", "department_admin"}:
            assert not selectors.departments_staffed_by(role_users[role]).exists()
            with pytest.raises(PermissionDenied):
                selectors.department_for_staff_management(role_users[role], "TDEPT")
