"""Issuing e-licences on approval (issue #6 item 3; GB/T 36901–36906 metadata; Electronic Signature Law
Art. 13): the QYKB approval issues the business licence as signed JSON (RFC 8785, SM2 with SM3, the
department's seal) and as a PAdES-signed PDF listed among the case's documents, in the approval's own
transaction: a failure leaves nothing issued, signed or audited.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from typing import Any

import gmalg
import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.applications.actions import application_submit
from onewindow.applications.models import Application, Document, Status
from onewindow.applications.tests.factories import VALID_FORM, published_service, uploaded_material
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.crypto.sm2 import DEFAULT_SIGNER_ID, SM2PublicKey, signature_to_raw
from onewindow.crypto.sm3 import sm3_hex
from onewindow.licences.actions import licence_record
from onewindow.licences.canonical import jcs_dumps
from onewindow.licences.models import HolderKind, Licence
from onewindow.licences.selectors import (
    licence_pdf_bytes,
    licence_signed_json,
    licence_verification_url,
    licence_verify_by_number,
    licence_verify_upload,
)
from onewindow.licences.signed import licence_canonical, licence_object
from onewindow.organisations.models import Department
from onewindow.organisations.tests.factories import DepartmentFactory
from onewindow.seals.actions import seal_revoke
from onewindow.seals.models import Seal
from onewindow.services.models import Channel
from onewindow.workflow.actions import task_complete
from onewindow.workflow.models import HumanTask, TaskStatus
from onewindow.workflow.processes import demo_process_files
from onewindow.workflow.tests.factories import QYKB_REGISTRATION_FIELDS, case_process, published_definition

pytestmark = pytest.mark.django_db


# --- QYKB end to end --------------------------------------------------------------------------------------


@pytest.fixture
def qykb_approved(role_users: dict[str, Any]) -> Application:
    """开办企业一件事 run by the engine to its approval by AMR, PSB, TAX and HRSS (processes/QYKB.bpmn)."""
    handlers = {
        code: staff_user(Role.DEPARTMENT_HANDLER, department_code=code, username=f"lic_{code.lower()}")
        for code in ("AMR", "PSB", "TAX", "HRSS")
    }
    service = published_service("QYKB", department=DepartmentFactory.create(code="AMR"), auto_accept=True)
    assert service.current_version is not None
    service.current_version.process_key = "QYKB"
    service.current_version.save(update_fields=["process_key"])
    published_definition(
        "QYKB", demo_process_files()["QYKB"].decode(), process_id=None, department_code="AMR"
    )
    resident = role_users["resident"]
    application, _ = application_submit(
        acting_user=resident,
        service_code="QYKB",
        form={**VALID_FORM, **QYKB_REGISTRATION_FIELDS},
        material_ids=[str(uploaded_material(resident, code).pk) for code in ("LEASE", "CHARTER")],
        channel=Channel.WEB,
    )
    case_process(application)
    while tasks := list(HumanTask.objects.filter(application=application, status=TaskStatus.OPEN)):
        for task in tasks:
            task_complete(
                acting_user=handlers[task.department_code], task=task, outcome="approve", opinion=""
            )
    application.refresh_from_db()
    assert application.status == Status.APPROVED
    return application


def test_the_qykb_approval_issues_the_business_licence_signed(qykb_approved: Application) -> None:
    # Given the approved case
    assert qykb_approved.decision is not None
    results = qykb_approved.decision["results"]

    # Then the business licence is in the register, numbered as the process assigned it
    licence = Licence.objects.get(application=qykb_approved)
    amr = Department.objects.get(code="AMR")
    assert licence.number == results["license_number"]
    assert (licence.name, licence.name_en, licence.type_code) == ("营业执照", "Business licence", "OWL0001")
    assert (licence.holder_kind, licence.holder_name, licence.holder_code) == (
        HolderKind.ENTERPRISE,
        VALID_FORM["company_name"],
        results["credit_code"],
    )
    assert (licence.issuer_name, licence.issuer_code) == (amr.name, amr.credit_code)
    assert licence.valid_until is None  # 长期
    # signed as RFC 8785 JSON with AMR's seal (issued on this first need) ...
    seal = Seal.objects.get(department=amr)
    assert bytes(licence.canonical_json) == licence_canonical(licence)
    assert licence.signature_digest == sm3_hex(bytes(licence.canonical_json))
    assert (licence.signature_key_fingerprint, licence.seal_id) == (seal.sm2_key_fingerprint, seal.pk)
    assert (licence.signature_algorithm, licence.signer_id) == ("SM2-SM3", "1234567812345678")
    # ... and as a PAdES PDF, listed among the case's documents with its SHA-256
    document = Document.objects.get(application=qykb_approved, kind=Document.Kind.LICENCE)
    assert licence.document_id == document.pk
    assert document.file.name == licence.pdf.name
    assert document.sha256 == licence.pdf_sha256
    assert (licence.pdf_level, licence.pdf_certificate_serial) == ("B-B", seal.certificate_serial)
    # and every signature is audited, once
    assert AuditRecord.objects.filter(action="licence.recorded", object_id=licence.number).count() == 1
    signed = AuditRecord.objects.get(action="seals.signed", details__tracking_no=qykb_approved.tracking_no)
    assert signed.details["digest_sm3"] == licence.signature_digest
    assert AuditRecord.objects.filter(
        action="seals.pdf_signed", details__tracking_no=qykb_approved.tracking_no
    ).exists()
    # and both verify
    assert licence_verify_by_number(licence.number).valid  # type: ignore[union-attr]
    assert licence_verify_upload(licence_signed_json(licence)).valid
    assert licence_verify_upload(licence_pdf_bytes(licence)).valid


def test_the_licence_shows_among_the_case_documents_and_downloads(
    qykb_approved: Application, client_for: Callable[[object], Client], role_users: dict[str, Any]
) -> None:
    licence = Licence.objects.get(application=qykb_approved)
    document = Document.objects.get(application=qykb_approved, kind=Document.Kind.LICENCE)

    response = client_for(role_users["resident"]).get(
        f"/api/v1/applications/{qykb_approved.tracking_no}/documents/{document.pk}"
    )

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == licence_pdf_bytes(licence)  # type: ignore[attr-defined]
    assert response["X-Content-SHA256"] == licence.pdf_sha256


# --- The signed content ------------------------------------------------------------------------------------


def test_the_signed_object_carries_the_gbt_36903_core_metadata(
    licence: Licence, department: Department
) -> None:
    document = json.loads(licence_signed_json(licence))

    assert document["licence"] == {
        "format": "onewindow-licence/1",
        "number": licence.number,
        "name": "营业执照",
        "name_en": "Business licence",
        "type_code": "OWL0001",
        "issuer": {"name": department.name, "code": department.credit_code},
        "issued_on": licence.issued_on.isoformat(),
        "valid_from": licence.issued_on.isoformat(),
        "valid_until": None,
        "holder": {
            "name": VALID_FORM["company_name"],
            "code": "91350100M000100Y43",
            "code_type": "credit_code",
        },
        "data": {
            "company_name": VALID_FORM["company_name"],
            **{key: QYKB_REGISTRATION_FIELDS[key] for key in ("company_type", "registered_capital")},
            "address": QYKB_REGISTRATION_FIELDS["address"],
            "business_scope": QYKB_REGISTRATION_FIELDS["business_scope"],
        },
    }
    assert document["licence"] == licence_object(licence)
    signature = document["signature"]
    assert set(signature) == {"algorithm", "signer_id", "key_fingerprint", "digest", "value"}
    assert (signature["algorithm"], signature["signer_id"]) == ("SM2-SM3", "1234567812345678")
    # The download is itself canonical: the same bytes every time
    assert licence_signed_json(licence) == jcs_dumps(document)


def test_an_independent_sm2_implementation_verifies_the_licence_with_the_published_key(
    licence: Licence, client: Client
) -> None:
    """What a bank does offline: fetch the seal's public key by fingerprint, re-canonicalise, verify (gmalg,
    pure Python, shares no code with the platform's gmalglib)."""
    document = json.loads(licence_signed_json(licence))
    signature = document["signature"]
    published = client.get(f"/api/v1/seals/keys/{signature['key_fingerprint']}").json()
    public_key = SM2PublicKey.from_pem(published["sm2_public_key_pem"].encode())
    canonical = jcs_dumps(document["licence"])
    raw = signature_to_raw(base64.b64decode(signature["value"]))
    verifier = gmalg.SM2(None, DEFAULT_SIGNER_ID, public_key.to_bytes())

    assert sm3_hex(canonical) == signature["digest"]
    assert verifier.verify(canonical, raw[:32], raw[32:])
    document["licence"]["holder"]["name"] = "别的公司"
    assert not verifier.verify(jcs_dumps(document["licence"]), raw[:32], raw[32:])


def test_the_pdf_is_an_a4_page_with_the_particulars_and_the_verification_link(licence: Licence) -> None:
    reader = PdfReader(io.BytesIO(licence_pdf_bytes(licence)))

    (page,) = reader.pages
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    text = page.extract_text().replace("\n", "").replace(" ", "")  # the title is letter-spaced
    for expected in (licence.number, "营业执照", "Businesslicence", VALID_FORM["company_name"], "长期"):
        assert expected in text
    assert licence_verification_url(licence.number) in text
    assert licence.signature_digest in text
    assert "有限责任公司" in text  # coded values shown with their labels
    assert reader.metadata is not None
    assert str(reader.metadata["/licencenumber"]) == licence.number


# --- Idempotence and failures -------------------------------------------------------------------------------


def test_issuing_the_same_number_again_changes_nothing(licence: Licence) -> None:
    audit_count = AuditRecord.objects.count()

    again = licence_record(
        application_id=licence.application_id or 0,
        number=licence.number,
        department_code="TDEPT",
        data={"credit_code": licence.holder_code},
        now=timezone.now(),
    )

    assert again.pk == licence.pk
    assert again.pdf_sha256 == licence.pdf_sha256
    assert AuditRecord.objects.count() == audit_count
    assert Document.objects.filter(kind=Document.Kind.LICENCE).count() == 1


def test_a_licence_recorded_before_signing_is_signed_when_the_action_runs_again(
    make_application: Callable[..., Application],
) -> None:
    application = make_application()
    legacy = Licence.objects.create(
        number="TDEPT-2025-000001",
        name="营业执照",
        type_code="OWL0001",
        issuer_department_code="TDEPT",
        holder_name="旧公司",
        holder_code="91350100M000100Y43",
        issued_on=timezone.localdate(),
        application=application,
        created_at=timezone.now(),
    )
    assert licence_verify_by_number(legacy.number).reason_code == "not_signed"  # type: ignore[union-attr]

    signed = licence_record(
        application_id=application.pk,
        number=legacy.number,
        department_code="TDEPT",
        data={"credit_code": legacy.holder_code},
        now=timezone.now(),
    )

    assert signed.pk == legacy.pk
    assert signed.issuer_name == "测试部门"
    assert licence_verify_by_number(legacy.number).valid  # type: ignore[union-attr]


def test_a_department_whose_seal_was_revoked_issues_nothing(
    issue: Callable[..., Licence], role_users: dict[str, Any], make_application: Callable[..., Application]
) -> None:
    # Given TDEPT's seal, revoked by its administrator
    first = issue()
    admin = role_users["department_admin"]
    assert isinstance(admin, User)
    seal_revoke(
        acting_user=admin,
        seal=Seal.objects.get(pk=first.seal_id or 0),
        reason="泄露",
        reason_code="key_compromise",
    )
    application = make_application()
    audit_count = AuditRecord.objects.count()

    # When an approval tries to issue a licence, it is refused
    with pytest.raises(RuleViolation) as refused, transaction.atomic():
        licence_record(
            application_id=application.pk,
            number="TDEPT-2026-000999",
            department_code="TDEPT",
            data={"credit_code": "91350100M000100Y43"},
            now=timezone.now(),
        )

    # and nothing was issued, signed or audited
    assert (refused.value.code, refused.value.status) == ("seal_missing", 409)
    assert not Licence.objects.filter(number="TDEPT-2026-000999").exists()
    assert not Document.objects.filter(application=application, kind=Document.Kind.LICENCE).exists()
    assert AuditRecord.objects.count() == audit_count


def test_a_service_outside_the_catalogue_issues_a_personal_licence_named_after_it(
    issue: Callable[..., Licence], make_application: Callable[..., Application], role_users: dict[str, Any]
) -> None:
    application = make_application("TSVC", form=dict(VALID_FORM))

    licence = issue(application=application, data={})

    resident = role_users["resident"]
    assert isinstance(resident, User)
    assert (licence.type_code, licence.name) == ("TSVC", application.version.name)
    assert (licence.holder_kind, licence.holder_code) == (HolderKind.PERSON, resident.id_number)
    assert json.loads(licence_signed_json(licence))["licence"]["holder"]["code_type"] == "id_number"
    assert licence_verify_upload(licence_signed_json(licence)).valid
