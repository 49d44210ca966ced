"""Back-office throughput: task completions per second with concurrent handlers, on PostgreSQL.

What it does, in one run:

1. creates a throwaway PostgreSQL database (``--postgres URL``, default
   postgres://postgres@127.0.0.1:5432/ow_bench; a random suffix is added) and migrates it;
2. loads the demo data (departments, accounts, the demo catalog and its published BPMN processes) and adds
   ``--workers`` handlers of the tax department (``TAX``);
3. creates ``--cases`` applications of ``TAX-XBNS`` (new taxpayer: one user task "review" in the lane
   ``TAX:department_handler`` with a working-day due date and a reminder boundary timer, an exclusive
   gateway, the end) with ``bulk_create``, in progress, and starts each one's process with
   ``process_start`` (the engine runs it to the review task: inbox row, timer row, case events);
4. runs three phases, one after the other, with ``--workers`` concurrent handlers (separate processes by
   default, each with its own database connection; ``--mode threads`` for threads), every handler working
   its own share of the cases:
   * audit: one transaction with a bare ``audit_append`` (the audit chain's lock, head read, SM3 hash and
     insert: the floor of any audited write);
   * claim: ``task_for_user`` + ``task_claim`` (a cheap single-row action: lock the row, update it, one
     case event, the audit record) — the baseline;
   * complete: ``task_for_user`` + ``task_complete(outcome="approve")``: lock the case's process, load the
     SpiffWorkflow state, complete the task, run the process to its end (gateway, timer cancelled), save
     the state under its ``row_version`` guard, bring inbox, timers and case events in line, then decide
     the application (status, timeline event, decision document row, notification to the applicant) and
     write two audit records;
5. prints per phase the rate, p50/p95/p99 latency per call, the ratios complete/claim and complete/audit,
   checks that every task is done, every process completed, every application approved, and that there
   are exactly as many completion events and audit records as tasks (no update lost), then drops the
   database.

The actions are called in-process, as the API's endpoints call them, without HTTP (``benchmarks/intake.py``
measures the HTTP layer): this measures the engine adapter and the database, which is the point. The aim
(issue #4) is >= 300 completions/s; the handlers share the 2-core machine with PostgreSQL, so the figures
are a floor.

    python benchmarks/task_complete.py --quick        # 400 cases, < 1 minute
    python benchmarks/task_complete.py                # 4,000 cases
    python benchmarks/task_complete.py --workers 8 --mode threads --postgres postgres://postgres@db:5432/ow_bench

The last line printed is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import bench_support
from bench_support import demo_load, psql

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/ow_bench"
TARGET_RATE = 300.0
SERVICE_CODE = "TAX-XBNS"
DEPARTMENT_CODE = "TAX"


# --- Database -----------------------------------------------------------------------------------------


# --- Figures ------------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    started: float = 0.0
    ended: float = 0.0

    def figures(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        seconds = self.ended - self.started

        def percentile(fraction: float) -> float:
            if not ordered:
                return 0.0
            index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
            return round(ordered[index] * 1000, 2)

        return {
            "calls": len(ordered),
            "seconds": round(seconds, 2),
            "per_second": round(len(ordered) / seconds, 1) if seconds > 0 else 0.0,
            "p50_ms": percentile(0.50),
            "p95_ms": percentile(0.95),
            "p99_ms": percentile(0.99),
            "errors": dict(sorted(self.errors.items())),
        }


@dataclass
class WorkerResult:
    latencies: list[float]
    errors: dict[str, int]
    started: float
    ended: float


class _Waiter(Protocol):
    def wait(self, timeout: float | None = None) -> int: ...


class _Sink(Protocol):
    def put(self, item: Any) -> None: ...


# --- One handler's share of a phase (runs in a thread or a forked process) ----------------------------


def _operation(phase: str, user_id: int) -> Callable[[int], None]:
    from django.db import transaction

    from onewindow.accounts.models import User
    from onewindow.audit.actions import audit_append
    from onewindow.workflow.actions import process_start, task_claim, task_complete
    from onewindow.workflow.selectors import task_for_user

    user = User.objects.get(pk=user_id)

    def audit(number: int) -> None:
        with transaction.atomic():
            audit_append(action="bench.noop", acting_user=user, object_type="bench", object_id=number)

    def start(application_id: int) -> None:
        from onewindow.applications.models import Application

        application = Application.objects.select_related("version", "service").get(pk=application_id)
        process_start(application=application)

    def claim(task_id: int) -> None:
        task_claim(acting_user=user, task=task_for_user(user, task_id))

    def complete(task_id: int) -> None:
        task_complete(acting_user=user, task=task_for_user(user, task_id), outcome="approve", opinion="同意")

    return {"audit": audit, "start": start, "claim": claim, "complete": complete}[phase]


def _work(phase: str, user_id: int, items: list[int], barrier: _Waiter) -> WorkerResult:
    from django.db import connections

    from onewindow.core.errors import FieldErrors, RuleViolation

    operation = _operation(phase, user_id)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    try:
        barrier.wait(timeout=120)
        started = time.monotonic()
        for item in items:
            began = time.perf_counter()
            try:
                operation(item)
            except RuleViolation as error:
                code = str(error.code)
                errors[code] = errors.get(code, 0) + 1
                continue
            except FieldErrors:
                errors["field_errors"] = errors.get("field_errors", 0) + 1
                continue
            latencies.append(time.perf_counter() - began)
        ended = time.monotonic()
    finally:
        connections.close_all()
    return WorkerResult(latencies, errors, started, ended)


def _process_main(phase: str, user_id: int, items: list[int], barrier: _Waiter, sink: _Sink) -> None:
    try:
        sink.put(_work(phase, user_id, items, barrier))
    except BaseException as error:
        sink.put(f"{type(error).__name__}: {error}")
        raise


def _run_phase(name: str, mode: str, user_ids: list[int], items: list[int]) -> Phase:
    """Split ``items`` round-robin over the handlers, start them together, collect their timings."""
    from django.db import connections

    shares = [items[index :: len(user_ids)] for index in range(len(user_ids))]
    results: list[WorkerResult | str] = []
    connections.close_all()  # nothing open may be inherited by a forked process
    if mode == "threads":
        barrier: _Waiter = threading.Barrier(len(user_ids))
        collected: queue.Queue[WorkerResult | str] = queue.Queue()
        threads = [
            threading.Thread(target=_process_main, args=(name, user_id, share, barrier, collected))
            for user_id, share in zip(user_ids, shares, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results = [collected.get() for _ in threads]
    else:
        context = multiprocessing.get_context("fork")
        barrier = context.Barrier(len(user_ids))
        sink = context.Queue()
        processes = [
            context.Process(target=_process_main, args=(name, user_id, share, barrier, sink))
            for user_id, share in zip(user_ids, shares, strict=True)
        ]
        for process in processes:
            process.start()
        results = [sink.get(timeout=3600) for _ in processes]
        for process in processes:
            process.join()
    failures = [result for result in results if isinstance(result, str)]
    if failures:
        message = f"phase {name} failed: {failures[0]}"
        raise SystemExit(message)
    done = [result for result in results if isinstance(result, WorkerResult)]
    phase = Phase(name)
    phase.started = min(result.started for result in done)
    phase.ended = max(result.ended for result in done)
    for result in done:
        phase.latencies.extend(result.latencies)
        for code, count in result.errors.items():
            phase.errors[code] = phase.errors.get(code, 0) + count
    return phase


# --- Set-up and checks (in the parent, after django.setup()) -----------------------------------------


def _setup(var_dir: Path, cases: int, workers: int) -> tuple[list[int], list[int]]:
    """Demo data, ``workers`` tax handlers and ``cases`` in-progress applications; returns their ids."""
    from datetime import timedelta

    from django.utils import timezone

    from onewindow.accounts.models import Membership, User
    from onewindow.accounts.roles import Kind, Role
    from onewindow.applications.models import ApplicantKind, Application, Status
    from onewindow.organisations.models import Department
    from onewindow.services.models import Channel, Service

    demo_load(var_dir)
    department = Department.objects.get(code=DEPARTMENT_CODE)
    handlers = []
    for number in range(workers):
        user = User.objects.create(
            username=f"bench_tax_{number}", display_name=f"基准办理人{number}", kind=Kind.STAFF
        )
        Membership.objects.create(user=user, role=Role.DEPARTMENT_HANDLER, department=department)
        handlers.append(user.pk)
    service = Service.objects.select_related("current_version").get(code=SERVICE_CODE)
    version = service.current_version
    if version is None:
        message = f"{SERVICE_CODE} has no published version"
        raise SystemExit(message)
    applicant = User.objects.get(username="founder1")
    now = timezone.now()
    applications = Application.objects.bulk_create(
        [
            Application(
                tracking_no=f"BENCH{number:012d}",
                service=service,
                version=version,
                status=Status.IN_PROGRESS,
                channel=Channel.WEB,
                applicant=applicant,
                applicant_kind=ApplicantKind.RESIDENT,
                applicant_name=applicant.display_name or applicant.username,
                applicant_identifier=applicant.id_number or "",
                submitted_by=applicant,
                form_data={},
                department_codes=[DEPARTMENT_CODE],
                submitted_at=now,
                accepted_at=now,
                due_date=(now + timedelta(days=14)).date(),
                statutory_due_date=(now + timedelta(days=28)).date(),
            )
            for number in range(cases)
        ],
        batch_size=1000,
    )
    return handlers, [application.pk for application in applications]


def _open_task_ids() -> list[int]:
    from onewindow.workflow.models import HumanTask, TaskStatus

    return list(HumanTask.objects.filter(status=TaskStatus.OPEN).order_by("pk").values_list("pk", flat=True))


def _checks(cases: int) -> dict[str, Any]:
    """Counts after the run: every case decided once, nothing lost or doubled."""
    from onewindow.applications.models import Application, Status
    from onewindow.audit.models import AuditRecord
    from onewindow.workflow.models import (
        CaseEvent,
        CaseEventKind,
        HumanTask,
        InstanceStatus,
        TaskStatus,
        WorkflowInstance,
    )

    return {
        "tasks_done": HumanTask.objects.filter(status=TaskStatus.DONE).count(),
        "tasks_not_done": HumanTask.objects.exclude(status=TaskStatus.DONE).count(),
        "processes_completed": WorkflowInstance.objects.filter(status=InstanceStatus.COMPLETED).count(),
        "applications_approved": Application.objects.filter(status=Status.APPROVED).count(),
        "completion_events": CaseEvent.objects.filter(kind=CaseEventKind.TASK_COMPLETED).count(),
        "claim_audit_records": AuditRecord.objects.filter(action="task.claimed").count(),
        "completion_audit_records": AuditRecord.objects.filter(action="task.completed").count(),
        "decision_audit_records": AuditRecord.objects.filter(action="application.decided").count(),
        "cases": cases,
    }


def _chain_intact() -> bool:
    from onewindow.audit.verify import verify_chain

    return bool(verify_chain().intact)


# --- Main ---------------------------------------------------------------------------------------------


def _print_phase(label: str, figure: dict[str, Any]) -> None:
    errors = f"  errors {figure['errors']}" if figure["errors"] else ""
    print(
        f"{label:34} {figure['calls']:6d} calls {figure['per_second']:8.1f}/s  p50 {figure['p50_ms']:7.2f} ms"
        f"  p95 {figure['p95_ms']:7.2f} ms  p99 {figure['p99_ms']:7.2f} ms{errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="400 cases (under a minute in all)")
    parser.add_argument("--cases", type=int, default=4000, help="cases (one task each) to complete")
    parser.add_argument("--workers", type=int, default=4, help="concurrent handlers")
    parser.add_argument(
        "--mode",
        choices=("processes", "threads"),
        default="processes",
        help="handlers as processes or threads",
    )
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_POSTGRES_URL))
    args = parser.parse_args()
    cases = 400 if args.quick else args.cases
    load_before = os.getloadavg()

    database_url = bench_support.database_url(args.postgres)
    admin_url = bench_support.admin_url(database_url)
    database_name = urlsplit(database_url).path.lstrip("/")
    psql(admin_url, f'CREATE DATABASE "{database_name}"')
    var_dir = Path(tempfile.mkdtemp(prefix="ow-bench-tasks-"))
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
    try:
        onewindow = str(Path(sys.executable).with_name("onewindow"))
        subprocess.run([onewindow, "migrate", "--verbosity", "0"], cwd=ROOT, check=True)  # noqa: S603
        import django

        django.setup()
        handlers, application_ids = _setup(var_dir, cases, args.workers)
        start = _run_phase("start", args.mode, handlers, application_ids)
        task_ids = _open_task_ids()
        audit = _run_phase("audit", args.mode, handlers, list(range(len(task_ids))))
        claim = _run_phase("claim", args.mode, handlers, task_ids)
        complete = _run_phase("complete", args.mode, handlers, task_ids)
        checks = _checks(cases)
        intact = _chain_intact()
        from django.db import connections

        connections.close_all()
    finally:
        psql(admin_url, f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)
    load_after = os.getloadavg()

    figures = {phase.name: phase.figures() for phase in (start, audit, claim, complete)}
    print(f"{cases} cases of {SERVICE_CODE}, {args.workers} concurrent handlers ({args.mode}), PostgreSQL")
    _print_phase("process_start (set-up)", figures["start"])
    _print_phase("audit_append alone", figures["audit"])
    _print_phase("task_claim (baseline)", figures["claim"])
    _print_phase("task_complete", figures["complete"])
    rate = figures["complete"]["per_second"]
    to_claim = round(rate / figures["claim"]["per_second"], 3) if figures["claim"]["per_second"] else 0.0
    to_audit = round(rate / figures["audit"]["per_second"], 3) if figures["audit"]["per_second"] else 0.0
    print(f"complete / claim ratio: {to_claim}; complete / bare audit_append ratio: {to_audit}")
    all_done = (
        checks["tasks_done"] == cases
        and checks["tasks_not_done"] == 0
        and checks["processes_completed"] == cases
        and checks["applications_approved"] == cases
        and checks["completion_events"] == cases
        and checks["claim_audit_records"] == cases
        and checks["completion_audit_records"] == cases
        and checks["decision_audit_records"] == cases
        and not any(figures[name]["errors"] for name in figures)
    )
    print(f"checks: {checks}; audit chain intact: {intact}; nothing lost: {all_done}")
    met = "met" if rate >= TARGET_RATE else "not met"
    print(f"aim: >= {TARGET_RATE:.0f} completions/s ({met})")
    print(
        "load average before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f}".format(
            *load_before, *load_after
        )
    )
    headline = {
        "benchmark": "task_complete",
        "database": "postgresql",
        "cases": cases,
        "workers": args.workers,
        "mode": args.mode,
        "completions_per_s": rate,
        "complete_p50_ms": figures["complete"]["p50_ms"],
        "complete_p95_ms": figures["complete"]["p95_ms"],
        "complete_p99_ms": figures["complete"]["p99_ms"],
        "claims_per_s": figures["claim"]["per_second"],
        "claim_p50_ms": figures["claim"]["p50_ms"],
        "claim_p95_ms": figures["claim"]["p95_ms"],
        "audit_appends_per_s": figures["audit"]["per_second"],
        "process_starts_per_s": figures["start"]["per_second"],
        "ratio_to_claim": to_claim,
        "ratio_to_audit": to_audit,
        "all_done": all_done,
        "audit_chain_intact": intact,
        "load_average_before": round(load_before[0], 2),
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
