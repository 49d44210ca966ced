"""``/api/v1/exchange/log``: the exchange message log — metadata search, an auditor's payload read with a
reason, and a subsystem's payload policy. Thin: parse, call the selector or action, return."""

from __future__ import annotations

import base64

from django.http import HttpRequest
from ninja import Query, Router

from onewindow.accounts.api_auth import api_auth
from onewindow.core.api_errors import ApiError
from onewindow.messagelog.actions import subsystem_payload_policy_set
from onewindow.messagelog.schemas import (
    LogErrorOut,
    LogQuery,
    LogRecordOut,
    LogRecordsOut,
    PayloadReadIn,
    PayloadsOut,
    PolicyIn,
    PolicyOut,
)
from onewindow.messagelog.selectors import message_log_payloads_read, message_log_search

router = Router(tags=["exchange message log"])

_ERRORS = {401: LogErrorOut, 403: LogErrorOut, 404: LogErrorOut, 422: LogErrorOut}


def _encoded(body: bytes | None) -> str | None:
    return base64.b64encode(body).decode("ascii") if body is not None else None


@router.get("", auth=api_auth, response={200: LogRecordsOut, **_ERRORS}, summary="Search the message log")
def message_log(request: HttpRequest, query: Query[LogQuery]) -> LogRecordsOut:
    """Exchanges newest first (metadata only): auditors and security officers see all, department
    administrators those of their department; every search is audited."""
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise ApiError(422, "invalid_date_range", "结束日期不得早于开始日期。", "to must not be before from.")
    page = message_log_search(
        user=request.user, filters=query.filters(), before_seq=query.before_seq, limit=query.limit
    )
    return LogRecordsOut(
        items=[LogRecordOut.model_validate(record, from_attributes=True) for record in page.records],
        next_before_seq=page.next_before_seq,
    )


@router.post(
    "/{seq}/payload",
    auth=api_auth,
    response={200: PayloadsOut, **_ERRORS},
    summary="Read one exchange's payloads (auditors, with a reason)",
)
def message_log_payload(request: HttpRequest, seq: int, body: PayloadReadIn) -> PayloadsOut:
    payloads = message_log_payloads_read(user=request.user, seq=seq, reason=body.reason)
    return PayloadsOut(
        seq=payloads.record.seq,
        request_payload_state=payloads.record.request_payload_state,
        response_payload_state=payloads.record.response_payload_state,
        request_body_base64=_encoded(payloads.request_body),
        response_body_base64=_encoded(payloads.response_body),
    )


@router.put(
    "/policies/{subsystem_code}",
    auth=api_auth,
    response={200: PolicyOut, **_ERRORS},
    summary="Set a subsystem's payload policy (full | metadata | none)",
)
def message_log_policy(request: HttpRequest, subsystem_code: str, body: PolicyIn) -> PolicyOut:
    record = subsystem_payload_policy_set(
        subsystem_code=subsystem_code, policy=body.policy, acting_user=request.user
    )
    return PolicyOut.model_validate(record, from_attributes=True)
