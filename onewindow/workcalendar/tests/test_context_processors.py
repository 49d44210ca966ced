"""The layout's warning when this year's or next year's calendar is not loaded (Administrative Licensing
Law Art. 82 deadlines would silently lose their holidays), shown to system administrators only."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.workcalendar.context_processors import calendar_warnings

pytestmark = pytest.mark.django_db


@pytest.fixture
def late_2026(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: date(2026, 11, 27))


def _request(user: object, *, verified: bool = True) -> Any:
    request = RequestFactory().get("/")
    request.user = cast(User, user)
    if hasattr(user, "kind") and user.kind == "staff":  # what django-otp's middleware sets
        user.is_verified = lambda: verified  # type: ignore[attr-defined]
    return request


@pytest.mark.usefixtures("late_2026")
@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_system_administrators_see_missing_years(role_users: dict[str, object], role: str) -> None:
    context = calendar_warnings(_request(role_users[role]))
    assert context == {"calendar_missing_years": [2027] if role == "system_admin" else []}


@pytest.mark.usefixtures("late_2026")
def test_an_unverified_staff_session_sees_nothing(role_users: dict[str, object]) -> None:
    assert calendar_warnings(_request(role_users["system_admin"], verified=False)) == {
        "calendar_missing_years": []
    }


def test_anonymous_visitors_cost_no_query(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert calendar_warnings(_request(AnonymousUser())) == {"calendar_missing_years": []}


def test_banner_partial() -> None:
    html = render_to_string(
        "workcalendar/partials/missing_years_banner.html", {"calendar_missing_years": [2027, 2028]}
    )
    assert 'class="govuk-notification-banner"' in html
    assert "2027, 2028 年的工作日历尚未载入。" in html
    assert 'href="/admin/calendar/import/"' in html
    assert render_to_string("workcalendar/partials/missing_years_banner.html", {}).strip() == ""


@pytest.mark.usefixtures("late_2026")
def test_pages_get_the_value_through_settings(role_users: dict[str, object], client_for: Any) -> None:
    response = client_for(role_users["system_admin"]).get("/admin/calendar/compute/")
    assert response.context["calendar_missing_years"] == [2027]
    response = client_for(role_users["window_clerk"]).get("/admin/calendar/compute/")
    assert response.context["calendar_missing_years"] == []
