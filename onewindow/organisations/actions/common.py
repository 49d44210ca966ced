"""Helpers shared by the organisations actions: permission, text fields, lookups, change lists."""

from __future__ import annotations

from typing import Any

from onewindow.accounts.models import User
from onewindow.accounts.permissions import require_permission
from onewindow.accounts.roles import Permission
from onewindow.organisations.errors import RuleViolation
from onewindow.organisations.models import Department, Division


def require_system_admin(acting_user: User | None, *, object_type: str, object_id: str = "") -> None:
    if acting_user is not None:
        require_permission(
            acting_user, Permission.MANAGE_SYSTEM, object_type=object_type, object_id=object_id
        )


def required_text(value: str, *, field: str, max_length: int, name_zh: str, name_en: str) -> str:
    text = value.strip()
    if not text:
        raise RuleViolation(f"{field}_required", f"请填写{name_zh}。", f"Enter the {name_en}.", field=field)
    return limited_text(text, field=field, max_length=max_length, name_zh=name_zh, name_en=name_en)


def limited_text(value: str, *, field: str, max_length: int, name_zh: str, name_en: str) -> str:
    text = value.strip()
    if len(text) > max_length:
        raise RuleViolation(
            f"{field}_too_long",
            f"{name_zh}不能超过 {max_length} 个字符（现有 {len(text)} 个）。",
            f"The {name_en} can have at most {max_length} characters (it has {len(text)}).",
            field=field,
        )
    return text


def division_by_code(code: str, *, field: str = "division_code") -> Division:
    division = Division.objects.filter(code=code.strip()).first()
    if division is None:
        raise RuleViolation(
            "division_not_found",
            f"行政区划 {code.strip()} 不存在。",
            f"Division {code.strip()} does not exist.",
            field=field,
        )
    return division


def changes_applied(instance: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for the values that differ, then applies them to ``instance``."""
    changed: dict[str, list[Any]] = {}
    for field, value in values.items():
        before = getattr(instance, field)
        if before != value:
            changed[field] = [plain(before), plain(value)]
            setattr(instance, field, value)
    return changed


def plain(value: Any) -> Any:
    if isinstance(value, Division | Department):
        return value.code
    return value
