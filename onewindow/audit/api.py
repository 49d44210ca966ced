"""``/api/v1/audit/``: search, read, export and verify the audit trail (auditors only).

Every endpoint refuses callers without ``Permission.VIEW_AUDIT`` with 403 and audits the refusal;
auditors' own searches, reads, exports and verifications are audited too (MLPS 2.0 §8.1.4.3).
"""

from __future__ import annotations

from django.http import HttpRequest, StreamingHttpResponse
from django.utils.translation import get_language
from ninja import Query, Router

from onewindow.accounts.api_auth import api_auth
from onewindow.audit.export import csv_response
from onewindow.audit.models import AuditRecord
from onewindow.audit.schemas import (
    AuditErrorOut,
    AuditFiltersIn,
    AuditRecordOut,
    AuditRecordsOut,
    AuditRecordsQuery,
    AuditVerifyOut,
)
from onewindow.audit.selectors import (
    AuditFilters,
    audit_chain_verify,
    audit_record_get,
    audit_records_export,
    audit_records_search,
)
from onewindow.core.api_errors import ApiError

router = Router(tags=["audit"])

_ERRORS = {401: AuditErrorOut, 403: AuditErrorOut, 404: AuditErrorOut, 422: AuditErrorOut}


def _checked(filters_in: AuditFiltersIn) -> AuditFilters:
    filters = filters_in.filters()
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ApiError(
            422, "invalid_date_range", "结束日期不得早于开始日期。", "date_to must not be before date_from."
        )
    return filters


def _out(record: AuditRecord) -> AuditRecordOut:
    return AuditRecordOut.model_validate(record, from_attributes=True)


@router.get(
    "/records", auth=api_auth, response={200: AuditRecordsOut, **_ERRORS}, summary="Search audit records"
)
def audit_records(request: HttpRequest, query: Query[AuditRecordsQuery]) -> AuditRecordsOut:
    """Matching records, newest first, one page at a time (``next_before_seq`` is the next cursor)."""
    page = audit_records_search(
        user=request.user, filters=_checked(query), before_seq=query.before_seq, limit=query.limit
    )
    return AuditRecordsOut(
        items=[_out(record) for record in page.records], next_before_seq=page.next_before_seq
    )


@router.get(
    "/records/{seq}", auth=api_auth, response={200: AuditRecordOut, **_ERRORS}, summary="One audit record"
)
def audit_record(request: HttpRequest, seq: int) -> AuditRecordOut:
    return _out(audit_record_get(user=request.user, seq=seq))


@router.get(
    "/export.csv",
    auth=api_auth,
    response={200: None, **_ERRORS},
    summary="Export audit records as CSV",
    description="UTF-8 with a byte-order mark, oldest first, at most `AUDIT_EXPORT_MAX_ROWS` rows.",
)
def audit_export(request: HttpRequest, filters: Query[AuditFiltersIn]) -> StreamingHttpResponse:
    return csv_response(audit_records_export(user=request.user, filters=_checked(filters)))


@router.get(
    "/verify", auth=api_auth, response={200: AuditVerifyOut, **_ERRORS}, summary="Verify the audit chain"
)
def audit_verify(request: HttpRequest) -> AuditVerifyOut:
    """Recompute every hash and link and check the latest head anchor (slow on long chains)."""
    result = audit_chain_verify(user=request.user)
    english = (get_language() or "zh-hans").startswith("en")
    return AuditVerifyOut(
        intact=result.intact,
        checked=result.checked,
        first_seq=result.first_seq,
        head_seq=result.head_seq,
        anchor_seq=result.anchor_seq,
        problem_kind=result.problem_kind,
        problem_seq=result.problem_seq,
        problem=result.problem_en if english else result.problem_zh,
        problem_zh=result.problem_zh,
        problem_en=result.problem_en,
    )
