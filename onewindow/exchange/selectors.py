"""Reads of the exchange: discovery (public) and the key administration (the owning department's
administrators and system administrators; everyone else refused, audited)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.http import Http404

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied
from onewindow.accounts.roles import Permission
from onewindow.catalog.models import Grant, GrantStatus, InformationSystem, Resource, ResourceStatus
from onewindow.exchange.actions import KEY_OBJECT, may_manage_system
from onewindow.exchange.models import GrantRateLimit, KeyStatus, Service, SubsystemKey, UsedNonce
from onewindow.organisations.models import Department

_M = TypeVar("_M", bound=Model)


def members() -> QuerySet[Department]:
    """Active departments with at least one information system (the exchange's members)."""
    return (
        Department.objects.filter(is_active=True, information_systems__isnull=False)
        .distinct()
        .order_by("code")
    )


def member_by_code(credit_code: str) -> Department:
    member = Department.objects.filter(credit_code=credit_code, is_active=True).first()
    if member is None:
        raise Http404(credit_code)
    return member


def member_subsystems(member: Department) -> QuerySet[InformationSystem]:
    return InformationSystem.objects.filter(department=member).order_by("code")


def member_services(member: Department) -> QuerySet[Service]:
    return (
        Service.objects.select_related("provider__department")
        .filter(provider__department=member, is_active=True)
        .order_by("provider__code", "code")
    )


def service_by_path(member_code: str, subsystem_code: str, service_code: str) -> Service:
    service = (
        Service.objects.select_related("provider__department")
        .filter(
            provider__department__credit_code=member_code,
            provider__code=subsystem_code,
            code=service_code,
            is_active=True,
        )
        .first()
    )
    if service is None:
        raise Http404(service_code)
    return service


def subsystem_public_keys(member_code: str, subsystem_code: str) -> QuerySet[SubsystemKey]:
    """Keys that verify (active and retired), for clients checking signed responses; revoked ones excluded."""
    return SubsystemKey.objects.filter(
        system__department__credit_code=member_code,
        system__code=subsystem_code,
        status__in=[KeyStatus.ACTIVE, KeyStatus.RETIRED],
    ).order_by("-created_at", "-id")


def public_key_by_id(key_id: str) -> SubsystemKey | None:
    """A verifying key by id (None when unknown or revoked)."""
    return (
        SubsystemKey.objects.select_related("system__department")
        .filter(key_id=key_id, status__in=[KeyStatus.ACTIVE, KeyStatus.RETIRED])
        .first()
    )


def system_for_key_admin(user: User | AnonymousUser, system_code: str) -> InformationSystem:
    """The system, if ``user`` manages its keys; refused (403, audited) otherwise; 404 when unknown."""
    system = InformationSystem.objects.select_related("department").filter(code=system_code).first()
    if system is None:
        raise Http404(system_code)
    if not may_manage_system(user, system):
        raise permission_denied(
            user, Permission.MANAGE_DEPARTMENT, object_type=KEY_OBJECT, object_id=system_code
        )
    return system


def keys_for_admin(user: User | AnonymousUser, system: InformationSystem) -> QuerySet[SubsystemKey]:
    if not may_manage_system(user, system):
        raise permission_denied(
            user, Permission.MANAGE_DEPARTMENT, object_type=KEY_OBJECT, object_id=system.code
        )
    return SubsystemKey.objects.filter(system=system).order_by("-created_at", "-id")


def key_for_admin(user: User | AnonymousUser, key_id: str) -> SubsystemKey:
    key = SubsystemKey.objects.select_related("system__department").filter(key_id=key_id).first()
    if key is None:
        raise Http404(key_id)
    if not may_manage_system(user, key.system):
        raise permission_denied(user, Permission.MANAGE_DEPARTMENT, object_type=KEY_OBJECT, object_id=key_id)
    return key


# --- The gateway's per-call reads (docs/exchange.md "Performance") ------------------------------------------
#
# Every exchange call reads its service, the client's key, the grants and the provider's signing key. These
# are constant SQL statements (no ORM query building, which cost more than the queries themselves: about
# 1 ms per query on the development VM), run on every call: nothing is cached, so a revoked key, a revoked
# or expired grant or a deactivated service stops the next call, in every process.

_SERVICE = Service._meta.db_table
_SYSTEM = InformationSystem._meta.db_table
_DEPARTMENT = Department._meta.db_table
_KEY = SubsystemKey._meta.db_table
_NONCE = UsedNonce._meta.db_table
_GRANT = Grant._meta.db_table
_RESOURCE = Resource._meta.db_table
_LIMIT = GrantRateLimit._meta.db_table
_SERVICE_FIELDS = (
    "id",
    "provider_id",
    "code",
    "resource_code",
    "kind",
    "builtin",
    "endpoint_url",
    "timeout_seconds",
    "retries",
    "is_active",
)
_SYSTEM_FIELDS = ("id", "department_id", "code")
_DEPARTMENT_FIELDS = ("id", "code", "credit_code")
_KEY_FIELDS = ("id", "system_id", "key_id", "algorithm", "public_key_der", "status")
_SIGNING_KEY_FIELDS = ("id", "system_id", "key_id", "algorithm", "private_key_token", "status")


def _columns(alias: str, names: tuple[str, ...]) -> str:
    return ", ".join(f"{alias}.{name}" for name in names)


# The subsystem (p) and its department (d), joined to the row that names the subsystem.
_SYSTEM_JOIN = f"JOIN {_SYSTEM} p ON p.id = {{}} JOIN {_DEPARTMENT} d ON d.id = p.department_id"
_SYSTEM_COLUMNS = f"{_columns('p', _SYSTEM_FIELDS)}, {_columns('d', _DEPARTMENT_FIELDS)}"
_CALL_SERVICE_SQL = (
    f"SELECT {_columns('s', _SERVICE_FIELDS)}, {_SYSTEM_COLUMNS} "  # noqa: S608 - constant names
    f"FROM {_SERVICE} s {_SYSTEM_JOIN.format('s.provider_id')} "
    "WHERE d.credit_code = %s AND p.code = %s AND s.code = %s AND s.is_active = %s"
)
_CALL_KEY_SQL = (
    f"SELECT {_columns('k', _KEY_FIELDS)}, {_SYSTEM_COLUMNS}, "  # noqa: S608 - constant names
    f"EXISTS (SELECT 1 FROM {_NONCE} n WHERE n.client = %s AND n.nonce = %s) "
    f"FROM {_KEY} k {_SYSTEM_JOIN.format('k.system_id')} "
    "WHERE k.key_id = %s"
)
_SIGNING_KEY_SQL = (
    f"SELECT {', '.join(_SIGNING_KEY_FIELDS)} FROM {_KEY} "  # noqa: S608 - constant names
    "WHERE system_id = %s AND status = %s ORDER BY id DESC"
)
# The catalog's grant_check rule (onewindow/catalog/selectors_sharing.py) over the same rows in the same
# order: active, unexpired grants of an active resource to the department (system NULL) or to this system.
_CALL_GRANTS_SQL = (
    "SELECT g.id, g.item_names, l.per_minute "  # noqa: S608 - constant names
    f"FROM {_GRANT} g JOIN {_DEPARTMENT} c ON c.id = g.consumer_id "
    f"JOIN {_RESOURCE} r ON r.id = g.resource_id "
    f"LEFT JOIN {_SYSTEM} gs ON gs.id = g.system_id "
    f"LEFT JOIN {_LIMIT} l ON l.grant_id = g.id "
    "WHERE c.code = %s AND r.code = %s AND r.status = %s AND g.status = %s AND g.expires_on >= %s "
    "AND (g.system_id IS NULL OR gs.code = %s) "
    "ORDER BY g.expires_on DESC, g.id DESC"
)


def _instance(model: type[_M], fields: tuple[str, ...], values: Sequence[Any], alias: str) -> _M:
    return model.from_db(alias, list(fields), list(values))


def service_for_call(member_code: str, subsystem_code: str, service_code: str) -> Service | None:
    """The active service ``CN/GOV/{member}/{subsystem}/{code}`` with its provider subsystem and department
    loaded (other fields deferred), or None. One statement."""
    database = connections[DEFAULT_DB_ALIAS]
    with database.cursor() as cursor:
        cursor.execute(_CALL_SERVICE_SQL, [member_code, subsystem_code, service_code, True])
        row = cursor.fetchone()
    if row is None:
        return None
    service_end = len(_SERVICE_FIELDS)
    system_end = service_end + len(_SYSTEM_FIELDS)
    values = list(row[:service_end])
    values[_SERVICE_FIELDS.index("is_active")] = bool(values[_SERVICE_FIELDS.index("is_active")])
    service = _instance(Service, _SERVICE_FIELDS, values, database.alias)
    system = _instance(InformationSystem, _SYSTEM_FIELDS, row[service_end:system_end], database.alias)
    department = _instance(Department, _DEPARTMENT_FIELDS, row[system_end:], database.alias)
    InformationSystem.department.field.set_cached_value(system, department)
    Service.provider.field.set_cached_value(service, system)
    return service


def client_key_for_call(key_id: str, *, client: str, nonce: str) -> tuple[SubsystemKey | None, bool]:
    """The key ``key_id`` (any status) with its subsystem and department loaded, or None; and whether
    ``client`` has used ``nonce`` already (committed: the gateway's final check is the unique constraint when
    the nonce is recorded, docs/exchange.md "Replay"). One statement."""
    database = connections[DEFAULT_DB_ALIAS]
    with database.cursor() as cursor:
        cursor.execute(_CALL_KEY_SQL, [client, nonce, key_id])
        row = cursor.fetchone()
    if row is None:
        return None, False
    key_end = len(_KEY_FIELDS)
    system_end = key_end + len(_SYSTEM_FIELDS)
    values = list(row[:key_end])
    values[_KEY_FIELDS.index("public_key_der")] = bytes(values[_KEY_FIELDS.index("public_key_der")])
    key = _instance(SubsystemKey, _KEY_FIELDS, values, database.alias)
    system = _instance(InformationSystem, _SYSTEM_FIELDS, row[key_end:system_end], database.alias)
    department_end = system_end + len(_DEPARTMENT_FIELDS)
    department = _instance(Department, _DEPARTMENT_FIELDS, row[system_end:department_end], database.alias)
    InformationSystem.department.field.set_cached_value(system, department)
    SubsystemKey.system.field.set_cached_value(key, system)
    return key, bool(row[department_end])


def signing_key_for_call(system_id: int) -> SubsystemKey | None:
    """The active key of a (provider) subsystem, or None. One statement, read when the response is signed."""
    database = connections[DEFAULT_DB_ALIAS]
    with database.cursor() as cursor:
        cursor.execute(_SIGNING_KEY_SQL, [system_id, KeyStatus.ACTIVE.value])
        row = cursor.fetchone()
    return None if row is None else _instance(SubsystemKey, _SIGNING_KEY_FIELDS, row, database.alias)


@dataclass(frozen=True)
class CallGrant:
    """A grant as the gateway needs it: its id, its data items and its own per-minute limit (None: the
    default setting)."""

    id: int
    item_names: frozenset[str]
    per_minute: int | None


def grants_for_call(
    consumer_department_code: str, resource_code: str, system_code: str, *, today: dt.date
) -> list[CallGrant]:
    """The grants that may let the consumer subsystem ``system_code`` of ``consumer_department_code`` read
    ``resource_code`` today, in the order the catalog's ``grant_check`` tries them. One statement."""
    database = connections[DEFAULT_DB_ALIAS]
    with database.cursor() as cursor:
        cursor.execute(
            _CALL_GRANTS_SQL,
            [
                consumer_department_code,
                resource_code,
                ResourceStatus.ACTIVE.value,
                GrantStatus.ACTIVE.value,
                database.ops.adapt_datefield_value(today),
                system_code,
            ],
        )
        rows = cursor.fetchall()
    grants = []
    for grant_id, item_names, per_minute in rows:
        names = json.loads(item_names) if isinstance(item_names, str | bytes) else item_names
        grants.append(
            CallGrant(
                id=int(grant_id),
                item_names=frozenset(str(name) for name in names or ()),
                per_minute=None if per_minute is None else int(per_minute),
            )
        )
    return grants


def grant_covering(grants: Sequence[CallGrant], wanted: frozenset[str]) -> CallGrant | None:
    """The first of ``grants`` that holds every wanted item (the catalog's ``grant_check`` rule)."""
    if not wanted:
        return None
    return next((grant for grant in grants if wanted <= grant.item_names), None)
