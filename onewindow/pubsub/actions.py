"""Writes of publish/subscribe: subscriptions, replay, pull and acknowledgement (docs/pubsub.md).

Each is one transaction with its audit record. ``acting_user=None`` is a system job (the demo loader).
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.catalog.models import InformationSystem
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.organisations.models import Department
from onewindow.outbox.models import OutboxEvent
from onewindow.pubsub.filters import filters_check, topics_check
from onewindow.pubsub.models import Delivery, DeliveryMode, DeliveryStatus, Subscription
from onewindow.pubsub.protection import host_refused, secret_seal
from onewindow.pubsub.queue import CLAIMED_FIELDS, deliveries_claim, deliveries_record, deliveries_requeue
from onewindow.pubsub.selectors import administered_departments, may_manage

OBJECT_TYPE = "subscription"
SYSTEM_ACTOR = "system"
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")
PULL_MAX = 500
MAX_ATTEMPTS_LIMIT = 50


def _audit(
    acting_user: User | None, action: str, subscription: Subscription, details: dict[str, Any]
) -> None:
    audit_append(
        action=action,
        acting_user=acting_user,
        actor_username="" if acting_user else SYSTEM_ACTOR,
        object_type=OBJECT_TYPE,
        object_id=subscription.code,
        details=details,
        department_code=subscription.department.code,
    )


def _require_manager(acting_user: User | None, department_code: str, object_id: str) -> None:
    if acting_user is not None and not may_manage(acting_user, department_code):
        raise permission_denied(
            acting_user, Permission.MANAGE_DEPARTMENT, object_type=OBJECT_TYPE, object_id=object_id
        )


def _require_subscriber(acting_user: User, subscription: Subscription) -> None:
    """Pull and acknowledge: only the subscribing department's administrators receive its events."""
    if subscription.department.code not in administered_departments(acting_user):
        raise permission_denied(
            acting_user, Permission.MANAGE_DEPARTMENT, object_type=OBJECT_TYPE, object_id=subscription.code
        )


def _check_webhook(url: str, errors: list[FieldError]) -> str:
    url = url.strip()
    allowed = ("https://",) if settings.PRODUCTION else ("https://", "http://")
    if not url.startswith(allowed) or len(url) > 500 or any(c.isspace() for c in url):
        errors.append(
            FieldError(
                "webhook_url",
                "webhook_url_invalid",
                "推送模式须填写有效的 https 回调地址。",
                "Push delivery needs a valid https webhook URL.",
            )
        )
        return url
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    if not host or host_refused(host):
        errors.append(
            FieldError(
                "webhook_url",
                "webhook_url_not_public",
                "回调地址须为公网地址：不接受本机、内网、链路本地等地址。",
                "The webhook must be a public address: loopback, private and link-local addresses are "
                "refused.",
            )
        )
    return url


def subscription_create(
    *,
    acting_user: User | None,
    department_code: str,
    code: str,
    name: str,
    topics: Sequence[str],
    mode: str,
    filters: Sequence[dict[str, Any]] = (),
    webhook_url: str = "",
    system_code: str = "",
    max_attempts: int | None = None,
) -> tuple[Subscription, str]:
    """Subscribe a department (or one of its systems) to topics; returns it and, for push, its secret.

    The secret signs the webhooks (HMAC-SM3) and is shown only now (rotate it to see a new one).
    Refused: not a manager of the department (403); an unknown department or system, a code in use, bad
    topics, filters, mode or webhook URL (422).
    """
    _require_manager(acting_user, department_code, code)
    errors: list[FieldError] = []
    code = code.strip()
    if not CODE.fullmatch(code):
        errors.append(
            FieldError(
                "code", "code_invalid", "编码须为2-60位小写字母、数字或连字符。", "Code: 2-60 of a-z, 0-9, -."
            )
        )
    name = name.strip()
    if not name or len(name) > 200:
        errors.append(FieldError("name", "name_required", "请填写名称。", "Give a name."))
    checked_topics = topics_check(list(topics), errors)
    checked_filters = filters_check(list(filters), errors)
    if mode not in DeliveryMode.values:
        errors.append(
            FieldError("mode", "mode_invalid", "投递方式须为 push 或 pull。", "Mode: push or pull.")
        )
    webhook_url = _check_webhook(webhook_url, errors) if mode == DeliveryMode.PUSH else ""
    attempts = settings.PUBSUB_MAX_ATTEMPTS if max_attempts is None else max_attempts
    if not 1 <= attempts <= MAX_ATTEMPTS_LIMIT:
        errors.append(
            FieldError(
                "max_attempts", "max_attempts_invalid", "最多尝试次数须为1-50。", "Max attempts: 1-50."
            )
        )
    department = Department.objects.filter(code=department_code).first()
    if department is None:
        errors.append(FieldError("department", "department_unknown", "部门不存在。", "No such department."))
    system = None
    if system_code:
        system = InformationSystem.objects.filter(code=system_code, department=department).first()
        if system is None:
            errors.append(
                FieldError(
                    "system", "system_unknown", "该部门没有此信息系统。", "The department has no such system."
                )
            )
    if errors or department is None:
        raise FieldErrors(errors, code="subscription_invalid")
    secret = secrets.token_hex(32) if mode == DeliveryMode.PUSH else ""
    try:
        with transaction.atomic():
            subscription = Subscription.objects.create(
                code=code,
                department=department,
                system=system,
                name=name,
                topics=checked_topics,
                filters=checked_filters,
                mode=mode,
                webhook_url=webhook_url,
                secret=secret_seal(secret, subscription_code=code),
                max_attempts=attempts,
                created_by=acting_user,
            )
            _audit(
                acting_user,
                "pubsub.subscription_created",
                subscription,
                {"topics": checked_topics, "filters": checked_filters, "mode": mode, "system": system_code},
            )
    except IntegrityError:
        raise RuleViolation(
            "subscription_code_taken", "该订阅编码已被使用。", "That subscription code is taken.", status=409
        ) from None
    return subscription, secret


def subscription_active_set(
    *, acting_user: User | None, subscription: Subscription, active: bool
) -> Subscription:
    """Pause or resume a subscription (a paused one gets no new deliveries; pending ones wait)."""
    _require_manager(acting_user, subscription.department.code, subscription.code)
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk).update(active=active)
        subscription.active = active
        _audit(acting_user, "pubsub.subscription_active_set", subscription, {"active": active})
    return subscription


def subscription_secret_rotate(*, acting_user: User | None, subscription: Subscription) -> str:
    """A new webhook secret, returned once; the old one stops signing at once."""
    _require_manager(acting_user, subscription.department.code, subscription.code)
    if subscription.mode != DeliveryMode.PUSH:
        raise RuleViolation(
            "subscription_not_push",
            "拉取模式的订阅没有签名密钥。",
            "A pull subscription has no secret.",
            status=409,
        )
    secret = secrets.token_hex(32)
    with transaction.atomic():
        sealed = secret_seal(secret, subscription_code=subscription.code)
        Subscription.objects.filter(pk=subscription.pk).update(secret=sealed)
        subscription.secret = sealed
        _audit(acting_user, "pubsub.subscription_secret_rotated", subscription, {})
    return secret


def event_ids_check(event_ids: Sequence[str]) -> list[uuid.UUID]:
    """Event ids as UUIDs; refused (422) if one is not a UUID."""
    checked = []
    for value in list(event_ids)[:PULL_MAX]:
        try:
            checked.append(uuid.UUID(str(value)))
        except ValueError:
            raise FieldErrors(
                [FieldError("event_ids", "event_id_invalid", "事件编号无效。", "An event id is not valid.")],
                code="event_ids_invalid",
            ) from None
    return checked


def deliveries_replay(
    *, acting_user: User | None, subscription: Subscription, event_ids: Sequence[str] | None = None
) -> int:
    """Put dead letters back in the queue (all of the subscription's, or those of ``event_ids``).

    Each goes back to its key's queue with its attempts reset: its key's head if the key has none, else
    next after the head (docs/pubsub.md "Per-key ordering").
    """
    _require_manager(acting_user, subscription.department.code, subscription.code)
    with transaction.atomic():
        dead = Delivery.objects.filter(subscription=subscription, status=DeliveryStatus.DEAD)
        if event_ids is not None:
            dead = dead.filter(event_id__in=event_ids_check(event_ids))
        count = deliveries_requeue(dead)
        _audit(
            acting_user,
            "pubsub.deliveries_replayed",
            subscription,
            {"count": count, "events": [str(e) for e in event_ids][:100] if event_ids is not None else "all"},
        )
    return count


def deliveries_pull(*, acting_user: User, subscription: Subscription, limit: int = 100) -> list[Delivery]:
    """Fetch the subscription's due events for ``PUBSUB_LEASE_SECONDS``; acknowledge them, or they return.

    Each fetch is an attempt: an event fetched ``max_attempts`` times without acknowledgement is dead.
    """
    _require_subscriber(acting_user, subscription)
    if subscription.mode != DeliveryMode.PULL:
        raise RuleViolation(
            "subscription_not_pull",
            "该订阅为推送模式。",
            "This subscription is delivered by webhook.",
            status=409,
        )
    # The leases and their audit record commit together.
    with transaction.atomic():
        claimed = deliveries_claim(subscriptions=[subscription], limit=max(1, min(limit, PULL_MAX)))
        _audit(acting_user, "pubsub.deliveries_pulled", subscription, {"count": len(claimed)})
    events = OutboxEvent.objects.in_bulk([d.event_id for d in claimed])
    for delivery in claimed:
        delivery.event = events[delivery.event_id]
    return claimed


def deliveries_acknowledge(*, acting_user: User, subscription: Subscription, event_ids: Sequence[str]) -> int:
    """Mark pulled events delivered; acknowledging one twice or an unknown one changes nothing."""
    _require_subscriber(acting_user, subscription)
    with transaction.atomic():
        rows = list(
            Delivery.objects.only(*CLAIMED_FIELDS).filter(
                subscription=subscription,
                event_id__in=event_ids_check(event_ids),
                status__in=[DeliveryStatus.PENDING, DeliveryStatus.DEAD],
            )
        )
        for row in rows:
            row.subscription = subscription
        count = deliveries_record(delivered=rows).delivered
        _audit(acting_user, "pubsub.deliveries_acknowledged", subscription, {"count": count})
    return count


# The seed's example (issue #8): market regulation's new and changed enterprises reach tax and quality
# inspection without anyone typing them again. Pull, so the demo needs no webhook server.
DEMO_SUBSCRIPTIONS = (
    ("tax-entities", "TAX", "税务登记：新设立和变更的企业"),
    ("qi-entities", "QI", "质量监督：新设立和变更的企业"),
)


def subscriptions_demo_load() -> int:
    """Create the demo's subscriptions that do not exist yet (idempotent); return how many were created."""
    created = 0
    for code, department, name in DEMO_SUBSCRIPTIONS:
        if Subscription.objects.filter(code=code).exists():
            continue
        subscription_create(
            acting_user=None,
            department_code=department,
            code=code,
            name=name,
            topics=["entity.registered", "entity.changed"],
            mode=DeliveryMode.PULL,
        )
        created += 1
    return created
