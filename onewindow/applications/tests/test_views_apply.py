"""Applying through the pages: pre-fill, per-field errors, drafts, uploads, idempotent double submit, receipt.

Administrative Licensing Law Art. 29-32 (applying, receipts); GB 11643 (masked ID numbers on the receipt,
PIPL Art. 51); the once-only principle (免提交: materials the government holds are not asked for).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from onewindow.applications.models import Application, Draft
from onewindow.applications.tests.factories import published_service
from onewindow.materials.models import Material
from onewindow.services.models import Service

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PREFILL_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["company_name", "legal_rep_id_number", "employees"],
    "properties": {
        "company_name": {"type": "string", "minLength": 1, "title": "企业名称", "x-title-en": "Company name"},
        "legal_rep_id_number": {
            "type": "string",
            "format": "id-number",
            "title": "法定代表人身份证号码",
            "x-title-en": "Legal representative's ID number",
            "x-prefill": "person.id_number",
        },
        "employees": {"type": "integer", "minimum": 0, "title": "从业人数", "x-title-en": "Employees"},
    },
}


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def resident_client(role_users: dict[str, Any], client_for: Callable[[object], Client]) -> Client:
    return client_for(role_users["resident"])


def _page_key(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    marker = 'name="submission_key" value="'
    return html.split(marker, 1)[1].split('"', 1)[0]


def test_apply_page_shows_service_form_and_materials(service: Service, resident_client: Client) -> None:
    # When the resident opens the apply page
    response = resident_client.get("/applications/new/TSVC/")
    html = response.content.decode()
    # Then it names the service, renders the form and one file input per material, with type and size hint
    assert response.status_code == 200
    assert "测试事项 TSVC" in html
    assert 'id="f-company_name"' in html
    assert 'name="file-LEASE"' in html
    assert 'name="file-CHARTER"' in html
    assert 'accept=".jpe,.jpeg,.jpg,.ofd,.pdf,.png,.tif,.tiff,application/pdf' in html
    assert "PDF" in html
    assert "MB" in html
    uuid.UUID(_page_key(resident_client, "/applications/new/TSVC/"))


def test_unpublished_service_is_404(role_users: dict[str, Any], resident_client: Client) -> None:
    assert resident_client.get("/applications/new/NOSUCH/").status_code == 404


def test_prefilled_fields_are_marked(role_users: dict[str, Any], resident_client: Client) -> None:
    # Given a service whose form pre-fills the legal representative's ID number from the applicant
    published_service("PREF", form_schema=PREFILL_SCHEMA)
    # When the resident opens it
    html = resident_client.get("/applications/new/PREF/").content.decode()
    # Then their own ID number is filled in and the field is marked as pre-filled
    assert 'value="11010519491231002X"' in html
    assert "已预填" in html


def test_invalid_submit_shows_errors_per_field_in_chinese_and_creates_nothing(
    service: Service, resident_client: Client
) -> None:
    key = _page_key(resident_client, "/applications/new/TSVC/")
    materials_before = Material.objects.count()
    # When the resident submits without the company name and with a negative number of employees
    response = resident_client.post(
        "/applications/new/TSVC/", {"submission_key": key, "action": "submit", "employees": "-1"}
    )
    html = response.content.decode()
    # Then the page comes back with an error summary linking to each field and the message by the field
    assert response.status_code == 200
    assert "govuk-error-summary" in html
    assert 'href="#f-company_name"' in html
    assert 'href="#f-employees"' in html
    assert "请填写“企业名称”。" in html  # Chinese by default, in the summary and next to the field
    assert html.count("请填写“企业名称”。") == 2
    assert 'value="-1"' in html  # what was typed is kept
    assert Application.objects.count() == 0
    assert Material.objects.count() == materials_before


def test_upload_is_kept_when_the_form_has_errors(service: Service, resident_client: Client) -> None:
    key = _page_key(resident_client, "/applications/new/TSVC/")
    # When the resident uploads the lease but forgets the company name
    upload = SimpleUploadedFile("lease.pdf", PDF, content_type="application/pdf")
    response = resident_client.post(
        "/applications/new/TSVC/",
        {"submission_key": key, "action": "submit", "employees": "2", "file-LEASE": upload},
    )
    html = response.content.decode()
    # Then the file is stored and stays listed (carried by id) while the errors are shown
    material = Material.objects.get()
    assert material.material_code == "LEASE"
    assert "lease.pdf" in html
    assert f'name="material_ids" value="{material.pk}"' in html
    assert Application.objects.count() == 0


def test_refused_upload_is_shown_next_to_its_material(service: Service, resident_client: Client) -> None:
    key = _page_key(resident_client, "/applications/new/TSVC/")
    upload = SimpleUploadedFile("lease.pdf", b"<html>not a pdf</html>", content_type="application/pdf")
    response = resident_client.post(
        "/applications/new/TSVC/",
        {
            "submission_key": key,
            "action": "submit",
            "company_name": "甲公司",
            "employees": "2",
            "file-LEASE": upload,
        },
    )
    html = response.content.decode()
    assert 'href="#f-material-LEASE"' in html
    assert 'id="f-material-LEASE-error"' in html
    assert Material.objects.count() == 0
    assert Application.objects.count() == 0


def test_draft_save_and_resume(service: Service, resident_client: Client) -> None:
    key = _page_key(resident_client, "/applications/new/TSVC/")
    upload = SimpleUploadedFile("charter.pdf", PDF, content_type="application/pdf")
    # When the resident saves a draft with the company name and one file
    response = resident_client.post(
        "/applications/new/TSVC/",
        {"submission_key": key, "action": "save_draft", "company_name": "草稿公司", "file-CHARTER": upload},
    )
    # Then they stay on the page with a success banner, and the draft keeps the data and the file's id
    assert response.status_code == 302
    assert response["Location"] == "/applications/new/TSVC/"
    draft = Draft.objects.get()
    assert draft.form_data == {"company_name": "草稿公司"}
    assert draft.material_ids == [str(Material.objects.get().pk)]
    page = resident_client.get("/applications/new/TSVC/").content.decode()
    assert "govuk-notification-banner--success" in page
    # And coming back later loads the draft (the value and the uploaded file)
    page = resident_client.get("/applications/new/TSVC/").content.decode()
    assert 'value="草稿公司"' in page
    assert "charter.pdf" in page
    # And it is listed under my applications
    assert "/applications/new/TSVC/" in resident_client.get("/applications/").content.decode()


def test_submit_with_upload_goes_to_the_receipt_and_double_submit_makes_one_application(
    service: Service, resident_client: Client
) -> None:
    key = _page_key(resident_client, "/applications/new/TSVC/")
    data = {"submission_key": key, "action": "submit", "company_name": "福州测试有限公司", "employees": "3"}
    # When the resident submits with a PDF, twice (a double click)
    first = resident_client.post(
        "/applications/new/TSVC/", {**data, "file-LEASE": SimpleUploadedFile("lease.pdf", PDF)}
    )
    second = resident_client.post(
        "/applications/new/TSVC/", {**data, "file-LEASE": SimpleUploadedFile("lease.pdf", PDF)}
    )
    # Then one application exists, with the file attached, and both answers lead to its receipt
    application = Application.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/applications/{application.tracking_no}/receipt/"
    assert application.channel == "web"
    assert list(application.materials.values_list("material_code", flat=True)) == ["LEASE"]
    assert Material.objects.count() == 1
    # And the receipt shows the tracking number, the service and the masked ID number (PIPL)
    receipt = resident_client.get(first["Location"]).content.decode()
    assert application.tracking_no in receipt
    assert "测试事项 TSVC" in receipt
    assert "110105********002X" in receipt
    assert "11010519491231002X" not in receipt
    assert "lease.pdf" in receipt
    assert "receipt.css" in receipt
    # And its "Download PDF" link serves the receipt PDF to the signed-in applicant
    link = receipt.split('href="/api/v1/applications/', 1)[1].split('"', 1)[0]
    pdf = resident_client.get(f"/api/v1/applications/{link}")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]
    # And it is listed under my applications with a status tag in words
    mine = resident_client.get("/applications/").content.decode()
    assert application.tracking_no in mine
    assert "govuk-tag" in mine


def test_submit_deletes_the_draft(service: Service, resident_client: Client) -> None:
    key = _page_key(resident_client, "/applications/new/TSVC/")
    resident_client.post(
        "/applications/new/TSVC/", {"submission_key": key, "action": "save_draft", "company_name": "甲"}
    )
    resident_client.post(
        "/applications/new/TSVC/",
        {"submission_key": key, "action": "submit", "company_name": "甲", "employees": "1"},
    )
    assert Application.objects.count() == 1
    assert Draft.objects.count() == 0


def test_enterprise_representative_applies_for_their_enterprise(
    service: Service, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["enterprise_representative"])
    key = _page_key(client, "/applications/new/TSVC/")
    response = client.post(
        "/applications/new/TSVC/",
        {"submission_key": key, "action": "submit", "company_name": "企业代表公司", "employees": "9"},
    )
    application = Application.objects.get()
    assert response.status_code == 302
    assert application.applicant_kind == "enterprise"
    assert application.applicant_identifier == "91350100M000100Y43"


def test_english_error_messages(service: Service, resident_client: Client) -> None:
    key = _page_key(resident_client, "/applications/new/TSVC/")
    response = resident_client.post(
        "/applications/new/TSVC/",
        {"submission_key": key, "action": "submit", "employees": "1"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    html = response.content.decode()
    assert "There is a problem" in html
    assert 'href="#f-company_name"' in html
    assert "请填写" not in html
