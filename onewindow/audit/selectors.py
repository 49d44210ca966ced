"""Reading the audit trail: auditors only, and every read is itself audited.

Separation of duties (MLPS 2.0 / GB/T 22239-2019 §8.1.4.2 and §8.1.4.3): only ``Permission.VIEW_AUDIT``
(the auditor) may read audit records; the system administrator and everybody else are refused, and the
refusal is recorded. Auditors are audited too: searches, views, exports and verifications append records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import require_permission
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.audit.models import AuditRecord, Outcome
from onewindow.audit.verify import VerifyResult, verify_chain

PAGE_SIZE = 50
EXPORT_CHUNK_SIZE = 2000
OBJECT_TYPE = "audit_record"


@dataclass(frozen=True)
class AuditFilters:
    """Search filters; empty values do not filter. Dates are local dates, both inclusive."""

    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    outcome: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    request_id: str = ""

    def as_details(self) -> dict[str, str]:
        """The filters that were set, as JSON-ready strings (for the access's own audit record)."""
        return {key: str(value) for key, value in asdict(self).items() if value not in ("", None)}


@dataclass(frozen=True)
class AuditPage:
    records: list[AuditRecord]
    next_before_seq: int | None  # pass as ``before_seq`` for the next (older) page; None on the last


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _filtered(filters: AuditFilters) -> QuerySet[AuditRecord]:
    queryset = AuditRecord.objects.all()
    if filters.actor:
        queryset = queryset.filter(actor_username=filters.actor)
    if filters.action:
        # A prefix finds a family of events: "login." finds login.succeeded, login.failed, ...
        queryset = queryset.filter(action__startswith=filters.action)
    if filters.object_type:
        queryset = queryset.filter(object_type=filters.object_type)
    if filters.object_id:
        queryset = queryset.filter(object_id=filters.object_id)
    if filters.outcome:
        queryset = queryset.filter(outcome=filters.outcome)
    if filters.date_from:
        queryset = queryset.filter(recorded_at__gte=_local_midnight(filters.date_from))
    if filters.date_to:
        queryset = queryset.filter(recorded_at__lt=_local_midnight(filters.date_to + dt.timedelta(days=1)))
    if filters.request_id:
        queryset = queryset.filter(request_id=filters.request_id)
    return queryset


def _auditor(user: User | AnonymousUser, *, object_id: str = "") -> User:
    return require_permission(user, Permission.VIEW_AUDIT, object_type=OBJECT_TYPE, object_id=object_id)


def audit_records_search(
    *,
    user: User | AnonymousUser,
    filters: AuditFilters,
    before_seq: int | None = None,
    limit: int = PAGE_SIZE,
) -> AuditPage:
    """One page of matching records, newest first (keyset: records with seq below ``before_seq``).

    Records the search as ``audit.searched`` with the filters, before running it.
    """
    auditor = _auditor(user)
    details: dict[str, Any] = {"filters": filters.as_details()}
    if before_seq is not None:
        details["before_seq"] = before_seq
    audit_append(action="audit.searched", acting_user=auditor, object_type=OBJECT_TYPE, details=details)
    queryset = _filtered(filters).order_by("-seq")
    if before_seq is not None:
        queryset = queryset.filter(seq__lt=before_seq)
    records = list(queryset[: limit + 1])
    more = len(records) > limit
    records = records[:limit]
    return AuditPage(records=records, next_before_seq=records[-1].seq if more else None)


def audit_record_get(*, user: User | AnonymousUser, seq: int) -> AuditRecord:
    """One record by its sequence number (Http404 if there is none); records the view as ``audit.viewed``."""
    auditor = _auditor(user, object_id=str(seq))
    record = AuditRecord.objects.filter(seq=seq).first()
    audit_append(
        action="audit.viewed",
        acting_user=auditor,
        outcome=Outcome.SUCCESS if record is not None else Outcome.FAILURE,
        object_type=OBJECT_TYPE,
        object_id=seq,
    )
    if record is None:
        raise Http404
    return record


def audit_records_export(*, user: User | AnonymousUser, filters: AuditFilters) -> Iterator[AuditRecord]:
    """Matching records oldest first, at most ``settings.AUDIT_EXPORT_MAX_ROWS``, read in keyset chunks.

    The permission check and the ``audit.exported`` record happen now, not when the iterator is consumed.
    """
    auditor = _auditor(user)
    cap: int = settings.AUDIT_EXPORT_MAX_ROWS
    audit_append(
        action="audit.exported",
        acting_user=auditor,
        object_type=OBJECT_TYPE,
        details={"filters": filters.as_details(), "max_rows": cap, "format": "csv"},
    )
    return _export_rows(filters, cap)


def _export_rows(filters: AuditFilters, cap: int) -> Iterator[AuditRecord]:
    queryset = _filtered(filters).order_by("seq")
    after = 0
    remaining = cap
    while remaining > 0:
        chunk = list(queryset.filter(seq__gt=after)[: min(EXPORT_CHUNK_SIZE, remaining)])
        yield from chunk
        if len(chunk) < min(EXPORT_CHUNK_SIZE, remaining):
            return
        remaining -= len(chunk)
        after = chunk[-1].seq


def audit_chain_verify(*, user: User | AnonymousUser) -> VerifyResult:
    """Verify the whole chain for an auditor; the run and its result are recorded as ``audit.verified``."""
    auditor = _auditor(user)
    result = verify_chain()
    audit_append(
        action="audit.verified",
        acting_user=auditor,
        outcome=Outcome.SUCCESS if result.intact else Outcome.FAILURE,
        object_type=OBJECT_TYPE,
        details={"intact": result.intact, "checked": result.checked, "problem": result.problem_en},
    )
    return result
