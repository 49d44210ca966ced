"""The subscriptions admin page (issue #8 item 9): every page for every role; a refusal changes nothing.

The subscribing department's administrators and system administrators see the subscriptions with their
counts and dead letters and may replay them (docs/pubsub.md "Who may"); everyone else is refused (403,
audited), anonymous visitors are sent to sign in. GB/T 22239-2019 §8.1.4.2: access control on management
functions, §8.1.4.3: the replay is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import ALL_ROLES
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.audit.models import AuditRecord
from onewindow.pubsub.actions import subscription_create
from onewindow.pubsub.backends.database import DatabaseBackend
from onewindow.pubsub.models import Delivery, DeliveryStatus, Subscription
from onewindow.pubsub.tests.conftest import dispatch_until_idle, entity_event

pytestmark = pytest.mark.django_db

BASE = "/exchange/subscriptions"
MANAGERS = {"department_admin", "system_admin"}
DEAD_KEY = "91350100M000200Y11"


@pytest.fixture
def subscription(role_users: dict[str, Any]) -> Subscription:
    """A TDEPT pull subscription with one pending and one dead delivery."""
    subscription, _ = subscription_create(
        acting_user=None,
        department_code="TDEPT",
        code="tdept-entities",
        name="企业登记信息",
        topics=["entity.*"],
        mode="pull",
    )
    entity_event("91350100M000100Y43")
    entity_event(DEAD_KEY)
    dispatch_until_idle(DatabaseBackend())
    Delivery.objects.filter(key=DEAD_KEY).update(
        status=DeliveryStatus.DEAD, attempts=8, last_error="http_500"
    )
    return subscription


def _state() -> list[tuple[str, str, int]]:
    return list(Delivery.objects.order_by("pk").values_list("key", "status", "attempts"))


def _dead_event_id() -> str:
    return str(Delivery.objects.get(key=DEAD_KEY).event_id)


def _pages() -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("get", f"{BASE}/", {}),
        ("get", f"{BASE}/tdept-entities/", {}),
        ("post", f"{BASE}/tdept-entities/replay/", {"event_id": _dead_event_id()}),
        ("post", f"{BASE}/tdept-entities/replay/", {}),
    ]


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
@pytest.mark.parametrize("index", range(4))
def test_each_page_for_each_role(
    role: str,
    index: int,
    role_users: dict[str, Any],
    subscription: Subscription,
    client_for: Callable[[object], Client],
) -> None:
    method, path, data = _pages()[index]
    client = Client() if role == "anonymous" else client_for(role_users[role])
    before = _state()
    audits_before = AuditRecord.objects.filter(action="pubsub.deliveries_replayed").count()

    response = client.get(path) if method == "get" else client.post(path, data)

    if role in MANAGERS:
        if method == "get":
            assert response.status_code == 200, (path, role)
        else:
            assert response.status_code == 302
            assert response["Location"] == f"{BASE}/tdept-entities/"
            assert Delivery.objects.get(key=DEAD_KEY).status == DeliveryStatus.PENDING
        return
    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == 403, (path, role)
    assert _state() == before
    assert AuditRecord.objects.filter(action="pubsub.deliveries_replayed").count() == audits_before


def test_the_list_shows_counts_and_last_delivery_without_payloads(
    role_users: dict[str, Any], subscription: Subscription, client_for: Callable[[object], Client]
) -> None:
    # given one delivered, one pending and one dead delivery
    entity_event("91350100M000300Y22")
    dispatch_until_idle(DatabaseBackend())
    Delivery.objects.filter(key="91350100M000100Y43").update(status=DeliveryStatus.DELIVERED)
    Delivery.objects.filter(key="91350100M000100Y43").update(delivered_at=timezone.now())
    client = client_for(role_users["department_admin"])

    # when the department administrator opens the list
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{BASE}/")

    # then the subscription is listed with its counts, and no payload field is shown
    text = response.content.decode()
    assert response.status_code == 200
    assert "企业登记信息" in text
    row = response.context["rows"][0][1]
    assert (row.pending, row.delivered, row.dead) == (1, 1, 1)
    assert row.last_delivered_at is not None
    assert "福州测试有限公司" not in text
    # and the counts come from one grouped query, whatever the number of subscriptions
    assert sum("pubsub_delivery" in q["sql"] for q in queries.captured_queries) == 1


def test_another_departments_admin_gets_404_and_changes_nothing(
    role_users: dict[str, Any], subscription: Subscription, client_for: Callable[[object], Client]
) -> None:
    admin = staff_user(Role.DEPARTMENT_ADMIN, department_code="OTHER", username="other_admin")
    TOTPDevice.objects.create(user=admin, name="default", confirmed=True)
    client = client_for(admin)
    before = _state()

    listed = client.get(f"{BASE}/")
    detail = client.get(f"{BASE}/tdept-entities/")
    replay = client.post(f"{BASE}/tdept-entities/replay/", {})

    assert listed.status_code == 200
    assert listed.context["rows"] == []
    assert detail.status_code == 404
    assert replay.status_code == 404
    assert _state() == before


def test_the_detail_lists_dead_letters_and_replay_of_one_is_audited(
    role_users: dict[str, Any], subscription: Subscription, client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["department_admin"])
    page = client.get(f"{BASE}/tdept-entities/")
    text = page.content.decode()
    assert DEAD_KEY in text
    assert "http_500" in text
    assert 'name="csrfmiddlewaretoken"' in text

    response = client.post(f"{BASE}/tdept-entities/replay/", {"event_id": _dead_event_id()}, follow=True)

    delivery = Delivery.objects.get(key=DEAD_KEY)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
    record = AuditRecord.objects.filter(action="pubsub.deliveries_replayed").latest("seq")
    assert record.details["count"] == 1
    assert "已将 1 条死信放回投递队列。" in response.content.decode()


def test_replay_with_a_bad_event_id_changes_nothing(
    role_users: dict[str, Any], subscription: Subscription, client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["system_admin"])
    before = _state()
    response = client.post(f"{BASE}/tdept-entities/replay/", {"event_id": "not-a-uuid"}, follow=True)
    assert response.status_code == 200
    assert "事件编号无效。" in response.content.decode()
    assert _state() == before


def test_replay_needs_the_csrf_token(role_users: dict[str, Any], subscription: Subscription) -> None:
    client = Client(enforce_csrf_checks=True)
    user = role_users["department_admin"]
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user).persistent_id
    session.save()
    before = _state()
    response = client.post(f"{BASE}/tdept-entities/replay/", {})
    assert response.status_code == 403
    assert _state() == before


def test_the_page_is_bilingual(
    role_users: dict[str, Any], subscription: Subscription, client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["department_admin"])
    response = client.get(f"{BASE}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = response.content.decode()
    assert "事件订阅" in text
    client.cookies["django_language"] = "en"
    english = client.get(f"{BASE}/tdept-entities/")
    assert "Dead letters" in english.content.decode()
