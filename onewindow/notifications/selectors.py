"""Reads of notifications: a user only ever sees their own."""

from __future__ import annotations

from django.db.models import F, QuerySet

from onewindow.accounts.models import User
from onewindow.notifications.models import Notification


def notifications_for_user(user: User, *, unread_first: bool = False) -> QuerySet[Notification]:
    """The user's own notifications, newest first (unread ones first when ``unread_first``)."""
    notifications = Notification.objects.filter(user=user)
    if unread_first:
        return notifications.order_by(F("read_at").desc(nulls_first=True), "-created_at", "-id")
    return notifications.order_by("-created_at", "-id")


def unread_notification_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
