"""Writing to the audit trail. Every other app's actions call :func:`audit_append` inside their transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from onewindow.audit.chain import GENESIS_HASH, normalise_details, record_hash
from onewindow.audit.models import AuditRecord, Outcome
from onewindow.core import metrics
from onewindow.core.context import current_request_context

if TYPE_CHECKING:
    from onewindow.accounts.models import User

# Any constant works; it names the lock that serialises appends to the chain on PostgreSQL.
_CHAIN_LOCK_KEY = 0x0E_A0D1_7000

SECRET_KEYS = frozenset({"password", "otp", "token", "secret", "totp_secret", "key", "private_key"})


def _scrub(details: dict[str, Any]) -> dict[str, Any]:
    return {key: ("[redacted]" if key.lower() in SECRET_KEYS else value) for key, value in details.items()}


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    # SQLite: the surrounding transaction began IMMEDIATE, so it already holds the database's write lock.


def audit_append(
    *,
    action: str,
    acting_user: User | None,
    outcome: str = Outcome.SUCCESS,
    object_type: str = "",
    object_id: str | int = "",
    details: dict[str, Any] | None = None,
    role: str = "",
    department_code: str = "",
    actor_username: str = "",
) -> AuditRecord:
    """Append one record to the chain, in the caller's transaction.

    Call it at the end of an action, inside the action's ``transaction.atomic`` block, so the record commits
    or rolls back with what it records; the chain lock is held from here to the commit. Keys that look like
    secrets are redacted from ``details``.
    """
    context = current_request_context()
    with transaction.atomic():
        _lock_chain()
        last = AuditRecord.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        if acting_user is not None and not role:
            role = ",".join(sorted({membership.role for membership in acting_user.memberships.all()})) or str(
                acting_user.kind
            )
        fields: dict[str, Any] = {
            "seq": seq,
            "recorded_at": timezone.now(),
            "actor_id": acting_user.pk if acting_user is not None else None,
            "actor_username": acting_user.get_username() if acting_user is not None else actor_username,
            "actor_role": role[:200],
            "department_code": department_code,
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id),
            "outcome": str(outcome),
            "client_address": context.client_address,
            "request_id": context.request_id,
            "channel": context.channel,
            "details": normalise_details(_scrub(details or {})),
            "prev_hash": prev_hash,
        }
        record = AuditRecord.objects.create(**fields, hash=record_hash(fields))
    metrics.AUDIT_RECORDS.labels(outcome=str(outcome)).inc()
    return record
