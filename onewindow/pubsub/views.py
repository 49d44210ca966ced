"""The subscriptions admin page (issue #8 item 9; docs/pubsub.md "Admin page").

Thin: call the selector or action, render. The selectors and actions check access and audit every refusal
(403 to anyone who administers no department, 404 for another department's subscription); anonymous
visitors go to the sign-in page. Only metadata is shown: counts, times, topics, keys and error codes, never
payloads.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from onewindow.accounts.models import User
from onewindow.core.errors import FieldErrors
from onewindow.pubsub import actions, selectors

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])
DEAD_LETTERS_SHOWN = 200


def signed_in(view: ViewFunc) -> ViewFunc:
    """Anonymous users go to the sign-in page; the selectors and actions check the rest."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return cast(ViewFunc, wrapped)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@require_safe
@signed_in
def subscriptions_index(request: HttpRequest) -> HttpResponse:
    """The subscriptions of the departments the user administers (system administrators: all)."""
    subscriptions = list(selectors.subscriptions_for_user(_user(request))[: selectors.LIST_LIMIT])
    counts = selectors.subscription_counts(subscriptions)
    rows = [(subscription, counts[subscription.pk]) for subscription in subscriptions]
    return render(request, "pubsub/subscriptions.html", {"rows": rows})


@require_safe
@signed_in
def subscription_detail(request: HttpRequest, code: str) -> HttpResponse:
    """One subscription: its settings, counts and dead letters (newest first), each with a replay button."""
    subscription = selectors.subscription_for_user(_user(request), code)
    counts = selectors.subscription_counts([subscription])[subscription.pk]
    dead = list(selectors.dead_letters(subscription)[:DEAD_LETTERS_SHOWN])
    return render(
        request,
        "pubsub/subscription.html",
        {"subscription": subscription, "counts": counts, "dead_letters": dead, "shown": DEAD_LETTERS_SHOWN},
    )


@require_POST
@signed_in
def dead_letters_replay(request: HttpRequest, code: str) -> HttpResponse:
    """Replay one dead letter (``event_id``) or all of them (no ``event_id``)."""
    user = _user(request)
    subscription = selectors.subscription_for_user(user, code)
    event_id = request.POST.get("event_id", "").strip()
    try:
        count = actions.deliveries_replay(
            acting_user=user, subscription=subscription, event_ids=[event_id] if event_id else None
        )
    except FieldErrors:
        messages.error(request, _("That event id is not valid."))
        return redirect("pubsub:subscription", code=subscription.code)
    if count:
        messages.success(
            request,
            _("%(count)d dead letter(s) put back in the queue.") % {"count": count},
        )
    else:
        messages.info(request, _("No dead letter to replay."))
    return redirect("pubsub:subscription", code=subscription.code)
