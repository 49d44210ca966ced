"""Notify a user: a row in their account now, e-mail and SMS after the transaction commits."""

from __future__ import annotations

import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from onewindow.accounts.models import User
from onewindow.notifications.models import Notification
from onewindow.notifications.sms import sms_sender

logger = structlog.get_logger(__name__)


def notification_send(
    *,
    user: User,
    kind: str,
    title: str,
    title_en: str = "",
    body: str = "",
    body_en: str = "",
    link: str = "",
    object_type: str = "",
    object_id: str = "",
    email: bool = True,
    sms: bool = False,
) -> Notification:
    """Record a notification for ``user`` and schedule its e-mail (and SMS) for after the commit.

    Call inside the action's transaction; if the transaction rolls back, nothing is sent. Sending
    failures are logged and never undo the action (the notification stays in the account).
    """
    notification = Notification.objects.create(
        user=user,
        kind=kind,
        title=title[:200],
        title_en=title_en[:200],
        body=body,
        body_en=body_en,
        link=link,
        object_type=object_type,
        object_id=object_id,
    )
    if email and user.email:
        transaction.on_commit(lambda: _send_email(user.email, notification))
    if sms and user.mobile:
        transaction.on_commit(lambda: _send_sms(user.mobile, notification))
    return notification


def _text(notification: Notification) -> tuple[str, str]:
    subject = (
        f"{notification.title} / {notification.title_en}" if notification.title_en else notification.title
    )
    parts = [notification.body, notification.body_en]
    if notification.link:
        parts.append(notification.link)
    return subject, "\n\n".join(part for part in parts if part)


def _send_email(address: str, notification: Notification) -> None:
    subject, body = _text(notification)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address], fail_silently=False)
    except OSError as error:  # SMTP and file-backend failures are OSErrors (smtplib.SMTPException too)
        logger.warning("notification_email_failed", notification_id=notification.pk, error=str(error))


def _send_sms(mobile: str, notification: Notification) -> None:
    try:
        sms_sender().send(mobile, notification.title)
    except OSError as error:
        logger.warning("notification_sms_failed", notification_id=notification.pk, error=str(error))


def notification_mark_read(*, acting_user: User, notification_ids: list[int]) -> int:
    """Mark the user's own notifications read; returns how many changed (others' ids are ignored)."""
    from django.utils import timezone

    return Notification.objects.filter(
        user=acting_user, pk__in=notification_ids, read_at__isnull=True
    ).update(read_at=timezone.now())
