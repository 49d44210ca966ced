"""PDF signatures with a seal (PAdES baseline, ETSI EN 319 142-1; Electronic Signature Law Art. 13 (3)–(4)):
a PDF signed through the key store validates as intact and trusted with the platform root as the only trust
anchor in pyHanko's validator with its default key-usage settings, and in poppler's ``pdfsig`` (NSS) as an
independent check; one changed byte makes both report it invalid. Signing is for holders only and audited.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from django.core.exceptions import PermissionDenied
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfWriter

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.audit.models import AuditRecord
from onewindow.seals.actions import seal_pdf_signer
from onewindow.seals.models import Seal

pytestmark = pytest.mark.django_db


def _blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def _signed_pdf(holder: User, seal: Seal) -> bytes:
    with seal_pdf_signer(acting_user=holder, seal=seal, purpose="营业执照 PDF") as signer:
        output = signers.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(_blank_pdf())),
            signers.PdfSignatureMetadata(field_name="Seal", subfilter=fields.SigSeedSubFilter.PADES),
            signer=signer,
        )
    return bytes(output.getvalue())


def _pyhanko_status(pdf: bytes, seal: Seal) -> Any:
    root = asn1_x509.Certificate.load(bytes(seal.authority.certificate_der))
    (embedded,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    return validate_pdf_signature(embedded, ValidationContext(trust_roots=[root]))


def _tampered(pdf: bytes) -> bytes:
    """One byte changed inside the signed range (in the page's MediaBox)."""
    position = pdf.index(b"/MediaBox")
    return pdf[:position] + b"/MediaBoy" + pdf[position + len(b"/MediaBox") :]


def test_a_sealed_pdf_is_intact_and_trusted_with_the_root_as_anchor(holder: User, seal: Seal) -> None:
    status = _pyhanko_status(_signed_pdf(holder, seal), seal)

    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.bottom_line
    assert status.signing_cert.subject.native["organizational_unit_name"] == "TDEPT"


def test_one_changed_byte_makes_pyhanko_report_it_invalid(holder: User, seal: Seal) -> None:
    status = _pyhanko_status(_tampered(_signed_pdf(holder, seal)), seal)

    assert not status.intact
    assert not status.bottom_line


def test_without_the_root_as_anchor_the_signature_is_not_trusted(holder: User, seal: Seal) -> None:
    (embedded,) = PdfFileReader(io.BytesIO(_signed_pdf(holder, seal))).embedded_signatures
    status = validate_pdf_signature(embedded, ValidationContext(trust_roots=[]))

    assert status.intact
    assert not status.trusted


def _pdfsig(pdf: bytes, seal: Seal, tmp_path: Path) -> str:
    nss = tmp_path / "nss"
    nss.mkdir()
    root = tmp_path / "root.der"
    root.write_bytes(bytes(seal.authority.certificate_der))
    (tmp_path / "signed.pdf").write_bytes(pdf)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, timeout=60)
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{nss}", "-n", "root", "-t", "CT,C,C", "-i", str(root)],
        check=True,
        timeout=60,
    )
    completed = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{nss}", str(tmp_path / "signed.pdf")],
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
def test_pdfsig_finds_the_signature_valid_and_the_certificate_trusted(
    holder: User, seal: Seal, tmp_path: Path
) -> None:
    report = _pdfsig(_signed_pdf(holder, seal), seal, tmp_path)

    assert "Signature Validation: Signature is Valid." in report
    assert "Certificate Validation: Certificate is Trusted." in report
    assert "Signer Certificate Common Name: 测试部门" in report


@needs_pdfsig
def test_pdfsig_reports_one_changed_byte(holder: User, seal: Seal, tmp_path: Path) -> None:
    report = _pdfsig(_tampered(_signed_pdf(holder, seal)), seal, tmp_path)

    assert "Signature Validation: Digest Mismatch." in report


def test_pdf_signing_is_audited_with_the_document_digest(holder: User, seal: Seal) -> None:
    pdf = _signed_pdf(holder, seal)

    (record,) = AuditRecord.objects.filter(action="seals.pdf_signed")
    assert record.actor_username == "t_seal_holder"
    assert record.details["purpose"] == "营业执照 PDF"
    assert record.details["certificate_serial"] == seal.certificate_serial
    (embedded,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    message_digest = embedded.signer_info["signed_attrs"][1]["values"][0].native
    assert record.details["digest_document"] == bytes(message_digest).hex()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_but_the_holder_is_refused_a_pdf_signer(
    role: str, role_users: dict[str, Any], seal: Seal
) -> None:
    with (
        pytest.raises(PermissionDenied),
        seal_pdf_signer(acting_user=role_users[role], seal=seal, purpose="x"),
    ):
        pytest.fail("a signer was handed out")  # pragma: no cover

    assert not AuditRecord.objects.filter(action="seals.pdf_signed").exists()
    assert AuditRecord.objects.filter(action="permission.denied").count() == 1
