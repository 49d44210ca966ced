"""A department inbox at 1,000,000 cases: the task list API and the inbox page, over HTTP, on PostgreSQL.

What it does, in one run:

1. creates a throwaway PostgreSQL database (``--postgres URL``, default
   postgres://postgres@127.0.0.1:5432/ow_bench; a random suffix is added) and migrates it;
2. loads the demo data (departments, accounts, the demo catalog and processes), adds three departments (ten
   in all) with a handler each and a second tax handler;
3. loads ``--cases`` cases (default 1,000,000; ``--quick`` 50,000) in bulk with ``INSERT … SELECT
   generate_series``: one application, one process instance and one inbox task each, spread over the ten
   departments and 14 services; the tax department (``TAX``, two services) holds 10 % (100,000 at full
   size). Task statuses: 30 % open, 15 % claimed, 5 % waiting, 45 % done, 5 % cancelled; roles: half for any
   handler, half for the lane role ``department_handler``; due dates from 10 days overdue to 30 days ahead
   (2 % without), lights as the supervision rules give them today; the benchmark handler has opened a third
   of their pool before. Case events, timelines and materials are not loaded (the inbox does not read them);
   then ``VACUUM ANALYZE``;
4. starts ``onewindow serve`` (gunicorn, ``--workers``, default 2 x cores + 1 capped at 8) on a free port;
5. as ``tax_handler`` (the big department; bearer token for the API, a signed-in and TOTP-verified session
   for the page) sends ``--clients`` concurrent clients (default 1: the figures are each request's own time,
   no queueing) for ``--seconds`` per phase:
   * baseline: ``GET /api/v1/me``;
   * ``GET /api/v1/tasks?scope=pool`` (first page of 100 with the total count), with ``&light=red``, with
     ``&service=TAX-ZXFJKC``, and ``?scope=mine``;
   * the page ``GET /tasks/`` (25 rows with paging) and ``GET /tasks/?light=red``;
6. prints requests/s and p50/p95/p99 for each phase, the ratios to the baseline, checks that every answer was
   200 and that the pool holds what was loaded, prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the pool and
   "mine" queries with ``--explain``, then drops the database. The pool and "mine" read the partial indexes
   ``human_task_pool_idx`` and ``human_task_mine_idx`` (onewindow/workflow/models.py).

The aim (issue #4) is p95 under 50 ms for the API and the page. For comparison: Open Zaak publishes a median
of 150–430 ms for its case list (``GET /zaken/api/v1/zaken``) with 1 M cases.

    python benchmarks/inbox.py --quick                 # 50,000 cases, 2 s per phase, about a minute
    python benchmarks/inbox.py                         # 1,000,000 cases, 15 s per phase
    python benchmarks/inbox.py --quick --explain       # also the query plans
    python benchmarks/inbox.py --clients 4 --workers 5 --postgres postgres://postgres@db:5432/ow_bench

The last line printed is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import bench_support
from bench_support import demo_load, free_port, psql

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/ow_bench"
TARGET_P95_MS = 50.0
OPEN_ZAAK_MEDIAN_MS = "150–430"
TARGET_DEPARTMENT = "TAX"
HANDLER = "tax_handler"
FILTER_SERVICE = "TAX-ZXFJKC"
# Ten departments: the demo's seven and three more, each with a handler.
EXTRA_DEPARTMENTS = (
    ("EDU", "福州市教育局（基准）", "Fuzhou Education Bureau (benchmark)", "11350100BENCH0001X"),
    ("HOUSING", "福州市住房和城乡建设局（基准）", "Fuzhou Housing Bureau (benchmark)", "11350100BENCH0002X"),
    ("TRANSPORT", "福州市交通运输局（基准）", "Fuzhou Transport Bureau (benchmark)", "11350100BENCH0003X"),
)
SLOTS = 20  # case i goes to slot i % 20; slots 0 and 10 are the tax department's (10 %)


# --- Database and server ----------------------------------------------------------------------------


def _wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            message = "onewindow serve exited during start-up"
            raise SystemExit(message)
        try:
            status, _ = _get(port, "/healthz", {})
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    message = "onewindow serve did not become ready"
    raise SystemExit(message)


# --- Loading cases in bulk (after django.setup()) -----------------------------------------------------


@dataclass(frozen=True)
class Slot:
    department_code: str
    service_id: int
    version_id: int
    definition_id: int
    assignee_id: int
    other_assignee_id: int


def _slots(handler_ids: dict[str, int], second_tax_handler: int) -> list[Slot]:
    """Twenty (department, service) slots: the tax department's two services in slots 0 and 10, the nine
    other departments two slots each, on their own services (bundles for the added departments)."""
    from onewindow.services.models import Service
    from onewindow.workflow.models import DefinitionStatus, ProcessDefinition

    definitions = dict(
        ProcessDefinition.objects.filter(status=DefinitionStatus.PUBLISHED).values_list("key", "pk")
    )
    services: dict[str, list[tuple[int, int, int]]] = {}
    bundles: list[tuple[int, int, int]] = []
    for service in Service.objects.select_related("current_version", "department").order_by("code"):
        version = service.current_version
        if version is None:
            continue
        entry = (service.pk, version.pk, definitions[version.process_key])
        if service.kind == "bundle":
            bundles.append(entry)
        else:
            services.setdefault(service.department.code, []).append(entry)
    others = [code for code in handler_ids if code != TARGET_DEPARTMENT]
    slots: list[Slot] = []
    for index in range(SLOTS):
        if index % 10 == 0:
            code = TARGET_DEPARTMENT
            choices = services[code]
            entry = choices[(index // 10) % len(choices)]
        else:
            code = others[(index - 1 - index // 10) % len(others)]
            choices = services.get(code) or bundles
            entry = choices[index % len(choices)]
        handler = handler_ids[code]
        other = second_tax_handler if code == TARGET_DEPARTMENT else handler
        slots.append(Slot(code, *entry, handler, other))
    return slots


def _users() -> tuple[dict[str, int], int, int]:
    """Handlers by department (adding the three departments and their handlers), the second tax handler
    and the applicant."""
    from onewindow.accounts.models import Membership, User
    from onewindow.accounts.roles import Kind, Role
    from onewindow.organisations.models import Department

    city = Department.objects.get(code=TARGET_DEPARTMENT).division
    for code, name, name_en, credit_code in EXTRA_DEPARTMENTS:
        department = Department.objects.create(
            code=code, name=name, name_en=name_en, credit_code=credit_code, division=city
        )
        user = User.objects.create(username=f"{code.lower()}_handler", display_name=name[:4], kind=Kind.STAFF)
        Membership.objects.create(user=user, role=Role.DEPARTMENT_HANDLER, department=department)
    second = User.objects.create(username="tax_handler2", display_name="税务办理人二", kind=Kind.STAFF)
    Membership.objects.create(
        user=second, role=Role.DEPARTMENT_HANDLER, department=Department.objects.get(code=TARGET_DEPARTMENT)
    )
    handler_ids: dict[str, int] = {}
    for membership in Membership.objects.filter(role=Role.DEPARTMENT_HANDLER).select_related(
        "department", "user"
    ):
        if membership.department is None:
            continue
        code = membership.department.code
        if code not in handler_ids or membership.user.username == HANDLER:
            handler_ids[code] = membership.user_id
    applicant = User.objects.get(username="founder1").pk
    return dict(sorted(handler_ids.items())), second.pk, applicant


LOAD_CASES = """
CREATE TEMP TABLE bench_case AS
SELECT i,
       (i %% 20) + 1 AS slot,
       mod(abs(hashint4(i)), 100) AS bucket,
       mod(abs(hashint4(i * 3 + 1)), 41) - 10 AS due_offset,
       mod(abs(hashint4(i * 5 + 2)), 100) AS draw,
       mod(abs(hashint4(i * 7 + 3)), 60) AS age_days
FROM generate_series(1, %(cases)s) AS i
"""

# Task status by bucket: 0-29 open, 30-44 claimed, 45-49 waiting, 50-94 done, 95-99 cancelled.
LOAD_APPLICATIONS = """
INSERT INTO applications_application (
    id, tracking_no, status, channel, applicant_kind, applicant_name, applicant_identifier, idempotency_key,
    request_hash, form_data, department_codes, pending_department_codes, submitted_at, accepted_at, due_date,
    statutory_due_date, decided_at, decision, row_version, updated_at, applicant_id, service_id,
    service_point_id, submitted_by_id, version_id)
SELECT %(base)s + c.i,
       'BI' || lpad(c.i::text, 12, '0'),
       CASE WHEN c.bucket < 45 THEN 'in_progress' WHEN c.bucket < 50 THEN 'supplement_requested'
            WHEN c.bucket < 95 THEN 'approved' ELSE 'withdrawn' END,
       'web', 'resident', '基准申请人' || (c.i %% 1000),
       '3501021990' || lpad((c.i %% 100000000)::text, 8, '0'), '', '', '{}'::jsonb,
       jsonb_build_array(d.department_code),
       CASE WHEN c.bucket < 50 THEN jsonb_build_array(d.department_code) ELSE '[]'::jsonb END,
       %(now)s - make_interval(days => c.age_days + 1), %(now)s - make_interval(days => c.age_days),
       %(today)s + c.due_offset + 5, %(today)s + c.due_offset + 15,
       CASE WHEN c.bucket >= 50 THEN %(now)s - make_interval(days => greatest(c.age_days - 5, 0)) END,
       NULL, 1, %(now)s, NULL, d.service_id, NULL, %(applicant)s, d.version_id
FROM bench_case c JOIN bench_slot d ON d.slot = c.slot
"""

LOAD_INSTANCES = """
INSERT INTO workflow_workflowinstance (id, state, row_version, status, started_at, completed_at,
                                       application_id, definition_id)
SELECT %(base)s + c.i, '{}'::jsonb, 1,
       CASE WHEN c.bucket < 50 THEN 'running' WHEN c.bucket < 95 THEN 'completed' ELSE 'cancelled' END,
       %(now)s - make_interval(days => c.age_days),
       CASE WHEN c.bucket >= 50 THEN %(now)s - make_interval(days => greatest(c.age_days - 5, 0)) END,
       %(application_base)s + c.i, d.definition_id
FROM bench_case c JOIN bench_slot d ON d.slot = c.slot
"""

LOAD_TASKS = """
INSERT INTO workflow_humantask (
    id, spiff_task_id, task_spec, name, name_en, department_code, role, status, created_at, due_date,
    claimed_at, completed_at, outcome, opinion, data, form_schema, application_id, assignee_id, instance_id,
    changed_at, consult_of_id, kind, light, service_code)
SELECT %(base)s + t.i, md5(t.i::text)::uuid, 'review', '审查', 'Review', t.department_code,
       CASE WHEN t.draw %% 2 = 0 THEN '' ELSE 'department_handler' END,
       t.status, t.created_at, t.due_date,
       CASE WHEN t.status IN ('claimed', 'waiting', 'done') THEN t.created_at + interval '2 hours' END,
       CASE WHEN t.status IN ('done', 'cancelled') THEN t.created_at + interval '3 days' END,
       CASE WHEN t.status = 'done' THEN 'approve' ELSE '' END, '', '{}'::jsonb, '{}'::jsonb,
       %(application_base)s + t.i,
       CASE WHEN t.status IN ('claimed', 'waiting', 'done')
            THEN CASE WHEN t.draw < 25 THEN t.assignee_id ELSE t.other_assignee_id END END,
       %(instance_base)s + t.i,
       -- a tenth of the cases changed a day after the task was created
       t.created_at + CASE WHEN t.draw >= 90 THEN interval '1 day' ELSE interval '0' END,
       NULL, 'process',
       CASE WHEN t.status NOT IN ('open', 'claimed') OR t.due_date IS NULL THEN 'green'
            WHEN t.due_date < %(today)s THEN 'red'
            WHEN t.due_date <= %(yellow_until)s THEN 'yellow' ELSE 'green' END,
       t.service_code
FROM (
    SELECT c.i, c.draw, d.department_code, d.assignee_id, d.other_assignee_id, s.code AS service_code,
           CASE WHEN c.bucket < 30 THEN 'open' WHEN c.bucket < 45 THEN 'claimed'
                WHEN c.bucket < 50 THEN 'waiting' WHEN c.bucket < 95 THEN 'done'
                ELSE 'cancelled' END AS status,
           %(now)s - make_interval(days => c.age_days) AS created_at,
           CASE WHEN c.draw %% 50 = 7 THEN NULL ELSE %(today)s + c.due_offset END AS due_date
    FROM bench_case c JOIN bench_slot d ON d.slot = c.slot JOIN services_service s ON s.id = d.service_id
) AS t
"""

LOAD_VIEWS = """
INSERT INTO workflow_taskview (user_id, task_id, seen_at)
SELECT %(user)s, id, created_at + interval '2 hours'
FROM workflow_humantask
WHERE department_code = %(department)s AND status IN ('open', 'claimed') AND id %% 3 = 0
"""


def _load(cases: int) -> dict[str, float]:
    """Load the cases; returns seconds per step."""
    from django.db import connection, transaction
    from django.utils import timezone

    from onewindow.accounts.models import User
    from onewindow.applications.tracking import china_date
    from onewindow.workflow.clock import light_thresholds

    handler_ids, second, applicant = _users()
    slots = _slots(handler_ids, second)
    now = timezone.now()
    thresholds = light_thresholds(china_date(now))
    seconds: dict[str, float] = {}
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute(LOAD_CASES, {"cases": cases})
        cursor.execute(
            "CREATE TEMP TABLE bench_slot (slot int PRIMARY KEY, department_code text, service_id bigint, "
            "version_id bigint, definition_id bigint, assignee_id bigint, other_assignee_id bigint)"
        )
        cursor.executemany(
            "INSERT INTO bench_slot VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    index + 1,
                    slot.department_code,
                    slot.service_id,
                    slot.version_id,
                    slot.definition_id,
                    slot.assignee_id,
                    slot.other_assignee_id,
                )
                for index, slot in enumerate(slots)
            ],
        )
        bases = {}
        for table in ("applications_application", "workflow_workflowinstance", "workflow_humantask"):
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
            bases[table] = int(cursor.fetchone()[0])
        parameters: dict[str, Any] = {
            "now": now,
            "today": thresholds.today,
            "yellow_until": thresholds.yellow_until,
            "applicant": applicant,
            "application_base": bases["applications_application"],
            "instance_base": bases["workflow_workflowinstance"],
        }
        for label, table, sql in (
            ("applications", "applications_application", LOAD_APPLICATIONS),
            ("instances", "workflow_workflowinstance", LOAD_INSTANCES),
            ("tasks", "workflow_humantask", LOAD_TASKS),
        ):
            started = time.perf_counter()
            with transaction.atomic():
                cursor.execute(sql, {**parameters, "base": bases[table]})
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
            seconds[label] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        cursor.execute(
            LOAD_VIEWS,
            {"user": User.objects.get(username=HANDLER).pk, "department": TARGET_DEPARTMENT},
        )
        cursor.execute("VACUUM ANALYZE")
        seconds["views_and_analyze"] = round(time.perf_counter() - started, 1)
    return seconds


def _credentials() -> tuple[str, str, str]:
    """A bearer token and a TOTP-verified session cookie (name, value) for the benchmark handler."""
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from onewindow.accounts.api_auth import token_hash
    from onewindow.accounts.models import ApiToken, User

    user = User.objects.get(username=HANDLER)
    token = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user,
        token_hash=token_hash(token),
        expires_at=timezone.now() + timedelta(seconds=settings.API_TOKEN_TTL_SECONDS),
    )
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    session = client.session
    if device is not None:
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return token, settings.SESSION_COOKIE_NAME, session.session_key or ""


def _expected_pool() -> dict[str, int]:
    """What the handler's pool must hold, counted directly (no selector)."""
    from django.db.models import Q

    from onewindow.workflow.models import WORKING_TASK_STATUSES, HumanTask, Light

    pool = HumanTask.objects.filter(
        Q(role="") | Q(role="department_handler"),
        department_code=TARGET_DEPARTMENT,
        status__in=WORKING_TASK_STATUSES,
    )
    return {
        "tasks": HumanTask.objects.count(),
        "department_tasks": HumanTask.objects.filter(department_code=TARGET_DEPARTMENT).count(),
        "pool": pool.count(),
        "pool_red": pool.filter(light=Light.RED).count(),
        "pool_service": pool.filter(application__service__code=FILTER_SERVICE).count(),
    }


def _explain() -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the SQL the API runs for the pool and "mine": the total count and the
    first page, captured as the selector and the paginator execute them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from onewindow.accounts.models import User
    from onewindow.workflow.selectors import tasks_for_user

    user = User.objects.get(username=HANDLER)
    for label, scope, light, service in (
        ("pool", "pool", "", ""),
        ("pool, light=red", "pool", "red", ""),
        (f"pool, service={FILTER_SERVICE}", "pool", "", FILTER_SERVICE),
        ("mine", "mine", "", ""),
    ):
        tasks = tasks_for_user(user, scope=scope, light=light, service=service)
        with CaptureQueriesContext(connection) as captured:
            tasks.count()
            list(tasks[:100])
        for kind, query in zip(("count", "first page of 100"), captured.captured_queries[-2:], strict=True):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                print(f"\n--- EXPLAIN {label}: {kind}")
                print("\n".join(row[0] for row in cursor.fetchall()))


# --- Load generator -----------------------------------------------------------------------------------


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers={"Host": "localhost", "Connection": "close", **headers})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass
class Phase:
    name: str
    path: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def figures(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def percentile(fraction: float) -> float:
            if not ordered:
                return 0.0
            index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
            return round(ordered[index] * 1000, 2)

        return {
            "path": self.path,
            "requests": len(ordered),
            "per_second": round(len(ordered) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": percentile(0.50),
            "p95_ms": percentile(0.95),
            "p99_ms": percentile(0.99),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2) if ordered else 0.0,
            "statuses": {str(code): count for code, count in sorted(self.statuses.items())},
        }


def _run_phase(
    port: int, name: str, path: str, headers: dict[str, str], clients: int, seconds: float
) -> Phase:
    phase = Phase(name, path)
    deadline = time.monotonic() + seconds
    lock = threading.Lock()

    def client() -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status, _ = _get(port, path, headers)
            except OSError:
                status = 0
            elapsed = time.perf_counter() - started
            with lock:
                phase.latencies.append(elapsed)
                phase.statuses[status] = phase.statuses.get(status, 0) + 1

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.monotonic() - started
    return phase


# --- Main -------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="50,000 cases, 2 s per phase (about a minute)")
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases to load")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=1, help="concurrent clients")
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers (default: the serve default)"
    )
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the pool queries")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_POSTGRES_URL))
    args = parser.parse_args()
    cases = 50_000 if args.quick else args.cases
    seconds = 2.0 if args.quick else args.seconds
    load_before = os.getloadavg()

    database_url = bench_support.database_url(args.postgres)
    admin_url = bench_support.admin_url(database_url)
    database_name = urlsplit(database_url).path.lstrip("/")
    psql(admin_url, f'CREATE DATABASE "{database_name}"')
    var_dir = Path(tempfile.mkdtemp(prefix="ow-bench-inbox-"))
    environment = {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ONEWINDOW_ENV": "development",
        "ONEWINDOW_DEBUG": "false",
        "ONEWINDOW_VAR_DIR": str(var_dir),
        "ONEWINDOW_MEDIA_ROOT": str(var_dir / "media"),
        "ONEWINDOW_LOG_LEVEL": "WARNING",
    }
    os.environ.update(environment)
    sys.path.insert(0, str(ROOT))
    onewindow = str(Path(sys.executable).with_name("onewindow"))
    server: subprocess.Popen[bytes] | None = None
    phases: list[Phase] = []
    first_page: dict[str, Any] = {}
    try:
        subprocess.run([onewindow, "migrate", "--verbosity", "0"], cwd=ROOT, check=True)  # noqa: S603
        import django

        django.setup()
        from django.db import connections

        demo_load(var_dir)
        load_seconds = _load(cases)
        expected = _expected_pool()
        token, cookie_name, cookie = _credentials()
        connections.close_all()

        port = free_port()
        serve = [onewindow, "serve", "--bind", f"127.0.0.1:{port}"]
        if args.workers:
            serve += ["--workers", str(args.workers)]
        server = subprocess.Popen(  # noqa: S603
            serve, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_ready(port, server)
        bearer = {"Authorization": f"Bearer {token}"}
        session = {"Cookie": f"{cookie_name}={cookie}"}
        plan = [
            ("me", "/api/v1/me", bearer),
            ("api pool", "/api/v1/tasks?scope=pool", bearer),
            ("api pool red", "/api/v1/tasks?scope=pool&light=red", bearer),
            ("api pool service", f"/api/v1/tasks?scope=pool&service={FILTER_SERVICE}", bearer),
            ("api mine", "/api/v1/tasks?scope=mine", bearer),
            ("page", "/tasks/", session),
            ("page red", "/tasks/?light=red", session),
        ]
        for name, path, headers in plan:
            status, body = _get(port, path, headers)
            if path.startswith("/api/v1/tasks"):
                first_page[name] = json.loads(body).get("count") if status == 200 else status
            elif name == "page":
                first_page[name] = status
            # Warm every worker on this endpoint (imports, connections, plans) before measuring.
            _run_phase(port, "warm-up", path, headers, max(args.clients, 2), 0.5 if args.quick else 1.0)
            phases.append(_run_phase(port, name, path, headers, args.clients, seconds))
        if args.explain:
            _explain()
        connections.close_all()
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        psql(admin_url, f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)
    load_after = os.getloadavg()

    figures = {phase.name: phase.figures() for phase in phases}
    print(f"{cases:,} cases loaded (seconds: {load_seconds})")
    print(
        f"{TARGET_DEPARTMENT}: {expected['department_tasks']:,} tasks, pool {expected['pool']:,} "
        f"(red {expected['pool_red']:,}, {FILTER_SERVICE} {expected['pool_service']:,})"
    )
    print(f"{args.clients} client(s), {seconds:g} s per phase, as {HANDLER}")
    baseline = figures["me"]
    for name, figure in figures.items():
        ratio = round(figure["p50_ms"] / baseline["p50_ms"], 1) if baseline["p50_ms"] else 0.0
        print(
            f"{name:17} {figure['per_second']:7.1f} req/s  p50 {figure['p50_ms']:7.2f} ms  "
            f"p95 {figure['p95_ms']:7.2f} ms  p99 {figure['p99_ms']:7.2f} ms  x{ratio:<5} of /me p50  "
            f"statuses {figure['statuses']}"
        )
    print(f"counts in the API's first answers: {first_page}")
    all_ok = all(figure["statuses"] == {"200": figure["requests"]} for figure in figures.values())
    counts_ok = (
        first_page.get("api pool") == expected["pool"]
        and first_page.get("api pool red") == expected["pool_red"]
        and first_page.get("api pool service") == expected["pool_service"]
    )
    print(f"every answer 200: {all_ok}; API counts match the loaded pool: {counts_ok}")
    worst = max(figure["p95_ms"] for name, figure in figures.items() if name != "me")
    met = "met" if worst < TARGET_P95_MS else "not met"
    print(f"aim: p95 < {TARGET_P95_MS:.0f} ms for the API and the page ({met}; worst p95 {worst} ms)")
    print(f"Open Zaak publishes a median of {OPEN_ZAAK_MEDIAN_MS} ms for its case list at 1 M cases")
    print(
        "load average before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f}".format(
            *load_before, *load_after
        )
    )
    headline: dict[str, Any] = {
        "benchmark": "inbox",
        "database": "postgresql",
        "cases": cases,
        "department_tasks": expected["department_tasks"],
        "pool": expected["pool"],
        "clients": args.clients,
        "seconds_per_phase": seconds,
        "me_p50_ms": baseline["p50_ms"],
        "me_p95_ms": baseline["p95_ms"],
    }
    for name, key in (
        ("api pool", "api_pool"),
        ("api pool red", "api_pool_red"),
        ("api pool service", "api_pool_service"),
        ("api mine", "api_mine"),
        ("page", "page"),
        ("page red", "page_red"),
    ):
        headline[f"{key}_p50_ms"] = figures[name]["p50_ms"]
        headline[f"{key}_p95_ms"] = figures[name]["p95_ms"]
    headline |= {
        "worst_p95_ms": worst,
        "all_ok": all_ok and counts_ok,
        "load_average_before": round(load_before[0], 2),
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
