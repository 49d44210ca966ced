"""The window desk, walk-in and village-agent applications, and the applicant's side of acceptance.

Administrative Licensing Law Art. 32: the window accepts, refuses with reasons, or tells the applicant
everything missing at once (一次性告知); the applicant supplements, may withdraw before a decision
(Art. 36-37 practice) and rates the service afterwards (好差评, State Council General Office 2019 No. 51).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from onewindow.accounts.models import Membership
from onewindow.applications.actions import application_accept, application_decide
from onewindow.applications.models import AgentConsent, Application, Review, ReviewFollowUp, Status
from onewindow.organisations.tests.factories import ServicePointFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%%EOF\n"
RESIDENT_ID = "11010519491231002X"


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def clerk(role_users: dict[str, Any], client_for: Callable[[object], Client]) -> Client:
    return client_for(role_users["window_clerk"])


@pytest.fixture
def resident(role_users: dict[str, Any], client_for: Callable[[object], Client]) -> Client:
    return client_for(role_users["resident"])


def _applicant_step(**overrides: str) -> dict[str, str]:
    return {
        "step": "1",
        "service_code": "TSVC",
        "obo_kind": "resident",
        "obo_name": "张三",
        "obo_identifier": RESIDENT_ID,
        "obo_mobile": "13800138000",
        **overrides,
    }


def _step_two(response: Any) -> dict[str, str]:
    """The hidden fields step 2 carries forward."""
    html = response.content.decode()
    fields: dict[str, str] = {}
    for chunk in html.split('<input type="hidden" name="')[1:]:
        name, rest = chunk.split('"', 1)
        if name in ("csrfmiddlewaretoken", "material_ids"):
            continue
        fields[name] = rest.split('value="', 1)[1].split('"', 1)[0]
    return fields


def test_walk_in_needs_the_id_check_and_a_valid_id_number(service: Any, clerk: Client) -> None:
    # When the clerk continues without ticking the ID check and with a wrong check digit
    response = clerk.post("/window/apply/", _applicant_step(obo_identifier="110105194912310021"))
    html = response.content.decode()
    # Then both are shown as errors linked to their fields, and nothing is created
    assert response.status_code == 422
    assert 'href="#f-obo_id_checked"' in html
    assert 'href="#f-obo_identifier"' in html
    assert "已核验申请人身份证件" in html or "核验" in html
    assert Application.objects.count() == 0


def test_walk_in_application_by_the_window_clerk(
    service: Any, clerk: Client, resident: Client, role_users: dict[str, Any]
) -> None:
    # Given the clerk works at a service hall
    point = ServicePointFactory.create(code="HALL1")
    Membership.objects.filter(user=role_users["window_clerk"]).update(service_point=point)
    # When they choose the service and enter the applicant, having checked the ID document
    step_one = clerk.post("/window/apply/", _applicant_step(obo_id_checked="yes"))
    assert step_one.status_code == 200
    assert "110105********002X" in step_one.content.decode()
    fields = _step_two(step_one)
    assert fields["step"] == "2"
    # And submit the form with the lease
    response = clerk.post(
        "/window/apply/",
        {
            **fields,
            "company_name": "窗口公司",
            "employees": "1",
            "file-LEASE": SimpleUploadedFile("l.pdf", PDF),
        },
    )
    # Then the application is made on the window channel at the clerk's hall and ends on the receipt
    application = Application.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/applications/{application.tracking_no}/receipt/"
    assert application.channel == "window"
    assert application.service_point == point
    assert application.submitted_by == role_users["window_clerk"]
    assert clerk.get(response["Location"]).status_code == 200
    # And the resident with that ID number sees it in their own account
    assert application.tracking_no in resident.get("/applications/").content.decode()


def test_agent_application_with_consent_in_person(
    service: Any, role_users: dict[str, Any], client_for: Callable[[object], Client], resident: Client
) -> None:
    agent = client_for(role_users["village_agent"])
    step_one = agent.post(
        "/agent/apply/",
        _applicant_step(obo_consent_method="in_person", obo_consent_reference="村委会登记 12 号"),
    )
    assert step_one.status_code == 200
    response = agent.post(
        "/agent/apply/", {**_step_two(step_one), "company_name": "代办公司", "employees": "2"}
    )
    application = Application.objects.get()
    assert response.status_code == 302
    assert application.channel == "agent"
    consent = AgentConsent.objects.get(application=application)
    assert consent.method == "in_person"
    assert consent.reference == "村委会登记 12 号"
    # The agent lists it under their agent applications, the resident under theirs
    assert application.tracking_no in agent.get("/agent/").content.decode()
    assert application.tracking_no in resident.get("/applications/").content.decode()


def test_agent_signed_form_needs_the_uploaded_form(
    service: Any, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    agent = client_for(role_users["village_agent"])
    missing = agent.post("/agent/apply/", _applicant_step(obo_consent_method="signed_form"))
    assert missing.status_code == 422
    assert 'href="#f-obo_consent_file"' in missing.content.decode()
    step_one = agent.post(
        "/agent/apply/",
        {
            **_applicant_step(obo_consent_method="signed_form"),
            "consent_file": SimpleUploadedFile("c.pdf", PDF),
        },
    )
    assert step_one.status_code == 200
    response = agent.post("/agent/apply/", {**_step_two(step_one), "company_name": "甲", "employees": "2"})
    assert response.status_code == 302
    consent = AgentConsent.objects.get()
    assert consent.method == "signed_form"
    assert consent.material is not None


def test_queue_and_acceptance(submit: Callable[..., Application], clerk: Client) -> None:
    application = submit(codes=("LEASE", "CHARTER"))
    queue = clerk.get("/window/").content.decode()
    assert application.tracking_no in queue
    page = clerk.get(f"/window/{application.tracking_no}/").content.decode()
    assert "福州测试有限公司" in page  # the form data
    response = clerk.post(f"/window/{application.tracking_no}/accept/")
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status in (Status.ACCEPTED, Status.IN_PROGRESS)
    assert application.due_date is not None


def test_refusal_needs_reasons(submit: Callable[..., Application], clerk: Client) -> None:
    application = submit()
    empty = clerk.post(f"/window/{application.tracking_no}/refuse/", {"reason": "  "})
    assert empty.status_code == 422
    assert 'href="#f-reason"' in empty.content.decode()
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    clerk.post(f"/window/{application.tracking_no}/refuse/", {"reason": "不属于本机关职权范围"})
    application.refresh_from_db()
    assert application.status == Status.NOT_ACCEPTED


def test_supplement_notice_lists_everything_missing_and_the_applicant_answers(
    submit: Callable[..., Application], clerk: Client, resident: Client
) -> None:
    # Given an application without its two required materials
    application = submit()
    page = clerk.get(f"/window/{application.tracking_no}/").content.decode()
    assert page.count('type="checkbox" checked disabled') == 2
    # When the clerk sends the notice with one extra item, without ticking anything (Art. 32: all at once)
    response = clerk.post(
        f"/window/{application.tracking_no}/supplement/",
        {"extra_target_1": "field:company_name", "extra_reason_1": "请核对经营范围表述"},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.SUPPLEMENT_REQUESTED
    request = application.supplement_requests.get()
    assert {item["material_code"] for item in request.items} >= {"LEASE", "CHARTER"}
    assert any(item["reason"] == "请核对经营范围表述" for item in request.items)
    # Then the resident sees what is needed, with file inputs for the materials
    detail = resident.get(f"/applications/{application.tracking_no}/").content.decode()
    assert "请核对经营范围表述" in detail
    assert 'name="file-LEASE"' in detail
    assert 'name="file-CHARTER"' in detail
    # When they supplement both files
    answered = resident.post(
        f"/applications/{application.tracking_no}/supplement/",
        {
            "company_name": "福州测试有限公司",
            "employees": "3",
            "file-LEASE": SimpleUploadedFile("l.pdf", PDF),
            "file-CHARTER": SimpleUploadedFile("c.pdf", PDF),
        },
    )
    # Then the application is back at the window with the files attached (and the form re-validated)
    assert answered.status_code == 302, answered.content.decode().split("govuk-error-summary__list")[-1][:600]
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert application.materials.count() == 2


def test_supplement_extra_row_needs_a_target(submit: Callable[..., Application], clerk: Client) -> None:
    application = submit()
    response = clerk.post(f"/window/{application.tracking_no}/supplement/", {"extra_reason_2": "说明不清"})
    assert response.status_code == 422
    assert 'href="#f-extra_target_2"' in response.content.decode()
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert application.supplement_requests.count() == 0


def test_withdraw_with_confirmation(submit: Callable[..., Application], resident: Client) -> None:
    application = submit()
    confirm = resident.get(f"/applications/{application.tracking_no}/withdraw/")
    assert confirm.status_code == 200
    assert "govuk-button--warning" in confirm.content.decode()
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED  # GET changes nothing
    response = resident.post(f"/applications/{application.tracking_no}/withdraw/", {"reason": "不需要了"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.WITHDRAWN


def test_timeline_and_review_after_decision_opens_a_follow_up(
    submit: Callable[..., Application],
    role_users: dict[str, Any],
    resident: Client,
    client_for: Callable[[object], Client],
) -> None:
    # Given an application accepted at the window and approved
    application = submit(codes=("LEASE", "CHARTER"))
    application_accept(acting_user=role_users["window_clerk"], application=application)
    application.refresh_from_db()
    application_decide(acting_user=None, application=application, outcome="approved")
    # When the resident opens it, the timeline is an ordered list and the review form offers five levels
    detail = resident.get(f"/applications/{application.tracking_no}/").content.decode()
    assert '<ol class="govuk-list ow-timeline">' in detail
    for level in ("非常满意", "满意", "基本满意", "不满意", "非常不满意"):
        assert level in detail
    # When they rate it 1 (very dissatisfied)
    response = resident.post(
        f"/applications/{application.tracking_no}/review/", {"score": "1", "comment": "等太久"}
    )
    assert response.status_code == 302
    review = Review.objects.get()
    assert review.level == "very_dissatisfied"
    # Then a follow-up is open for the department, shown on its follow-up page, and can be answered
    follow_up = ReviewFollowUp.objects.get()
    handler = client_for(role_users["department_handler"])
    page = handler.get("/reviews/follow-ups/").content.decode()
    assert application.tracking_no in page
    empty = handler.post(f"/reviews/follow-ups/{follow_up.pk}/answer/", {"response": ""})
    assert empty.status_code == 422
    answered = handler.post(f"/reviews/follow-ups/{follow_up.pk}/answer/", {"response": "已整改并电话回访"})
    assert answered.status_code == 302, answered.content.decode().split("govuk-error-summary__list")[-1][:600]
    follow_up.refresh_from_db()
    assert follow_up.status == "answered"
    # And the leaders' statistics show it in both accessible tables
    stats = client_for(role_users["leader"]).get("/reviews/stats/").content.decode()
    assert stats.count("<caption") == 2
    assert "100.0%" in stats
    # And a second review is refused (一事一评)
    again = resident.post(f"/applications/{application.tracking_no}/review/", {"score": "5"})
    assert again.status_code in (403, 422)
    assert Review.objects.count() == 1


def test_review_needs_a_score(
    submit: Callable[..., Application], role_users: dict[str, Any], resident: Client
) -> None:
    application = submit(codes=("LEASE", "CHARTER"))
    application_accept(acting_user=role_users["window_clerk"], application=application)
    application.refresh_from_db()
    application_decide(acting_user=None, application=application, outcome="approved")
    response = resident.post(f"/applications/{application.tracking_no}/review/", {"comment": "x"})
    assert response.status_code == 422
    assert 'href="#f-score"' in response.content.decode()
    assert Review.objects.count() == 0
