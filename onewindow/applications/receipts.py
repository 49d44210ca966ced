"""PDF documents of an application: receipt (受理回执), supplement notice (一次性告知书), notice of
non-acceptance (不予受理通知书) and decision letter, from one template family (templates/applications/pdf/).

Rendered with WeasyPrint on first download (the submit path stays fast), signed right after rendering as
PAdES with the electronic seal of the department deciding the case (the service's department, through
``seals.actions.seal_pdf_signer_for_decision``, which audits ``seals.pdf_signed`` with the tracking number),
and stored through the default storage on the Document row with the SHA-256 of the signed file; served from
there afterwards. The seal's image is printed over the issuing department's name, as a paper seal is
stamped (Administrative Licensing Law Art. 32: a receipt "加盖本行政机关专用印章"). ID numbers are shown
masked (PIPL).

When no seal can sign (the department's seal was revoked and not yet replaced, its certificate expired, the
key store refuses), the download still gets the document: rendered with a printed note that it is not sealed,
served once and not stored, so the first download after the department has a seal again stores the sealed
one (docs/signatures.md, "Signed letters"). A department that never had a seal gets its first one on first
need, as the platform root is created on first need. Documents stored before signing began stay as they are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from onewindow.applications.models import Application, Document, Status
from onewindow.applications.tracking import CHINA
from onewindow.core.errors import RuleViolation
from onewindow.core.logging import get_logger
from onewindow.core.validators import mask_id_number
from onewindow.organisations.models import Department
from onewindow.seals import actions as seal_actions
from onewindow.seals import selectors as seal_selectors
from onewindow.seals.keystore import KeyStoreError
from onewindow.seals.models import Seal
from onewindow.seals.pades import TimestampUnavailable, pades_sign

logger = get_logger(__name__)

TEMPLATES: dict[str, str] = {
    Document.Kind.RECEIPT: "applications/pdf/receipt.html",
    Document.Kind.SUPPLEMENT_NOTICE: "applications/pdf/supplement_notice.html",
    Document.Kind.NOT_ACCEPTED_NOTICE: "applications/pdf/not_accepted_notice.html",
    Document.Kind.DECISION: "applications/pdf/decision.html",
}

#: What each signature is for, in the seal's audit record (``seals.pdf_signed`` ``purpose``).
SEAL_PURPOSES: dict[str, str] = {
    Document.Kind.RECEIPT: "受理回执 PDF",
    Document.Kind.SUPPLEMENT_NOTICE: "补正材料一次性告知书 PDF",
    Document.Kind.NOT_ACCEPTED_NOTICE: "不予受理通知书 PDF",
    Document.Kind.DECISION: "决定书 PDF",
}

#: The PDF signature field of a sealed document.
SIGNATURE_FIELD = "Seal"

# Why a document may go out unsealed: the seals app refused (no active seal, expired certificate, a seal
# revoked meanwhile) or the key store cannot open the key (wrong master key; production without one).
_SEAL_UNAVAILABLE = (RuleViolation, KeyStoreError, ImproperlyConfigured)


@dataclass(frozen=True)
class DocumentCopy:
    """What one download serves: the stored file, or a copy made for this download only.

    ``unsealed_content`` is set when no seal could sign; ``untimestamped_content`` (sealed, PAdES B-B) when
    ``ONEWINDOW_TSA_URL`` is set and the timestamp server did not answer. Neither copy is stored, so a later
    download, once the seal or the timestamp server is back, stores the complete document. ``sha256`` is of
    the bytes served.
    """

    document: Document
    sha256: str
    unsealed_content: bytes | None = None
    untimestamped_content: bytes | None = None

    @property
    def is_stored(self) -> bool:
        return self.unsealed_content is None and self.untimestamped_content is None

    def open(self) -> IO[bytes]:
        content = self.unsealed_content if self.unsealed_content is not None else self.untimestamped_content
        if content is not None:
            return io.BytesIO(content)
        stored: IO[bytes] = self.document.file.open("rb")
        return stored


def verification_code(document: Document, application: Application) -> str:
    """A short keyed code printed on the document; the platform recomputes it to verify a paper copy."""
    message = f"{application.tracking_no}|{document.kind}|{document.pk}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()
    return "-".join(digest[index : index + 4] for index in range(0, 16, 4)).upper()


def _masked_identifier(application: Application) -> str:
    if application.applicant_kind == "resident":
        return mask_id_number(application.applicant_identifier)
    return application.applicant_identifier  # an enterprise's credit code is public


def _seal_context(seal: Seal | None, *, sealed: bool) -> dict[str, Any]:
    image = ""
    if seal is not None and seal.image_png:
        image = "data:image/png;base64," + base64.b64encode(bytes(seal.image_png)).decode("ascii")
    return {
        "sealed": sealed,
        "seal_image": image,
        "seal_version": seal.version if seal is not None else None,
        "seal_certificate_serial": seal.certificate_serial if seal is not None else "",
    }


def document_context(document: Document, *, seal: Seal | None = None, sealed: bool = False) -> dict[str, Any]:
    application = document.application
    version = application.version
    notice = application.supplement_requests.order_by("-requested_at").first()
    refusal = application.events.filter(kind="not_accepted").order_by("-at").first()
    return {
        "document": document,
        "application": application,
        "service_name": version.name,
        "service_name_en": version.name_en,
        "department": application.service.department,
        "applicant_identifier": _masked_identifier(application),
        "submitted_at": application.submitted_at.astimezone(CHINA),
        "accepted_at": application.accepted_at.astimezone(CHINA) if application.accepted_at else None,
        "materials": list(application.materials.order_by("created_at")),
        "status_label": Status(application.status).label,
        "supplement_items": notice.items if notice else [],
        "refusal": refusal,
        "decision": application.decision or {},
        "issued_at": timezone.now().astimezone(CHINA),
        "verification_code": verification_code(document, application),
        "promised_days": version.promised_days,
        **_seal_context(seal, sealed=sealed),
    }


def document_pdf(document: Document, *, seal: Seal | None = None, sealed: bool = False) -> bytes:
    """Render the document's PDF (WeasyPrint, font Noto Sans CJK SC), unsigned.

    ``seal`` prints that seal's image over the department's name; ``sealed`` False prints the note that this
    copy carries no electronic seal.
    """
    from weasyprint import HTML  # type: ignore[import-untyped]  # heavy import: first download only

    html = render_to_string(TEMPLATES[document.kind], document_context(document, seal=seal, sealed=sealed))
    return bytes(HTML(string=html).write_pdf())


def document_sealed_pdf(document: Document, *, timestamped: bool = True) -> bytes:
    """Render the document with the deciding department's seal image and sign it (PAdES, ECDSA P-256):
    baseline B-T with an RFC 3161 timestamp when ``ONEWINDOW_TSA_URL`` is set and ``timestamped``, else B-B.

    Raises what the seals app raises when it cannot sign (``RuleViolation`` ``seal_missing``,
    ``seal_not_active``, ``seal_expired``; ``KeyStoreError``; ``ImproperlyConfigured``), and
    ``TimestampUnavailable`` when the timestamp server does not answer. The signature is audited as
    ``seals.pdf_signed`` by ``back-office`` with the tracking number, in the caller's transaction.
    """
    from pyhanko.sign import fields, signers

    application = document.application
    with seal_actions.seal_pdf_signer_for_decision(
        application=application, purpose=SEAL_PURPOSES[document.kind]
    ) as signer:
        # The image of the very seal that signs (a rotation since the caller looked cannot mismatch them).
        certificate = signer.signing_cert
        seal = seal_selectors.seal_by_certificate_serial(
            format(certificate.serial_number, "x") if certificate is not None else ""
        )
        content = document_pdf(document, seal=seal, sealed=True)
        metadata = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason=document.name,
            location=application.service.department.name,
        )
        signed, _level = pades_sign(content, metadata=metadata, signer=signer, timestamped=timestamped)
    return signed


def _first_seal_issue(department: Department) -> None:
    """Issue the department's first seal when it never had one (as the system, audited
    ``seals.seal_issued``). A department whose seal was revoked gets none: its administrators rotate."""
    if seal_selectors.seal_active(department.code) is not None:
        return
    with transaction.atomic():
        # One first issue per department: a concurrent first download waits here, then finds the seal.
        locked = Department.objects.select_for_update().get(pk=department.pk)
        if seal_selectors.seal_active(locked.code) is not None:
            return
        if seal_selectors.seals_revoked().filter(department=locked).exists():
            return
        seal = seal_actions.seal_rotate(acting_user=None, department=locked)
        logger.info("document_seal_first_issued", department=locked.code, seal_version=seal.version)


def _unavailable_reason(error: Exception) -> str:
    code = getattr(error, "code", None)
    return str(code) if isinstance(error, RuleViolation) and code else type(error).__name__


def _untimestamped_copy(document: Document, error: TimestampUnavailable) -> DocumentCopy:
    """The timestamp server did not answer: the document sealed without a timestamp (B-B), served for this
    download and not stored, so the first download after the server is back stores the B-T document. A
    receipt is the applicant's proof of filing and must not fail because a timestamp server is down."""
    logger.warning(
        "document_not_timestamped",
        tracking_no=document.application.tracking_no,
        document=document.pk,
        kind=document.kind,
        reason=str(error)[:200],
    )
    with transaction.atomic():
        content = document_sealed_pdf(document, timestamped=False)
    return DocumentCopy(
        document=document, sha256=hashlib.sha256(content).hexdigest(), untimestamped_content=content
    )


def document_render(document: Document) -> DocumentCopy:
    """The document's file, rendered, sealed and stored the first time (once, under a lock).

    When no seal can sign, an unsealed copy with a printed note, not stored (see the module's docstring).
    """
    if document.file:
        return DocumentCopy(document=document, sha256=document.sha256)
    application = document.application
    department = application.service.department
    failure: Exception | None = None
    try:
        _first_seal_issue(department)
    except _SEAL_UNAVAILABLE as error:
        failure = error
    with transaction.atomic():
        locked = (
            Document.objects.select_for_update()
            .select_related("application__service__department")
            .get(pk=document.pk)
        )
        if locked.file:
            return DocumentCopy(document=locked, sha256=locked.sha256)
        if failure is None:
            try:
                with transaction.atomic():  # a refusal rolls back to here; the row lock stays usable
                    content = document_sealed_pdf(locked)
            except _SEAL_UNAVAILABLE as error:
                failure = error
            except TimestampUnavailable as error:
                return _untimestamped_copy(locked, error)
            else:
                locked.sha256 = hashlib.sha256(content).hexdigest()
                locked.file.save(
                    f"{application.tracking_no}-{locked.kind}-{locked.pk}.pdf",
                    ContentFile(content),
                    save=False,
                )
                locked.save(update_fields=["file", "sha256"])
                return DocumentCopy(document=locked, sha256=locked.sha256)
    # A refusal by the seals app is an expected state (e.g. between a revocation and the next rotation); a key
    # store that cannot open keys is a fault of the installation (``check-deploy`` names it).
    log = logger.warning if isinstance(failure, RuleViolation) else logger.error
    log(
        "document_not_sealed",
        tracking_no=application.tracking_no,
        document=locked.pk,
        kind=locked.kind,
        department=department.code,
        reason=_unavailable_reason(failure) if failure is not None else "",
    )
    unsealed = document_pdf(locked, seal=None, sealed=False)
    return DocumentCopy(
        document=locked, sha256=hashlib.sha256(unsealed).hexdigest(), unsealed_content=unsealed
    )
