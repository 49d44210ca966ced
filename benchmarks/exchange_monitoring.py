"""What the exchange's per-service statistics cost on a large message log (docs/exchange.md "Monitoring").

The admin pages and ``GET /api/v1/exchange/services/{id}/stats`` compute, per service over the last hour
and day, calls, errors by code, p50/p95 and the last call from the message log (two queries:
``selectors_admin.service_stats``). This fills the log with N records spread evenly over the last two days
(20 services, 3 % refusals, log-normal durations; rows inserted directly, the chain is not what is
measured), then times, in the same run:

* baseline: ``COUNT(*)`` of the day's records — the least any query over the window must read;
* the list page's figures for every service (the whole platform, as a system administrator sees it, and
  one department's calls, as its administrator does);
* one service's figures, hour and day (its page and the JSON endpoint);

and prints the query plan of the grouped query (it must use ``messagelog_started_idx``). Runs on SQLite (a
temporary database) and, with ``--postgres [URL]``, on a throwaway PostgreSQL database (dropped
afterwards), each in its own child process. The last line printed is one JSON object.

    python benchmarks/exchange_monitoring.py --quick                   # 50,000 records
    python benchmarks/exchange_monitoring.py --postgres                # 1,000,000 records, both databases
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_support import admin_url, child_environment, database_url, psql, run_child

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/ow_bench_monitoring"
SERVICES = 20
ROUNDS = 5


def _timed(function: Any) -> float:
    """Median milliseconds of ROUNDS runs after one warm-up."""
    function()
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


# Rows made inside the database (deterministic arithmetic on the row number, the same on both databases):
# service n mod 20, consumer 7n mod 8, 1 in 33 refused, started evenly over two days, 0 to 100 ms. Literal
# percent signs are doubled: the statement goes through Django's cursor with parameters.
_COLUMNS = (
    "seq, recorded_at, exchange_id, service, consumer, provider, consumer_subsystem_code, "
    "provider_subsystem_code, consumer_department_code, provider_department_code, purpose, request_digest, "
    "response_digest, request_signature, response_signature, status, error_code, started_at, duration_ms, "
    "payload_policy, request_payload_state, response_payload_state, prev_hash, record_hash, payload_key_id"
)
_VALUES = (
    "n, {now}, {hex_id}, 'CN/GOV/11BENCHPROV' || {service5} || '0/PROV-' || (n %% 20) || '/lookup', "
    "'CN/GOV/C/CONS-' || (n * 7 %% 8), 'CN/GOV/P/PROV-' || (n %% 20), 'CONS-' || (n * 7 %% 8), "
    "'PROV-' || (n %% 20), 'C' || (n * 7 %% 8), 'P' || (n %% 20), 'ZW2026000001', '', '', '', '', "
    "CASE WHEN n %% 33 = 0 THEN 403 ELSE 200 END, "
    "CASE WHEN n %% 33 = 0 THEN (CASE n %% 4 WHEN 0 THEN 'no_grant' WHEN 1 THEN 'rate_limited' "
    "WHEN 2 THEN 'provider_unavailable' ELSE 'record_not_found' END) ELSE '' END, "
    "{started}, {duration}, 'none', 'not_logged', 'not_logged', '', '', ''"
)


def _fill(connection: Any, records: int, now: Any) -> None:
    table = "messagelog_messagelogrecord"
    if connection.vendor == "postgresql":
        values = _VALUES.format(
            now="%s",
            hex_id="lpad(to_hex(n), 32, '0')",
            service5="lpad((n %% 20)::text, 5, '0')",
            started="%s - make_interval(secs => (n::bigint * 104729 %% 172800))",
            duration="to_char((n::bigint * 2654435761 %% 100000) / 1000.0, 'FM99990.000')",
        )
        sql = f"INSERT INTO {table} ({_COLUMNS}) SELECT {values} FROM generate_series(1, %s) AS n"
        params: list[Any] = [now, now, records]
    else:
        values = _VALUES.format(
            now="%s",
            hex_id="printf('%%032x', n)",
            service5="printf('%%05d', n %% 20)",
            started="strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '-' || (n * 104729 %% 172800) || ' seconds')",
            duration="printf('%%.3f', (n * 2654435761 %% 100000) / 1000.0)",
        )
        sql = (
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < %s) "
            f"INSERT INTO {table} ({_COLUMNS}) SELECT {values} FROM g"
        )
        stamp = now.replace(tzinfo=None).isoformat(sep=" ")
        params = [records, stamp, stamp]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _child(records: int) -> dict[str, Any]:
    import django

    django.setup()
    import datetime as dt

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from onewindow.exchange.selectors_admin import MonitoringScope, service_stats
    from onewindow.messagelog.models import MessageLogRecord

    services = [f"CN/GOV/11BENCHPROV{n:05d}0/PROV-{n}/lookup" for n in range(SERVICES)]
    now = timezone.now()
    started = time.perf_counter()
    _fill(connection, records, now)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "ANALYZE messagelog_messagelogrecord")
    fill_seconds = time.perf_counter() - started
    since_day = now - dt.timedelta(days=1)
    everything = MonitoringScope(everything=True)
    department = MonitoringScope(everything=False, departments=frozenset({"P3", "C5"}))
    day_rows = MessageLogRecord.objects.filter(started_at__gte=since_day).count()

    results = {
        "vendor": connection.vendor,
        "records": records,
        "records_in_day": day_rows,
        "fill_seconds": round(fill_seconds, 1),
        "baseline_count_day_ms": _timed(
            lambda: MessageLogRecord.objects.filter(started_at__gte=since_day).count()
        ),
        # As the list page asks: the day's percentiles only.
        "list_all_services_ms": _timed(
            lambda: service_stats(everything, None, now=now, hour_percentiles=False)
        ),
        "list_department_scope_ms": _timed(
            lambda: service_stats(department, None, now=now, hour_percentiles=False)
        ),
        "one_service_ms": _timed(lambda: service_stats(everything, [services[3]], now=now)),
    }
    figures = service_stats(everything, [services[3]], now=now)[services[3]]
    results["one_service_day"] = {
        "calls": figures.day.calls,
        "errors": figures.day.errors,
        "p50_ms": figures.day.p50_ms,
        "p95_ms": figures.day.p95_ms,
    }
    grouped = (
        MessageLogRecord.objects.filter(started_at__gte=since_day, service=services[3])
        .values_list("service", "error_code")
        .order_by()
    )
    sql, params = grouped.query.sql_with_params()
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(explain + sql, params)
        plan = " | ".join(" ".join(str(part) for part in row) for row in cursor.fetchall())
    results["one_service_plan"] = plan[:400]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="50,000 records (default 1,000,000)")
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_POSTGRES_URL, default=None, metavar="URL")
    parser.add_argument("--records", type=int, default=None, help="records in the log")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    records = args.records or (50_000 if args.quick else 1_000_000)
    if args.child:
        print(json.dumps(_child(records)))
        return
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ow-bench-") as directory:
        results["sqlite"] = run_child(__file__, ["--records", str(records)], child_environment(directory))
    if args.postgres:
        url = database_url(args.postgres)
        name = url.rsplit("/", 1)[1]
        psql(admin_url(url), f'CREATE DATABASE "{name}"')
        try:
            with tempfile.TemporaryDirectory(prefix="ow-bench-") as directory:
                results["postgresql"] = run_child(
                    __file__, ["--records", str(records)], child_environment(directory, url)
                )
        finally:
            psql(admin_url(url), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for name, result in results.items():
        print(
            f"{name}: {result['records']:,} records, {result['records_in_day']:,} in the last day; "
            f"baseline COUNT of the day {result['baseline_count_day_ms']} ms; list (all services) "
            f"{result['list_all_services_ms']} ms, list (one department) "
            f"{result['list_department_scope_ms']} ms, "
            f"one service {result['one_service_ms']} ms (median of {ROUNDS})"
        )
        print(f"  plan of one service's grouped query: {result['one_service_plan']}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
