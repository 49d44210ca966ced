"""Departments: register and change government departments."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction

from onewindow.accounts.models import User
from onewindow.audit.actions import audit_append
from onewindow.core.validators import InvalidIdentifier, validate_government_credit_code
from onewindow.organisations.actions.common import (
    changes_applied,
    division_by_code,
    limited_text,
    require_system_admin,
    required_text,
)
from onewindow.organisations.errors import RuleViolation
from onewindow.organisations.models import Department

DEPARTMENT_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{1,19}$")


def _government_credit_code(value: str) -> str:
    try:
        return validate_government_credit_code(value)
    except InvalidIdentifier as error:
        raise RuleViolation.from_identifier(error, field="credit_code") from None


def _department_code(value: str) -> str:
    code = value.strip().upper()
    if not DEPARTMENT_CODE.match(code):
        raise RuleViolation(
            "department_code_format",
            "部门代码应为 2–20 位大写字母、数字、连字符或下划线，并以字母开头。",
            "A department code has 2–20 capital letters, digits, hyphens or underscores, "
            "starting with a letter.",
            field="code",
        )
    return code


def _parent_department(parent_code: str | None, *, department: Department | None = None) -> Department | None:
    if not parent_code or not parent_code.strip():
        return None
    code = parent_code.strip().upper()
    parent = Department.objects.filter(code=code).first()
    if parent is None:
        raise RuleViolation(
            "department_parent_not_found",
            f"上级部门 {code} 不存在。",
            f"Parent department {code} does not exist.",
            field="parent_code",
        )
    if department is not None:
        # Walk up from the proposed parent: meeting the department itself would make a cycle.
        ancestor: Department | None = parent
        seen: set[int] = set()
        while ancestor is not None and ancestor.pk not in seen:
            if ancestor.pk == department.pk:
                raise RuleViolation(
                    "department_parent_cycle",
                    "上级部门不能是本部门或其下级部门。",
                    "A department cannot be its own parent or the parent of one of its parents.",
                    field="parent_code",
                )
            seen.add(ancestor.pk)
            ancestor = ancestor.parent
    return parent


def _code_free(code: str) -> None:
    if Department.objects.filter(code=code).exists():
        raise RuleViolation(
            "department_code_taken",
            f"部门代码 {code} 已被使用。",
            f"Department code {code} is already in use.",
            field="code",
            status=409,
        )


def _credit_code_free(credit_code: str, *, department: Department | None = None) -> None:
    holders = Department.objects.filter(credit_code=credit_code)
    if department is not None:
        holders = holders.exclude(pk=department.pk)
    other = holders.values_list("code", flat=True).first()
    if other is not None:
        raise RuleViolation(
            "department_credit_code_taken",
            f"统一社会信用代码 {credit_code} 已被部门 {other} 使用。",
            f"Credit code {credit_code} is already used by department {other}.",
            field="credit_code",
            status=409,
        )


def department_create(
    *,
    code: str,
    name: str,
    name_en: str = "",
    credit_code: str,
    division_code: str,
    parent_code: str | None = None,
    acting_user: User | None,
) -> Department:
    """Register a department (system administrator).

    Its unified social credit code must be a government agency's (GB 32100-2015: authority 1, type 1 → 11).
    """
    require_system_admin(acting_user, object_type="department", object_id=code)
    code = _department_code(code)
    name = required_text(name, field="name", max_length=200, name_zh="部门名称", name_en="department's name")
    name_en = limited_text(
        name_en, field="name_en", max_length=200, name_zh="英文名称", name_en="English name"
    )
    credit_code = _government_credit_code(credit_code)
    division = division_by_code(division_code)
    parent = _parent_department(parent_code)
    _code_free(code)
    _credit_code_free(credit_code)
    try:
        with transaction.atomic():
            department = Department.objects.create(
                code=code,
                name=name,
                name_en=name_en,
                credit_code=credit_code,
                division=division,
                parent=parent,
            )
            audit_append(
                action="department.created",
                acting_user=acting_user,
                object_type="department",
                object_id=code,
                department_code=code,
                details={
                    "name": name,
                    "credit_code": credit_code,
                    "division": division.code,
                    "parent": parent.code if parent else None,
                },
            )
    except IntegrityError:
        # The constraints decide between two concurrent creations; say which value the other one took.
        _code_free(code)
        _credit_code_free(credit_code)
        raise
    return department


def department_update(
    *,
    department: Department,
    name: str,
    name_en: str,
    credit_code: str,
    division_code: str,
    parent_code: str | None,
    is_active: bool,
    acting_user: User | None,
) -> Department:
    """Change a department's names, credit code, division, parent or active state (system administrator).

    The code never changes: memberships, service items and API clients refer to it. The audit record lists
    each changed field with its old and new value.
    """
    require_system_admin(acting_user, object_type="department", object_id=department.code)
    name = required_text(name, field="name", max_length=200, name_zh="部门名称", name_en="department's name")
    name_en = limited_text(
        name_en, field="name_en", max_length=200, name_zh="英文名称", name_en="English name"
    )
    credit_code = _government_credit_code(credit_code)
    division = division_by_code(division_code)
    parent = _parent_department(parent_code, department=department)
    _credit_code_free(credit_code, department=department)
    try:
        with transaction.atomic():
            locked = (
                Department.objects.select_for_update(of=("self",))
                .select_related("division", "parent")
                .get(pk=department.pk)
            )
            changed = changes_applied(
                locked,
                {
                    "name": name,
                    "name_en": name_en,
                    "credit_code": credit_code,
                    "division": division,
                    "parent": parent,
                    "is_active": is_active,
                },
            )
            if changed:
                locked.save(update_fields=list(changed))
                audit_append(
                    action="department.updated",
                    acting_user=acting_user,
                    object_type="department",
                    object_id=locked.code,
                    department_code=locked.code,
                    details={"changed": changed},
                )
    except IntegrityError:
        raise RuleViolation(
            "department_credit_code_taken",
            f"统一社会信用代码 {credit_code} 已被其他部门使用。",
            f"Credit code {credit_code} is already used by another department.",
            field="credit_code",
            status=409,
        ) from None
    return locked
