"""Receipts, notices and decision letters sealed by the deciding department (PAdES, ETSI EN 319 142-1).

Administrative Licensing Law Art. 32 (a receipt or notice "加盖本行政机关专用印章") and Art. 38 (a written
decision); Electronic Signature Law Art. 13 (3)–(4): any later change to the document is detectable. Each kind
validates as intact and trusted with the platform root as the only trust anchor, in pyHanko's validator and
in poppler's ``pdfsig`` (NSS) as an independent check; one changed byte makes both report it invalid. The
signing is audited with the tracking number; the download stays what it was for every role.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.db import connections
from django.test import Client, override_settings
from django.utils import timezone
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from conftest import ALL_ROLES
from onewindow.applications.actions import (
    application_accept,
    application_decide,
    application_refuse,
    application_request_supplement,
)
from onewindow.applications.actions.common import SupplementItem
from onewindow.applications.models import Application, Document
from onewindow.applications.receipts import SEAL_PURPOSES, document_render
from onewindow.audit.models import AuditRecord
from onewindow.organisations.models import Department
from onewindow.seals.actions import seal_revoke, seal_rotate
from onewindow.seals.models import CertificateAuthority, Seal, SealStatus
from onewindow.seals.tests.tsa import closed_port, tsa_server  # noqa: F401 - the "tsa" fixture

pytestmark = pytest.mark.django_db

KINDS = [
    Document.Kind.RECEIPT,
    Document.Kind.SUPPLEMENT_NOTICE,
    Document.Kind.NOT_ACCEPTED_NOTICE,
    Document.Kind.DECISION,
]
# Who could download an application's documents before they were sealed (test_api.READERS): the applicant,
# the window clerk and the deciding department (TDEPT).
READERS = {"resident", "window_clerk", "department_handler", "department_admin"}
UNSEALED_NOTE = "本件未加盖电子印章"


@pytest.fixture
def department(role_users: dict[str, Any]) -> Department:
    return Department.objects.get(code="TDEPT")


@pytest.fixture
def seal(department: Department) -> Seal:
    """TDEPT's seal, issued by the system before any document is downloaded."""
    return seal_rotate(acting_user=None, department=department)


@pytest.fixture
def document_of(role_users: dict[str, Any], submit: Callable[..., Application]) -> Callable[[str], Document]:
    """A document of the given kind, issued the way the intake and the back office issue it."""

    def make(kind: str) -> Document:
        clerk = role_users["window_clerk"]
        application = submit()
        if kind == Document.Kind.SUPPLEMENT_NOTICE:
            application_request_supplement(
                acting_user=clerk,
                application=application,
                items=[SupplementItem(field="company_name", reason="名称须与核名通知书一致")],
            )
        elif kind == Document.Kind.NOT_ACCEPTED_NOTICE:
            application_refuse(acting_user=clerk, application=application, reason="不属于本机关职权范围")
        elif kind == Document.Kind.DECISION:
            accepted = application_accept(acting_user=clerk, application=application)
            application_decide(acting_user=None, application=accepted, outcome="approved")
        return Document.objects.get(application=application, kind=kind)

    return make


def _download(client: Client, document: Document) -> Any:
    return client.get(f"/api/v1/applications/{document.application.tracking_no}/documents/{document.pk}")


def _content(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def _downloaded(client_for: Callable[[object], Client], user: Any, document: Document) -> bytes:
    response = _download(client_for(user), document)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/pdf"
    return _content(response)


def _root() -> bytes:
    return bytes(CertificateAuthority.objects.get(is_current=True).certificate_der)


def _pyhanko_status(pdf: bytes) -> Any:
    root = asn1_x509.Certificate.load(_root())
    (embedded,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    return validate_pdf_signature(embedded, ValidationContext(trust_roots=[root]))


def _tampered(pdf: bytes) -> bytes:
    """One byte changed inside the signed range: the first page's MediaBox key (the file still parses)."""
    position = pdf.index(b"/MediaBox")
    return pdf[:position] + b"/MediaBoy" + pdf[position + len(b"/MediaBox") :]


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


# --- Each kind is sealed, intact and trusted ---------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_each_document_is_sealed_intact_and_trusted_with_the_root_as_anchor(
    kind: str,
    seal: Seal,
    role_users: dict[str, Any],
    document_of: Callable[[str], Document],
    client_for: Callable[[object], Client],
) -> None:
    # Given a document of this kind, issued on a case of TDEPT's service
    document = document_of(kind)

    # When the applicant downloads it
    pdf = _downloaded(client_for, role_users["resident"], document)

    # Then its one signature is TDEPT's seal, intact and trusted with the platform root as the only anchor
    status = _pyhanko_status(pdf)
    assert (status.intact, status.valid, status.trusted, status.bottom_line) == (True, True, True, True)
    assert status.signing_cert.subject.native["organizational_unit_name"] == "TDEPT"
    assert status.signing_cert.serial_number == int(seal.certificate_serial, 16)
    # And the seal's image is on the page, the sealed note printed, the verification code kept
    text = _text(pdf)
    assert f"第 {seal.version} 版" in text
    assert UNSEALED_NOTE not in text
    assert "核验码 Verification code" in text
    assert len(PdfReader(io.BytesIO(pdf)).pages[-1].images) == 1
    # And what is stored is the signed file, with its SHA-256
    document.refresh_from_db()
    assert document.file.name
    assert document.sha256 == hashlib.sha256(pdf).hexdigest()


@pytest.mark.parametrize("kind", KINDS)
def test_one_changed_byte_makes_pyhanko_report_each_document_invalid(
    kind: str,
    seal: Seal,
    role_users: dict[str, Any],
    document_of: Callable[[str], Document],
    client_for: Callable[[object], Client],
) -> None:
    pdf = _downloaded(client_for, role_users["resident"], document_of(kind))

    status = _pyhanko_status(_tampered(pdf))

    assert not status.intact
    assert not status.bottom_line


def _pdfsig(pdf: bytes, tmp_path: Path) -> str:
    """``pdfsig``'s report on ``pdf`` with a throwaway NSS database trusting only the platform root."""
    nss = tmp_path / "nss"
    nss.mkdir(exist_ok=True)
    root = tmp_path / "root.der"
    root.write_bytes(_root())
    (tmp_path / "document.pdf").write_bytes(pdf)
    if not (nss / "cert9.db").exists():
        subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, timeout=60)
        subprocess.run(
            ["certutil", "-A", "-d", f"sql:{nss}", "-n", "root", "-t", "CT,C,C", "-i", str(root)],
            check=True,
            timeout=60,
        )
    completed = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{nss}", str(tmp_path / "document.pdf")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return completed.stdout


needs_pdfsig = pytest.mark.skipif(
    not (shutil.which("pdfsig") and shutil.which("certutil")),
    reason="poppler-utils and libnss3-tools (pdfsig, certutil) are not installed",
)


@needs_pdfsig
@pytest.mark.parametrize("kind", KINDS)
def test_pdfsig_finds_each_document_valid_and_trusted_and_reports_one_changed_byte(
    kind: str,
    seal: Seal,
    role_users: dict[str, Any],
    document_of: Callable[[str], Document],
    client_for: Callable[[object], Client],
    tmp_path: Path,
) -> None:
    pdf = _downloaded(client_for, role_users["resident"], document_of(kind))

    report = _pdfsig(pdf, tmp_path)
    tampered = _pdfsig(_tampered(pdf), tmp_path)

    assert "Signature Validation: Signature is Valid." in report
    assert "Certificate Validation: Certificate is Trusted." in report
    assert "Signer Certificate Common Name: 测试部门" in report
    assert "Signature Validation: Digest Mismatch." in tampered


# --- Audit, storage, history -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_sealing_is_audited_once_with_the_tracking_number(
    kind: str,
    seal: Seal,
    role_users: dict[str, Any],
    document_of: Callable[[str], Document],
    client_for: Callable[[object], Client],
) -> None:
    # Given a document of this kind
    document = document_of(kind)
    tracking_no = document.application.tracking_no

    # When it is downloaded twice (by the applicant, then by the window clerk)
    first = _downloaded(client_for, role_users["resident"], document)
    second = _downloaded(client_for, role_users["window_clerk"], document)

    # Then it was sealed once, by the back office with TDEPT's seal, and the same bytes are served again
    assert second == first
    (record,) = AuditRecord.objects.filter(action="seals.pdf_signed")
    assert record.actor_username == "back-office"
    assert record.department_code == "TDEPT"
    assert record.details["tracking_no"] == tracking_no
    assert record.details["purpose"] == SEAL_PURPOSES[kind]
    assert record.details["certificate_serial"] == seal.certificate_serial
    (embedded,) = PdfFileReader(io.BytesIO(first)).embedded_signatures
    message_digest = embedded.signer_info["signed_attrs"][1]["values"][0].native
    assert record.details["digest_document"] == bytes(message_digest).hex()
    # And both downloads are on the audit trail with the signed file's SHA-256
    downloads = AuditRecord.objects.filter(action="document.downloaded", object_id=tracking_no)
    assert [entry.details["sha256"] for entry in downloads] == [hashlib.sha256(first).hexdigest()] * 2


def test_a_department_that_never_had_a_seal_gets_its_first_one_on_first_need(
    role_users: dict[str, Any],
    document_of: Callable[[str], Document],
    client_for: Callable[[object], Client],
) -> None:
    # Given TDEPT without any seal, and a receipt
    assert not Seal.objects.exists()
    document = document_of(Document.Kind.RECEIPT)

    # When the applicant downloads the receipt
    pdf = _downloaded(client_for, role_users["resident"], document)

    # Then TDEPT's first seal was issued by the system (audited) and the receipt is sealed with it
    (seal,) = Seal.objects.filter(department__code="TDEPT")
    assert (seal.version, seal.status) == (1, SealStatus.ACTIVE)
    (issued,) = AuditRecord.objects.filter(action="seals.seal_issued")
    assert issued.actor_username == "system"
    status = _pyhanko_status(pdf)
    assert status.bottom_line
    assert status.signing_cert.serial_number == int(seal.certificate_serial, 16)


def test_a_revoked_seal_gives_an_unsealed_copy_with_a_note_that_is_not_stored(
    seal: Seal,
    role_users: dict[str, Any],
    document_of: Callable[[str], Document],
    client_for: Callable[[object], Client],
) -> None:
    # Given TDEPT's only seal revoked (the department has none until its administrators rotate)
    seal_revoke(acting_user=None, seal=seal, reason="密钥泄露", reason_code="key_compromise")
    document = document_of(Document.Kind.RECEIPT)

    # When the applicant downloads the receipt
    response = _download(client_for(role_users["resident"]), document)

    # Then they get it, unsigned, with the printed note, and nothing is stored or sealed
    assert response.status_code == 200
    pdf = _content(response)
    assert PdfFileReader(io.BytesIO(pdf)).embedded_signatures == []
    text = _text(pdf)
    assert UNSEALED_NOTE in text
    assert "Not sealed" in text
    assert document.application.tracking_no in text
    assert response["X-Content-SHA256"] == hashlib.sha256(pdf).hexdigest()
    document.refresh_from_db()
    assert (document.file.name, document.sha256) == ("", "")
    assert not AuditRecord.objects.filter(action="seals.pdf_signed").exists()
    assert Seal.objects.count() == 1  # no seal issued behind the administrators' back
    (download,) = AuditRecord.objects.filter(action="document.downloaded")
    assert download.details["unsealed_copy"] is True

    # When the department's administrator rotates and the applicant downloads again
    new_seal = seal_rotate(acting_user=role_users["department_admin"], department=seal.department)
    sealed = _downloaded(client_for, role_users["resident"], document)

    # Then the sealed receipt is stored and served
    status = _pyhanko_status(sealed)
    assert status.bottom_line
    assert status.signing_cert.serial_number == int(new_seal.certificate_serial, 16)
    document.refresh_from_db()
    assert document.sha256 == hashlib.sha256(sealed).hexdigest()


def test_an_expired_seal_gives_an_unsealed_copy_and_no_new_seal(
    seal: Seal,
    role_users: dict[str, Any],
    document_of: Callable[[str], Document],
    client_for: Callable[[object], Client],
) -> None:
    # Given TDEPT's active seal whose certificate has expired (its administrators have not rotated it)
    Seal.objects.filter(pk=seal.pk).update(not_after=timezone.now() - dt.timedelta(days=1))
    document = document_of(Document.Kind.NOT_ACCEPTED_NOTICE)

    # When the applicant downloads the notice of non-acceptance
    pdf = _downloaded(client_for, role_users["resident"], document)

    # Then it is unsealed with the note, not stored, and no seal was issued in the seal's place
    assert PdfFileReader(io.BytesIO(pdf)).embedded_signatures == []
    assert UNSEALED_NOTE in _text(pdf)
    document.refresh_from_db()
    assert document.file.name == ""
    assert list(Seal.objects.values_list("pk", flat=True)) == [seal.pk]


def test_a_key_store_that_cannot_open_the_key_gives_an_unsealed_copy(
    seal: Seal,
    role_users: dict[str, Any],
    document_of: Callable[[str], Document],
    client_for: Callable[[object], Client],
    settings: Any,
) -> None:
    # Given the seal's keys encrypted under the master key, and the installation now configured with another
    document = document_of(Document.Kind.DECISION)
    settings.SEAL_MASTER_KEYS = {"other": bytes(range(32))}

    # When the applicant downloads the decision letter
    response = _download(client_for(role_users["resident"]), document)

    # Then they get it unsealed, with the note; nothing is stored or audited as signed
    assert response.status_code == 200
    pdf = _content(response)
    assert PdfFileReader(io.BytesIO(pdf)).embedded_signatures == []
    assert UNSEALED_NOTE in _text(pdf)
    document.refresh_from_db()
    assert document.file.name == ""
    assert not AuditRecord.objects.filter(action="seals.pdf_signed").exists()


def test_a_document_stored_before_sealing_began_is_served_as_it_is(
    seal: Seal,
    role_users: dict[str, Any],
    document_of: Callable[[str], Document],
    client_for: Callable[[object], Client],
) -> None:
    # Given a receipt stored unsigned before documents were sealed
    document = document_of(Document.Kind.RECEIPT)
    old = b"%PDF-1.7\n% an unsigned receipt of before\n%%EOF\n"
    document.sha256 = hashlib.sha256(old).hexdigest()
    document.file.save(f"{document.application.tracking_no}-receipt-old.pdf", ContentFile(old), save=False)
    document.save(update_fields=["file", "sha256"])

    # When it is downloaded
    pdf = _downloaded(client_for, role_users["resident"], document)

    # Then it is the stored file, unchanged, and nothing was signed
    assert pdf == old
    assert not AuditRecord.objects.filter(action="seals.pdf_signed").exists()


# --- Who may download --------------------------------------------------------------------------------------


def _state() -> tuple[Any, ...]:
    return (
        list(Document.objects.values_list("pk", "file", "sha256")),
        list(Seal.objects.values_list("pk", "status")),
        AuditRecord.objects.filter(
            action__in=["seals.pdf_signed", "seals.seal_issued", "document.downloaded"]
        ).count(),
    )


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_sealed_download_for_every_role(
    role: str,
    role_users: dict[str, Any],
    document_of: Callable[[str], Document],
    client_for: Callable[[object], Client],
) -> None:
    # Given a receipt of a department without a seal yet
    document = document_of(Document.Kind.RECEIPT)
    before = _state()

    # When the role downloads it
    client = Client() if role == "anonymous" else client_for(role_users[role])
    response = _download(client, document)

    # Then the readers get the sealed receipt; everyone else is refused and nothing changed: no seal
    # issued, nothing signed, stored or recorded as downloaded
    if role not in READERS:
        assert response.status_code == (401 if role == "anonymous" else 404)
        assert _state() == before
        return
    assert response.status_code == 200
    assert _pyhanko_status(_content(response)).bottom_line
    assert AuditRecord.objects.filter(action="seals.pdf_signed").count() == 1


# --- Concurrency (PostgreSQL: SQLite serialises writers) ---------------------------------------------------


@pytest.mark.skipif(
    not django_settings.IS_POSTGRES,
    reason="SQLite serialises writers (IMMEDIATE transactions): no real concurrency",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_downloads_issue_one_seal_and_seal_each_document_once(
    role_users: dict[str, Any], submit: Callable[..., Application]
) -> None:
    # Given two receipts of a department without a seal
    first, second = (submit().documents.get() for _ in range(2))
    results: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker(document: Document) -> None:
        try:
            barrier.wait()
            copy = document_render(Document.objects.get(pk=document.pk))
            results.append((copy.document.pk, copy.sha256))
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    # When four downloads render them at once, two per receipt
    threads = [threading.Thread(target=worker, args=(document,)) for document in (first, second) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then one seal was issued, each receipt was sealed and stored once, and every download got that file
    assert errors == []
    assert list(Seal.objects.values_list("version", "status")) == [(1, SealStatus.ACTIVE)]
    assert AuditRecord.objects.filter(action="seals.pdf_signed").count() == 2
    stored = dict(Document.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "sha256"))
    assert sorted(results) == sorted([(first.pk, stored[first.pk]), (second.pk, stored[second.pk])] * 2)


# --- PAdES B-T with a timestamp server (ONEWINDOW_TSA_URL) -------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_with_a_timestamp_server_each_letter_is_signed_b_t(
    kind: str,
    tsa: tuple[str, bytes],
    seal: Seal,
    role_users: dict[str, Any],
    document_of: Callable[[str], Document],
    client_for: Callable[[object], Client],
) -> None:
    url, tsa_der = tsa
    document = document_of(kind)
    with override_settings(TSA_URL=url, TSA_TIMEOUT_SECONDS=10):
        pdf = _downloaded(client_for, role_users["resident"], document)

    (embedded,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    roots = [asn1_x509.Certificate.load(_root()), asn1_x509.Certificate.load(tsa_der)]
    status = validate_pdf_signature(embedded, ValidationContext(trust_roots=roots))
    assert status.bottom_line
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact
    assert status.timestamp_validity.valid
    assert abs(status.timestamp_validity.timestamp - timezone.now()) < dt.timedelta(minutes=5)
    document.refresh_from_db()
    assert document.sha256 == hashlib.sha256(pdf).hexdigest()  # stored


def test_a_timestamp_server_that_does_not_answer_gives_a_sealed_copy_not_stored(
    tsa: tuple[str, bytes],
    seal: Seal,
    role_users: dict[str, Any],
    document_of: Callable[[str], Document],
    client_for: Callable[[object], Client],
) -> None:
    # Given a receipt and a timestamp server that does not answer
    document = document_of(Document.Kind.RECEIPT)
    with override_settings(TSA_URL=f"http://127.0.0.1:{closed_port()}/tsr", TSA_TIMEOUT_SECONDS=2):
        # When the applicant downloads it
        response = _download(client_for(role_users["resident"]), document)

    # Then they get it sealed (B-B: no timestamp), and it is not stored
    assert response.status_code == 200
    pdf = _content(response)
    status = _pyhanko_status(pdf)
    assert status.bottom_line
    assert status.timestamp_validity is None
    assert UNSEALED_NOTE not in _text(pdf)
    assert response["X-Content-SHA256"] == hashlib.sha256(pdf).hexdigest()
    document.refresh_from_db()
    assert (document.file.name, document.sha256) == ("", "")
    download = AuditRecord.objects.get(action="document.downloaded")
    assert download.details["untimestamped_copy"] is True
    assert "unsealed_copy" not in download.details
    # the failed attempt's seal record rolled back with it: one signing, the one served
    assert AuditRecord.objects.filter(action="seals.pdf_signed").count() == 1

    # When the server is back, the next download stores the B-T receipt
    url, _tsa_der = tsa
    with override_settings(TSA_URL=url, TSA_TIMEOUT_SECONDS=10):
        stored = _downloaded(client_for, role_users["resident"], document)
    assert _pyhanko_status(stored).timestamp_validity is not None
    document.refresh_from_db()
    assert document.sha256 == hashlib.sha256(stored).hexdigest()
