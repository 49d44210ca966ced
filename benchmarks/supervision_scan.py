"""Electronic supervision at 1,000,000 open tasks: lights recomputed in SQL, and the overview, on PostgreSQL.

What it does, in one run:

1. creates a throwaway PostgreSQL database (``--postgres URL``, default
   postgres://postgres@127.0.0.1:5432/ow_bench; a random suffix is added) and migrates it;
2. loads the demo data (departments, accounts including ``leader1``, the demo catalog and processes);
3. loads ``--tasks`` working tasks (default 1,000,000; ``--quick`` 100,000) in bulk with ``INSERT … SELECT
   generate_series``: each with its application and process instance, spread over the seven demo
   departments, two thirds open and one third claimed, due dates spread evenly over 56 calendar days from
   14 days before today, lights as of today; 1 % of the cases have a running clock stop (a hearing), whose
   tasks keep their lights; then ``VACUUM ANALYZE``;
4. measures, one after the other (with ``VACUUM ANALYZE`` of the task table, untimed, before each refresh,
   as autovacuum would have run between two daily refreshes):
   * baseline: ``SELECT count(*)`` over the task table;
   * ``deadlines.lights_refresh(today=…)`` — one SQL ``UPDATE`` of the rows whose light changes:
     (0) on the day the lights were computed for (nothing changes: the cost of looking),
     (a) on each of the next three working days (about 5 % of the lights change each day),
     (b) on the last of those days again, after every light was set wrong (green to red, red to yellow,
         yellow to green: every running task's light changes back);
   * ``supervision.supervision_overview(leader)`` — counts by department and light (one grouped query),
     ``--repeat`` times, p50/p95;
5. checks the counts (after (b) every running task has the light it had before, clock-stopped ones are
   untouched), prints the figures
   and the ratios to the plain count, then drops the database.

Functions are called in-process (no HTTP): this measures the SQL. The aim (issue #4) is a lights refresh of
1,000,000 open tasks in under 1 s, done in SQL, not in a Python loop.

    python benchmarks/supervision_scan.py --quick        # 100,000 tasks, < 1 minute
    python benchmarks/supervision_scan.py                # 1,000,000 tasks
    python benchmarks/supervision_scan.py --postgres postgres://postgres@db:5432/ow_bench

The last line printed is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import bench_support
from bench_support import demo_load, psql

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/ow_bench"
TARGET_SECONDS = 1.0
LEADER = "leader1"
DUE_SPREAD_DAYS = 56  # 8 weeks: on average about 5 % of the lights change per working day
T = TypeVar("T")


# --- Database -----------------------------------------------------------------------------------------


# --- Loading tasks in bulk (after django.setup()) -----------------------------------------------------


LOAD_CASES = """
CREATE TEMP TABLE bench_case AS
SELECT i,
       (i %% %(slots)s) + 1 AS slot,
       mod(abs(hashint4(i)), 3) = 0 AS claimed,
       mod(abs(hashint4(i * 3 + 1)), %(spread)s) - 14 AS due_offset,
       mod(abs(hashint4(i * 7 + 3)), 60) AS age_days
FROM generate_series(1, %(tasks)s) AS i
"""

LOAD_APPLICATIONS = """
INSERT INTO applications_application (
    id, tracking_no, status, channel, applicant_kind, applicant_name, applicant_identifier, idempotency_key,
    request_hash, form_data, department_codes, pending_department_codes, submitted_at, accepted_at, due_date,
    statutory_due_date, decided_at, decision, row_version, updated_at, applicant_id, service_id,
    service_point_id, submitted_by_id, version_id)
SELECT %(base)s + c.i, 'BS' || lpad(c.i::text, 12, '0'), 'in_progress', 'web', 'resident',
       '基准申请人' || (c.i %% 1000), '3501021990' || lpad((c.i %% 100000000)::text, 8, '0'), '', '',
       '{}'::jsonb, jsonb_build_array(d.department_code), jsonb_build_array(d.department_code),
       %(now)s - make_interval(days => c.age_days + 1), %(now)s - make_interval(days => c.age_days),
       %(today)s + c.due_offset + 5, %(today)s + c.due_offset + 15, NULL, NULL, 1, %(now)s, NULL,
       d.service_id, NULL, %(applicant)s, d.version_id
FROM bench_case c JOIN bench_slot d ON d.slot = c.slot
"""

LOAD_INSTANCES = """
INSERT INTO workflow_workflowinstance (id, state, row_version, status, started_at, completed_at,
                                       application_id, definition_id)
SELECT %(base)s + c.i, '{}'::jsonb, 1, 'running', %(now)s - make_interval(days => c.age_days), NULL,
       %(application_base)s + c.i, d.definition_id
FROM bench_case c JOIN bench_slot d ON d.slot = c.slot
"""

LOAD_TASKS = """
INSERT INTO workflow_humantask (
    id, spiff_task_id, task_spec, name, name_en, department_code, role, status, created_at, due_date,
    claimed_at, completed_at, outcome, opinion, data, form_schema, application_id, assignee_id, instance_id,
    changed_at, consult_of_id, kind, light)
SELECT %(base)s + c.i, md5(c.i::text)::uuid, 'review', '审查', 'Review', d.department_code, '',
       CASE WHEN c.claimed THEN 'claimed' ELSE 'open' END,
       %(now)s - make_interval(days => c.age_days), %(today)s + c.due_offset,
       CASE WHEN c.claimed THEN %(now)s - make_interval(days => c.age_days) + interval '2 hours' END,
       NULL, '', '', '{}'::jsonb, '{}'::jsonb, %(application_base)s + c.i,
       CASE WHEN c.claimed THEN d.assignee_id END, %(instance_base)s + c.i,
       %(now)s - make_interval(days => c.age_days), NULL, 'process',
       CASE WHEN %(today)s + c.due_offset < %(today)s THEN 'red'
            WHEN %(today)s + c.due_offset <= %(yellow_until)s THEN 'yellow' ELSE 'green' END
FROM bench_case c JOIN bench_slot d ON d.slot = c.slot
"""

# 1 % of the cases wait for a hearing: their clock is stopped, their tasks' lights stay as they are.
LOAD_CLOCK_STOPS = """
INSERT INTO workflow_clockstop (application_id, task_id, kind, reason, started_at, started_by_id,
                                ended_at, ended_by_id, working_days)
SELECT %(application_base)s + c.i, %(task_base)s + c.i, 'hearing', '听证（基准）', %(now)s - interval '1 day',
       NULL, NULL, NULL, NULL
FROM bench_case c WHERE c.i %% 100 = 0
"""


def _slots() -> list[tuple[int, str, int, int, int, int]]:
    """One slot per demo department: (slot, department, service, version, definition, handler)."""
    from onewindow.accounts.models import Membership
    from onewindow.accounts.roles import Role
    from onewindow.services.models import Service, ServiceKind
    from onewindow.workflow.models import DefinitionStatus, ProcessDefinition

    definitions = dict(
        ProcessDefinition.objects.filter(status=DefinitionStatus.PUBLISHED).values_list("key", "pk")
    )
    handlers = {
        membership.department.code: membership.user_id
        for membership in Membership.objects.filter(role=Role.DEPARTMENT_HANDLER).select_related("department")
        if membership.department is not None
    }
    slots: list[tuple[int, str, int, int, int, int]] = []
    seen: set[str] = set()
    for service in Service.objects.filter(kind=ServiceKind.ITEM).select_related(
        "current_version", "department"
    ):
        code = service.department.code
        version = service.current_version
        if code in seen or version is None or code not in handlers:
            continue
        seen.add(code)
        slots.append(
            (len(slots) + 1, code, service.pk, version.pk, definitions[version.process_key], handlers[code])
        )
    return slots


def _load(tasks: int, today: date) -> dict[str, float]:
    """Load the tasks with lights as of ``today``; returns seconds per step."""
    from django.db import connection, transaction
    from django.utils import timezone

    from onewindow.accounts.models import User
    from onewindow.workflow.clock import light_thresholds

    slots = _slots()
    thresholds = light_thresholds(today)
    seconds: dict[str, float] = {}
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute(LOAD_CASES, {"tasks": tasks, "slots": len(slots), "spread": DUE_SPREAD_DAYS})
        cursor.execute(
            "CREATE TEMP TABLE bench_slot (slot int PRIMARY KEY, department_code text, service_id bigint, "
            "version_id bigint, definition_id bigint, assignee_id bigint)"
        )
        cursor.executemany("INSERT INTO bench_slot VALUES (%s, %s, %s, %s, %s, %s)", slots)
        bases = {}
        for table in ("applications_application", "workflow_workflowinstance", "workflow_humantask"):
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
            bases[table] = int(cursor.fetchone()[0])
        parameters: dict[str, Any] = {
            "now": timezone.now(),
            "today": thresholds.today,
            "yellow_until": thresholds.yellow_until,
            "applicant": User.objects.get(username="founder1").pk,
            "application_base": bases["applications_application"],
            "instance_base": bases["workflow_workflowinstance"],
            "task_base": bases["workflow_humantask"],
        }
        for label, table, sql in (
            ("applications", "applications_application", LOAD_APPLICATIONS),
            ("instances", "workflow_workflowinstance", LOAD_INSTANCES),
            ("tasks", "workflow_humantask", LOAD_TASKS),
            ("clock_stops", "workflow_clockstop", LOAD_CLOCK_STOPS),
        ):
            started = time.perf_counter()
            with transaction.atomic():
                cursor.execute(sql, {**parameters, "base": bases.get(table, 0)})
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
            seconds[label] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        seconds["analyze"] = round(time.perf_counter() - started, 1)
    return seconds


# --- Measuring ----------------------------------------------------------------------------------------


def _timed(call: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def _vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE workflow_humantask")


def _count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM workflow_humantask")
        return int(cursor.fetchone()[0])


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def _light_counts(*, running_clock: bool) -> dict[str, int]:
    """Working tasks by light; ``running_clock``: only those of cases whose clock runs."""
    from django.db.models import Count

    from onewindow.workflow.models import WORKING_TASK_STATUSES, ClockStop, HumanTask

    tasks = HumanTask.objects.filter(status__in=WORKING_TASK_STATUSES)
    if running_clock:
        tasks = tasks.exclude(
            application_id__in=ClockStop.objects.filter(ended_at__isnull=True).values("application_id")
        )
    rows = tasks.values("light").annotate(n=Count("id")).order_by("light")
    return {row["light"]: row["n"] for row in rows}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="100,000 tasks (under a minute)")
    parser.add_argument("--tasks", type=int, default=1_000_000, help="working tasks to load")
    parser.add_argument("--repeat", type=int, default=10, help="overview and count repetitions")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_POSTGRES_URL))
    args = parser.parse_args()
    tasks = 100_000 if args.quick else args.tasks
    load_before = os.getloadavg()

    database_url = bench_support.database_url(args.postgres)
    admin_url = bench_support.admin_url(database_url)
    database_name = urlsplit(database_url).path.lstrip("/")
    psql(admin_url, f'CREATE DATABASE "{database_name}"')
    var_dir = Path(tempfile.mkdtemp(prefix="ow-bench-supervision-"))
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "ONEWINDOW_ENV": "development",
            "ONEWINDOW_DEBUG": "false",
            "ONEWINDOW_VAR_DIR": str(var_dir),
            "ONEWINDOW_MEDIA_ROOT": str(var_dir / "media"),
            "ONEWINDOW_LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    refreshes: list[dict[str, Any]] = []
    try:
        onewindow = str(Path(sys.executable).with_name("onewindow"))
        subprocess.run([onewindow, "migrate", "--verbosity", "0"], cwd=ROOT, check=True)  # noqa: S603
        import django

        django.setup()
        from django.db import connection
        from django.db.models import Case, Value, When
        from django.utils import timezone

        from onewindow.accounts.models import User
        from onewindow.applications.tracking import china_date
        from onewindow.workcalendar.calendar import add_working_days
        from onewindow.workflow.deadlines import lights_refresh
        from onewindow.workflow.models import WORKING_TASK_STATUSES, ClockStop, HumanTask, Light
        from onewindow.workflow.supervision import supervision_overview

        demo_load(var_dir)
        day = china_date(timezone.now())
        load_seconds = _load(tasks, day)
        leader = User.objects.get(username=LEADER)
        stopped = ClockStop.objects.filter(ended_at__isnull=True).count()

        counts = [_timed(_count) for _ in range(args.repeat)]
        rows = counts[0][0]
        count_seconds = statistics.median(seconds for _, seconds in counts)

        def refresh(label: str, on: date) -> None:
            _vacuum()
            changed, seconds = _timed(lambda: lights_refresh(today=on))
            refreshes.append({"case": label, "day": on.isoformat(), "changed": changed, "seconds": seconds})

        refresh("(0) nothing changes", day)
        for _ in range(3):
            day = add_working_days(day, 1)
            refresh("(a) next working day", day)
        overviews = [_timed(lambda: supervision_overview(leader)) for _ in range(args.repeat)]
        overview = overviews[0][0]
        overview_ms = [seconds * 1000 for _, seconds in overviews]
        lights_before = _light_counts(running_clock=True)
        HumanTask.objects.filter(status__in=WORKING_TASK_STATUSES).update(
            light=Case(
                When(light=Light.GREEN, then=Value(Light.RED.value)),
                When(light=Light.RED, then=Value(Light.YELLOW.value)),
                default=Value(Light.GREEN.value),
            )
        )
        refresh("(b) every light changes", day)
        lights_after = _light_counts(running_clock=True)
        connection.close()
    finally:
        psql(admin_url, f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)
    load_after = os.getloadavg()

    print(f"{tasks:,} working tasks loaded ({load_seconds}); {stopped:,} cases with a running clock stop")
    print(f"baseline SELECT count(*) over {rows:,} task rows: {count_seconds * 1000:.1f} ms (median)")
    for entry in refreshes:
        ratio = entry["seconds"] / count_seconds if count_seconds else 0.0
        print(
            f"lights_refresh {entry['case']:25} {entry['day']}: {entry['changed']:9,} changed "
            f"({entry['changed'] / tasks:6.1%}) in {entry['seconds'] * 1000:8.1f} ms  x{ratio:.1f} of count"
        )
    daily = [entry for entry in refreshes if entry["case"].startswith("(a)")]
    everything = refreshes[-1]
    daily_seconds = statistics.median(entry["seconds"] for entry in daily)
    daily_share = statistics.fmean(entry["changed"] / tasks for entry in daily)
    overview_p50 = statistics.median(overview_ms)
    overview_p95 = _percentile(overview_ms, 0.95)
    print(
        f"supervision_overview({LEADER}): {len(overview)} departments, p50 {overview_p50:.1f} ms"
        f"  p95 {overview_p95:.1f} ms  ({args.repeat} calls)"
    )
    restored = lights_after == lights_before and everything["changed"] == tasks - stopped
    print(
        f"after (b): lights of running cases {lights_after}; {everything['changed']:,} changed = every task "
        f"whose clock runs, each back to its light: {restored}"
    )
    met_daily = "met" if daily_seconds < TARGET_SECONDS else "not met"
    met_all = "met" if everything["seconds"] < TARGET_SECONDS else "not met"
    print(
        f"aim: refresh < {TARGET_SECONDS:.0f} s — daily (~{daily_share:.0%} change) {met_daily}, "
        f"every light {met_all}"
    )
    print(
        "load average before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f}".format(
            *load_before, *load_after
        )
    )
    headline = {
        "benchmark": "supervision_scan",
        "database": "postgresql",
        "tasks": tasks,
        "count_ms": round(count_seconds * 1000, 1),
        "refresh_unchanged_ms": round(refreshes[0]["seconds"] * 1000, 1),
        "refresh_daily_ms": round(daily_seconds * 1000, 1),
        "refresh_daily_changed_share": round(daily_share, 4),
        "refresh_all_ms": round(everything["seconds"] * 1000, 1),
        "refresh_all_changed": everything["changed"],
        "daily_ratio_to_count": round(daily_seconds / count_seconds, 1) if count_seconds else None,
        "overview_p50_ms": round(overview_p50, 1),
        "overview_p95_ms": round(overview_p95, 1),
        "all_restored_after_b": restored,
        "load_average_before": round(load_before[0], 2),
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
