"""The signed-in user's notifications page: unread first, and "mark all read"."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from onewindow.accounts.models import User
from onewindow.notifications.actions import notification_mark_read
from onewindow.notifications.selectors import notifications_for_user

PAGE_SIZE = 25


@require_safe
@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    page = Paginator(notifications_for_user(user, unread_first=True), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    unread = [notification.pk for notification in page if notification.read_at is None]
    return render(
        request,
        "notifications/list.html",
        {"page": page, "notifications": list(page), "has_unread": bool(unread)},
    )


@require_POST
@login_required
def notification_read_all(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    ids = list(notifications_for_user(user).filter(read_at__isnull=True).values_list("pk", flat=True))
    updated = notification_mark_read(acting_user=user, notification_ids=ids)
    messages.success(request, _("%(count)d notifications marked as read.") % {"count": updated})
    return redirect("notifications:list")
