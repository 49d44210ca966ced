"""Verified extracts (once-only, 免提交): the data of materials the government already holds for the
applicant, fetched from the base registries and kept with the case (docs/registry.md, "Once-only")."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.applications.models import Application, VerifiedExtract
from onewindow.forms.prefill import Identity, extracts_fetch


def verified_extracts_attach(
    *, application: Application, acting_user: User | None, held: set[str]
) -> list[VerifiedExtract]:
    """Fetch the verified data of the application's 免提交 materials (``held``: their codes) that have none
    yet, and attach it to the case.

    Runs inside the caller's transaction (the submission's or the acceptance's), so the extracts and the
    sources' audit records (``registry.extract_fetched``, with the tracking number as purpose) commit or roll
    back with the case. A material a source no longer holds (say, the person moved out in between) gets no
    extract; nothing else changes. Returns the extracts added.
    """
    if not transaction.get_connection().in_atomic_block:
        message = "verified_extracts_attach must run inside the transaction that writes the case"
        raise RuntimeError(message)
    existing = set(application.verified_extracts.values_list("material_code", flat=True))
    wanted = set(held) - existing
    if not wanted:
        return []
    identity = Identity(
        kind=application.applicant_kind,
        name=application.applicant_name,
        identifier=application.applicant_identifier,
    )
    fetched = extracts_fetch(
        list(application.version.materials or []),
        identity,
        wanted,
        purpose=application.tracking_no,
        acting_user=acting_user,
    )
    now = timezone.now()
    extracts = []
    for code in sorted(fetched):
        verified = fetched[code]
        extract = VerifiedExtract(
            application=application,
            material_code=code,
            resource=verified.resource,
            source=verified.source,
            record_version=verified.record_version,
            fetched_at=now,
            fetched_by=acting_user,
        )
        extract.data = verified.data
        extracts.append(extract)
    return VerifiedExtract.objects.bulk_create(extracts)
