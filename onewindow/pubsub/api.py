"""Publish/subscribe in the API. Thin: parse, authorise (selectors and actions), call, return.

* ``/api/v1/exchange/deliveries`` — delivery status (issue #8 item 8).
* ``/api/v1/exchange/subscriptions`` — subscriptions, dead letters and replay, pull and acknowledge.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import Count, Q
from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema, Status

from onewindow.accounts.api_auth import api_auth
from onewindow.accounts.models import User
from onewindow.accounts.schemas import ErrorOut
from onewindow.core.api_errors import ApiError
from onewindow.pubsub import actions, selectors
from onewindow.pubsub.models import Delivery, DeliveryStatus, Subscription
from onewindow.pubsub.schemas import (
    AckIn,
    ActiveIn,
    CountOut,
    DeadLetterOut,
    DeliveryOut,
    EventOut,
    PullIn,
    ReplayIn,
    SecretOut,
    SubscriptionCreatedOut,
    SubscriptionIn,
    SubscriptionOut,
)
from onewindow.pubsub.webhook import event_document

_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
LIST_LIMIT = 500

deliveries_router = Router(tags=["exchange"])
subscriptions_router = Router(tags=["exchange"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


class DeliveryFilters(Schema):
    topic: str = ""
    subscriber: str = ""
    key: str = ""
    status: str = ""


@deliveries_router.get(
    "",
    auth=api_auth,
    response={200: list[DeliveryOut], **_ERRORS},
    summary="Delivery status of published events (投递状态)",
    description=(
        "Administrators of the subscribing or of the publishing department; others 403. Filters: `topic`, "
        f"`subscriber` (department code), `key`, `status` (pending, delivered, dead); newest first, at most "
        f"{LIST_LIMIT}."
    ),
)
def deliveries_list(request: HttpRequest, filters: Query[DeliveryFilters]) -> list[dict[str, Any]]:
    rows = selectors.deliveries_for_user(
        _user(request),
        topic=filters.topic.strip(),
        subscriber=filters.subscriber.strip(),
        key=filters.key.strip(),
        status=filters.status.strip(),
    )[:LIST_LIMIT]
    return [
        {
            "event_id": str(row.event_id),
            "topic": row.topic,
            "key": row.key,
            "subscription": row.subscription.code,
            "subscriber": row.subscription.department.code,
            "status": row.status,
            "attempts": row.attempts,
            "delivered_at": row.delivered_at,
        }
        for row in rows
    ]


def _subscription_out(subscription: Subscription, counts: dict[str, int] | None = None) -> dict[str, Any]:
    if counts is None:
        counts = subscription.deliveries.aggregate(
            pending=Count("pk", filter=Q(status=DeliveryStatus.PENDING)),
            dead=Count("pk", filter=Q(status=DeliveryStatus.DEAD)),
        )
    return {
        "code": subscription.code,
        "department": subscription.department.code,
        "system": subscription.system.code if subscription.system else None,
        "name": subscription.name,
        "topics": subscription.topics,
        "filters": subscription.filters,
        "mode": subscription.mode,
        "webhook_url": subscription.webhook_url,
        "max_attempts": subscription.max_attempts,
        "active": subscription.active,
        "pending": counts["pending"],
        "dead": counts["dead"],
    }


def _subscription(request: HttpRequest, code: str) -> Subscription:
    try:
        return selectors.subscription_for_user(_user(request), code)
    except Http404 as missing:
        raise ApiError(404, "subscription_not_found", "订阅不存在。", "No such subscription.") from missing


def _subscriber_subscription(request: HttpRequest, code: str) -> Subscription:
    """Pull and acknowledge: the subscription of one of the caller's departments (else 404, audited 403)."""
    subscription = Subscription.objects.select_related("department").filter(code=code).first()
    if subscription is None:
        raise ApiError(404, "subscription_not_found", "订阅不存在。", "No such subscription.")
    return subscription


@subscriptions_router.get(
    "",
    auth=api_auth,
    response={200: list[SubscriptionOut], **_ERRORS},
    summary="Subscriptions the caller manages (订阅)",
    description="The subscribing departments' administrators (their own) and system administrators (all).",
)
def subscriptions_list(request: HttpRequest) -> list[dict[str, Any]]:
    subscriptions = selectors.subscriptions_for_user(_user(request)).annotate(
        pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
        dead=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.DEAD)),
    )[:LIST_LIMIT]
    return [_subscription_out(s, {"pending": s.pending, "dead": s.dead}) for s in subscriptions]


@subscriptions_router.post(
    "",
    auth=api_auth,
    response={201: SubscriptionCreatedOut, **_ERRORS},
    summary="Subscribe a department to topics",
    description=(
        "The department's administrators or system administrators. Push subscriptions get their webhook "
        "secret once, in this answer. Errors: 409 `subscription_code_taken`; 422 `subscription_invalid`."
    ),
)
def subscription_create(request: HttpRequest, body: SubscriptionIn) -> Status[dict[str, Any]]:
    subscription, secret = actions.subscription_create(
        acting_user=_user(request),
        department_code=body.department.strip(),
        code=body.code,
        name=body.name,
        topics=body.topics,
        mode=body.mode,
        filters=body.filters,
        webhook_url=body.webhook_url,
        system_code=body.system.strip(),
        max_attempts=body.max_attempts,
    )
    return Status(201, {**_subscription_out(subscription, {"pending": 0, "dead": 0}), "secret": secret})


@subscriptions_router.get(
    "/{code}", auth=api_auth, response={200: SubscriptionOut, **_ERRORS}, summary="One subscription"
)
def subscription_detail(request: HttpRequest, code: str) -> dict[str, Any]:
    return _subscription_out(_subscription(request, code))


@subscriptions_router.post(
    "/{code}/active", auth=api_auth, response={200: SubscriptionOut, **_ERRORS}, summary="Pause or resume"
)
def subscription_active(request: HttpRequest, code: str, body: ActiveIn) -> dict[str, Any]:
    subscription = actions.subscription_active_set(
        acting_user=_user(request), subscription=_subscription(request, code), active=body.active
    )
    return _subscription_out(subscription)


@subscriptions_router.post(
    "/{code}/secret",
    auth=api_auth,
    response={200: SecretOut, **_ERRORS},
    summary="Rotate the webhook secret (shown once)",
)
def subscription_secret(request: HttpRequest, code: str) -> dict[str, str]:
    secret = actions.subscription_secret_rotate(
        acting_user=_user(request), subscription=_subscription(request, code)
    )
    return {"secret": secret}


@subscriptions_router.get(
    "/{code}/dead-letters",
    auth=api_auth,
    response={200: list[DeadLetterOut], **_ERRORS},
    summary="Dead letters (死信): metadata, never payloads",
)
def dead_letters(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    rows: list[Delivery] = list(selectors.dead_letters(_subscription(request, code))[:LIST_LIMIT])
    return [
        {
            "event_id": str(row.event_id),
            "topic": row.topic,
            "key": row.key,
            "attempts": row.attempts,
            "last_error": row.last_error,
            "event_created_at": row.event_created_at,
            "dead_at": row.dead_at,
        }
        for row in rows
    ]


@subscriptions_router.post(
    "/{code}/replay",
    auth=api_auth,
    response={200: CountOut, **_ERRORS},
    summary="Replay dead letters (one, several, or all)",
)
def replay(request: HttpRequest, code: str, body: ReplayIn) -> dict[str, int]:
    count = actions.deliveries_replay(
        acting_user=_user(request), subscription=_subscription(request, code), event_ids=body.event_ids
    )
    return {"count": count}


@subscriptions_router.post(
    "/{code}/pull",
    auth=api_auth,
    response={200: list[EventOut], **_ERRORS},
    summary="Fetch due events (pull subscriptions)",
    description=(
        "The subscribing department's administrators. Events come in order per key; acknowledge them with "
        "`/ack` within `ONEWINDOW_PUBSUB_LEASE_SECONDS` or they are handed out again (at least once: use "
        "`event_id` to ignore a second copy)."
    ),
)
def pull(request: HttpRequest, code: str, body: PullIn) -> list[dict[str, Any]]:
    deliveries = actions.deliveries_pull(
        acting_user=_user(request), subscription=_subscriber_subscription(request, code), limit=body.limit
    )
    return [event_document(delivery) for delivery in deliveries]


@subscriptions_router.post(
    "/{code}/ack", auth=api_auth, response={200: CountOut, **_ERRORS}, summary="Acknowledge pulled events"
)
def ack(request: HttpRequest, code: str, body: AckIn) -> dict[str, int]:
    count = actions.deliveries_acknowledge(
        acting_user=_user(request),
        subscription=_subscriber_subscription(request, code),
        event_ids=body.event_ids,
    )
    return {"count": count}
