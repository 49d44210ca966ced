"""Notifications in the account: the page (unread first, mark all read) and the API (own only, paginated).

Personal information is shown only to its subject (PIPL Art. 10); every role may read their own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.notifications.models import Notification

pytestmark = pytest.mark.django_db


def _notify(user: Any, title: str, *, read: bool = False, minutes_ago: int = 0) -> Notification:
    notification = Notification.objects.create(
        user=user,
        kind="test",
        title=title,
        title_en=f"{title} (en)",
        read_at=timezone.now() if read else None,
    )
    Notification.objects.filter(pk=notification.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return notification


def test_page_lists_own_notifications_unread_first(
    role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    resident = role_users["resident"]
    _notify(resident, "已读旧消息", read=True, minutes_ago=1)
    _notify(resident, "未读较早消息", minutes_ago=10)
    _notify(role_users["enterprise_representative"], "别人的消息")
    html = client_for(resident).get("/notifications/").content.decode()
    assert html.index("未读较早消息") < html.index("已读旧消息")
    assert "别人的消息" not in html
    assert "未读" in html  # the unread state is said in words, not only by colour


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_signed_in_role_reads_their_own(
    role: str, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    _notify(role_users[role], f"给{role}的消息")
    response = client_for(role_users[role]).get("/notifications/")
    assert response.status_code == 200
    assert f"给{role}的消息" in response.content.decode()


def test_anonymous_is_sent_to_sign_in() -> None:
    assert Client().get("/notifications/").status_code == 302
    assert Client().post("/notifications/read-all/").status_code == 302


def test_mark_all_read_touches_only_mine(
    role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    mine = _notify(role_users["resident"], "我的")
    theirs = _notify(role_users["window_clerk"], "别人的")
    response = client_for(role_users["resident"]).post("/notifications/read-all/")
    assert response.status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None
    assert theirs.read_at is None


def test_api_lists_mine_newest_first_paginated(
    role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    resident = role_users["resident"]
    for minutes in (30, 20, 10):
        _notify(resident, f"消息{minutes}", minutes_ago=minutes)
    _notify(role_users["leader"], "别人的")
    token = api_token_for(resident)
    response = Client().get("/api/v1/notifications?limit=2", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [item["title"] for item in body["items"]] == ["消息10", "消息20"]


def test_api_marks_only_my_notifications_read(
    role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    mine = _notify(role_users["resident"], "我的")
    theirs = _notify(role_users["leader"], "别人的")
    token = api_token_for(role_users["resident"])
    response = Client().post(
        "/api/v1/notifications/read",
        data=json.dumps({"ids": [mine.pk, theirs.pk]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200
    assert response.json() == {"updated": 1}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_api_refuses_anonymous() -> None:
    assert Client().get("/api/v1/notifications").status_code == 401
    response = Client().post("/api/v1/notifications/read", data="{}", content_type="application/json")
    assert response.status_code in (401, 403)
