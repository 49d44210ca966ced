"""Reading the message log (issue #8 item 3), every read checked and audited.

Who reads what (docs/messagelog.md, "Who may read"):
- auditors (``VIEW_AUDIT``) and security officers (``MANAGE_SECURITY``): every record's metadata;
- department administrators (``MANAGE_DEPARTMENT``): metadata of exchanges their department took part in,
  as consumer or provider;
- payloads: auditors only, one record at a time, with a stated reason that goes into the audit trail.
Everybody else — the system administrator included (separation of duties, GB/T 22239-2019 §8.1.4.2) — is
refused, and the refusal is audited. Searches cover the live table; archived segments are checked by
``message_log_verify`` and read offline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission, user_roles
from onewindow.accounts.roles import ROLE_PERMISSIONS, Permission
from onewindow.audit.actions import audit_append
from onewindow.audit.models import Outcome
from onewindow.core.errors import RuleViolation
from onewindow.messagelog.models import MessageLogRecord, PayloadState
from onewindow.messagelog.protection import payload_open

PAGE_SIZE = 50
OBJECT_TYPE = "messagelog_record"
MIN_REASON_LENGTH = 5


@dataclass(frozen=True)
class LogFilters:
    """Empty values do not filter; dates are local dates, both inclusive, on the exchange's start time."""

    service: str = ""
    consumer: str = ""
    purpose: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def as_details(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items() if value not in ("", None)}


@dataclass(frozen=True)
class LogPage:
    records: list[MessageLogRecord]
    next_before_seq: int | None


@dataclass(frozen=True)
class Payloads:
    record: MessageLogRecord
    request_body: bytes | None
    response_body: bytes | None


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def readable_records(user: User | AnonymousUser) -> QuerySet[MessageLogRecord]:
    """The records ``user`` may read the metadata of; refuses (audited) anyone who may read none."""
    if user_has_permission(user, Permission.VIEW_AUDIT) or user_has_permission(
        user, Permission.MANAGE_SECURITY
    ):
        return MessageLogRecord.objects.all()
    departments = {
        grant.department_code
        for grant in user_roles(user)
        if grant.department_code and Permission.MANAGE_DEPARTMENT in ROLE_PERMISSIONS[grant.role]
    }
    if departments:
        return MessageLogRecord.objects.filter(
            Q(consumer_department_code__in=departments) | Q(provider_department_code__in=departments)
        )
    raise permission_denied(user, Permission.VIEW_AUDIT, object_type=OBJECT_TYPE)


def message_log_search(
    *, user: User | AnonymousUser, filters: LogFilters, before_seq: int | None = None, limit: int = PAGE_SIZE
) -> LogPage:
    """One page of matching records the user may read, newest first; audited as ``messagelog.searched``."""
    queryset = readable_records(user)
    assert isinstance(user, User)  # noqa: S101 - readable_records refused everyone else
    details: dict[str, object] = {"filters": filters.as_details()}
    if before_seq is not None:
        details["before_seq"] = before_seq
    audit_append(action="messagelog.searched", acting_user=user, object_type=OBJECT_TYPE, details=details)
    if filters.service:
        queryset = queryset.filter(service=filters.service)
    if filters.consumer:
        queryset = queryset.filter(consumer=filters.consumer)
    if filters.purpose:
        queryset = queryset.filter(purpose=filters.purpose)
    if filters.date_from:
        queryset = queryset.filter(started_at__gte=_local_midnight(filters.date_from))
    if filters.date_to:
        queryset = queryset.filter(started_at__lt=_local_midnight(filters.date_to + dt.timedelta(days=1)))
    if before_seq is not None:
        queryset = queryset.filter(seq__lt=before_seq)
    # The payload columns are never loaded for a search.
    records = list(queryset.defer("request_payload", "response_payload").order_by("-seq")[: limit + 1])
    more = len(records) > limit
    records = records[:limit]
    return LogPage(records=records, next_before_seq=records[-1].seq if more else None)


def message_log_payloads_read(*, user: User | AnonymousUser, seq: int, reason: str) -> Payloads:
    """Decrypt one record's payloads for an auditor who states why; audited as ``messagelog.payload_read``
    (with the reason) before anything is returned. Everyone else is refused, audited."""
    if not user_has_permission(user, Permission.VIEW_AUDIT):
        raise permission_denied(user, Permission.VIEW_AUDIT, object_type=OBJECT_TYPE, object_id=str(seq))
    assert isinstance(user, User)  # noqa: S101 - checked just above
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise RuleViolation(
            "reason_required",
            f"查看报文内容须说明理由（至少 {MIN_REASON_LENGTH} 个字符）。",
            f"Reading payloads needs a reason (at least {MIN_REASON_LENGTH} characters).",
            field="reason",
        )
    record = MessageLogRecord.objects.filter(seq=seq).first()
    with transaction.atomic():
        audit_append(
            action="messagelog.payload_read",
            acting_user=user,
            outcome=Outcome.SUCCESS if record is not None else Outcome.FAILURE,
            object_type=OBJECT_TYPE,
            object_id=seq,
            details={"reason": reason},
        )
    if record is None:
        raise RuleViolation(
            "not_found", "没有该报文日志记录。", "There is no such message log record.", status=404
        )
    return Payloads(
        record=record,
        request_body=_opened(record, "request"),
        response_body=_opened(record, "response"),
    )


def _opened(record: MessageLogRecord, side: str) -> bytes | None:
    sealed = getattr(record, f"{side}_payload")
    if getattr(record, f"{side}_payload_state") != PayloadState.STORED or sealed is None:
        return None
    return payload_open(
        bytes(sealed), key_id=record.payload_key_id, exchange_id=record.exchange_id, side=side
    )
