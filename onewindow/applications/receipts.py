"""PDF documents of an application: receipt (受理回执), supplement notice (一次性告知书), notice of
non-acceptance (不予受理通知书) and decision letter, from one template family (templates/applications/pdf/).

Rendered with WeasyPrint on first download (the submit path stays fast), stored through the default storage
on the Document row with its SHA-256, and served from there afterwards. ID numbers are shown masked (PIPL).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from onewindow.applications.models import Application, Document, Status
from onewindow.applications.tracking import CHINA
from onewindow.core.validators import mask_id_number

TEMPLATES: dict[str, str] = {
    Document.Kind.RECEIPT: "applications/pdf/receipt.html",
    Document.Kind.SUPPLEMENT_NOTICE: "applications/pdf/supplement_notice.html",
    Document.Kind.NOT_ACCEPTED_NOTICE: "applications/pdf/not_accepted_notice.html",
    Document.Kind.DECISION: "applications/pdf/decision.html",
}


def verification_code(document: Document, application: Application) -> str:
    """A short keyed code printed on the document; the platform recomputes it to verify a paper copy."""
    message = f"{application.tracking_no}|{document.kind}|{document.pk}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()
    return "-".join(digest[index : index + 4] for index in range(0, 16, 4)).upper()


def _masked_identifier(application: Application) -> str:
    if application.applicant_kind == "resident":
        return mask_id_number(application.applicant_identifier)
    return application.applicant_identifier  # an enterprise's credit code is public


def document_context(document: Document) -> dict[str, Any]:
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
    }


def document_pdf(document: Document) -> bytes:
    """Render the document's PDF (WeasyPrint, font Noto Sans CJK SC)."""
    from weasyprint import HTML  # type: ignore[import-untyped]  # heavy import: first download only

    html = render_to_string(TEMPLATES[document.kind], document_context(document))
    return bytes(HTML(string=html).write_pdf())


def document_render(document: Document) -> Document:
    """Return the document with its file, rendering and storing it the first time (once, under a lock)."""
    if document.file:
        return document
    with transaction.atomic():
        locked = Document.objects.select_for_update().select_related("application").get(pk=document.pk)
        if not locked.file:
            content = document_pdf(locked)
            locked.sha256 = hashlib.sha256(content).hexdigest()
            locked.file.save(
                f"{locked.application.tracking_no}-{locked.kind}-{locked.pk}.pdf",
                ContentFile(content),
                save=False,
            )
            locked.save(update_fields=["file", "sha256"])
    return locked
