"""Reading an application's documents: receipts, notices and decision letters hold personal data, so
every download is recorded (MLPS 2.0 §8.1.4.3: audit of access to important data)."""

from __future__ import annotations

from django.db import transaction

from onewindow.accounts.models import User
from onewindow.applications.models import Document
from onewindow.applications.receipts import document_render
from onewindow.applications.selectors import application_document, application_for_user
from onewindow.audit.actions import audit_append


def document_download(*, acting_user: User, tracking_no: str, document_id: int) -> Document:
    """Return the document of an application ``acting_user`` may read, rendered to PDF on first use, and
    record the download; Http404 (the refusal audited) when they may not read the application or the
    document is not one of its own."""
    application = application_for_user(acting_user, tracking_no)
    document = document_render(application_document(application, document_id))
    with transaction.atomic():
        audit_append(
            action="document.downloaded",
            acting_user=acting_user,
            object_type="application",
            object_id=application.tracking_no,
            details={"document": document.pk, "kind": document.kind, "sha256": document.sha256},
        )
    return document
