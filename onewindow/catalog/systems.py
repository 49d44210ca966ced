"""The information-systems register (信息系统; issue #7 item 6): actions and selectors.

Each department's systems, with their state (built, under construction, planned), owner, vendor, the
resources they provide and consume, and their interconnection status. The seed's rule — interconnection
is a condition of approval for new systems (国办发〔2017〕39号《政务信息系统整合共享实施方案》) — is
enforced by :func:`system_approve`: a planned system is approved only when

1. every resource it provides is catalogued (an active resource of the system's own department), and
2. its exchange endpoint passed the exchange's conformance check.

The check itself is the exchange's (``onewindow.exchange.conformance``, docs/exchange.md "Conformance
check"); its result is a field of the system that :func:`system_conformance_record` sets — called by the
exchange (``acting_user=None``: ``onewindow exchange conformance --record``), by a system administrator
running the check (``POST /api/v1/catalog/systems/{id}/conformance/run``) or recording one made elsewhere.
A result is for the endpoint it was made on: a system whose endpoint changed needs a new check.

Who may: a department's administrators register their department's systems; system administrators
register any and approve planned systems (the platform's competent authority, 大数据管理部门); the
register is read by department staff, leaders, supervisors and system administrators. Every write is one
transaction with its audit record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.catalog.actions import may_manage
from onewindow.catalog.models import (
    ApprovalStatus,
    InformationSystem,
    InterconnectionStatus,
    Resource,
    ResourceStatus,
    SystemState,
)
from onewindow.catalog.selectors import audience_of
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.organisations.models import Department

OBJECT_TYPE = "information_system"
SYSTEM_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,39}$")


# --- Selectors ---------------------------------------------------------------------------------------------


def may_read_register(user: User) -> bool:
    return bool(audience_of(user).department_codes) or any(
        user_has_permission(user, permission)
        for permission in (Permission.MANAGE_SYSTEM, Permission.VIEW_DASHBOARDS, Permission.SUPERVISE)
    )


def systems_for_user(user: User, *, department: str = "") -> QuerySet[InformationSystem]:
    """The register (every department's systems), optionally one department's; refused (audited) for
    callers who neither act for a department nor oversee the platform."""
    if not may_read_register(user):
        raise permission_denied(user, Permission.HANDLE_TASKS, object_type=OBJECT_TYPE)
    systems = InformationSystem.objects.select_related("department").prefetch_related(
        "provides__current_version", "consumes__current_version"
    )
    if department:
        systems = systems.filter(department__code=department.strip())
    return systems.order_by("department__code", "code")


def system_for_user(user: User, system_id: int) -> InformationSystem:
    system = systems_for_user(user).filter(pk=system_id).first()
    if system is None:
        raise Http404(str(system_id))
    return system


def approval_blockers(system: InformationSystem) -> list[FieldError]:
    """Why a planned system cannot be approved now (empty: it can), each reason bilingual."""
    blockers: list[FieldError] = []
    if system.state != SystemState.PLANNED or system.approval != ApprovalStatus.PENDING:
        blockers.append(
            FieldError(
                "state",
                "system_not_planned",
                "只有待审批的拟建系统需要审批。",
                "Only a planned system waiting for approval is approved.",
            )
        )
        return blockers
    provided = list(system.provides.select_related("current_version"))
    bad = [
        resource.code
        for resource in provided
        if resource.status != ResourceStatus.ACTIVE or resource.provider_id != system.department_id
    ]
    if bad:
        blockers.append(
            FieldError(
                "provides",
                "resources_not_catalogued",
                f"系统提供的资源 {'、'.join(bad)} 未在本部门目录中编目或已撤销，须先编目。",
                f"The resources {', '.join(bad)} the system provides are not catalogued by its department "
                "(or were withdrawn); catalogue them first.",
            )
        )
    if not system.endpoint:
        blockers.append(
            FieldError(
                "endpoint",
                "endpoint_required",
                "系统尚未登记共享交换接口地址。",
                "The system has no exchange endpoint registered.",
            )
        )
    elif not system.conformance_passed or system.conformance_endpoint != system.endpoint:
        blockers.append(
            FieldError(
                "conformance",
                "conformance_not_passed",
                "系统的共享交换接口尚未通过交换平台的符合性检测，不能批准（政务信息系统须接入共享平台）。",
                "The system's exchange endpoint has not passed the exchange's conformance check; it cannot "
                "be approved (new systems must interconnect through the sharing platform).",
            )
        )
    return blockers


# --- Actions -----------------------------------------------------------------------------------------------


def _resources(codes: Sequence[str], field: str, errors: list[FieldError]) -> list[Resource]:
    wanted = list(dict.fromkeys(code.strip() for code in codes if code.strip()))
    found = {resource.code: resource for resource in Resource.objects.filter(code__in=wanted)}
    missing = [code for code in wanted if code not in found]
    if missing:
        errors.append(
            FieldError(
                field,
                "resource_not_found",
                f"资源 {'、'.join(missing)} 不在目录中。",
                f"Resource {', '.join(missing)} is not in the catalog.",
            )
        )
    return [found[code] for code in wanted if code in found]


def system_register(
    *,
    acting_user: User,
    department: str,
    code: str,
    name: str,
    state: str,
    owner: str,
    name_en: str = "",
    vendor: str = "",
    endpoint: str = "",
    provides: Sequence[str] = (),
    consumes: Sequence[str] = (),
    interconnection: str = InterconnectionStatus.NOT_CONNECTED,
) -> InformationSystem:
    """Register a system of ``department``; a planned one waits for approval (``system_approve``)."""
    if not may_manage(acting_user, department):
        raise permission_denied(
            acting_user, Permission.MANAGE_DEPARTMENT, object_type=OBJECT_TYPE, object_id=code
        )
    owning = Department.objects.filter(code=department, is_active=True).first()
    errors: list[FieldError] = []
    if owning is None:
        errors.append(
            FieldError("department", "department_not_found", "部门不存在或已停用。", "No such department.")
        )
    code = (code or "").strip().upper()
    if not SYSTEM_CODE.match(code):
        errors.append(
            FieldError(
                "code",
                "code_invalid",
                "系统编码为 2–40 位大写字母、数字或连字符。",
                "The system code is 2–40 capital letters, digits or hyphens.",
            )
        )
    elif InformationSystem.objects.filter(code=code).exists():
        errors.append(FieldError("code", "code_taken", "系统编码已被使用。", "The system code is taken."))
    texts = {"name": (name, "系统名称", "name"), "owner": (owner, "责任人或责任单位", "owner")}
    for field, (value, zh, en) in texts.items():
        if not (value or "").strip():
            errors.append(FieldError(field, f"{field}_required", f"请填写{zh}。", f"Enter the {en}."))
    if state not in SystemState.values:
        errors.append(
            FieldError(
                "state",
                "state_invalid",
                "系统状态为已建、在建或拟建。",
                "The state is built, under_construction or planned.",
            )
        )
    if interconnection not in InterconnectionStatus.values:
        errors.append(
            FieldError(
                "interconnection",
                "interconnection_invalid",
                "互联互通状态为已接入、接入中或未接入。",
                "The interconnection status is connected, connecting or not_connected.",
            )
        )
    endpoint = (endpoint or "").strip()
    if endpoint and not re.match(r"^https://\S+$", endpoint):
        errors.append(
            FieldError(
                "endpoint",
                "endpoint_invalid",
                "接口地址须以 https:// 开头。",
                "The endpoint must be https://…",
            )
        )
    provided = _resources(provides, "provides", errors)
    consumed = _resources(consumes, "consumes", errors)
    if errors or owning is None:
        raise FieldErrors(errors, code="system_invalid")
    now = timezone.now()
    with transaction.atomic():
        system = InformationSystem.objects.create(
            department=owning,
            code=code,
            name=name.strip(),
            name_en=(name_en or "").strip(),
            state=state,
            owner=owner.strip(),
            vendor=(vendor or "").strip(),
            endpoint=endpoint,
            interconnection=interconnection,
            approval=ApprovalStatus.PENDING if state == SystemState.PLANNED else ApprovalStatus.NOT_REQUIRED,
            created_at=now,
            updated_at=now,
        )
        system.provides.set(provided)
        system.consumes.set(consumed)
        audit_append(
            action="catalog.system_registered",
            acting_user=acting_user,
            object_type=OBJECT_TYPE,
            object_id=code,
            department_code=owning.code,
            details={
                "state": state,
                "provides": [r.code for r in provided],
                "consumes": [r.code for r in consumed],
                "interconnection": interconnection,
                "endpoint": endpoint,
            },
        )
    return system


def system_conformance_record(
    *,
    acting_user: User | None,
    system: InformationSystem,
    passed: bool,
    endpoint: str,
    report: Mapping[str, Any] | None = None,
) -> InformationSystem:
    """Record the result of the exchange's conformance check of ``endpoint`` (``exchange.conformance``).

    ``acting_user=None`` is the exchange itself; otherwise only a system administrator. A pass on the
    system's current endpoint marks it as being connected (unless it is connected already).
    """
    if acting_user is not None and not user_has_permission(acting_user, Permission.MANAGE_SYSTEM):
        raise permission_denied(
            acting_user, Permission.MANAGE_SYSTEM, object_type=OBJECT_TYPE, object_id=system.code
        )
    with transaction.atomic():
        locked = InformationSystem.objects.select_for_update().select_related("department").get(pk=system.pk)
        now = timezone.now()
        locked.conformance_passed = bool(passed)
        locked.conformance_checked_at = now
        locked.conformance_endpoint = (endpoint or "").strip()
        locked.conformance_report = dict(report or {})
        fields = [
            "conformance_passed",
            "conformance_checked_at",
            "conformance_endpoint",
            "conformance_report",
            "updated_at",
        ]
        if passed and locked.interconnection == InterconnectionStatus.NOT_CONNECTED:
            locked.interconnection = InterconnectionStatus.CONNECTING
            fields.append("interconnection")
        locked.updated_at = now
        locked.save(update_fields=fields)
        audit_append(
            action="catalog.system_conformance_recorded",
            acting_user=acting_user,
            actor_username="" if acting_user else "exchange",
            object_type=OBJECT_TYPE,
            object_id=locked.code,
            department_code=locked.department.code,
            details={"passed": bool(passed), "endpoint": locked.conformance_endpoint},
        )
    return locked


def system_approve(*, acting_user: User, system: InformationSystem) -> InformationSystem:
    """Approve a planned system (system administrators): refused, with every reason, unless its provided
    resources are catalogued and its endpoint passed the conformance check (``approval_blockers``)."""
    if not user_has_permission(acting_user, Permission.MANAGE_SYSTEM):
        raise permission_denied(
            acting_user, Permission.MANAGE_SYSTEM, object_type=OBJECT_TYPE, object_id=system.code
        )
    with transaction.atomic():
        locked = InformationSystem.objects.select_for_update().select_related("department").get(pk=system.pk)
        blockers = approval_blockers(locked)
        if blockers:
            if blockers[0].code == "system_not_planned":
                raise RuleViolation(
                    blockers[0].code, blockers[0].message_zh, blockers[0].message_en, status=409
                )
            raise FieldErrors(blockers, code="system_not_approvable")
        now = timezone.now()
        locked.approval = ApprovalStatus.APPROVED
        locked.approved_at, locked.approved_by, locked.updated_at = now, acting_user, now
        locked.save(update_fields=["approval", "approved_at", "approved_by", "updated_at"])
        audit_append(
            action="catalog.system_approved",
            acting_user=acting_user,
            object_type=OBJECT_TYPE,
            object_id=locked.code,
            department_code=locked.department.code,
            details={"provides": list(locked.provides.values_list("code", flat=True))},
        )
    return locked
