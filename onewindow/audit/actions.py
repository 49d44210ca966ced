"""Writing to the audit trail. Every other app's actions call :func:`audit_append` in their transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from onewindow.audit.anchors import Anchor, anchor_append
from onewindow.audit.chain import GENESIS_HASH, HASHED_FIELDS, normalise_details, record_hash
from onewindow.audit.models import AuditRecord, Outcome
from onewindow.core import metrics
from onewindow.core.context import current_request_context
from onewindow.core.logging import get_logger

if TYPE_CHECKING:
    from onewindow.accounts.models import User

logger = get_logger(__name__)

# Any constant works; it names the lock that serialises appends to the chain on PostgreSQL.
_CHAIN_LOCK_KEY = 0x0E_A0D1_7000

# Keys redacted from details wherever they appear (also nested): whole names, and parts of names.
SECRET_KEYS = frozenset({"password", "otp", "token", "secret", "totp_secret", "key", "private_key", "pin"})
SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "private_key",
    "passphrase",
    "credential",
    "totp",
)
REDACTED = "[redacted]"


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in SECRET_KEYS or any(part in lowered for part in SECRET_KEY_PARTS)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: REDACTED if _is_secret_key(str(key)) else _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def _lock_chain(database: BaseDatabaseWrapper) -> None:
    if database.vendor == "postgresql":
        with database.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    # SQLite: the surrounding transaction began IMMEDIATE, so it already holds the database's write lock.
    # SQLite: the surrounding transaction began IMMEDIATE, so it already holds the database's write lock.


def _actor_role_and_department(user: User) -> tuple[str, str]:
    """The user's current roles (comma-separated) and their department when they act for exactly one.

    ``user_roles`` caches on the user object, so the permission check earlier in the same request has
    usually paid for the query already.
    """
    from onewindow.accounts.permissions import user_roles

    grants = user_roles(user)
    role = ",".join(sorted({str(grant.role) for grant in grants})) or str(user.kind)
    departments = {grant.department_code for grant in grants if grant.department_code}
    return role, departments.pop() if len(departments) == 1 else ""


_TABLE = AuditRecord._meta.db_table
_COLUMNS = (*HASHED_FIELDS, "hash")
_HEAD_SQL = f"SELECT seq, hash FROM {_TABLE} ORDER BY seq DESC LIMIT 1"  # noqa: S608 - constant names
_INSERT_SQL = f"INSERT INTO {_TABLE} ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"  # noqa: S608
_INSERT_RETURNING_SQL = f"{_INSERT_SQL} RETURNING id"
_RECORDED_AT = HASHED_FIELDS.index("recorded_at")
_DETAILS = HASHED_FIELDS.index("details")
_MODEL_FIELDS = [field.attname for field in AuditRecord._meta.concrete_fields]
# Labelled counters looked up once: ``labels()`` takes a lock and a dictionary lookup on every call.
_RECORDS_BY_OUTCOME = {outcome: metrics.AUDIT_RECORDS.labels(outcome=outcome) for outcome in Outcome.values}


def _head_and_insert(database: BaseDatabaseWrapper, fields: dict[str, Any]) -> AuditRecord:
    """Under the chain lock: read the head, chain ``fields`` to it and insert; returns the saved record.

    Plain SQL rather than the ORM: these statements run while every other writer waits for the lock,
    and the ORM's query building and model saving cost several times the statements themselves
    (measured with benchmarks/audit_append.py, see docs/performance.md).
    """
    with database.cursor() as cursor:
        cursor.execute(_HEAD_SQL)
        head = cursor.fetchone()
        fields["seq"], fields["prev_hash"] = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
        fields["recorded_at"] = timezone.now()
        digest = record_hash(fields)
        params = [fields[name] for name in HASHED_FIELDS]
        params[_RECORDED_AT] = database.ops.adapt_datetimefield_value(fields["recorded_at"])
        params[_DETAILS] = database.ops.adapt_json_value(fields["details"], None)
        params.append(digest)
        if database.features.can_return_columns_from_insert:
            cursor.execute(_INSERT_RETURNING_SQL, params)
            primary_key = cursor.fetchone()[0]
        else:
            cursor.execute(_INSERT_SQL, params)
            primary_key = cursor.lastrowid
    fields["id"], fields["hash"] = primary_key, digest
    # from_db builds the instance from positional values, several times faster than keyword arguments.
    return AuditRecord.from_db(database.alias, _MODEL_FIELDS, [fields[name] for name in _MODEL_FIELDS])


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
    or rolls back with what it records; the chain lock is held from here to the commit. No savepoint is
    taken: if the record cannot be written, the whole action fails. Keys that look like secrets are
    redacted from ``details``; role and department default to the acting user's current ones.
    """
    context = current_request_context()
    if acting_user is not None and not role:
        role, default_department = _actor_role_and_department(acting_user)
        department_code = department_code or default_department
    # Everything that does not depend on the chain's head is prepared before taking the lock.
    fields: dict[str, Any] = {
        "actor_id": acting_user.pk if acting_user is not None else None,
        "actor_username": (acting_user.get_username() if acting_user is not None else actor_username)[:150],
        "actor_role": role[:200],
        "department_code": department_code[:20],
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id)[:100],
        "outcome": str(outcome),
        "client_address": context.client_address,
        "request_id": context.request_id,
        "channel": context.channel,
        "details": normalise_details(_scrub(details or {})),
    }
    # The connection proxy resolves the thread's connection on every attribute access; resolve it once.
    database = connections[DEFAULT_DB_ALIAS]
    with transaction.atomic(savepoint=False):
        _lock_chain(database)
        record = _head_and_insert(database, fields)
    counter = _RECORDS_BY_OUTCOME.get(fields["outcome"]) or metrics.AUDIT_RECORDS.labels(
        outcome=fields["outcome"]
    )
    counter.inc()
    return record


class AuditRetentionError(Exception):
    """A purge was asked for records still inside the retention period."""

    def __init__(self, before: dt.datetime, retention_days: int) -> None:
        self.message_en = (
            f"Audit records are kept for {retention_days} days: purging records before "
            f"{before.isoformat()} is refused."
        )
        self.message_zh = f"审计记录须保存{retention_days}天：拒绝清除 {before.isoformat()} 之前的记录。"
        super().__init__(self.message_en)


@dataclass(frozen=True)
class PurgeResult:
    deleted: int
    from_seq: int | None = None
    to_seq: int | None = None
    record: AuditRecord | None = None


def audit_purge(*, before: dt.datetime, acting_user: User | None) -> PurgeResult:
    """Delete the oldest records, those recorded before ``before``, from the start of the chain.

    Refuses (and audits the refusal) when ``before`` is inside ``settings.AUDIT_RETENTION_DAYS``. Deletion
    runs in seq order from the first record and stops at the first record not older than ``before``, so
    the chain stays contiguous. Before deleting, it appends an ``audit.purged`` record naming the purged
    range and the last purged hash, which lets ``verify_chain`` accept a chain that now starts later.
    Run from the server (``manage.py audit_purge``); no page or API offers it.
    """
    if timezone.is_naive(before):
        message = "before must be timezone-aware"
        raise ValueError(message)
    retention_days: int = settings.AUDIT_RETENTION_DAYS
    if before > timezone.now() - dt.timedelta(days=retention_days):
        audit_append(
            action="audit.purge_refused",
            acting_user=acting_user,
            outcome=Outcome.DENIED,
            object_type="audit_record",
            details={"before": before.isoformat(), "retention_days": retention_days},
        )
        raise AuditRetentionError(before, retention_days)
    with transaction.atomic():
        _lock_chain(connections[DEFAULT_DB_ALIAS])
        first_seq = AuditRecord.objects.order_by("seq").values_list("seq", flat=True).first()
        head_seq = AuditRecord.objects.order_by("-seq").values_list("seq", flat=True).first()
        if first_seq is None or head_seq is None:
            return PurgeResult(deleted=0)
        boundary = (
            AuditRecord.objects.filter(recorded_at__gte=before)
            .order_by("seq")
            .values_list("seq", flat=True)
            .first()
        )
        to_seq = head_seq if boundary is None else boundary - 1
        if to_seq < first_seq:
            return PurgeResult(deleted=0)
        last_hash = AuditRecord.objects.values_list("hash", flat=True).get(seq=to_seq)
        record = audit_append(
            action="audit.purged",
            acting_user=acting_user,
            object_type="audit_record",
            details={
                "from_seq": first_seq,
                "to_seq": to_seq,
                "last_hash": last_hash,
                "before": before.isoformat(),
                "retention_days": retention_days,
            },
        )
        # Raw SQL: one statement whatever the count, never loading the rows (the trigger still applies).
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {AuditRecord._meta.db_table} WHERE seq <= %s", [to_seq])  # noqa: S608
            deleted = cursor.rowcount
    logger.info("audit_purged", from_seq=first_seq, to_seq=to_seq, deleted=deleted)
    return PurgeResult(deleted=deleted, from_seq=first_seq, to_seq=to_seq, record=record)


def audit_anchor_write() -> Anchor | None:
    """Append the chain's head to ``settings.AUDIT_ANCHOR_FILE`` and log it; None while the chain is empty.

    The scheduler calls this periodically. The file (and the log line) should be shipped off-host, where
    whoever can alter the database cannot alter them too.
    """
    head = AuditRecord.objects.order_by("-seq").values_list("seq", "hash", "recorded_at").first()
    if head is None:
        return None
    seq, head_hash, recorded_at = head
    anchor = Anchor(
        seq=seq,
        hash=head_hash,
        recorded_at=recorded_at.astimezone(dt.UTC).isoformat(),
        written_at=timezone.now().astimezone(dt.UTC).isoformat(),
    )
    anchor_append(settings.AUDIT_ANCHOR_FILE, anchor)
    logger.info("audit_anchor_written", seq=seq, hash=head_hash, recorded_at=anchor["recorded_at"])
    return anchor
