"""Reads of the exchange's admin pages (docs/exchange.md "Monitoring" and "Pages"): the subsystems and
services a user administers, and per-service call statistics from the message log.

Who sees what:

* **Statistics** — system administrators: every service, every call. Department administrators: the
  calls their departments took part in, as provider or consumer (the message log's own rule for them,
  docs/messagelog.md "Who may read"): every call of their departments' services, and the calls their
  subsystems made to other departments' services. Everyone else is refused (403, audited), as on the
  subscriptions page. Only counts, codes and durations are read: never payloads, purposes or consumers.
* **Services and keys** — the provider (owning) department's administrators and system administrators
  (``actions.may_manage_system``), as the actions require.
* **The gateway's keys** — system administrators only (``actions.gateway_key_issue``/``_revoke``).

Statistics are bounded to the last day (the ``messagelog_started_idx`` index on ``started_at``): one
grouped query for calls, errors by code and last call, and one ranking query for the percentiles
(nearest rank, the same definition on SQLite and PostgreSQL), whatever the number of services.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission, user_roles
from onewindow.accounts.roles import ROLE_PERMISSIONS, Permission
from onewindow.catalog.models import InformationSystem, Resource, ResourceStatus
from onewindow.exchange import protocol
from onewindow.exchange.actions import GATEWAY_KEY_OBJECT, KEY_OBJECT, SERVICE_OBJECT, may_manage_system
from onewindow.exchange.models import GatewayKey, Service
from onewindow.messagelog.models import MessageLogRecord

STATS_OBJECT = "exchange_service_stats"
# The gateway's identity (``adapter.GATEWAY_IDENTITY``): the message log records its leg to an external HTTP
# provider under the service's id with the gateway as consumer (``http_provider``); those records are the
# same calls again (and their retries), so the statistics leave them out.
GATEWAY_CONSUMER = "CN/GOV/PLATFORM/GATEWAY"
LIST_LIMIT = 500
WINDOWS: dict[str, dt.timedelta] = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}
PERCENTILES = (50, 95)


def administered_departments(user: User | AnonymousUser) -> frozenset[str]:
    """Codes of the departments ``user`` administers (``MANAGE_DEPARTMENT`` held in that department)."""
    return frozenset(
        grant.department_code
        for grant in user_roles(user)
        if grant.department_code and Permission.MANAGE_DEPARTMENT in ROLE_PERMISSIONS[grant.role]
    )


# --- Subsystems and services the user administers ------------------------------------------------------


def systems_for_admin(
    user: User | AnonymousUser, *, object_type: str = KEY_OBJECT
) -> QuerySet[InformationSystem]:
    """The subsystems whose keys and services ``user`` manages; refused (audited) to anyone managing none."""
    base = InformationSystem.objects.select_related("department")
    if user_has_permission(user, Permission.MANAGE_SYSTEM):
        return base.order_by("department__code", "code")
    departments = administered_departments(user)
    if not departments:
        raise permission_denied(user, Permission.MANAGE_DEPARTMENT, object_type=object_type)
    return base.filter(department__code__in=departments).order_by("department__code", "code")


def service_by_id(member_code: str, subsystem_code: str, service_code: str) -> Service:
    """A registered service (active or not) by its id parts; 404 when there is none."""
    service = (
        Service.objects.select_related("provider__department", "deactivated_by")
        .filter(
            provider__department__credit_code=member_code, provider__code=subsystem_code, code=service_code
        )
        .first()
    )
    if service is None:
        raise Http404(service_code)
    return service


def service_for_admin(
    user: User | AnonymousUser, member_code: str, subsystem_code: str, code: str
) -> Service:
    """A service ``user`` may change (its provider department's administrators, system administrators)."""
    if not isinstance(user, User) or not (
        user_has_permission(user, Permission.MANAGE_SYSTEM) or administered_departments(user)
    ):
        raise permission_denied(user, Permission.MANAGE_DEPARTMENT, object_type=SERVICE_OBJECT)
    service = service_by_id(member_code, subsystem_code, code)
    if not may_manage_system(user, service.provider):
        raise permission_denied(
            user, Permission.MANAGE_DEPARTMENT, object_type=SERVICE_OBJECT, object_id=str(service.pk)
        )
    return service


def may_manage_gateway(user: User | AnonymousUser) -> bool:
    """System administrators manage the gateway's own keys."""
    return user_has_permission(user, Permission.MANAGE_SYSTEM)


def gateway_keys_for_admin(user: User | AnonymousUser) -> QuerySet[GatewayKey]:
    """Every gateway key, newest first (system administrators; refused, audited, to everyone else)."""
    if not may_manage_gateway(user):
        raise permission_denied(user, Permission.MANAGE_SYSTEM, object_type=GATEWAY_KEY_OBJECT)
    return GatewayKey.objects.order_by("-created_at", "-id")


def gateway_key_for_admin(user: User | AnonymousUser, key_id: str) -> GatewayKey:
    """One gateway key (system administrators; refused, audited, to everyone else); 404 when unknown."""
    key = gateway_keys_for_admin(user).filter(key_id=key_id).first()
    if key is None:
        raise Http404(key_id)
    return key


def resources_for_services(systems: Sequence[InformationSystem], *, also: str = "") -> list[Resource]:
    """Active catalog resources of the subsystems' departments (what their services may serve), and the
    resource ``also`` (a changed service's current one, whatever its state)."""
    rows = Resource.objects.select_related("current_version", "provider").order_by("code")
    chosen = Q(provider_id__in={system.department_id for system in systems}, status=ResourceStatus.ACTIVE)
    return list(rows.filter(chosen | Q(code=also)) if also else rows.filter(chosen))


def service_id(service: Service) -> str:
    return protocol.service_path(service.provider.department.credit_code, service.provider.code, service.code)


# --- Statistics -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitoringScope:
    """Everything (system administrators) or the calls of these departments, as provider or consumer."""

    everything: bool
    departments: frozenset[str] = frozenset()

    def covers_all_calls_of(self, service: Service) -> bool:
        return self.everything or service.provider.department.code in self.departments


def monitoring_scope(user: User | AnonymousUser) -> MonitoringScope:
    """What ``user`` may see of the exchange's statistics; refused (audited) to anyone else."""
    if user_has_permission(user, Permission.MANAGE_SYSTEM):
        return MonitoringScope(everything=True)
    departments = administered_departments(user)
    if not departments:
        raise permission_denied(user, Permission.MANAGE_DEPARTMENT, object_type=STATS_OBJECT)
    return MonitoringScope(everything=False, departments=departments)


@dataclass
class WindowStats:
    """One service over one window (metadata only)."""

    since: dt.datetime
    calls: int = 0
    errors_by_code: dict[str, int] = field(default_factory=dict)
    p50_ms: float | None = None
    p95_ms: float | None = None
    last_call_at: dt.datetime | None = None

    @property
    def errors(self) -> int:
        return sum(self.errors_by_code.values())

    @property
    def ok(self) -> int:
        return self.calls - self.errors

    @property
    def error_rows(self) -> list[tuple[str, int]]:
        return sorted(self.errors_by_code.items(), key=lambda item: (-item[1], item[0]))


@dataclass
class ServiceStats:
    service_id: str
    windows: dict[str, WindowStats]

    @property
    def hour(self) -> WindowStats:
        return self.windows["hour"]

    @property
    def day(self) -> WindowStats:
        return self.windows["day"]


def _empty(service_ids: Iterable[str], now: dt.datetime) -> dict[str, ServiceStats]:
    return {
        path: ServiceStats(path, {name: WindowStats(since=now - length) for name, length in WINDOWS.items()})
        for path in service_ids
    }


def _nearest_rank(percentile: int, count: int) -> int:
    """The 1-based rank of the ``percentile``-th value of ``count`` sorted values: ceil(p/100 × n)."""
    return (percentile * count + 99) // 100


def _scope_sql(scope: MonitoringScope, service_ids: Sequence[str] | None) -> tuple[str, list[str]]:
    # Consumers' calls only: not the gateway's own leg to an HTTP provider (logged under the same service).
    clauses: list[str] = ["consumer <> %s"]
    params: list[str] = [GATEWAY_CONSUMER]
    if service_ids is not None:
        clauses.append(f"service IN ({', '.join(['%s'] * len(service_ids))})")
        params.extend(service_ids)
    if not scope.everything:
        marks = ", ".join(["%s"] * len(scope.departments))
        clauses.append(f"(provider_department_code IN ({marks}) OR consumer_department_code IN ({marks}))")
        params.extend([*sorted(scope.departments), *sorted(scope.departments)])
    return "".join(f" AND {clause}" for clause in clauses), params


_TABLE = MessageLogRecord._meta.db_table
# Stored as text with three decimals (messagelog.chain.duration_text).
_DURATION = "CAST(duration_ms AS DOUBLE PRECISION)"
_IN_HOUR = "CASE WHEN started_at >= %s THEN 1 ELSE 0 END"
_GROUPED_SQL = f"""
SELECT service, error_code, COUNT(*), SUM({_IN_HOUR}), MAX(started_at)
FROM {_TABLE}{{hint}}
WHERE started_at >= %s{{scope}}
GROUP BY service, error_code
"""  # noqa: S608 - table name and placeholders only; values are parameters
_DAY_RANKS = f"""
         ROW_NUMBER() OVER (PARTITION BY service ORDER BY {_DURATION}) AS day_rank,
         COUNT(*) OVER (PARTITION BY service) AS day_count"""
_HOUR_RANKS = f"""
         ROW_NUMBER() OVER (PARTITION BY service, {_IN_HOUR} ORDER BY {_DURATION}) AS hour_rank,
         COUNT(*) OVER (PARTITION BY service, {_IN_HOUR}) AS hour_count"""
_PERCENTILES_SQL = f"""
SELECT service, in_hour, duration, day_rank, day_count, {{hour_columns}} FROM (
  SELECT service,
         {_IN_HOUR} AS in_hour,
         {_DURATION} AS duration,{{ranks}}
  FROM {_TABLE}{{hint}}
  WHERE started_at >= %s{{scope}}
) ranked
WHERE day_rank IN ((day_count + 1) / 2, (95 * day_count + 99) / 100){{hour_condition}}
"""  # noqa: S608 - table name and placeholders only; values are parameters
_HOUR_CONDITION = """
   OR (in_hour = 1 AND hour_rank IN ((hour_count + 1) / 2, (95 * hour_count + 99) / 100))"""


def _percentiles_sql(*, hint: str, scope: str, hours: bool) -> str:
    """Nearest-rank p50 and p95 per service over the day, and over the hour when ``hours`` (a second
    ranking: the list page shows the day's only)."""
    return _PERCENTILES_SQL.format(
        hour_columns="hour_rank, hour_count" if hours else "0, 0",
        ranks=f"{_DAY_RANKS},{_HOUR_RANKS}" if hours else _DAY_RANKS,
        hint=hint,
        scope=scope,
        hour_condition=_HOUR_CONDITION if hours else "",
    )


def _window_index_hint(service_ids: Sequence[str] | None) -> str:
    """On SQLite, read the window through the ``started_at`` index when no service is named: its planner
    otherwise walks the whole live table in ``service`` order to save a sort (PostgreSQL needs no hint)."""
    if connection.vendor != "sqlite" or service_ids is not None:
        return ""
    for index in MessageLogRecord._meta.indexes:
        if list(index.fields) == ["started_at"] and index.name:
            return f" INDEXED BY {index.name}"
    return ""


def _as_datetime(value: object) -> dt.datetime | None:
    """MAX(started_at) as an aware datetime (SQLite's raw cursor answers text)."""
    moment = parse_datetime(value) if isinstance(value, str) else value
    if not isinstance(moment, dt.datetime):
        return None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, dt.UTC)


Percentiles = dict[str, list[tuple[float | None, float | None]]]  # service -> [(p50, p95) day, hour]


def _percentiles_ranked(
    *, hint: str, scope_sql: str, scope_params: list[str], hour: Any, day: Any, hours: bool
) -> Percentiles:
    """Nearest-rank p50/p95 with window functions (SQLite and any other database)."""
    sql = _percentiles_sql(hint=hint, scope=scope_sql, hours=hours)
    with connection.cursor() as cursor:
        cursor.execute(sql, [hour, *([hour, hour] if hours else []), day, *scope_params])
        ranked = cursor.fetchall()
    found: dict[str, dict[str, dict[int, float]]] = {}
    for path, in_hour, duration, day_rank, day_count, hour_rank, hour_count in ranked:
        windows = [("day", int(day_rank), int(day_count))]
        if hours and int(in_hour) == 1:
            windows.append(("hour", int(hour_rank), int(hour_count)))
        for name, rank, count in windows:
            for percentile in PERCENTILES:
                if rank == _nearest_rank(percentile, count):
                    found.setdefault(path, {}).setdefault(name, {})[percentile] = float(duration)
    return {
        path: [(values.get(name, {}).get(50), values.get(name, {}).get(95)) for name in ("day", "hour")]
        for path, values in found.items()
    }


_POSTGRESQL_PERCENTILE = (
    f"percentile_disc(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY {_DURATION})"  # nearest rank, as above
)
_POSTGRESQL_PERCENTILES_SQL = f"""
SELECT service, {_POSTGRESQL_PERCENTILE}{{hour_column}}
FROM {_TABLE}
WHERE started_at >= %s{{scope}}
GROUP BY service
"""  # noqa: S608 - table name and placeholders only; values are parameters


def _percentiles_postgresql(
    *, hint: str, scope_sql: str, scope_params: list[str], hour: Any, day: Any, hours: bool
) -> Percentiles:
    """The same figures with PostgreSQL's ordered-set aggregate: one sort per service, no ranking of every
    row (about three times faster at half a million calls a day)."""
    hour_column = f", {_POSTGRESQL_PERCENTILE} FILTER (WHERE started_at >= %s)" if hours else ""
    sql = _POSTGRESQL_PERCENTILES_SQL.format(hour_column=hour_column, scope=scope_sql)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*([hour] if hours else []), day, *scope_params])
        rows = cursor.fetchall()
    return {
        str(row[0]): [(float(values[0]), float(values[1])) if values else (None, None) for values in row[1:]]
        for row in rows
    }


def service_stats(
    scope: MonitoringScope,
    service_ids: Sequence[str] | None,
    *,
    now: dt.datetime,
    hour_percentiles: bool = True,
) -> dict[str, ServiceStats]:
    """Statistics per service id over the last hour and day, within ``scope``.

    ``service_ids`` None: every service with calls in the window (the list page); else just those (a
    service's page). Two queries whatever the number of services; the window bounds the rows read.
    Without ``hour_percentiles`` the hour's p50/p95 stay None (one ranking instead of two).
    """
    since_day, since_hour = now - WINDOWS["day"], now - WINDOWS["hour"]
    adapt = connection.ops.adapt_datetimefield_value
    hour, day = adapt(since_hour), adapt(since_day)
    scope_sql, scope_params = _scope_sql(scope, service_ids)
    hint = _window_index_hint(service_ids)
    with connection.cursor() as cursor:
        cursor.execute(_GROUPED_SQL.format(hint=hint, scope=scope_sql), [hour, day, *scope_params])
        grouped = cursor.fetchall()
    stats = _empty(service_ids or [], now)
    for path, code, day_calls, hour_calls, last in grouped:
        entry = stats.get(path)
        if entry is None:
            entry = stats[path] = _empty([path], now)[path]
        last_call = _as_datetime(last)
        for window, calls in ((entry.day, int(day_calls)), (entry.hour, int(hour_calls or 0))):
            if not calls:
                continue
            window.calls += calls
            if code:
                window.errors_by_code[code] = window.errors_by_code.get(code, 0) + calls
            if last_call is not None and (window.last_call_at is None or last_call > window.last_call_at):
                window.last_call_at = last_call
    if any(entry.day.calls for entry in stats.values()):
        compute = _percentiles_postgresql if connection.vendor == "postgresql" else _percentiles_ranked
        percentiles = compute(
            hint=hint,
            scope_sql=scope_sql,
            scope_params=scope_params,
            hour=hour,
            day=day,
            hours=hour_percentiles,
        )
        for path, values in percentiles.items():
            entry = stats.get(path)
            if entry is None:
                continue
            for window, (p50, p95) in zip((entry.day, entry.hour), values, strict=False):
                window.p50_ms, window.p95_ms = p50, p95
    return stats


@dataclass(frozen=True)
class MonitoredService:
    service: Service
    stats: ServiceStats
    all_calls: bool  # False: only the calls of the user's departments' subsystems are counted
    manageable: bool


def services_for_monitoring(user: User | AnonymousUser, *, now: dt.datetime) -> list[MonitoredService]:
    """The services ``user`` may monitor with their statistics: system administrators every registered
    service; department administrators their departments' services and the services their subsystems
    called in the last day. Refused (audited) to everyone else."""
    scope = monitoring_scope(user)
    stats = service_stats(scope, None, now=now, hour_percentiles=False)
    services = Service.objects.select_related("provider__department", "deactivated_by").order_by(
        "provider__department__code", "provider__code", "code"
    )
    if not scope.everything:
        called = [parsed for path in stats if (parsed := protocol.parse_service_path(path)) is not None]
        consumed = Q()
        for member, subsystem, code in called:
            consumed |= Q(provider__department__credit_code=member, provider__code=subsystem, code=code)
        services = services.filter(Q(provider__department__code__in=scope.departments) | consumed)
    monitored = []
    for service in services[:LIST_LIMIT]:
        path = service_id(service)
        monitored.append(
            MonitoredService(
                service=service,
                stats=stats.get(path) or _empty([path], now)[path],
                all_calls=scope.covers_all_calls_of(service),
                manageable=may_manage_system(user, service.provider),
            )
        )
    return monitored


def service_for_monitoring(
    user: User | AnonymousUser, member_code: str, subsystem_code: str, code: str, *, now: dt.datetime
) -> MonitoredService:
    """One service with its statistics, within what ``user`` may see (refused, audited, as above)."""
    scope = monitoring_scope(user)
    service = service_by_id(member_code, subsystem_code, code)
    path = service_id(service)
    return MonitoredService(
        service=service,
        stats=service_stats(scope, [path], now=now)[path],
        all_calls=scope.covers_all_calls_of(service),
        manageable=may_manage_system(user, service.provider),
    )
