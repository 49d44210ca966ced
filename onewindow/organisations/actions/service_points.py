"""Service points: service halls and village/community service points."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from onewindow.accounts.models import User
from onewindow.audit.actions import audit_append
from onewindow.organisations.actions.common import (
    changes_applied,
    division_by_code,
    limited_text,
    plain,
    require_system_admin,
    required_text,
)
from onewindow.organisations.errors import RuleViolation
from onewindow.organisations.models import Division, DivisionLevel, ServicePoint, ServicePointKind

SERVICE_POINT_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,29}$")
PHONE = re.compile(r"^[0-9+()\- ]{5,30}$")

# Village and community service points serve a township or a village, not a whole county.
LOCAL_POINT_LEVELS = frozenset({DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE})


def _phone(value: str) -> str:
    phone = value.strip()
    if phone and not PHONE.match(phone):
        raise RuleViolation(
            "phone_format",
            "电话号码只能包含数字、空格、连字符、括号和 +，长度 5–30 位。",
            "A phone number has 5–30 digits, spaces, hyphens, brackets or +.",
            field="phone",
        )
    return phone


def _service_point_code(value: str) -> str:
    code = value.strip().upper()
    if not SERVICE_POINT_CODE.match(code):
        raise RuleViolation(
            "service_point_code_format",
            "服务网点代码应为 2–30 位大写字母、数字、连字符或下划线。",
            "A service point code has 2–30 capital letters, digits, hyphens or underscores.",
            field="code",
        )
    return code


def _service_point_kind(kind: str, division: Division) -> ServicePointKind:
    if kind not in ServicePointKind.values:
        raise RuleViolation(
            "service_point_kind",
            f"服务网点类型“{kind}”无效。",
            f"Service point kind '{kind}' is not valid.",
            field="kind",
        )
    point_kind = ServicePointKind(kind)
    if point_kind != ServicePointKind.HALL and division.level not in LOCAL_POINT_LEVELS:
        raise RuleViolation(
            "service_point_division_level",
            "村（社区）便民服务站须设在乡镇（街道）或村（社区）一级的行政区划。",
            "A village or community service point must be in a township or a village division.",
            field="division_code",
        )
    return point_kind


@dataclass(frozen=True)
class ServicePointDetails:
    """What a system administrator enters about a service point (all but the code can change)."""

    name: str
    kind: str
    division_code: str
    address: str = ""
    opening_hours: str = ""
    phone: str = ""


def _service_point_values(details: ServicePointDetails) -> dict[str, Any]:
    division = division_by_code(details.division_code)
    return {
        "name": required_text(details.name, field="name", max_length=200, name_zh="名称", name_en="name"),
        "kind": _service_point_kind(details.kind, division),
        "division": division,
        "address": limited_text(
            details.address, field="address", max_length=300, name_zh="地址", name_en="address"
        ),
        "opening_hours": limited_text(
            details.opening_hours,
            field="opening_hours",
            max_length=200,
            name_zh="办公时间",
            name_en="opening hours",
        ),
        "phone": _phone(details.phone),
    }


def service_point_create(
    *, code: str, details: ServicePointDetails, acting_user: User | None
) -> ServicePoint:
    """Open a service hall or a village/community service point (system administrator).

    Village and community points serve a township or village, so their division must be at that level.
    """
    require_system_admin(acting_user, object_type="service_point", object_id=code)
    code = _service_point_code(code)
    values = _service_point_values(details)
    taken = RuleViolation(
        "service_point_code_taken",
        f"服务网点代码 {code} 已被使用。",
        f"Service point code {code} is already in use.",
        field="code",
        status=409,
    )
    if ServicePoint.objects.filter(code=code).exists():
        raise taken
    try:
        with transaction.atomic():
            point = ServicePoint.objects.create(code=code, **values)
            audit_append(
                action="service_point.created",
                acting_user=acting_user,
                object_type="service_point",
                object_id=code,
                details={key: plain(value) for key, value in values.items()},
            )
    except IntegrityError:
        raise taken from None
    return point


def service_point_update(
    *, service_point: ServicePoint, details: ServicePointDetails, is_active: bool, acting_user: User | None
) -> ServicePoint:
    """Change a service point (system administrator); the audit record lists each changed field."""
    require_system_admin(acting_user, object_type="service_point", object_id=service_point.code)
    values = _service_point_values(details)
    with transaction.atomic():
        locked = (
            ServicePoint.objects.select_for_update(of=("self",))
            .select_related("division")
            .get(pk=service_point.pk)
        )
        changed = changes_applied(locked, {**values, "is_active": is_active})
        if changed:
            locked.save(update_fields=list(changed))
            audit_append(
                action="service_point.updated",
                acting_user=acting_user,
                object_type="service_point",
                object_id=locked.code,
                details={"changed": changed},
            )
    return locked
