"""The publish/subscribe API, each endpoint for every role (issue #8 items 4 and 8).

Managing subscriptions and replaying dead letters: the subscribing department's administrators and system
administrators. Pulling and acknowledging: the subscribing department's administrators. Delivery status:
administrators of the subscribing or publishing department. A refusal changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from conftest import ALL_ROLES
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.audit.models import AuditRecord
from onewindow.pubsub.actions import subscription_create
from onewindow.pubsub.backends.database import DatabaseBackend
from onewindow.pubsub.models import Delivery, DeliveryStatus, Subscription
from onewindow.pubsub.tests.conftest import dispatch_until_idle, entity_event

pytestmark = pytest.mark.django_db

BASE = "/api/v1/exchange"
MANAGERS = {"department_admin", "system_admin"}


@pytest.fixture
def subscription(role_users: dict[str, Any]) -> Subscription:
    """A TDEPT pull subscription with one pending and one dead delivery."""
    subscription, _ = subscription_create(
        acting_user=None,
        department_code="TDEPT",
        code="tdept-entities",
        name="企业",
        topics=["entity.*"],
        mode="pull",
    )
    entity_event("91350100M000100Y43")
    entity_event("91350100M000200Y11")
    dispatch_until_idle(DatabaseBackend())
    Delivery.objects.filter(key="91350100M000200Y11").update(status=DeliveryStatus.DEAD, attempts=8)
    return subscription


def _call(
    role: str,
    role_users: dict[str, Any],
    api_token_for: Callable[[object], str],
    method: str,
    path: str,
    body: object = None,
) -> Any:
    headers: dict[str, str] = (
        {} if role == "anonymous" else {"Authorization": f"Bearer {api_token_for(role_users[role])}"}
    )
    client = Client()
    if method == "get":
        return client.get(path, headers=headers)
    return client.post(path, data=json.dumps(body or {}), content_type="application/json", headers=headers)


def _state() -> list[tuple[str, str, int]]:
    return list(Delivery.objects.order_by("pk").values_list("key", "status", "attempts"))


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_delivery_status_for_the_subscribing_departments_admins_only(
    role: str, role_users: dict[str, Any], api_token_for: Callable[[object], str], subscription: Subscription
) -> None:
    response = _call(
        role, role_users, api_token_for, "get", f"{BASE}/deliveries?subscriber=TDEPT&topic=entity.registered"
    )
    if role == "department_admin":
        assert response.status_code == 200
        body = response.json()
        assert sorted((row["key"], row["status"], row["attempts"]) for row in body) == [
            ("91350100M000100Y43", "pending", 0),
            ("91350100M000200Y11", "dead", 8),
        ]
        assert set(body[0]) == {
            "event_id",
            "topic",
            "key",
            "subscription",
            "subscriber",
            "status",
            "attempts",
            "delivered_at",
        }
    else:
        assert response.status_code == (401 if role == "anonymous" else 403)


def test_delivery_status_for_the_publishing_departments_admins_and_filters(
    role_users: dict[str, Any], api_token_for: Callable[[object], str], subscription: Subscription
) -> None:
    # Given an administrator of market regulation (the register that published the events)
    amr = staff_user(Role.DEPARTMENT_ADMIN, department_code="AMR", username="amr_admin")
    other = staff_user(Role.DEPARTMENT_ADMIN, department_code="TAX", username="tax_admin")
    token = api_token_for(amr)
    response = Client().get(f"{BASE}/deliveries?key=91350100M000200Y11", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert [(row["key"], row["status"]) for row in response.json()] == [("91350100M000200Y11", "dead")]
    response = Client().get(f"{BASE}/deliveries?status=pending", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert [row["key"] for row in response.json()] == ["91350100M000100Y43"]
    # An administrator of an unrelated department sees none of them
    response = Client().get(f"{BASE}/deliveries", HTTP_AUTHORIZATION=f"Bearer {api_token_for(other)}")
    assert (response.status_code, response.json()) == (200, [])


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_create_a_subscription(
    role: str, role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    body = {
        "department": "TDEPT",
        "code": "tdept-hook",
        "name": "推送",
        "topics": ["entity.registered"],
        "mode": "push",
        "webhook_url": "https://tax.example.cn/hook",
        "filters": [{"field": "type", "op": "in", "value": ["company"]}],
    }
    response = _call(role, role_users, api_token_for, "post", f"{BASE}/subscriptions", body)
    if role in MANAGERS:
        assert response.status_code == 201, response.content
        created = response.json()
        assert len(created["secret"]) == 64
        assert (created["mode"], created["topics"], created["pending"]) == ("push", ["entity.registered"], 0)
        assert (
            AuditRecord.objects.filter(action="pubsub.subscription_created", object_id="tdept-hook").count()
            == 1
        )
        # The secret is never shown again
        detail = _call(role, role_users, api_token_for, "get", f"{BASE}/subscriptions/tdept-hook")
        assert "secret" not in detail.json()
    else:
        assert response.status_code == (401 if role == "anonymous" else 403)
        assert not Subscription.objects.exists()


def test_create_refuses_bad_topics_filters_and_urls(
    role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    body = {
        "department": "TDEPT",
        "code": "x",
        "name": "",
        "topics": ["entity.exploded"],
        "mode": "push",
        "webhook_url": "ftp://x",
        "filters": [{"field": "type", "op": "eval", "value": "__import__('os')"}],
    }
    response = _call("department_admin", role_users, api_token_for, "post", f"{BASE}/subscriptions", body)
    assert response.status_code == 422
    codes = sorted(error["code"] for error in response.json()["errors"])
    assert codes == [
        "code_invalid",
        "filter_invalid",
        "name_required",
        "topic_unknown",
        "webhook_url_invalid",
    ]
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_pull_and_acknowledge(
    role: str, role_users: dict[str, Any], api_token_for: Callable[[object], str], subscription: Subscription
) -> None:
    before = _state()
    response = _call(
        role, role_users, api_token_for, "post", f"{BASE}/subscriptions/tdept-entities/pull", {"limit": 10}
    )
    if role == "department_admin":
        assert response.status_code == 200
        (event,) = response.json()
        assert (event["key"], event["topic"], event["attempt"]) == (
            "91350100M000100Y43",
            "entity.registered",
            1,
        )
        assert event["payload"]["credit_code"] == "91350100M000100Y43"
        ack = _call(
            role,
            role_users,
            api_token_for,
            "post",
            f"{BASE}/subscriptions/tdept-entities/ack",
            {"event_ids": [event["event_id"]]},
        )
        assert (ack.status_code, ack.json()) == (200, {"count": 1})
        assert Delivery.objects.get(key="91350100M000100Y43").status == "delivered"
    else:
        assert response.status_code == (401 if role == "anonymous" else 403)
        ack = _call(
            role,
            role_users,
            api_token_for,
            "post",
            f"{BASE}/subscriptions/tdept-entities/ack",
            {"event_ids": [str(Delivery.objects.values_list("event_id", flat=True)[0])]},
        )
        assert ack.status_code == (401 if role == "anonymous" else 403)
        assert _state() == before


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_dead_letters_and_replay(
    role: str, role_users: dict[str, Any], api_token_for: Callable[[object], str], subscription: Subscription
) -> None:
    before = _state()
    listed = _call(
        role, role_users, api_token_for, "get", f"{BASE}/subscriptions/tdept-entities/dead-letters"
    )
    response = _call(
        role, role_users, api_token_for, "post", f"{BASE}/subscriptions/tdept-entities/replay", {}
    )
    if role in MANAGERS:
        (dead,) = listed.json()
        assert (dead["key"], dead["attempts"]) == ("91350100M000200Y11", 8)
        assert "payload" not in dead
        assert (response.status_code, response.json()) == (200, {"count": 1})
        assert Delivery.objects.get(key="91350100M000200Y11").status == "pending"
    else:
        expected = 401 if role == "anonymous" else 403
        assert (listed.status_code, response.status_code) == (expected, expected)
        assert _state() == before


def test_the_routes_are_in_the_openapi_document(client: Client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/exchange/deliveries" in paths
    assert "/api/v1/exchange/subscriptions/{code}/pull" in paths
