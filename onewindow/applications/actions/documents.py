"""Reading an application's documents: receipts, notices and decision letters hold personal data, so
every download is recorded (MLPS 2.0 §8.1.4.3: audit of access to important data)."""

from __future__ import annotations

from django.db import transaction

from onewindow.accounts.models import User
from onewindow.applications.receipts import DocumentCopy, document_render
from onewindow.applications.selectors import application_document, application_for_user
from onewindow.audit.actions import audit_append


def document_download(*, acting_user: User, tracking_no: str, document_id: int) -> DocumentCopy:
    """Return the document of an application ``acting_user`` may read, rendered and sealed on first use
    (``receipts.document_render``), and record the download; Http404 (the refusal audited) when they may
    not read the application or the document is not one of its own."""
    application = application_for_user(acting_user, tracking_no)
    copy = document_render(application_document(application, document_id))
    details: dict[str, object] = {
        "document": copy.document.pk,
        "kind": copy.document.kind,
        "sha256": copy.sha256,
    }
    if copy.unsealed_content is not None:
        details["unsealed_copy"] = True
    if copy.untimestamped_content is not None:
        details["untimestamped_copy"] = True
    with transaction.atomic():
        audit_append(
            action="document.downloaded",
            acting_user=acting_user,
            object_type="application",
            object_id=application.tracking_no,
            details=details,
        )
    return copy
