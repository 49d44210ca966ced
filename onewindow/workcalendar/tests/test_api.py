"""``/api/v1/calendar/``: every endpoint for every role and anonymous callers.

Administrative Licensing Law Art. 82 (working days excluding statutory holidays) and the State Council's
2026 holiday notice (Saturday 10 October 2026 is a working day).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.workcalendar.models import CalendarDay, CalendarYear
from onewindow.workcalendar.tests.helpers import FAKE_2027_CSV, calendar_state

pytestmark = pytest.mark.django_db

TokenFor = Callable[[object], str]

READ_ENDPOINTS = [
    "/api/v1/calendar/years",
    "/api/v1/calendar/days?year=2026",
    "/api/v1/calendar/add-working-days?start=2026-09-30&days=5",
]


def _auth(token: str) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _upload(text: str = FAKE_2027_CSV, name: str = "2027.csv", **fields: Any) -> dict[str, Any]:
    return {"file": SimpleUploadedFile(name, text.encode(), content_type="text/csv"), **fields}


# --- Authorisation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", READ_ENDPOINTS)
@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_signed_in_role_may_read(
    role_users: dict[str, object], api_token_for: TokenFor, role: str, path: str
) -> None:
    response = Client().get(path, **_auth(api_token_for(role_users[role])))
    assert response.status_code == 200


@pytest.mark.parametrize("path", [*READ_ENDPOINTS, "/api/v1/calendar/import"])
def test_anonymous_callers_are_refused(path: str) -> None:
    state = calendar_state()
    client = Client()
    response = client.post(path, _upload()) if path.endswith("import") else client.get(path)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert calendar_state() == state


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_system_administrators_may_import(
    role_users: dict[str, object], api_token_for: TokenFor, role: str
) -> None:
    state = calendar_state()
    token = api_token_for(role_users[role])
    response = Client().post("/api/v1/calendar/import", _upload(), **_auth(token))
    if role == "system_admin":
        assert response.status_code == 200
        assert CalendarDay.objects.filter(date__year=2027).count() == 4
    else:
        assert response.status_code == 403
        assert response.json() == {
            "code": "permission_denied",
            "message": "您无权执行此操作。",
            "message_zh": "您无权执行此操作。",
            "message_en": "You are not allowed to do this.",
        }
        assert calendar_state() == state
        assert AuditRecord.objects.filter(action="permission.denied", actor_username=f"t_{role}").count() == 1


def test_a_verified_staff_web_session_may_read(
    role_users: dict[str, object], client_for: Callable[[object], Client]
) -> None:
    response = client_for(role_users["window_clerk"]).get("/api/v1/calendar/years")
    assert response.status_code == 200


# --- Behaviour -------------------------------------------------------------------------------------


def test_add_working_days_over_national_day_2026(
    role_users: dict[str, object], api_token_for: TokenFor
) -> None:
    token = api_token_for(role_users["resident"])
    body = Client().get(READ_ENDPOINTS[2], **_auth(token)).json()
    assert (body["start"], body["days"], body["due_date"], body["fallback_years"]) == (
        "2026-09-30",
        5,
        "2026-10-13",
        [],
    )
    explanation = body["explanation"]
    assert explanation["counted_days"] == [
        "2026-10-08",
        "2026-10-09",
        "2026-10-10",
        "2026-10-12",
        "2026-10-13",
    ]
    assert explanation["makeup_workdays"] == [
        {"date": "2026-10-10", "status": "makeup_workday", "name": "国庆节", "name_en": "National Day"}
    ]
    assert [day["date"] for day in explanation["holidays"]] == [f"2026-10-0{day}" for day in range(1, 8)]
    assert explanation["weekend_days"] == ["2026-10-11"]
    assert explanation["summary_en"].startswith(
        "From 2026-09-30 (not counted) to 2026-10-13: 5 working days."
    )
    assert len(explanation["days"]) == 13


def test_add_working_days_with_suspension_and_fallback(
    role_users: dict[str, object], api_token_for: TokenFor
) -> None:
    token = api_token_for(role_users["window_clerk"])
    path = (
        "/api/v1/calendar/add-working-days?start=2026-12-30&days=3"
        "&suspended=2026-12-31/2026-12-31&suspended=2027-01-04"
    )
    body = Client().get(path, **_auth(token)).json()
    # 31 Dec and 4 Jan suspended; 1 Jan 2027 (Friday), 5 and 6 Jan count under the weekends-only fallback
    assert body["due_date"] == "2027-01-06"
    assert body["fallback_years"] == [2027]
    assert body["explanation"]["suspended_days"] == ["2026-12-31", "2027-01-04"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("start=2026-09-30&days=-1", "invalid_request"),
        ("start=2026-09-31&days=1", "invalid_request"),
        ("start=2026-09-30&days=3651", "invalid_request"),
        ("start=2026-09-30&days=1&suspended=2026-10-05/2026-10-01", "invalid_suspension"),
        ("start=2026-09-30&days=1&suspended=tomorrow", "invalid_suspension"),
    ],
)
def test_add_working_days_refuses_bad_input(
    role_users: dict[str, object], api_token_for: TokenFor, query: str, code: str
) -> None:
    token = api_token_for(role_users["resident"])
    response = Client().get(f"/api/v1/calendar/add-working-days?{query}", **_auth(token))
    assert response.status_code == 422
    assert response.json()["code"] == code


def test_years_and_days(role_users: dict[str, object], api_token_for: TokenFor) -> None:
    token = api_token_for(role_users["enterprise_representative"])
    years = Client().get("/api/v1/calendar/years", **_auth(token)).json()
    by_year = {entry["year"]: entry for entry in years}
    assert by_year[2026]["loaded"] is True
    assert (by_year[2026]["holiday_count"], by_year[2026]["workday_count"]) == (33, 6)
    assert by_year[2026]["source"] == "chinese-calendar"
    assert by_year[2027]["loaded"] is False
    assert "loaded_by" not in by_year[2026]  # who loaded a year is for the admin page only
    days = Client().get("/api/v1/calendar/days?year=2026", **_auth(token)).json()
    assert (days["year"], days["loaded"], len(days["days"])) == (2026, True, 39)
    assert days["days"][-1] == {
        "date": "2026-10-10",
        "kind": "workday",
        "name": "国庆节",
        "name_en": "National Day",
    }
    missing = Client().get("/api/v1/calendar/days?year=2027", **_auth(token)).json()
    assert missing == {"year": 2027, "loaded": False, "days": []}
    out_of_range = Client().get("/api/v1/calendar/days?year=1999", **_auth(token))
    assert out_of_range.status_code == 422


def test_import_happy_path_and_dry_run(role_users: dict[str, object], api_token_for: TokenFor) -> None:
    token = api_token_for(role_users["system_admin"])
    state = calendar_state()
    dry = Client().post("/api/v1/calendar/import", _upload(dry_run="true"), **_auth(token))
    assert dry.json() == {
        "year": 2027,
        "dry_run": True,
        "file_format": "csv",
        "holidays": 3,
        "workdays": 1,
        "replaced_holidays": 0,
        "replaced_workdays": 0,
    }
    assert calendar_state() == state
    real = Client().post("/api/v1/calendar/import", _upload(note="test"), **_auth(token))
    assert real.json()["dry_run"] is False
    assert CalendarYear.objects.get(year=2027).note == "test"
    # Re-importing reports what it replaced
    again = Client().post("/api/v1/calendar/import", _upload(), **_auth(token))
    assert (again.json()["replaced_holidays"], again.json()["replaced_workdays"]) == (3, 1)


def test_import_json(role_users: dict[str, object], api_token_for: TokenFor) -> None:
    token = api_token_for(role_users["system_admin"])
    content = json.dumps({"year": 2027, "holidays": [{"date": "2027-01-01", "name": "元旦"}], "workdays": []})
    response = Client().post(
        "/api/v1/calendar/import",
        _upload(content, "2027.json", year="2027"),
        **_auth(token),
    )
    assert response.status_code == 200
    assert response.json()["file_format"] == "json"


def test_import_errors_name_each_line_and_change_nothing(
    role_users: dict[str, object], api_token_for: TokenFor
) -> None:
    token = api_token_for(role_users["system_admin"])
    state = calendar_state()
    bad = "date,kind,name\n2027-01-01,holiday,\n2027-01-04,workday,\n2027-01-01,holday,\n"
    response = Client().post("/api/v1/calendar/import", _upload(bad), **_auth(token))
    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["message_en"]) == (
        "invalid_calendar_file",
        "The calendar file has 2 problem(s); nothing was changed.",
    )
    assert [(issue["code"], issue["line"]) for issue in body["issues"]] == [
        ("workday_on_weekday", 3),
        ("unknown_kind", 4),
    ]
    assert body["issues"][1]["message_zh"] == (
        "第 4 行：类型“holday”无效，应为 holiday（法定节假日）或 workday（调休上班日）。"
    )
    assert calendar_state() == state
