"""The answer deadline of sharing requests: lights and escalation, as in the back office (no web code).

A pending request is due ``ONEWINDOW_CATALOG_ANSWER_DAYS`` working days after the day it was made
(``actions_sharing.share_request_create``). Its light follows the back office's rule
(``workflow.clock.light_for``: red past due, yellow within ``ONEWINDOW_WORKFLOW_YELLOW_DAYS`` working
days, green otherwise) and is kept by :func:`share_request_lights_refresh` in one SQL ``UPDATE``.

Escalation reuses the back office's rules (``workflow.EscalationRule``, edited on the escalation rules
page): each active rule fires at most once per pending request (``ShareRequestEscalation``), a
department's own rule replaces the default with the same light and overdue days, and red rules wait
for their overdue working days (``workflow.deadlines.overdue_cutoff``). A request has no assignee: the
"assignee" and "department admin" targets both reach the provider department's administrators, who
answer it; "leader" reaches the leaders (platform-wide or of the provider department).

Both run every ten minutes with the back office's lights (``catalog.schedules``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.db.models import Case, Exists, OuterRef, Q, Value, When
from django.utils import timezone

from onewindow.accounts.models import Membership, User
from onewindow.accounts.roles import Role
from onewindow.applications.tracking import china_date
from onewindow.audit.actions import audit_append
from onewindow.catalog.actions_sharing import REQUEST_OBJECT, department_admins
from onewindow.catalog.models import ShareRequest, ShareRequestEscalation, ShareRequestStatus
from onewindow.core.logging import get_logger
from onewindow.notifications.actions import notification_send
from onewindow.workflow.clock import light_thresholds
from onewindow.workflow.deadlines import LIGHT_NAMES, overdue_cutoff
from onewindow.workflow.models import EscalationRule, EscalationTarget, Light

logger = get_logger(__name__)


def share_request_lights_refresh(*, today: datetime | None = None) -> int:
    """Recompute the lights of pending requests in one ``UPDATE``; returns the rows that changed."""
    thresholds = light_thresholds(china_date(today) if today else None)
    red = Q(due_date__lt=thresholds.today)
    yellow = Q(due_date__gte=thresholds.today, due_date__lte=thresholds.yellow_until)
    green = Q(due_date__isnull=True) | Q(due_date__gt=thresholds.yellow_until)
    changed = (
        (red & ~Q(light=Light.RED)) | (yellow & ~Q(light=Light.YELLOW)) | (green & ~Q(light=Light.GREEN))
    )
    count = ShareRequest.objects.filter(changed, status=ShareRequestStatus.PENDING).update(
        light=Case(
            When(red, then=Value(Light.RED.value)),
            When(yellow, then=Value(Light.YELLOW.value)),
            default=Value(Light.GREEN.value),
        )
    )
    logger.info("share_request_lights_refreshed", changed=count)
    return count


def _leaders(department_code: str, now: datetime) -> list[User]:
    memberships = (
        Membership.objects.filter(role=Role.LEADER, user__is_active=True)
        .filter(Q(department__isnull=True) | Q(department__code=department_code))
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=now))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .select_related("user")
    )
    return list({membership.user.pk: membership.user for membership in memberships}.values())


def share_request_escalations_run(*, now: datetime | None = None) -> int:
    """Fire the back office's escalation rules for pending requests; returns the firings recorded."""
    now = now or timezone.now()
    today = china_date(now)
    overrides: dict[tuple[str, int], set[str]] = defaultdict(set)
    for code, light, days in EscalationRule.objects.exclude(department_code="").values_list(
        "department_code", "light", "overdue_working_days"
    ):
        overrides[(light, days)].add(code)
    fired = 0
    for rule in EscalationRule.objects.filter(active=True).order_by("id"):
        candidates = ShareRequest.objects.filter(status=ShareRequestStatus.PENDING, light=rule.light)
        if rule.department_code:
            candidates = candidates.filter(provider__code=rule.department_code)
        elif overrides.get((rule.light, rule.overdue_working_days)):
            candidates = candidates.exclude(
                provider__code__in=overrides[(rule.light, rule.overdue_working_days)]
            )
        if rule.light == Light.RED:
            candidates = candidates.filter(due_date__lte=overdue_cutoff(today, rule.overdue_working_days))
        candidates = candidates.filter(
            ~Exists(ShareRequestEscalation.objects.filter(request_id=OuterRef("pk"), rule=rule))
        ).select_related("provider", "consumer", "version")
        by_provider: dict[int, list[ShareRequest]] = defaultdict(list)
        for request in candidates.order_by("pk")[:1000]:
            by_provider[request.provider_id].append(request)
        for requests in by_provider.values():
            provider = requests[0].provider
            if rule.target == EscalationTarget.LEADER:
                recipients = _leaders(provider.code, now)
            else:
                recipients = department_admins(provider)
            fired += _send(rule, requests, recipients, now=now)
    logger.info("share_request_escalations_run", fired=fired)
    return fired


def _send(
    rule: EscalationRule, requests: list[ShareRequest], recipients: list[User], *, now: datetime
) -> int:
    with transaction.atomic():
        ShareRequestEscalation.objects.bulk_create(
            [
                ShareRequestEscalation(request=request, rule=rule, sent_at=now, recipients=len(recipients))
                for request in requests
            ],
            ignore_conflicts=True,
        )
        mine = set(
            ShareRequestEscalation.objects.filter(rule=rule, request__in=requests, sent_at=now).values_list(
                "request_id", flat=True
            )
        )
        fired = [request for request in requests if request.pk in mine]
        if not fired:
            return 0
        light_zh, light_en = LIGHT_NAMES[rule.light]
        lines = [
            f"{request.version.name}（{request.consumer.name}）答复期限 {request.due_date}"
            for request in fired
        ]
        lines_en = [
            f"{request.version.name_en or request.version.name} ({request.consumer.code}) "
            f"due {request.due_date}"
            for request in fired
        ]
        for user in recipients:
            notification_send(
                user=user,
                kind="share_request_escalated",
                title=f"督办提醒：{len(fired)} 项共享申请{light_zh}",
                title_en=f"Supervision reminder: {len(fired)} sharing request(s) {light_en}",
                body="\n".join(lines[:20]),
                body_en="\n".join(lines_en[:20]),
                link="/catalog/share-requests/?box=received&status=pending",
                object_type=REQUEST_OBJECT,
                object_id=str(fired[0].pk),
            )
        audit_append(
            action="catalog.share_request_escalated",
            acting_user=None,
            actor_username="scheduler",
            object_type="escalation_rule",
            object_id=rule.pk,
            department_code=fired[0].provider.code,
            details={
                "light": rule.light,
                "overdue_working_days": rule.overdue_working_days,
                "target": rule.target,
                "requests": [request.pk for request in fired],
                "recipients": len(recipients),
            },
        )
    return len(fired)
