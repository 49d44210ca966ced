"""The calendar pages under /admin/calendar/: who may see and change what, and what they show.

Loading a year is a system administration task (Permission.MANAGE_SYSTEM, MLPS 2.0 §8.1.4.2 separation of
duties); computing a deadline under Administrative Licensing Law Art. 82 is open to all workbench staff.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.workcalendar.models import CalendarDay, CalendarYear
from onewindow.workcalendar.tests.helpers import FAKE_2027_CSV, calendar_state

pytestmark = pytest.mark.django_db

ClientFor = Callable[[object], Client]

CALENDAR_ADMINS = {"system_admin"}
WORKBENCH_STAFF = {
    "window_clerk",
    "village_agent",
    "department_handler",
    "department_admin",
    "leader",
    "security_officer",
    "system_admin",
    "vendor_staff",
}
ADMIN_PAGES = [
    "/admin/calendar/",
    "/admin/calendar/2026/",
    "/admin/calendar/2027/",
    "/admin/calendar/import/",
]
COMPUTE_PAGE = "/admin/calendar/compute/?start=2026-09-30&days=5"


def _confirm_payload(csv_text: str = FAKE_2027_CSV) -> dict[str, str]:
    return {
        "payload": base64.b64encode(csv_text.encode()).decode(),
        "filename": "2027.csv",
        "year": "",
        "note": "made-up test data",
    }


# --- Authorisation: every page, every role ----------------------------------------------------------


@pytest.mark.parametrize("path", ADMIN_PAGES)
@pytest.mark.parametrize("role", ALL_ROLES)
def test_admin_pages_are_for_system_administrators_only(
    role_users: dict[str, object], client_for: ClientFor, role: str, path: str
) -> None:
    response = client_for(role_users[role]).get(path)
    assert response.status_code == (200 if role in CALENDAR_ADMINS else 403)


@pytest.mark.parametrize("path", [*ADMIN_PAGES, COMPUTE_PAGE])
def test_anonymous_visitors_are_sent_to_sign_in(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={quote(path, safe='/')}"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_compute_page_is_for_workbench_staff(
    role_users: dict[str, object], client_for: ClientFor, role: str
) -> None:
    response = client_for(role_users[role]).get(COMPUTE_PAGE)
    assert response.status_code == (200 if role in WORKBENCH_STAFF else 403)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_system_administrators_can_import_and_refusals_change_nothing(
    role_users: dict[str, object], client_for: ClientFor, role: str
) -> None:
    # Given the seeded calendar
    state = calendar_state()
    # When the role posts a valid, previewed 2027 file
    response = client_for(role_users[role]).post("/admin/calendar/import/", _confirm_payload())
    if role in CALENDAR_ADMINS:
        # Then the system administrator loads it
        assert response.status_code == 302
        assert response["Location"] == "/admin/calendar/2027/"
        assert CalendarDay.objects.filter(date__year=2027).count() == 4
    else:
        # Then anyone else is refused, the refusal is audited, and nothing changed
        assert response.status_code == 403
        assert calendar_state() == state
        assert AuditRecord.objects.filter(action="permission.denied", actor_username=f"t_{role}").count() == 1


def test_anonymous_import_changes_nothing() -> None:
    state = calendar_state()
    response = Client().post("/admin/calendar/import/", _confirm_payload())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert calendar_state() == state


# --- What the pages show ---------------------------------------------------------------------------


def test_years_page_lists_loaded_years_and_highlights_missing_ones(
    role_users: dict[str, object], client_for: ClientFor
) -> None:
    response = client_for(role_users["system_admin"]).get("/admin/calendar/")
    summaries = response.context["summaries"]
    this_year = date.today().year  # noqa: DTZ011 - the page uses the local date; only the year matters
    assert summaries[0].year == this_year + 1
    assert summaries[-1].year == 2004
    by_year = {summary.year: summary for summary in summaries}
    assert (by_year[2026].loaded, by_year[2026].holiday_count, by_year[2026].workday_count) == (True, 33, 6)
    assert by_year[2026].source == "chinese-calendar"
    assert by_year[2027].loaded is False
    assert response.context["missing"] == [year for year in (this_year + 1, this_year) if year >= 2027]
    assert "govuk-tag--red" in response.content.decode()


def test_year_page_lists_holidays_and_make_up_days(
    role_users: dict[str, object], client_for: ClientFor
) -> None:
    response = client_for(role_users["system_admin"]).get("/admin/calendar/2026/")
    days = response.context["days"]
    assert len(days) == 39
    assert (days[-1].date, days[-1].kind, days[-1].name) == (date(2026, 10, 10), "workday", "国庆节")
    assert "国庆节" in response.content.decode()


def test_year_page_of_an_unloaded_year_says_so(role_users: dict[str, object], client_for: ClientFor) -> None:
    response = client_for(role_users["system_admin"]).get("/admin/calendar/2027/")
    assert response.context["record"] is None
    assert response.context["days"] == []
    assert "govuk-warning-text" in response.content.decode()


def test_year_outside_the_accepted_range_is_not_found(
    role_users: dict[str, object], client_for: ClientFor
) -> None:
    assert client_for(role_users["system_admin"]).get("/admin/calendar/1999/").status_code == 404


def test_upload_preview_then_confirm(role_users: dict[str, object], client_for: ClientFor) -> None:
    client = client_for(role_users["system_admin"])
    state = calendar_state()
    # Given an uploaded file, the preview lists every entry and saves nothing
    upload = {"file": _file("2027.csv", FAKE_2027_CSV), "year": "2027", "note": "made-up test data"}
    preview = client.post("/admin/calendar/import/", upload)
    assert preview.status_code == 200
    parsed = preview.context["parsed"]
    assert (parsed.ok, parsed.year, parsed.holiday_count, parsed.workday_count) == (True, 2027, 3, 1)
    assert calendar_state() == state
    # When the administrator confirms the carried file
    confirm = preview.context["confirm"].initial
    response = client.post("/admin/calendar/import/", confirm)
    # Then it is loaded, with the note, and the year page says so
    assert response.status_code == 302
    assert CalendarYear.objects.get(year=2027).note == "made-up test data"
    page = client.get(response["Location"])
    assert [str(message) for message in page.context["messages"]] == [
        "已载入 2027：3 天法定节假日，1 天调休上班日。"
    ]


def test_upload_preview_shows_every_problem_and_offers_no_confirmation(
    role_users: dict[str, object], client_for: ClientFor
) -> None:
    client = client_for(role_users["system_admin"])
    state = calendar_state()
    bad = "date,kind,name\n2027-01-01,holiday,\n2027-01-04,workday,\n2027-01-01,holiday,\n"
    response = client.post("/admin/calendar/import/", {"file": _file("bad.csv", bad)})
    assert response.status_code == 422
    body = response.content.decode()
    assert "第 3 行：2027-01-04 是星期一" in body
    assert "第 4 行：日期 2027-01-01 重复（已出现在第 2 行）。" in body
    assert 'name="payload"' not in body
    assert calendar_state() == state


def test_a_tampered_confirmation_is_checked_again(
    role_users: dict[str, object], client_for: ClientFor
) -> None:
    client = client_for(role_users["system_admin"])
    state = calendar_state()
    tampered = _confirm_payload("date,kind,name\n2027-01-05,workday,\n")
    response = client.post("/admin/calendar/import/", tampered)
    assert response.status_code == 422
    assert calendar_state() == state
    garbage = {**_confirm_payload(), "payload": "not base64!"}
    assert client.post("/admin/calendar/import/", garbage).status_code == 400
    assert calendar_state() == state


def test_compute_shows_the_due_date_and_why(role_users: dict[str, object], client_for: ClientFor) -> None:
    response = client_for(role_users["window_clerk"]).get(COMPUTE_PAGE)
    explanation = response.context["explanation"]
    assert explanation.end == date(2026, 10, 13)
    body = response.content.decode()
    assert '<span id="due-date">2026-10-13</span>' in body
    assert explanation.summary_zh() in body


def test_compute_form_errors(role_users: dict[str, object], client_for: ClientFor) -> None:
    response = client_for(role_users["window_clerk"]).get("/admin/calendar/compute/?start=2026-02-30&days=-1")
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"start", "days"}
    assert "explanation" not in response.context


def test_compute_warns_about_the_fallback(role_users: dict[str, object], client_for: ClientFor) -> None:
    response = client_for(role_users["leader"]).get("/admin/calendar/compute/?start=2026-12-30&days=3")
    assert response.context["explanation"].fallback_years == (2027,)
    assert "govuk-warning-text" in response.content.decode()


def _file(name: str, text: str) -> object:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_pages_speak_english_when_asked(role_users: dict[str, object], client_for: ClientFor) -> None:
    client = client_for(role_users["window_clerk"])
    response = client.get(COMPUTE_PAGE, HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert "Compute a deadline" in body
    assert response.context["explanation"].summary_en().replace("'", "&#x27;") in body
    assert "National Day" in body
