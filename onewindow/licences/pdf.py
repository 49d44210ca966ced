"""The licence PDF: rendered with WeasyPrint (A4, Noto CJK, the seal image, a QR code to the verification
page), signed PAdES with the department's seal certificate (pyHanko), and checked again on upload.

No database here: the actions pass what is needed and authorise the signing through the seals app
(``seal_pdf_signer_for_decision``). Signing is PAdES baseline B-B, or B-T with an RFC 3161 signature
timestamp when ``ONEWINDOW_TSA_URL`` is set (ETSI EN 319 142-1). It is a certification signature that
permits no changes (ISO 32000-2 §12.8.2.2, DocMDP P=1): a licence is not a form to fill in.

The licence number is written into the document information dictionary (``/licencenumber``), covered by
the signature, so an uploaded copy names the licence it claims to be.
"""

from __future__ import annotations

import base64
import functools
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import segno
from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from django.template.loader import render_to_string

from onewindow.seals.pades import outside_event_loop, pades_sign

# The key the licence number is written under in the PDF's document information dictionary (WeasyPrint
# writes an HTML <meta name="licencenumber"> there, lower-cased and without punctuation).
INFO_NUMBER_KEY = "licencenumber"
SIGNATURE_FIELD = "Licence"
PDF_ALGORITHM = "PAdES ECDSA-P256-SHA256"


@dataclass(frozen=True)
class PdfField:
    label: str
    label_en: str
    value: str


@dataclass(frozen=True)
class LicencePdfContent:
    """Everything printed on a licence (the licence's own record plus the seal image and link)."""

    number: str
    name: str
    name_en: str
    type_code: str
    holder_name: str
    holder_code: str
    holder_code_label: str
    holder_code_label_en: str
    issuer_name: str
    issuer_code: str
    issued_on: date
    valid_until: date | None
    fields: list[PdfField]
    digest: str
    verification_url: str
    seal_image_png: bytes


def _data_uri(content: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}"


@functools.cache
def _stylesheet() -> Any:
    """licence.css parsed (its selectors compiled) once per process; read-only afterwards, so threads can
    share it."""
    from weasyprint import CSS  # type: ignore[import-untyped]

    return CSS(string=render_to_string("licences/pdf/licence.css"))


def licence_pdf_render(content: LicencePdfContent) -> bytes:
    """The unsigned licence PDF (WeasyPrint, Noto Serif/Sans CJK SC, A4)."""
    from weasyprint import HTML  # heavy import: only where licences are issued
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    qr = segno.make(content.verification_url, error="m")
    html = render_to_string(
        "licences/pdf/licence.html",
        {
            "licence": content,
            "qr_uri": qr.svg_data_uri(scale=4, border=0, dark="#0b0c0c"),
            "seal_uri": _data_uri(content.seal_image_png, "image/png"),
        },
    )
    # data: URIs only, so nothing printed on a licence can make the server fetch a URL or read a file.
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    document = HTML(string=html, url_fetcher=fetcher)
    return bytes(document.write_pdf(stylesheets=[_stylesheet()], custom_metadata=True))


def licence_pdf_sign(pdf: bytes, *, signer: Any, number: str, signer_name: str) -> tuple[bytes, str]:
    """Sign ``pdf`` with ``signer`` (a seal's pyHanko signer) as PAdES; returns the signed bytes and the
    baseline level ("B-B", or "B-T" with a timestamp). ``TimestampUnavailable`` if the configured timestamp
    server does not answer."""
    from pyhanko.sign import fields, signers

    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        reason=f"电子证照 {number} / E-licence {number}",
        name=signer_name,
    )
    return pades_sign(pdf, metadata=metadata, signer=signer)


# --- Checking an uploaded PDF ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PdfSignatureCheck:
    """What an uploaded PDF's signature says. ``problem`` is None when the PDF carries exactly one
    signature, intact, chained to a trusted root and covering the whole file; else a short code:
    ``unreadable``, ``unsigned``, ``several_signatures``, ``modified``, ``untrusted``."""

    problem: str | None
    certificate_serial: str = ""
    licence_number: str = ""
    signed_at: datetime | None = None
    timestamped: bool = False


def _info_number(reader: Any) -> str:
    info = reader.trailer_view.get("/Info")
    if info is None:
        return ""
    value = info.get_object().get(f"/{INFO_NUMBER_KEY}")
    return str(value)[:64] if value is not None else ""


def pdf_signature_check(pdf: bytes, *, trust_roots_der: list[bytes]) -> PdfSignatureCheck:
    """Validate the PAdES signature of an uploaded PDF with pyHanko, the given roots as the only anchors."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_signatures)
        number = _info_number(reader)
    # The file is untrusted input: whatever the PDF parser trips over (its own errors, struct, zlib,
    # recursion, decoding), the answer is the same "not a readable PDF", never a server error.
    except Exception:
        return PdfSignatureCheck("unreadable")
    if not signatures:
        return PdfSignatureCheck("unsigned", licence_number=number)
    if len(signatures) > 1:
        return PdfSignatureCheck("several_signatures", licence_number=number)
    (embedded,) = signatures
    roots = [asn1_x509.Certificate.load(der) for der in trust_roots_der]
    try:
        status = outside_event_loop(
            lambda: validate_pdf_signature(embedded, ValidationContext(trust_roots=roots))
        )
    except Exception:  # as above: a malformed signature dictionary or CMS blob
        return PdfSignatureCheck("modified", licence_number=number)
    serial = format(status.signing_cert.serial_number, "x") if status.signing_cert is not None else ""
    timestamp = status.timestamp_validity
    signed_at = timestamp.timestamp if timestamp is not None else status.signer_reported_dt
    if not (status.intact and status.valid) or status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        problem: str | None = "modified"
    else:
        problem = None if status.trusted else "untrusted"
    return PdfSignatureCheck(
        problem,
        certificate_serial=serial,
        licence_number=number,
        signed_at=signed_at,
        timestamped=timestamp is not None,
    )
