"""Reads of publish/subscribe that check who asks (docs/pubsub.md "Who may").

* Subscriptions (and their dead letters) are read by the subscribing department's administrators and by
  system administrators.
* Delivery status is read by the administrators of the subscribing or of the publishing department.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission, user_roles
from onewindow.accounts.roles import ROLE_PERMISSIONS, Permission
from onewindow.pubsub.models import Delivery, DeliveryStatus, Subscription

OBJECT_TYPE = "subscription"
LIST_LIMIT = 500


def administered_departments(user: User) -> set[str]:
    """Codes of the departments ``user`` administers (``MANAGE_DEPARTMENT`` held in that department)."""
    return {
        grant.department_code
        for grant in user_roles(user)
        if grant.department_code and Permission.MANAGE_DEPARTMENT in ROLE_PERMISSIONS[grant.role]
    }


def may_manage(user: User, department_code: str) -> bool:
    """True if ``user`` may manage ``department_code``'s subscriptions."""
    return department_code in administered_departments(user) or user_has_permission(
        user, Permission.MANAGE_SYSTEM
    )


def subscriptions_for_user(user: User) -> QuerySet[Subscription]:
    """The subscriptions ``user`` manages; refused (audited) to anyone who manages none."""
    base = Subscription.objects.select_related("department", "system")
    if user_has_permission(user, Permission.MANAGE_SYSTEM):
        return base.order_by("department__code", "code")
    departments = administered_departments(user)
    if not departments:
        raise permission_denied(user, Permission.MANAGE_DEPARTMENT, object_type=OBJECT_TYPE)
    return base.filter(department__code__in=departments).order_by("department__code", "code")


def subscription_for_user(user: User, code: str) -> Subscription:
    subscription = subscriptions_for_user(user).filter(code=code).first()
    if subscription is None:
        raise Http404(code)
    return subscription


def dead_letters(subscription: Subscription) -> QuerySet[Delivery]:
    """A managed subscription's dead letters, newest first (metadata only; the caller checked access)."""
    return subscription.deliveries.filter(status=DeliveryStatus.DEAD).order_by("-dead_at", "-pk")


def deliveries_for_user(
    user: User, *, topic: str = "", subscriber: str = "", key: str = "", status: str = ""
) -> QuerySet[Delivery]:
    """Delivery status rows the administrators of the subscribing or publishing department may see.

    Refused (audited) to anyone who administers no department.
    """
    departments = administered_departments(user)
    if not departments:
        raise permission_denied(user, Permission.MANAGE_DEPARTMENT, object_type="delivery")
    rows = Delivery.objects.select_related("subscription__department").filter(
        Q(subscription__department__code__in=departments) | Q(publisher__in=departments)
    )
    if topic:
        rows = rows.filter(topic=topic)
    if subscriber:
        rows = rows.filter(subscription__department__code=subscriber)
    if key:
        rows = rows.filter(key=key)
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-event_created_at", "-pk")


@dataclass
class SubscriptionCounts:
    """A subscription's deliveries by status and its last delivery (the admin page; metadata only)."""

    pending: int = 0
    delivered: int = 0
    dead: int = 0
    last_delivered_at: datetime | None = None


def subscription_counts(subscriptions: Sequence[Subscription]) -> dict[int, SubscriptionCounts]:
    """Counts of the given (already access-checked) subscriptions, from one grouped query."""
    counts = {subscription.pk: SubscriptionCounts() for subscription in subscriptions}
    rows = (
        Delivery.objects.filter(subscription__in=list(counts))
        .values_list("subscription_id", "status")
        .order_by()
        .annotate(count=Count("id"), last=Max("delivered_at"))
    )
    for subscription_id, status, count, last in rows:
        entry = counts[subscription_id]
        if status == DeliveryStatus.DELIVERED:
            entry.delivered, entry.last_delivered_at = count, last
        elif status == DeliveryStatus.DEAD:
            entry.dead = count
        else:
            entry.pending = count
    return counts
