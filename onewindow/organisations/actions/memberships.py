"""Memberships: staff roles per department or service point, with separation of duties."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from onewindow.accounts.models import Membership, User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import DEPARTMENT_ROLES, SEPARATED_ROLES, STAFF_ROLES, Kind, Permission, Role
from onewindow.audit.actions import audit_append
from onewindow.organisations.errors import RuleViolation
from onewindow.organisations.models import Department, ServicePoint, ServicePointKind

SYSTEM_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$")

# Names used in messages, fixed in both languages whatever the active one.
ROLE_NAMES: dict[Role, tuple[str, str]] = {
    Role.RESIDENT: ("居民", "resident"),
    Role.ENTERPRISE_REPRESENTATIVE: ("企业代表", "enterprise representative"),
    Role.WINDOW_CLERK: ("窗口人员", "window clerk"),
    Role.VILLAGE_AGENT: ("村（社区）代办员", "village agent"),
    Role.DEPARTMENT_HANDLER: ("部门经办人", "department handler"),
    Role.DEPARTMENT_ADMIN: ("部门管理员", "department administrator"),
    Role.LEADER: ("领导", "leader"),
    Role.SECURITY_OFFICER: ("安全保密管理员", "security officer"),
    Role.AUDITOR: ("安全审计员", "auditor"),
    Role.SYSTEM_ADMIN: ("系统管理员", "system administrator"),
    Role.VENDOR_STAFF: ("外包服务人员", "vendor staff"),
    Role.SUPERVISOR: ("第三方监督员", "third-party supervisor"),
}

# Roles that may optionally be held for one department (a department's leader sees its dashboards).
DEPARTMENT_OPTIONAL_ROLES = frozenset({Role.LEADER})
# Service-point roles and the kinds of point each works at.
SERVICE_POINT_ROLES: dict[Role, frozenset[str]] = {
    Role.WINDOW_CLERK: frozenset({ServicePointKind.HALL}),
    Role.VILLAGE_AGENT: frozenset({ServicePointKind.VILLAGE, ServicePointKind.COMMUNITY}),
}


def _may_manage_membership(acting_user: User, role: Role, department: Department | None) -> bool:
    if user_has_permission(acting_user, Permission.MANAGE_SYSTEM):
        return True
    # A department administrator may staff their own department with handlers, and nothing more.
    return (
        role == Role.DEPARTMENT_HANDLER
        and department is not None
        and user_has_permission(acting_user, Permission.MANAGE_DEPARTMENT, department_code=department.code)
    )


def _authorise_membership(
    acting_user: User | None, role: Role | None, department: Department | None, *, object_id: str
) -> None:
    if acting_user is None or (role is not None and _may_manage_membership(acting_user, role, department)):
        return
    if acting_user is not None and user_has_permission(acting_user, Permission.MANAGE_SYSTEM):
        return
    needed = (
        Permission.MANAGE_DEPARTMENT
        if role == Role.DEPARTMENT_HANDLER and department is not None
        else Permission.MANAGE_SYSTEM
    )
    raise permission_denied(acting_user, needed, object_type="membership", object_id=object_id)


def _role(value: Role | str) -> Role:
    if value not in Role.values:
        raise RuleViolation(
            "membership_role_unknown", f"角色“{value}”不存在。", f"There is no role '{value}'.", field="role"
        )
    role = Role(value)
    if role not in STAFF_ROLES:
        zh, en = ROLE_NAMES[role]
        raise RuleViolation(
            "membership_role_from_kind",
            f"“{zh}”角色来自账户类型，不能授予。",
            f"The {en} role comes from the account's kind and cannot be granted.",
            field="role",
        )
    return role


def _check_staff_account(user: User) -> None:
    if user.kind != Kind.STAFF:
        raise RuleViolation(
            "membership_not_staff",
            f"账户 {user.get_username()} 是居民或企业账户，不能担任工作人员角色。",
            f"Account {user.get_username()} is a resident or enterprise account and cannot hold staff roles.",
            field="username",
        )
    if not user.is_active:
        raise RuleViolation(
            "membership_user_inactive",
            f"账户 {user.get_username()} 已停用。",
            f"Account {user.get_username()} is deactivated.",
            field="username",
        )


def _check_department(role: Role, department: Department | None) -> None:
    zh, en = ROLE_NAMES[role]
    if role in DEPARTMENT_ROLES and department is None:
        raise RuleViolation(
            "membership_department_required",
            "部门角色（部门经办人、部门管理员）须指定部门。",
            "Department roles (department handler, department administrator) need a department.",
            field="department_code",
        )
    if department is None:
        return
    if role not in DEPARTMENT_ROLES | DEPARTMENT_OPTIONAL_ROLES:
        raise RuleViolation(
            "membership_department_not_allowed",
            f"“{zh}”角色不属于某个部门，不能指定部门。",
            f"The {en} role is not held in a department; give no department.",
            field="department_code",
        )
    if not department.is_active:
        raise RuleViolation(
            "membership_department_inactive",
            f"部门 {department.code} 已停用。",
            f"Department {department.code} is inactive.",
            field="department_code",
        )


def _check_service_point(role: Role, service_point: ServicePoint | None) -> None:
    zh, en = ROLE_NAMES[role]
    kinds = SERVICE_POINT_ROLES.get(role)
    if kinds is None:
        if service_point is not None:
            raise RuleViolation(
                "membership_service_point_not_allowed",
                f"“{zh}”角色不在服务网点工作，不能指定服务网点。",
                f"The {en} role does not work at a service point; give no service point.",
                field="service_point_code",
            )
        return
    if service_point is None:
        raise RuleViolation(
            "membership_service_point_required",
            "窗口人员和村（社区）代办员须指定服务网点。",
            "Window clerks and village agents need a service point.",
            field="service_point_code",
        )
    if service_point.kind not in kinds:
        raise RuleViolation(
            "membership_service_point_kind",
            "窗口人员须在政务服务大厅，村（社区）代办员须在村（社区）便民服务站。",
            "Window clerks work at a service hall; village agents at a village or community service point.",
            field="service_point_code",
        )
    if not service_point.is_active:
        raise RuleViolation(
            "membership_service_point_inactive",
            f"服务网点 {service_point.code} 已停用。",
            f"Service point {service_point.code} is closed.",
            field="service_point_code",
        )


def _system_codes(role: Role, system_codes: Iterable[str]) -> list[str]:
    codes = list(dict.fromkeys(code.strip() for code in system_codes if code.strip()))
    if role != Role.VENDOR_STAFF:
        if codes:
            raise RuleViolation(
                "membership_system_codes_not_allowed",
                "只有外包服务人员按信息系统授权，其他角色不能指定信息系统。",
                "Only vendor staff are scoped to information systems; give none for other roles.",
                field="system_codes",
            )
        return codes
    if not codes:
        raise RuleViolation(
            "membership_vendor_systems",
            "外包服务人员须列出所运维的信息系统代码。",
            "Vendor staff need the codes of the information systems they operate.",
            field="system_codes",
        )
    for code in codes:
        if not SYSTEM_CODE.match(code):
            raise RuleViolation(
                "membership_system_code_format",
                f"信息系统代码“{code}”无效：只能是 1–50 位字母、数字、点、连字符或下划线。",
                f"System code '{code}' is not valid: use 1–50 letters, digits, dots, hyphens or underscores.",
                field="system_codes",
            )
    return codes


def _check_validity(role: Role, valid_from: datetime | None, valid_until: datetime | None) -> None:
    if role == Role.VENDOR_STAFF and valid_until is None:
        raise RuleViolation(
            "membership_vendor_valid_until",
            "外包服务人员须设定有效期截止时间。",
            "Vendor staff need a valid-until date.",
            field="valid_until",
        )
    if valid_until is None:
        return
    if valid_until <= timezone.now() or (valid_from is not None and valid_until <= valid_from):
        raise RuleViolation(
            "membership_validity",
            "有效期截止时间须晚于当前时间和开始时间。",
            "The valid-until date must be later than now and than the valid-from date.",
            field="valid_until",
        )


def membership_grant(
    *,
    user: User,
    role: Role | str,
    department: Department | None = None,
    service_point: ServicePoint | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    system_codes: Iterable[str] = (),
    acting_user: User | None,
) -> Membership:
    """Give a staff account a role (system administrators; department administrators: handlers of their own
    department only).

    Rules: only staff accounts hold staff roles; department roles need a department; window clerks work at a
    service hall and village agents at a village/community point; vendor staff are time-bound and scoped to
    named information systems; and no account may hold two of system administrator, security officer and
    auditor (三员分立, MLPS 2.0 GB/T 22239-2019 §8.1.4.2 separation of duties).
    """
    # Authorise before validating, so a caller without rights learns nothing from the messages.
    _authorise_membership(
        acting_user, Role(role) if role in Role.values else None, department, object_id=str(user.pk)
    )
    role = _role(role)
    _check_staff_account(user)
    _check_department(role, department)
    _check_service_point(role, service_point)
    codes = _system_codes(role, system_codes)
    _check_validity(role, valid_from, valid_until)
    username = user.get_username()
    with transaction.atomic():
        # Lock the account so two concurrent grants cannot both pass the checks below.
        User.objects.select_for_update().filter(pk=user.pk).first()
        held = {Role(value) for value in Membership.objects.filter(user=user).values_list("role", flat=True)}
        clashing = sorted(held & SEPARATED_ROLES - {role}) if role in SEPARATED_ROLES else []
        if clashing:
            held_zh, held_en = ROLE_NAMES[clashing[0]]
            zh, en = ROLE_NAMES[role]
            raise RuleViolation(
                "membership_separation_of_duties",
                f"账户 {username} 已担任{held_zh}，不能再担任{zh}：系统管理员、安全保密管理员和安全审计员"
                "须由不同账户担任（三员分立）。",
                f"Account {username} already holds the {held_en} role and cannot also be {en}: the system "
                "administrator, security officer and auditor must be different accounts.",
                field="role",
                status=409,
            )
        if Membership.objects.filter(
            user=user, role=role, department=department, service_point=service_point
        ).exists():
            zh, en = ROLE_NAMES[role]
            raise RuleViolation(
                "membership_exists",
                f"账户 {username} 已担任此{zh}角色。",
                f"Account {username} already holds this {en} role.",
                field="role",
                status=409,
            )
        membership = Membership.objects.create(
            user=user,
            role=role,
            department=department,
            service_point=service_point,
            valid_from=valid_from,
            valid_until=valid_until,
            system_codes=codes,
        )
        audit_append(
            action="membership.granted",
            acting_user=acting_user,
            object_type="membership",
            object_id=membership.pk,
            department_code=department.code if department else "",
            details=_membership_details(membership),
        )
    return membership


def _membership_details(membership: Membership) -> dict[str, Any]:
    return {
        "username": membership.user.get_username(),
        "role": str(membership.role),
        "department": membership.department.code if membership.department else None,
        "service_point": membership.service_point.code if membership.service_point else None,
        "valid_from": membership.valid_from.isoformat() if membership.valid_from else None,
        "valid_until": membership.valid_until.isoformat() if membership.valid_until else None,
        "system_codes": list(membership.system_codes),
    }


def membership_revoke(*, membership: Membership, acting_user: User | None) -> None:
    """Take a role away (system administrators; department administrators: handlers of their own department).

    The membership is deleted; the audit record keeps what it was. The last system administrator cannot be
    revoked, so the platform always has someone who can administer it.
    """
    role = Role(membership.role)
    _authorise_membership(acting_user, role, membership.department, object_id=str(membership.pk))
    with transaction.atomic():
        if role == Role.SYSTEM_ADMIN:
            # Lock every system administrator's membership so two revocations cannot both pass.
            admins = list(
                Membership.objects.select_for_update()
                .filter(role=Role.SYSTEM_ADMIN, user__is_active=True)
                .values_list("pk", flat=True)
            )
            if admins == [membership.pk]:
                raise RuleViolation(
                    "membership_last_system_admin",
                    "不能撤销最后一个系统管理员。",
                    "The last system administrator cannot be revoked.",
                    status=409,
                )
        details = _membership_details(membership)
        membership_id = membership.pk
        membership.delete()
        audit_append(
            action="membership.revoked",
            acting_user=acting_user,
            object_type="membership",
            object_id=membership_id,
            department_code=details["department"] or "",
            details=details,
        )
