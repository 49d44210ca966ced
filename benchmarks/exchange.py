"""Exchange throughput (issue #8 acceptance; docs/performance.md "Exchange").

``--section sync``: signed request/response exchanges (SM2 signing of the request by the client, checks,
grant, provider, SM2 signature of the response, message-log record, SM2 verification of the response by the
client) against the built-in entity look-up, on the database named by ``DATABASE_URL`` (a throwaway database
on that PostgreSQL server) or, without it, a temporary SQLite file — measured in one run, next to:

* **direct**: the same look-up in-process (``registry.prefill.active_entity_record``: no
  signatures, no checks, no log) — the baseline;
* **in-process gateway**: ``ExchangeClient`` calling ``gateway.exchange_handle`` in the same process (no
  HTTP): one process, then one process per core; also with the look-up replaced by an in-memory answer,
  which shows what the exchange itself costs;
* **HTTP**: through ``onewindow serve`` (gunicorn, as the demo runs it: ``--serve-workers``, default the
  demo's) with ``--clients`` client threads spread over ``--client-processes`` processes; the CPU time of
  the server (gunicorn workers, and the PostgreSQL backends serving them) per exchange is measured, which
  gives the server's capacity on two cores when the clients run elsewhere.

Prints the figures and, as its last line, one JSON object. ``--section events`` runs the events figures of
``benchmarks/pubsub.py`` (database and NATS backends) on the same database; ``--section all`` runs both.

    .venv/bin/python benchmarks/exchange.py --section sync --quick      # SQLite, under a minute
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ow_bench \
        .venv/bin/python benchmarks/exchange.py --section sync            # PostgreSQL, full length
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AIM_PER_SECOND = 1000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Set before the client processes fork (signers cannot be pickled, by design).
_FORKED: dict[str, Any] = {}


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _figures(latencies: list[float], seconds: float, statuses: dict[int, int]) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "count": len(ordered),
        "per_second": round(len(ordered) / seconds, 1) if seconds else 0.0,
        "p50_ms": round(_percentile(ordered, 0.50) * 1000, 2),
        "p95_ms": round(_percentile(ordered, 0.95) * 1000, 2),
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
    }


def _setup(entities: int) -> dict[str, Any]:
    """Members, subsystems and keys, the entity service, a grant, ``entities`` registered entities."""
    from django.utils import timezone

    from onewindow.accounts.roles import Role
    from onewindow.accounts.tests.factories import staff_user
    from onewindow.catalog.actions_sharing import share_request_create
    from onewindow.catalog.models import InformationSystem, Resource
    from onewindow.catalog.sync import catalog_sync
    from onewindow.core.validators import make_credit_code
    from onewindow.exchange import actions, protocol
    from onewindow.organisations.tests.factories import DepartmentFactory
    from onewindow.registry.entities import entity_register

    amr = DepartmentFactory.create(code="AMR", name="市场监督管理局")
    DepartmentFactory.create(code="PSB", name="公安局")
    consumer_department = DepartmentFactory.create(code="TAX", name="税务局")
    catalog_sync()
    now = timezone.now()

    def system(department: Any, code: str) -> InformationSystem:
        return InformationSystem.objects.create(
            department=department,
            code=code,
            name=code,
            state="built",
            owner="bench",
            created_at=now,
            updated_at=now,
        )

    consumer, provider = system(consumer_department, "TAX-CORE"), system(amr, "AMR-REG")
    consumer_key = actions.subsystem_key_issue(acting_user=None, system=consumer)
    actions.subsystem_key_issue(acting_user=None, system=provider)
    resource = Resource.objects.get(builtin_key="legal_entity")
    service = actions.service_register(
        acting_user=None,
        provider=provider,
        code="entity-basic",
        name="法人基础信息",
        resource_code=resource.code,
        kind="builtin",
        builtin="entity_basic",
    )
    share_request_create(
        acting_user=staff_user(Role.DEPARTMENT_ADMIN, department_code="TAX", username="tax_admin"),
        resource=resource,
        consumer_department="TAX",
        items=["统一社会信用代码", "名称", "登记状态"],
        purpose="税务登记核验",
        legal_basis="税收征收管理法",
        until=timezone.localdate() + dt.timedelta(days=30),
    )
    codes = []
    for index in range(entities):
        code = make_credit_code(
            authority="9", entity_type="1", division="350100", organisation_base=f"MA{index:06d}"
        )
        entity_register(
            acting_user=None,
            credit_code=code,
            name=f"福州基准测试第{index}有限公司",
            type="llc",
            division_code="350102",
            registered_capital="100",
            address="福州市鼓楼区",
            business_scope="软件开发",
            established_on=dt.date(2024, 1, 1),
        )
        codes.append(code)
    return {
        "subsystem": protocol.subsystem_path(consumer_department.credit_code, consumer.code),
        "service": protocol.service_path(amr.credit_code, provider.code, service.code),
        "key_id": consumer_key.key_id,
        "key_token": consumer_key.private_key_token,
        "algorithm": consumer_key.algorithm,
        "codes": codes,
    }


def _direct(codes: list[str], seconds: float) -> dict[str, Any]:
    from onewindow.registry.prefill import active_entity_record

    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    cpu_before = time.process_time()
    index = 0
    while time.monotonic() < deadline:
        begun = time.perf_counter()
        if active_entity_record(codes[index % len(codes)]) is None:
            raise SystemExit("entity missing")
        latencies.append(time.perf_counter() - begun)
        index += 1
    figures = _figures(latencies, time.monotonic() - started, {200: len(latencies)})
    cpu_ms = (time.process_time() - cpu_before) / max(len(latencies), 1) * 1000
    figures["cpu_ms_per_call"] = round(cpu_ms, 3)
    figures["capacity_2_cores"] = round(2000 / cpu_ms, 0) if cpu_ms else 0.0
    return figures


def _signing(setup: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The consumer's signer and the verifiers of every key (the provider's among them)."""
    from onewindow.crypto.keys import load_signer
    from onewindow.exchange.keystore import private_key_open, verifier_for
    from onewindow.exchange.models import SubsystemKey

    signer = load_signer(private_key_open(setup["key_id"], setup["algorithm"], setup["key_token"]))
    verifiers = {
        key.key_id: verifier_for(key.key_id, bytes(key.public_key_der)) for key in SubsystemKey.objects.all()
    }
    return signer, verifiers


def _in_process_transport(spent: list[float]) -> Callable[..., tuple[int, dict[str, str], bytes]]:
    """``exchange_handle`` as the client's transport; adds the time spent inside it to ``spent[0]``."""
    from onewindow.exchange.gateway import exchange_handle

    def send(
        method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        begun = time.perf_counter()
        answer = exchange_handle(method=method, path=path, headers=headers, body=body)
        spent[0] += time.perf_counter() - begun
        return answer.status, answer.headers, answer.body

    return send


def _drive(kind: str, threads: int, seconds: float, offset: int, step: int) -> dict[str, Any]:
    """Signed calls from ``threads`` threads until ``seconds`` are over, over HTTP (``kind`` "http") or
    in-process: latencies, statuses, unverified responses, this process's CPU time, time in the gateway."""
    from django.db import connections

    from onewindow.exchange.client import ExchangeClient

    setup, signer, verifiers = _FORKED["setup"], _FORKED["signer"], _FORKED["verifiers"]
    spent = [0.0]
    client = ExchangeClient(
        f"http://127.0.0.1:{_FORKED.get('port', 0)}",
        setup["subsystem"],
        signer,
        provider_verifiers=verifiers,
        transport=None if kind == "http" else _in_process_transport(spent),
    )
    codes = setup["codes"]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    unverified = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def work(first: int) -> None:
        index = first
        try:
            while time.monotonic() < deadline:
                begun = time.perf_counter()
                try:
                    answer = client.call(
                        setup["service"], {"credit_code": codes[index % len(codes)]}, purpose="BENCH"
                    )
                    status, verified = answer.status, answer.verified
                except Exception:  # counted as a failure (status 0), the run goes on
                    status, verified = 0, False
                elapsed = time.perf_counter() - begun
                with lock:
                    latencies.append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1
                    unverified[0] += 0 if verified else 1
                index += step
        finally:
            connections.close_all()

    cpu_before = time.process_time()
    started = time.monotonic()
    workers = [threading.Thread(target=work, args=(offset + number,)) for number in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {
        "latencies": latencies,
        "statuses": statuses,
        "unverified": unverified[0],
        "seconds": time.monotonic() - started,
        "cpu_seconds": time.process_time() - cpu_before,
        "gateway_seconds": spent[0],
    }


def _child(kind: str, threads: int, seconds: float, offset: int, step: int, queue: Any) -> None:
    queue.put(_drive(kind, threads, seconds, offset, step))


def _run(kind: str, *, processes: int, threads: int, seconds: float) -> dict[str, Any]:
    """``_drive`` in this process (one process) or in ``processes`` forked ones; the figures combined."""
    from django.db import connections

    if processes <= 1:
        parts = [_drive(kind, threads, seconds, 0, threads)]
    else:
        connections.close_all()  # each child opens its own
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        children = [
            context.Process(
                target=_child, args=(kind, threads, seconds, number * threads, processes * threads, queue)
            )
            for number in range(processes)
        ]
        for child in children:
            child.start()
        parts = [queue.get(timeout=seconds + 120) for _ in children]
        for child in children:
            child.join(timeout=30)
    latencies = [value for part in parts for value in part["latencies"]]
    statuses: dict[int, int] = {}
    for part in parts:
        for code, count in part["statuses"].items():
            statuses[code] = statuses.get(code, 0) + count
    wall = max(part["seconds"] for part in parts)
    figures = _figures(latencies, wall, statuses)
    count = max(len(latencies), 1)
    figures["responses_not_verified"] = sum(part["unverified"] for part in parts)
    # In-process: the CPU of client and gateway together (not PostgreSQL's); over HTTP: the clients' only.
    cpu_ms = sum(part["cpu_seconds"] for part in parts) / count * 1000
    figures["client_cpu_ms_per_call" if kind == "http" else "cpu_ms_per_call"] = round(cpu_ms, 3)
    if kind != "http":
        gateway_ms = sum(part["gateway_seconds"] for part in parts) / count * 1000
        figures["gateway_ms_per_call"] = round(gateway_ms, 3)
        figures["capacity_2_cores"] = round(2000 / cpu_ms, 0) if cpu_ms else 0.0
    return figures


def _in_memory_provider() -> Callable[[], None]:
    """Replace the entity look-up by a fixed answer (what the exchange costs without its provider); returns
    the function that puts it back."""
    from onewindow.exchange import providers

    original = providers.BUILTIN_PROVIDERS["entity_basic"]
    codes = _FORKED["setup"]["codes"]
    answer = original(
        providers.ProviderCall(
            query={"credit_code": codes[0]},
            items=frozenset(),
            purpose="BENCH",
            consumer="",
            consumer_department_code="",
            exchange_id="",
        )
    )
    providers.BUILTIN_PROVIDERS["entity_basic"] = lambda call: answer

    def restore() -> None:
        providers.BUILTIN_PROVIDERS["entity_basic"] = original

    return restore


def _process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of live processes (Linux ``/proc``; 0 elsewhere)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / CLOCK_TICKS


def _children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent:
            found.append(int(entry.name))
    return found


def _database_backends(admin_url: str | None, database_name: str) -> list[int]:
    """Process ids of the PostgreSQL backends connected to the benchmark's database (none for SQLite)."""
    if admin_url is None:
        return []
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [database_name]
        ).fetchall()
    return [int(row[0]) for row in rows]


def _wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    import http.client

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("onewindow serve exited during start-up")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("onewindow serve did not become ready")


def _line(name: str, figures: dict[str, Any]) -> str:
    extra = ""
    if "cpu_ms_per_call" in figures and "gateway_ms_per_call" not in figures:
        extra = (
            f", CPU {figures['cpu_ms_per_call']} ms per call (2 cores: {figures['capacity_2_cores']:,.0f}/s)"
        )
    if "gateway_ms_per_call" in figures:
        extra = (
            f", {figures['gateway_ms_per_call']} ms in the gateway; CPU {figures['cpu_ms_per_call']} ms "
            f"per call, client included (2 cores: {figures['capacity_2_cores']:,.0f}/s)"
        )
    if "server_cpu_ms_per_call" in figures:
        extra = (
            f", server CPU {figures['server_cpu_ms_per_call']} ms per call "
            f"(2 cores: {figures['server_capacity_2_cores']:,.0f}/s)"
        )
    unverified = figures.get("responses_not_verified", 0)
    return (
        f"{name:<44} {figures['per_second']:>8,.0f}/s  p50 {figures['p50_ms']:>7} ms  "
        f"p95 {figures['p95_ms']:>7} ms  statuses {figures['statuses']}"
        + (f", UNVERIFIED {unverified}" if unverified else "")
        + extra
    )


def _serve(port: int, workers: int, worker_class: str = "sync", threads: int = 1) -> subprocess.Popen[bytes]:
    onewindow = str(Path(sys.executable).with_name("onewindow"))
    command = [onewindow, "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    environment = {
        **os.environ,
        "ONEWINDOW_WEB_WORKER_CLASS": worker_class,
        "ONEWINDOW_WEB_THREADS": str(threads),
    }
    return subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _http_run(
    args: argparse.Namespace,
    quick: bool,
    seconds: float,
    server: subprocess.Popen[bytes],
    admin_url: str | None,
    database_name: str,
) -> dict[str, Any]:
    """Signed calls over HTTP to ``server`` after a warm-up; the server's CPU (and its PostgreSQL backends')
    per call, and what that gives on two cores."""
    threads = max(1, args.clients // args.client_processes)
    _run("http", processes=args.client_processes, threads=threads, seconds=0.5 if quick else 2.0)
    server_pids = [server.pid, *_children_of(server.pid)]
    database_pids = _database_backends(admin_url, database_name)
    cpu_before = _process_cpu_seconds(server_pids) + _process_cpu_seconds(database_pids)
    http = _run("http", processes=args.client_processes, threads=threads, seconds=seconds)
    server_cpu = _process_cpu_seconds(server_pids) + _process_cpu_seconds(database_pids) - cpu_before
    per_call = server_cpu / max(http["count"], 1) * 1000
    http["server_cpu_ms_per_call"] = round(per_call, 3)
    http["server_capacity_2_cores"] = round(2000 / per_call, 0) if per_call else 0.0
    return http


def section_sync(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_support

    quick = args.quick
    seconds = 3.0 if quick else args.seconds
    base_url = args.postgres or os.environ.get("DATABASE_URL", "")
    var_dir = Path(tempfile.mkdtemp(prefix="ow-bench-exchange-"))
    database_url = bench_support.database_url(base_url) if base_url else ""
    admin_url = bench_support.admin_url(database_url) if database_url else None
    database_name = database_url.rsplit("/", 1)[1] if database_url else ""
    environment = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ONEWINDOW_ENV": "development",
        "ONEWINDOW_DEBUG": "false",
        "ONEWINDOW_VAR_DIR": str(var_dir),
        "ONEWINDOW_MEDIA_ROOT": str(var_dir / "media"),
        "ONEWINDOW_LOG_LEVEL": "WARNING",
        "ONEWINDOW_SEAL_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        # Throughput, not the per-grant limit (default 6,000/min), is measured.
        "ONEWINDOW_EXCHANGE_RATE_LIMIT_PER_MINUTE": "0",
    }
    if database_url:
        environment["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.update(environment)
    import django

    django.setup()
    from django.db import connection, connections

    from onewindow.cli import DEMO_WEB_WORKERS

    workers = args.serve_workers or DEMO_WEB_WORKERS
    cores = os.cpu_count() or 1
    if admin_url:
        bench_support.psql(admin_url, f'CREATE DATABASE "{database_name}"')
    server: subprocess.Popen[bytes] | None = None
    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    try:
        onewindow = str(Path(sys.executable).with_name("onewindow"))
        subprocess.run([onewindow, "migrate", "--verbosity", "0"], cwd=ROOT, check=True)  # noqa: S603
        setup = _setup(50 if quick else 500)
        signer, verifiers = _signing(setup)
        _FORKED.update(setup=setup, signer=signer, verifiers=verifiers)
        print(
            f"database {connection.vendor}, {cores} cores, load average before "
            f"{' '.join(f'{value:.2f}' for value in load_before)}; {seconds:.0f} s per measurement"
        )

        short = 2.0 if quick else seconds  # the baseline and the in-memory variant settle fast
        results["direct"] = _direct(setup["codes"], short)
        print(_line("direct in-process look-up (baseline)", results["direct"]))
        _run("in-process", processes=1, threads=1, seconds=0.5)  # warm-up: keys opened
        results["in_process"] = _run("in-process", processes=1, threads=1, seconds=seconds)
        print(_line("in-process gateway, 1 process", results["in_process"]))
        results["in_process_cores"] = _run("in-process", processes=cores, threads=1, seconds=seconds)
        print(_line(f"in-process gateway, {cores} processes", results["in_process_cores"]))
        restore = _in_memory_provider()
        try:
            results["in_process_no_lookup"] = _run("in-process", processes=1, threads=1, seconds=short)
        finally:
            restore()
        print(_line("in-process gateway, in-memory provider", results["in_process_no_lookup"]))

        for key, worker_class, threads in (
            ("http", "sync", 1),
            ("http_gthread", "gthread", args.serve_threads),
        ):
            connections.close_all()
            port = bench_support.free_port()
            _FORKED["port"] = port
            server = _serve(port, workers, worker_class, threads)
            _wait_ready(port, server)
            http = _http_run(args, quick, seconds, server, admin_url, database_name)
            server.terminate()
            server.wait(timeout=30)
            server = None
            http.update(serve_workers=workers, worker_class=worker_class, threads=threads)
            results[key] = http
            verdict = "met" if http["per_second"] >= AIM_PER_SECOND else "not met"
            shape = f"{workers} gunicorn workers" + (
                f" x {threads} threads" if worker_class == "gthread" else ""
            )
            print(
                _line(f"HTTP ({worker_class}), {shape}, {args.clients} clients", http)
                + f" (aim >= {AIM_PER_SECOND}/s through HTTP: {verdict})"
            )
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        connections.close_all()
        if admin_url:
            bench_support.psql(admin_url, f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
    return {
        **results,
        "database": "postgresql" if database_url else "sqlite",
        "clients": args.clients,
        "client_processes": args.client_processes,
        "seconds": seconds,
        "cpus": cores,
        "load_before": [round(value, 2) for value in load_before],
        "load_after": [round(value, 2) for value in os.getloadavg()],
    }


def section_events(args: argparse.Namespace) -> dict[str, Any]:
    """Events end to end on the database and NATS backends: ``benchmarks/pubsub.py``'s run, same database."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import pubsub as pubsub_benchmark  # the sibling script, loaded only for this section

    database_url = args.postgres or os.environ.get("DATABASE_URL") or None
    figures: dict[str, Any] = pubsub_benchmark.run_events(args.quick, database_url)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=["sync", "events", "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="a short run, under a minute")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8, help="client threads over HTTP (default 8)")
    parser.add_argument("--client-processes", type=int, default=2, help="processes the clients run in")
    parser.add_argument(
        "--serve-threads",
        type=int,
        default=4,
        help="threads per gunicorn worker in the gthread run (default 4)",
    )
    parser.add_argument("--serve-workers", type=int, default=0, help="gunicorn workers (default: the demo's)")
    parser.add_argument(
        "--postgres", default=None, metavar="URL", help="a PostgreSQL server to use instead of DATABASE_URL"
    )
    args = parser.parse_args()
    result: dict[str, Any] = {"benchmark": "exchange"}
    if args.section in {"sync", "all"}:
        result["sync"] = section_sync(args)
    if args.section in {"events", "all"}:
        result["events"] = section_events(args)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
