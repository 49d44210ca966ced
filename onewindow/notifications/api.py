"""``/api/v1/notifications``: the caller's own notifications, newest first, and marking them read."""

from __future__ import annotations

from typing import cast

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from onewindow.accounts.api_auth import api_auth
from onewindow.accounts.models import User
from onewindow.core.pagination import BoundedLimitOffsetPagination
from onewindow.notifications.actions import notification_mark_read
from onewindow.notifications.models import Notification
from onewindow.notifications.schemas import (
    NotificationErrorOut,
    NotificationOut,
    NotificationReadIn,
    NotificationReadOut,
)
from onewindow.notifications.selectors import notifications_for_user

router = Router(tags=["notifications"])

_ERRORS = {401: NotificationErrorOut, 422: NotificationErrorOut}


@router.get(
    "/notifications",
    auth=api_auth,
    response={200: list[NotificationOut], **_ERRORS},
    summary="List my notifications",
    description="The caller's own notifications, newest first (`limit`/`offset` pagination).",
)
@paginate(BoundedLimitOffsetPagination)
def notification_list(request: HttpRequest) -> QuerySet[Notification]:
    return notifications_for_user(cast(User, request.user))


@router.post(
    "/notifications/read",
    auth=api_auth,
    response={200: NotificationReadOut, **_ERRORS},
    summary="Mark notifications read",
    description="Marks the given notifications of the caller read; other users' ids are ignored.",
)
def notification_read(request: HttpRequest, body: NotificationReadIn) -> NotificationReadOut:
    updated = notification_mark_read(acting_user=cast(User, request.user), notification_ids=body.ids)
    return NotificationReadOut(updated=updated)
