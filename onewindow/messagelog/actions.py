"""Writing the message log (issue #8 item 3). The exchange calls :func:`message_log_append` after every
exchange; administrators set a subsystem's payload policy with :func:`subsystem_payload_policy_set`.

Each exchange record is itself a chained, tamper-evident record, so appending one writes no separate audit
record (that would double the cost of every exchange and the size of the audit trail); policy changes,
archiving and reads are audited (onewindow/audit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.catalog.models import InformationSystem
from onewindow.core.errors import RuleViolation
from onewindow.core.logging import get_logger
from onewindow.messagelog.chain import GENESIS_HASH, HASHED_FIELDS, duration_text, record_hash
from onewindow.messagelog.models import MessageLogRecord, PayloadPolicy, PayloadState, SubsystemPayloadPolicy
from onewindow.messagelog.protection import payload_seal

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from onewindow.accounts.models import User

logger = get_logger(__name__)

# Any constant works; it names the PostgreSQL advisory lock serialising appends (not the audit chain's).
CHAIN_LOCK_KEY = 0x0E_A0D1_7008
# Strictest first: when the two subsystems' policies differ, the stricter one applies to both bodies.
_STRICTNESS = [PayloadPolicy.NONE, PayloadPolicy.METADATA, PayloadPolicy.FULL]

_TABLE = MessageLogRecord._meta.db_table
_COLUMNS = (*HASHED_FIELDS, "record_hash", "payload_key_id", "request_payload", "response_payload")
_HEAD_SQL = f"SELECT seq, record_hash FROM {_TABLE} ORDER BY seq DESC LIMIT 1"  # noqa: S608 - constant
_INSERT_SQL = f"INSERT INTO {_TABLE} ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"  # noqa: S608
_INSERT_RETURNING_SQL = f"{_INSERT_SQL} RETURNING id"
_MODEL_FIELDS = [field.attname for field in MessageLogRecord._meta.concrete_fields]


def lock_chain(database: BaseDatabaseWrapper) -> None:
    """Serialise writers of the chain until the surrounding transaction ends."""
    if database.vendor == "postgresql":
        with database.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    # SQLite: the surrounding transaction began IMMEDIATE, so it already holds the database's write lock.


def chain_head(database: BaseDatabaseWrapper) -> tuple[int, str] | None:
    """(seq, hash) of the newest live record; None when the live table is empty."""
    with database.cursor() as cursor:
        cursor.execute(_HEAD_SQL)
        row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _subsystem_departments(codes: Iterable[str]) -> dict[str, str]:
    """Subsystem (catalog information system) code -> its department's code."""
    return dict(InformationSystem.objects.filter(code__in=set(codes)).values_list("code", "department__code"))


_POLICY_SQL = (
    f"SELECT subsystem_code, policy FROM {SubsystemPayloadPolicy._meta.db_table} "  # noqa: S608 - constant
    "WHERE subsystem_code IN (%s, %s)"
)


def payload_policy_for(consumer_subsystem_code: str, provider_subsystem_code: str) -> PayloadPolicy:
    """The policy applied to an exchange: the stricter of the two subsystems' (default from settings).

    Read on every append (one constant statement), so a policy change applies to the next exchange.
    """
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(_POLICY_SQL, [consumer_subsystem_code, provider_subsystem_code])
        configured = {str(code): str(policy) for code, policy in cursor.fetchall()}
    default = PayloadPolicy(settings.MESSAGELOG_PAYLOADS)
    policies = [
        PayloadPolicy(configured.get(code, default))
        for code in (consumer_subsystem_code, provider_subsystem_code)
    ]
    return min(policies, key=_STRICTNESS.index)


def _payload(
    policy: PayloadPolicy, body: bytes, *, exchange_id: str, side: str
) -> tuple[int | None, str, bytes | None, str]:
    """(size, state, sealed body, key id) for one body under ``policy``."""
    if policy == PayloadPolicy.NONE:
        return None, PayloadState.NOT_LOGGED, None, ""
    if policy == PayloadPolicy.METADATA:
        return len(body), PayloadState.NOT_LOGGED, None, ""
    if len(body) > settings.MESSAGELOG_MAX_PAYLOAD:
        # Not truncated: a cut body no longer matches its signed digest, so it would prove nothing.
        return len(body), PayloadState.TOO_LARGE, None, ""
    key_id, sealed = payload_seal(body, exchange_id=exchange_id, side=side)
    return len(body), PayloadState.STORED, sealed, key_id


def message_log_append(
    *,
    exchange_id: str,
    service: str,
    consumer: str,
    provider: str,
    purpose: str,
    request_digest: str,
    response_digest: str,
    request_signature: str,
    response_signature: str,
    status: int,
    error_code: str,
    started_at: dt.datetime,
    duration_ms: float,
    request_body: bytes,
    response_body: bytes,
    consumer_subsystem_code: str,
    provider_subsystem_code: str,
    consumer_department_code: str | None = None,
    provider_department_code: str | None = None,
) -> MessageLogRecord:
    """Append one exchange to the hash-chained message log and return the saved record.

    Everything that does not depend on the chain's head (departments, payload policy, encryption) is done
    before the chain lock is taken; under the lock only the head is read and the row inserted. Runs in its own
    transaction, or joins the caller's (then the lock is held until the caller commits).

    The departments of the two subsystems are looked up in the catalog's register unless the caller passes
    them (the exchange has just read them with the client's key and the service).
    """
    if timezone.is_naive(started_at):
        message = "started_at must be timezone-aware"
        raise ValueError(message)
    if consumer_department_code is None or provider_department_code is None:
        departments = _subsystem_departments((consumer_subsystem_code, provider_subsystem_code))
    else:
        departments = {
            consumer_subsystem_code: consumer_department_code,
            provider_subsystem_code: provider_department_code,
        }
    policy = payload_policy_for(consumer_subsystem_code, provider_subsystem_code)
    request_size, request_state, request_sealed, request_key = _payload(
        policy, request_body, exchange_id=exchange_id, side="request"
    )
    response_size, response_state, response_sealed, response_key = _payload(
        policy, response_body, exchange_id=exchange_id, side="response"
    )
    fields: dict[str, Any] = {
        "exchange_id": exchange_id[:64],
        "service": service[:255],
        "consumer": consumer[:255],
        "provider": provider[:255],
        "consumer_subsystem_code": consumer_subsystem_code[:40],
        "provider_subsystem_code": provider_subsystem_code[:40],
        "consumer_department_code": departments.get(consumer_subsystem_code, "")[:20],
        "provider_department_code": departments.get(provider_subsystem_code, "")[:20],
        "purpose": purpose[:200],
        "request_digest": request_digest,
        "response_digest": response_digest,
        "request_signature": request_signature,
        "response_signature": response_signature,
        "status": int(status),
        "error_code": error_code[:64],
        "started_at": started_at,
        "duration_ms": duration_text(duration_ms),
        "payload_policy": str(policy),
        "request_size": request_size,
        "response_size": response_size,
        "request_payload_state": str(request_state),
        "response_payload_state": str(response_state),
        "payload_key_id": request_key or response_key,
        "request_payload": request_sealed,
        "response_payload": response_sealed,
    }
    database = connections[DEFAULT_DB_ALIAS]
    with transaction.atomic(savepoint=False):
        lock_chain(database)
        return _head_and_insert(database, fields)


def _head_and_insert(database: BaseDatabaseWrapper, fields: dict[str, Any]) -> MessageLogRecord:
    """Under the chain lock: chain ``fields`` to the head (live, else the last archived segment) and insert.

    Plain SQL, like the audit chain: these statements run while every other writer waits.
    """
    head = chain_head(database)
    if head is None:
        head = _archived_head()
    fields["seq"], fields["prev_hash"] = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    fields["recorded_at"] = timezone.now()
    fields["record_hash"] = record_hash(fields)
    params = [fields[name] for name in _COLUMNS]
    for name in ("recorded_at", "started_at"):
        params[_COLUMNS.index(name)] = database.ops.adapt_datetimefield_value(fields[name])
    with database.cursor() as cursor:
        if database.features.can_return_columns_from_insert:
            cursor.execute(_INSERT_RETURNING_SQL, params)
            fields["id"] = cursor.fetchone()[0]
        else:
            cursor.execute(_INSERT_SQL, params)
            fields["id"] = cursor.lastrowid
    return MessageLogRecord.from_db(database.alias, _MODEL_FIELDS, [fields[name] for name in _MODEL_FIELDS])


def _archived_head() -> tuple[int, str] | None:
    from onewindow.messagelog.models import ArchiveSegment

    last = ArchiveSegment.objects.order_by("-number").values_list("last_seq", "last_record_hash").first()
    return (int(last[0]), str(last[1])) if last else None


# --- Payload policy ---------------------------------------------------------------------------------


def subsystem_payload_policy_set(
    *, subsystem_code: str, policy: str, acting_user: User | AnonymousUser
) -> SubsystemPayloadPolicy:
    """Set a subsystem's payload policy (full | metadata | none); audited as ``messagelog.policy_set``.

    Allowed for system administrators and the administrators of the subsystem's department; anyone else is
    refused (audited, nothing changes). The subsystem must be in the catalog's information-system register.
    """
    if policy not in PayloadPolicy.values:
        raise RuleViolation(
            "invalid_policy",
            "载荷记录策略须为 full、metadata 或 none。",
            "The payload policy must be full, metadata or none.",
            field="policy",
        )
    department_code = _subsystem_departments([subsystem_code]).get(subsystem_code)
    allowed = user_has_permission(acting_user, Permission.MANAGE_SYSTEM) or (
        department_code is not None
        and user_has_permission(acting_user, Permission.MANAGE_DEPARTMENT, department_code=department_code)
    )
    if not allowed:
        raise permission_denied(
            acting_user,
            Permission.MANAGE_DEPARTMENT,
            object_type="messagelog_policy",
            object_id=subsystem_code,
        )
    if department_code is None:
        raise RuleViolation(
            "unknown_subsystem",
            "信息系统登记册中没有该子系统。",
            "There is no such subsystem in the information-system register.",
            status=404,
        )
    from onewindow.accounts.models import User as UserModel

    assert isinstance(acting_user, UserModel)  # noqa: S101 - checked by the permission test above
    with transaction.atomic():
        previous = (
            SubsystemPayloadPolicy.objects.filter(subsystem_code=subsystem_code)
            .values_list("policy", flat=True)
            .first()
        )
        record, _ = SubsystemPayloadPolicy.objects.update_or_create(
            subsystem_code=subsystem_code,
            defaults={"policy": policy, "updated_by_username": acting_user.get_username()},
        )
        audit_append(
            action="messagelog.policy_set",
            acting_user=acting_user,
            object_type="messagelog_policy",
            object_id=subsystem_code,
            details={"policy": policy, "previous": previous or f"default:{settings.MESSAGELOG_PAYLOADS}"},
        )
    logger.info("messagelog_policy_set", subsystem_code=subsystem_code, policy=policy)
    return record
