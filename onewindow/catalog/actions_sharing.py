"""Sharing requests and grants: request, decide, revoke (issue #7 item 4; State Council 2016 No. 51).

Who may do what:

* **Request** — the administrators of the consumer department (``MANAGE_DEPARTMENT`` there). A request
  commits the department to a purpose and a legal basis, so it is made by the official who answers for
  the department's use of data, as cataloguing is (docs/catalog.md). Handlers see their department's
  requests and grants but do not make them. A department does not request its own resources.
* **Decide** — the administrators of the provider department, and nobody else: the provider answers for
  its data (No. 51 Art. 12). A refusal needs a reason.
* **Revoke** — the provider department's administrators and the system administrators, with a reason.

The three paths (No. 51 Art. 5): a resource **not shared** (or a not-shared data item) cannot be requested
— the refusal names the law or policy the provider gave; when every requested item is shared
**unconditionally** the request is recorded as auto-approved and the grant made at once; otherwise
(**conditional** items) the provider's administrators are notified and must answer within
``ONEWINDOW_CATALOG_ANSWER_DAYS`` working days (default 10, No. 51 Art. 12) on the platform's calendar,
with the back office's lights and escalation rules (``catalog.sharing_deadlines``).

Each action is one transaction with its audit record; notifications are recorded inside it and sent
after the commit (``notification_send``). Refusals are audited (``permission.denied``) and change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from onewindow.accounts.models import Membership, User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission, Role
from onewindow.applications.tracking import china_date
from onewindow.audit.actions import audit_append
from onewindow.catalog.models import (
    DataItem,
    Grant,
    GrantStatus,
    InformationSystem,
    Resource,
    ResourceStatus,
    ResourceVersion,
    ShareRequest,
    ShareRequestStatus,
    SharingType,
)
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.notifications.actions import notification_send
from onewindow.organisations.models import Department
from onewindow.workcalendar.calendar import add_working_days
from onewindow.workflow.clock import light_for, light_thresholds

REQUEST_OBJECT = "catalog_share_request"
GRANT_OBJECT = "catalog_grant"
TEXT_LIMIT = 2_000
REASON_LIMIT = 1_000
# A grant lasts at most this long; a longer need is a new request (the provider looks at it again).
MAX_GRANT_DAYS = 5 * 366


# --- Who may ---------------------------------------------------------------------------------------------


def may_request_for(user: User, department_code: str) -> bool:
    """True if ``user`` may request resources for ``department_code`` (its administrators).

    ``MANAGE_DEPARTMENT`` belongs to the department administrator only, and always with a department."""
    return user_has_permission(user, Permission.MANAGE_DEPARTMENT, department_code=department_code)


def may_decide(user: User, provider_code: str) -> bool:
    """True if ``user`` administers the provider department (only they answer a request)."""
    return user_has_permission(user, Permission.MANAGE_DEPARTMENT, department_code=provider_code)


def may_revoke(user: User, provider_code: str) -> bool:
    return may_decide(user, provider_code) or user_has_permission(user, Permission.MANAGE_SYSTEM)


# --- The sharing type, item by item ------------------------------------------------------------------------


def not_shared_refusal(resource: Resource, version: ResourceVersion) -> RuleViolation | None:
    """Why ``resource`` cannot be requested at all (not shared), or None."""
    if resource.status != ResourceStatus.ACTIVE:
        return RuleViolation(
            "resource_withdrawn",
            f"资源 {resource.code} 已撤销，不能申请共享。",
            f"Resource {resource.code} has been withdrawn; it cannot be requested.",
            status=409,
        )
    if version.sharing_type == SharingType.NOT_SHARED:
        basis = version.sharing_condition or "—"
        return RuleViolation(
            "resource_not_shared",
            f"资源 {resource.code} 不予共享，不能申请。依据：{basis}",
            f"Resource {resource.code} is not shared and cannot be requested. Basis: {basis}",
            status=409,
        )
    return None


def _clean_items(
    version: ResourceVersion, item_names: Sequence[str], errors: list[FieldError]
) -> list[DataItem]:
    by_name = {item.name: item for item in version.data_items.order_by("position")}
    wanted = list(
        dict.fromkeys(name.strip() for name in item_names if isinstance(name, str) and name.strip())
    )
    if not wanted:
        errors.append(
            FieldError("items", "items_required", "请选择需要的信息项。", "Choose the data items you need.")
        )
        return []
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        errors.append(
            FieldError(
                "items",
                "item_not_found",
                f"资源第 {version.number} 版中没有信息项：{'、'.join(unknown)}。",
                f"Version {version.number} of the resource has no data item {', '.join(unknown)}.",
            )
        )
    not_shared = [name for name in wanted if name in by_name and by_name[name].sharing_type == "not_shared"]
    if not_shared:
        basis = version.sharing_condition or "—"
        errors.append(
            FieldError(
                "items",
                "item_not_shared",
                f"信息项 {'、'.join(not_shared)} 不予共享，不能申请。依据：{basis}",
                f"Data item {', '.join(not_shared)} is not shared and cannot be requested. Basis: {basis}",
            )
        )
    return [by_name[name] for name in wanted if name in by_name]


def _clean_text(field: str, value: str, zh: str, en: str, errors: list[FieldError], limit: int) -> str:
    text = (value or "").strip()
    if not text:
        errors.append(FieldError(field, f"{field}_required", f"请填写{zh}。", f"Enter the {en}."))
    elif len(text) > limit:
        errors.append(
            FieldError(
                field,
                f"{field}_too_long",
                f"{zh}不能超过 {limit} 个字符。",
                f"The {en} can have at most {limit} characters.",
            )
        )
    return text


def _clean_until(until: date | None, today: date, errors: list[FieldError]) -> date | None:
    if until is None:
        errors.append(
            FieldError(
                "until", "until_required", "请填写使用截止日期。", "Enter the date you need the data until."
            )
        )
        return None
    if until <= today:
        errors.append(
            FieldError("until", "until_past", "使用截止日期应晚于今天。", "The date must be after today.")
        )
    elif until > today + timedelta(days=MAX_GRANT_DAYS):
        errors.append(
            FieldError(
                "until",
                "until_too_far",
                "使用期限最长五年，到期后可重新申请。",
                "Data can be granted for at most five years; request again after that.",
            )
        )
    return until


# --- Notifications and audit -------------------------------------------------------------------------------


def department_admins(department: Department) -> list[User]:
    now = timezone.now()
    memberships = (
        Membership.objects.filter(role=Role.DEPARTMENT_ADMIN, department=department, user__is_active=True)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=now))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .select_related("user")
        .order_by("user_id")
    )
    return list({membership.user.pk: membership.user for membership in memberships}.values())


def _request_link(request: ShareRequest) -> str:
    return f"/catalog/share-requests/{request.pk}/"


def _audit(
    acting_user: User | None,
    action: str,
    *,
    object_type: str,
    object_id: int,
    department: str,
    **details: Any,
) -> None:
    audit_append(
        action=action,
        acting_user=acting_user,
        actor_username="" if acting_user else "system",
        object_type=object_type,
        object_id=object_id,
        department_code=department,
        details=details,
    )


def _grant_from(request: ShareRequest, items: list[DataItem], *, granted_by: User | None, now: Any) -> Grant:
    grant = Grant.objects.create(
        request=request,
        resource=request.resource,
        version=request.version,
        consumer=request.consumer,
        provider=request.provider,
        system=request.system,
        item_names=[item.name for item in items],
        expires_on=request.until,
        granted_at=now,
        granted_by=granted_by,
    )
    grant.data_items.set(items)
    return grant


# --- Actions -----------------------------------------------------------------------------------------------


def share_request_create(
    *,
    acting_user: User,
    resource: Resource,
    consumer_department: str,
    items: Sequence[str],
    purpose: str,
    legal_basis: str,
    until: date | None,
    system: InformationSystem | None = None,
) -> ShareRequest:
    """Request data items ``items`` (names) of ``resource`` for ``consumer_department`` (and ``system``).

    Not-shared resources and items are refused with the provider's basis; unconditional items are granted
    at once (status ``auto_approved``); otherwise the request waits for the provider, due in
    ``CATALOG_ANSWER_DAYS`` working days.
    """
    if not may_request_for(acting_user, consumer_department):
        raise permission_denied(
            acting_user, Permission.MANAGE_DEPARTMENT, object_type=REQUEST_OBJECT, object_id=resource.code
        )
    consumer = Department.objects.filter(code=consumer_department, is_active=True).first()
    if consumer is None:
        raise RuleViolation(
            "department_not_found",
            f"部门 {consumer_department} 不存在或已停用。",
            f"Department {consumer_department} does not exist or is inactive.",
            field="consumer",
        )
    if resource.provider_id == consumer.pk:
        raise RuleViolation(
            "share_request_own_resource",
            "本部门的资源无需申请共享。",
            "Your department provides this resource; it needs no sharing request.",
            status=409,
        )
    version = resource.current_version
    if version is None:  # pragma: no cover - resource_create always publishes version 1
        raise RuleViolation("version_missing", "该资源没有版本。", "The resource has no version.")
    refusal = not_shared_refusal(resource, version)
    if refusal is not None:
        raise refusal
    if system is not None and system.department_id != consumer.pk:
        raise RuleViolation(
            "system_not_own",
            f"信息系统 {system.code} 不属于{consumer.name}。",
            f"Information system {system.code} does not belong to {consumer.name_en or consumer.code}.",
            field="system",
        )
    now = timezone.now()
    today = china_date(now)
    errors: list[FieldError] = []
    chosen = _clean_items(version, items, errors)
    purpose = _clean_text("purpose", purpose, "使用用途", "purpose", errors, TEXT_LIMIT)
    legal_basis = _clean_text("legal_basis", legal_basis, "法律依据", "legal basis", errors, TEXT_LIMIT)
    until = _clean_until(until, today, errors)
    if errors or until is None:
        raise FieldErrors(errors, code="share_request_invalid")
    automatic = all(item.sharing_type == SharingType.UNCONDITIONAL for item in chosen)
    with transaction.atomic():
        due = None if automatic else add_working_days(today, settings.CATALOG_ANSWER_DAYS)
        request = ShareRequest.objects.create(
            resource=resource,
            version=version,
            consumer=consumer,
            provider=resource.provider,
            system=system,
            purpose=purpose,
            legal_basis=legal_basis,
            until=until,
            status=ShareRequestStatus.AUTO_APPROVED if automatic else ShareRequestStatus.PENDING,
            requested_by=acting_user,
            requested_at=now,
            due_date=due,
            light=light_for(due, light_thresholds(today)),
            decided_at=now if automatic else None,
        )
        request.data_items.set(chosen)
        names = [item.name for item in chosen]
        _audit(
            acting_user,
            "catalog.share_requested",
            object_type=REQUEST_OBJECT,
            object_id=request.pk,
            department=consumer.code,
            resource=resource.code,
            version=version.number,
            provider=resource.provider.code,
            items=names,
            purpose=purpose,
            legal_basis=legal_basis,
            until=until.isoformat(),
            system=system.code if system else None,
            status=request.status,
            due_date=due.isoformat() if due else None,
        )
        if automatic:
            grant = _grant_from(request, chosen, granted_by=None, now=now)
            _audit(
                None,
                "catalog.share_auto_granted",
                object_type=GRANT_OBJECT,
                object_id=grant.pk,
                department=resource.provider.code,
                request=request.pk,
                resource=resource.code,
                consumer=consumer.code,
                items=names,
                expires_on=until.isoformat(),
            )
        else:
            assert due is not None  # noqa: S101 - set above for every request that waits
            for admin in department_admins(resource.provider):
                notification_send(
                    user=admin,
                    kind="share_request",
                    title=f"共享申请待答复：{version.name}（{consumer.name}）",
                    title_en=f"Sharing request to answer: {version.name_en or version.name} "
                    f"({consumer.name_en or consumer.code})",
                    body=f"申请信息项：{'、'.join(names)}；用途：{purpose}；请于 {due.isoformat()} 前答复。",
                    body_en=f"Data items: {', '.join(names)}; purpose: {purpose}; "
                    f"answer by {due.isoformat()}.",
                    link=_request_link(request),
                    object_type=REQUEST_OBJECT,
                    object_id=str(request.pk),
                )
    return request


def share_request_decide(
    *, acting_user: User, request: ShareRequest, approve: bool, reason: str = ""
) -> ShareRequest:
    """Approve (a grant of the requested items until the requested date) or refuse (reason required) a
    pending request. Only the provider department's administrators."""
    if not may_decide(acting_user, request.provider.code):
        raise permission_denied(
            acting_user, Permission.MANAGE_DEPARTMENT, object_type=REQUEST_OBJECT, object_id=str(request.pk)
        )
    reason = (reason or "").strip()
    if not approve and not reason:
        raise FieldErrors(
            [FieldError("reason", "reason_required", "不予同意须说明理由。", "A refusal needs a reason.")],
            code="share_decision_invalid",
        )
    if len(reason) > REASON_LIMIT:
        raise FieldErrors(
            [
                FieldError(
                    "reason",
                    "reason_too_long",
                    f"理由不能超过 {REASON_LIMIT} 个字符。",
                    f"The reason can have at most {REASON_LIMIT} characters.",
                )
            ],
            code="share_decision_invalid",
        )
    with transaction.atomic():
        locked = (
            ShareRequest.objects.select_for_update(of=("self",))
            .select_related("resource", "consumer", "provider", "version", "requested_by")
            .get(pk=request.pk)
        )
        if locked.status != ShareRequestStatus.PENDING:
            raise RuleViolation(
                "share_request_decided",
                "该共享申请已经答复。",
                "The sharing request has already been answered.",
                status=409,
            )
        now = timezone.now()
        today = china_date(now)
        if approve and locked.until < today:
            raise RuleViolation(
                "share_request_lapsed",
                "申请的使用截止日期已过，不能同意；请申请方重新申请。",
                "The date the data was needed until has passed; the consumer must request again.",
                status=409,
            )
        locked.status = ShareRequestStatus.APPROVED if approve else ShareRequestStatus.REFUSED
        locked.decided_by, locked.decided_at, locked.decision_reason = acting_user, now, reason
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        items = list(locked.data_items.order_by("position"))
        names = [item.name for item in items]
        details: dict[str, Any] = {
            "resource": locked.resource.code,
            "consumer": locked.consumer.code,
            "items": names,
            "reason": reason,
            "answered_by_due_date": bool(locked.due_date and today <= locked.due_date),
        }
        if approve:
            grant = _grant_from(locked, items, granted_by=acting_user, now=now)
            details["grant"] = grant.pk
            details["expires_on"] = locked.until.isoformat()
        _audit(
            acting_user,
            "catalog.share_approved" if approve else "catalog.share_refused",
            object_type=REQUEST_OBJECT,
            object_id=locked.pk,
            department=locked.provider.code,
            **details,
        )
        outcome_zh, outcome_en = ("已同意", "approved") if approve else ("不予同意", "refused")
        notification_send(
            user=locked.requested_by,
            kind="share_decided",
            title=f"共享申请{outcome_zh}：{locked.version.name}",
            title_en=f"Sharing request {outcome_en}: {locked.version.name_en or locked.version.name}",
            body=reason,
            body_en=reason,
            link=_request_link(locked),
            object_type=REQUEST_OBJECT,
            object_id=str(locked.pk),
        )
    return locked


def grant_revoke(*, acting_user: User, grant: Grant, reason: str) -> Grant:
    """Revoke an active grant (the provider's administrators or a system administrator), with a reason.

    The consumer's administrators are told. A revoked grant stays on record.
    """
    if not may_revoke(acting_user, grant.provider.code):
        raise permission_denied(
            acting_user, Permission.MANAGE_DEPARTMENT, object_type=GRANT_OBJECT, object_id=str(grant.pk)
        )
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_LIMIT:
        raise FieldErrors(
            [
                FieldError(
                    "reason",
                    "reason_required" if not reason else "reason_too_long",
                    "请填写撤销授权的理由。" if not reason else f"理由不能超过 {REASON_LIMIT} 个字符。",
                    "Enter why the grant is revoked."
                    if not reason
                    else f"The reason can have at most {REASON_LIMIT} characters.",
                )
            ],
            code="grant_revoke_invalid",
        )
    with transaction.atomic():
        locked = (
            Grant.objects.select_for_update(of=("self",))
            .select_related("resource", "consumer", "provider", "version")
            .get(pk=grant.pk)
        )
        if locked.status != GrantStatus.ACTIVE:
            raise RuleViolation(
                "grant_revoked", "该授权已经撤销。", "The grant has already been revoked.", status=409
            )
        now = timezone.now()
        locked.status = GrantStatus.REVOKED
        locked.revoked_at, locked.revoked_by, locked.revoke_reason = now, acting_user, reason
        locked.save(update_fields=["status", "revoked_at", "revoked_by", "revoke_reason"])
        _audit(
            acting_user,
            "catalog.grant_revoked",
            object_type=GRANT_OBJECT,
            object_id=locked.pk,
            department=locked.provider.code,
            resource=locked.resource.code,
            consumer=locked.consumer.code,
            items=list(locked.item_names),
            reason=reason,
        )
        for admin in department_admins(locked.consumer):
            notification_send(
                user=admin,
                kind="grant_revoked",
                title=f"共享授权已撤销：{locked.version.name}",
                title_en=f"Sharing grant revoked: {locked.version.name_en or locked.version.name}",
                body=reason,
                body_en=reason,
                link="/catalog/grants/",
                object_type=GRANT_OBJECT,
                object_id=str(locked.pk),
            )
    return locked
