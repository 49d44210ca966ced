"""The licence PDF's PAdES signature (issue #6 acceptance; ETSI EN 319 142-1; Electronic Signature Law
Art. 13 (3)–(4)): intact and trusted with the platform root as the only trust anchor in pyHanko's validator
and in poppler's ``pdfsig`` (NSS) as an independent check; one changed byte makes both report it invalid
and the verification API answer ``valid: false``.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from onewindow.licences.models import Licence
from onewindow.licences.pdf import pdf_signature_check
from onewindow.licences.selectors import licence_pdf_bytes, licence_verify_upload
from onewindow.seals.selectors import authority_public

pytestmark = pytest.mark.django_db


def _root_der() -> bytes:
    authority = authority_public()
    assert authority is not None
    return bytes(authority.certificate_der)


def _pyhanko_status(pdf: bytes, roots: list[bytes]) -> Any:
    (embedded,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    trust_roots = [asn1_x509.Certificate.load(der) for der in roots]
    return validate_pdf_signature(embedded, ValidationContext(trust_roots=trust_roots))


def _one_byte_changed(pdf: bytes) -> bytes:
    """One byte changed inside the signed range (in the page's MediaBox key)."""
    position = pdf.index(b"/MediaBox")
    return pdf[: position + 8] + b"y" + pdf[position + 9 :]


def _upload(client: Client, content: bytes, name: str = "licence.pdf") -> Any:
    return client.post(
        "/api/v1/licenses/verify", {"file": SimpleUploadedFile(name, content, "application/pdf")}
    )


def test_pyhanko_finds_the_licence_intact_trusted_and_covering_the_whole_file(licence: Licence) -> None:
    status = _pyhanko_status(licence_pdf_bytes(licence), [_root_der()])

    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.signing_cert.subject.native["organizational_unit_name"] == "TDEPT"
    assert format(status.signing_cert.serial_number, "x") == licence.pdf_certificate_serial


def test_without_the_platform_root_pyhanko_does_not_trust_it(licence: Licence) -> None:
    status = _pyhanko_status(licence_pdf_bytes(licence), [])

    assert status.intact
    assert not status.trusted
    assert pdf_signature_check(licence_pdf_bytes(licence), trust_roots_der=[]).problem == "untrusted"


def test_one_changed_byte_makes_pyhanko_report_it_and_the_api_answer_not_valid(
    licence: Licence, client: Client
) -> None:
    tampered = _one_byte_changed(licence_pdf_bytes(licence))

    status = _pyhanko_status(tampered, [_root_der()])
    response = _upload(client, tampered)

    assert not status.intact
    assert not status.bottom_line
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert body["reason_code"] == "pdf_modified"
    # nothing about the licence is told for a file that is not authentic
    assert body["number"] is None
    assert body["holder_masked"] is None


def test_the_untouched_pdf_verifies_through_the_api(licence: Licence, client: Client) -> None:
    body = _upload(client, licence_pdf_bytes(licence)).json()

    assert body["valid"] is True
    assert body["status"] == "valid"
    assert body["number"] == licence.number
    assert body["algorithm"] == "PAdES ECDSA-P256-SHA256"
    assert body["digest"] == licence.pdf_sha256


def test_an_update_appended_after_signing_is_not_valid(licence: Licence) -> None:
    """An incremental update leaves the signature intact over its revision but no longer the whole file."""
    writer = IncrementalPdfFileWriter(io.BytesIO(licence_pdf_bytes(licence)))
    writer.root["/OneWindowNote"] = generic.pdf_string("改过的营业执照")
    writer.update_root()  # type: ignore[no-untyped-call]
    output = io.BytesIO()
    writer.write(output)  # type: ignore[no-untyped-call]
    appended = output.getvalue()

    status = _pyhanko_status(appended, [_root_der()])

    assert status.intact
    assert status.coverage != SignatureCoverageLevel.ENTIRE_FILE
    assert licence_verify_upload(appended).reason_code == "pdf_modified"


def test_a_pdf_that_is_not_the_one_issued_is_not_valid(licence: Licence) -> None:
    pdf = licence_pdf_bytes(licence)
    Licence.objects.filter(pk=licence.pk).update(pdf_sha256="0" * 64)

    result = licence_verify_upload(pdf)

    assert (result.valid, result.reason_code) == (False, "pdf_not_issued")


@pytest.mark.parametrize(
    ("content", "reason_code"),
    [
        (b"%PDF-1.7\n garbage that is no PDF at all", "pdf_unreadable"),
        (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF", "pdf_unreadable"),
    ],
)
def test_a_broken_pdf_is_answered_not_valid_never_a_server_error(
    content: bytes, reason_code: str, client: Client, licence: Licence
) -> None:
    response = _upload(client, content)

    assert response.status_code == 200
    assert response.json()["reason_code"] in {reason_code, "pdf_unsigned"}
    assert response.json()["valid"] is False


# --- poppler's pdfsig, an independent validator (NSS) ------------------------------------------------------


needs_pdfsig = pytest.mark.skipif(
    not (shutil.which("pdfsig") and shutil.which("certutil")),
    reason="poppler-utils and libnss3-tools (pdfsig, certutil) are not installed",
)


def _pdfsig(pdf: bytes, root_der: bytes, tmp_path: Path) -> str:
    nss = tmp_path / "nss"
    nss.mkdir()
    (tmp_path / "root.der").write_bytes(root_der)
    (tmp_path / "licence.pdf").write_bytes(pdf)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, timeout=60)
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            f"sql:{nss}",
            "-n",
            "root",
            "-t",
            "CT,C,C",
            "-i",
            str(tmp_path / "root.der"),
        ],
        check=True,
        timeout=60,
    )
    completed = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{nss}", str(tmp_path / "licence.pdf")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return completed.stdout


@needs_pdfsig
def test_pdfsig_finds_the_licence_signature_valid_and_trusted(licence: Licence, tmp_path: Path) -> None:
    report = _pdfsig(licence_pdf_bytes(licence), _root_der(), tmp_path)

    assert "Signature Validation: Signature is Valid." in report
    assert "Certificate Validation: Certificate is Trusted." in report
    assert "Signer Certificate Common Name: 测试部门" in report
    assert "Signature Type: ETSI.CAdES.detached" in report
    assert "Total document signed" in report


@needs_pdfsig
def test_pdfsig_reports_one_changed_byte(licence: Licence, tmp_path: Path) -> None:
    report = _pdfsig(_one_byte_changed(licence_pdf_bytes(licence)), _root_der(), tmp_path)

    assert "Signature Validation: Digest Mismatch." in report
