"""Publish/subscribe end to end: events per second and delivery latency (docs/pubsub.md, issue #8).

Per backend — the database (fan-out into delivery rows) and NATS JetStream (publish to a stream, ingest
from it) — on one throwaway database (PostgreSQL, or ``--sqlite`` a temporary file), with the real
processes: one dispatcher (``manage.py pubsub_dispatch --loop``'s loop, ``dispatch_run``) and two pull
consumers (tax and quality inspection, each a department administrator calling the audited
``deliveries_pull`` / ``deliveries_acknowledge`` actions with batches of 500), each its own process.

* **baseline** — raw outbox inserts per second (``outbox_append`` in transactions of 100, nothing else
  running); these events are the drain run's backlog;
* **drain** — events per second (each to both subscriptions, acknowledged) to empty that backlog;
* **end to end** — a producer writes ``--events`` more as fast as it can while the dispatcher and the
  consumers run: events per second from the first write to the last acknowledgement (the headline), and
  p50/p95 from each event's commit (``created_at``) to its acknowledgement (``delivered_at``);
* **latency** — the producer paced at ``--rate`` events per second: p50/p95/max, commit to acknowledgement.

``--crash`` runs the crash scenario instead (``onewindow/pubsub/tests/crash_scenario.py``): two
dispatchers SIGKILLed again and again while ``--events`` events flow to two push subscribers.

The last line printed is one JSON object. ``run_events(quick, database_url)`` returns the same figures to
``benchmarks/exchange.py``.

    .venv/bin/python benchmarks/pubsub.py --quick                    # both backends, < 1 minute
    .venv/bin/python benchmarks/pubsub.py                            # 100,000 events
    .venv/bin/python benchmarks/pubsub.py --crash --events 100000 --backend nats
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_support import admin_url, child_environment, database_url, psql, run_child

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/ow_bench_pubsub"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
WRITE_BATCH = 100
PULL_BATCH = 500
DISPATCH_BATCH = 1000
SUBSCRIPTIONS = (("bench-tax", "TAX"), ("bench-qi", "QI"))
KEY_PREFIX = "91350100MA"


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _nats_reachable(url: str) -> bool:
    host, _, port = url.removeprefix("nats://").partition(":")
    try:
        with socket.create_connection((host, int(port or 4222)), timeout=1):
            return True
    except OSError:
        return False


# --- worker processes ------------------------------------------------------------------------------------


def _worker(role: str, code: str) -> None:
    """A dispatcher or a pull consumer: set up, say "ready", wait for "go" on stdin, work until killed."""
    import django

    django.setup()
    print("ready", flush=True)
    sys.stdin.readline()
    if role == "dispatcher":
        from onewindow.pubsub.dispatcher import dispatch_run

        dispatch_run(loop=True, idle_sleep=0.005)
        return
    from onewindow.accounts.models import User
    from onewindow.pubsub.actions import deliveries_acknowledge, deliveries_pull
    from onewindow.pubsub.models import Subscription
    from onewindow.pubsub.webhook import event_document

    department = dict(SUBSCRIPTIONS)[code]
    user = User.objects.get(username=f"bench_{department.lower()}")
    subscription = Subscription.objects.select_related("department").get(code=code)
    acknowledged = 0
    while True:
        pulled = deliveries_pull(acting_user=user, subscription=subscription, limit=PULL_BATCH)
        if not pulled:
            time.sleep(0.005)
            continue
        documents = [event_document(delivery) for delivery in pulled]  # what the API would send
        acknowledged += deliveries_acknowledge(
            acting_user=user, subscription=subscription, event_ids=[d["event_id"] for d in documents]
        )
        print(f"acked {acknowledged}", flush=True)


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of processes (Linux ``/proc``; 0 elsewhere or when gone)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def _database_pids() -> list[int]:
    """The server processes of this benchmark's database (PostgreSQL), to count their CPU."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return [row[0] for row in cursor.fetchall()]


class _Worker:
    def __init__(self, role: str, code: str, environment: dict[str, str]) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - this script, our interpreter
            [sys.executable, __file__, "--worker", role, "--code", code],
            cwd=ROOT,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.acknowledged = 0
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout or ():
            if line.startswith("ready"):
                self.ready.set()
            elif line.startswith("acked "):
                self.acknowledged = int(line.split()[1])

    def go(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.write("go\n")
            self.process.stdin.flush()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


# --- the measuring child (one throwaway database) --------------------------------------------------------


def _setup() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from onewindow.accounts.models import Membership, User
    from onewindow.accounts.roles import Kind, Role
    from onewindow.organisations.models import Department, Division
    from onewindow.pubsub.actions import subscription_create
    from onewindow.pubsub.models import DeliveryMode

    division = Division.objects.order_by("code").first() or Division.objects.create(
        code="350100", name="福州市", level="city"
    )
    for code in ("AMR", "TAX", "QI"):
        Department.objects.get_or_create(
            code=code,
            defaults={
                "name": code,
                "name_en": code,
                "division": division,
                "credit_code": f"11BENCH{code}".ljust(18, "0"),
            },
        )
    for code, department in SUBSCRIPTIONS:
        user = User.objects.create(username=f"bench_{department.lower()}", kind=Kind.STAFF)
        Membership.objects.create(
            user=user, role=Role.DEPARTMENT_ADMIN, department=Department.objects.get(code=department)
        )
        subscription_create(
            acting_user=None,
            department_code=department,
            code=code,
            name=code,
            topics=["entity.registered", "entity.changed"],
            mode=DeliveryMode.PULL,
        )


def _write(count: int, start: int, pace: float = 0.0) -> None:
    from django.db import transaction

    from onewindow.outbox.actions import outbox_append

    began = time.perf_counter()
    written = 0
    while written < count:
        size = min(WRITE_BATCH if not pace else 10, count - written)
        with transaction.atomic():
            for i in range(start + written, start + written + size):
                outbox_append(
                    topic="entity.registered" if i % 3 else "entity.changed",
                    key=f"{KEY_PREFIX}{i:08d}",
                    payload={
                        "credit_code": f"{KEY_PREFIX}{i:08d}",
                        "version": 1,
                        "name": "福州测试有限公司",
                        "type": "company",
                        "status": "active",
                        "division_code": "350102",
                        "registration_authority": "AMR",
                        "changed": ["*"],
                    },
                )
        written += size
        if pace:
            delay = began + written / pace - time.perf_counter()
            if delay > 0:
                time.sleep(delay)


def _latencies(start: int, count: int) -> list[float]:
    from onewindow.pubsub.models import Delivery, DeliveryStatus

    rows = Delivery.objects.filter(
        status=DeliveryStatus.DELIVERED,
        key__gte=f"{KEY_PREFIX}{start:08d}",
        key__lt=f"{KEY_PREFIX}{start + count:08d}",
    ).values_list("event_created_at", "delivered_at")
    return [(b - a).total_seconds() for a, b in rows if b is not None]


def _queue_empty() -> None:
    """Start a backend's run from empty pub/sub tables (the subscriptions stay)."""
    from django.db import connection

    from onewindow.outbox.models import OutboxEvent
    from onewindow.pubsub.models import Delivery, PendingKey

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE pubsub_delivery, pubsub_pendingkey, outbox_outboxevent")
            cursor.execute("ANALYZE")
        return
    Delivery.objects.all().delete()
    PendingKey.objects.all().delete()
    OutboxEvent.objects.all().delete()


def _measure(
    backend: str, dispatcher: _Worker, consumers: list[_Worker], events: int, rate: int, paced: int
) -> dict[str, Any]:
    """The four figures of one backend; the consumers are already working, the dispatcher waits."""
    from django.db import connection

    subscriptions = len(SUBSCRIPTIONS)
    acknowledged_before = sum(c.acknowledged for c in consumers)
    deadline_per_phase = 120.0 + events / 100

    def wait_acknowledged(target: int) -> float:
        deadline = time.perf_counter() + deadline_per_phase
        while time.perf_counter() < deadline:
            if sum(c.acknowledged for c in consumers) - acknowledged_before >= target:
                return time.perf_counter()
            if dispatcher.process.poll() is not None or any(c.process.poll() is not None for c in consumers):
                message = f"{backend}: a worker process died"
                raise SystemExit(message)
            time.sleep(0.005)
        message = f"{backend}: {target} acknowledgements not reached in {deadline_per_phase:.0f} s"
        raise SystemExit(message)

    drain_start, end_to_end_start, paced_start = 10_000_000, 0, 5_000_000
    began = time.perf_counter()
    _write(events, drain_start)
    baseline = events / (time.perf_counter() - began)

    began = time.perf_counter()
    dispatcher.go()
    drained = wait_acknowledged(events * subscriptions)
    drain = events / (drained - began)

    database_pids = _database_pids()
    cpu_before = {
        "producer": time.process_time(),
        "dispatcher": _cpu_seconds([dispatcher.process.pid]),
        "consumers": _cpu_seconds([c.process.pid for c in consumers]),
        "database": _cpu_seconds(database_pids),
    }
    began = time.perf_counter()
    _write(events, end_to_end_start)
    finished = wait_acknowledged(2 * events * subscriptions)
    end_to_end = events / (finished - began)
    cpu_after = {
        "producer": time.process_time(),
        "dispatcher": _cpu_seconds([dispatcher.process.pid]),
        "consumers": _cpu_seconds([c.process.pid for c in consumers]),
        "database": _cpu_seconds(database_pids),
    }
    cpu_ms_per_event = {
        role: round((cpu_after[role] - cpu_before[role]) / events * 1000, 3) for role in cpu_before
    }
    end_to_end_latencies = _latencies(end_to_end_start, events)

    _write(paced, paced_start, pace=float(rate))
    wait_acknowledged((2 * events + paced) * subscriptions)
    latencies = _latencies(paced_start, paced)
    return {
        "backend": backend,
        "vendor": connection.vendor,
        "events": events,
        "subscriptions": subscriptions,
        "baseline_outbox_inserts_per_s": round(baseline, 1),
        "drain_events_per_s": round(drain, 1),
        "events_per_s": round(end_to_end, 1),
        "deliveries_per_s": round(end_to_end * subscriptions, 1),
        "end_to_end_latency_p50_ms": round(_percentile(end_to_end_latencies, 0.5) * 1000, 1),
        "end_to_end_latency_p95_ms": round(_percentile(end_to_end_latencies, 0.95) * 1000, 1),
        # CPU spent per event during the end-to-end run, by process (database: its server processes).
        "end_to_end_cpu_ms_per_event": cpu_ms_per_event,
        "paced_rate_per_s": rate,
        "paced_events": paced,
        "latency_p50_ms": round(_percentile(latencies, 0.5) * 1000, 1),
        "latency_p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        "latency_max_ms": round(max(latencies, default=0.0) * 1000, 1),
        "latency_delivered": len(latencies),
    }


def _child(events: int, brokers: list[str], rate: int, paced: int) -> dict[str, Any]:
    """Measure each backend in turn on this (throwaway) database."""
    import django

    django.setup()
    environment = dict(os.environ) | {"ONEWINDOW_PUBSUB_BATCH_SIZE": str(DISPATCH_BATCH)}
    prefix = f"owbench_{os.getpid()}"
    environment["ONEWINDOW_PUBSUB_NATS_PREFIX"] = prefix
    # Every worker starts (imports Django) while the database is migrated; each waits for "go".
    consumers = [_Worker("consumer", code, environment) for code, _ in SUBSCRIPTIONS]
    dispatchers = {
        broker: _Worker("dispatcher", "", environment | {"ONEWINDOW_EXCHANGE_BROKER": broker})
        for broker in brokers
    }
    results: dict[str, Any] = {}
    try:
        _setup()
        for worker in [*consumers, *dispatchers.values()]:
            worker.ready.wait(timeout=120)
        for consumer in consumers:
            consumer.go()
        for broker, dispatcher in dispatchers.items():
            name = "nats" if broker.startswith("nats") else "database"
            _queue_empty()
            results[name] = _measure(name, dispatcher, consumers, events, rate, paced)
            dispatcher.stop()
    finally:
        for worker in [*consumers, *dispatchers.values()]:
            worker.stop()
        if any(broker.startswith("nats") for broker in brokers):
            from onewindow.pubsub.backends.nats import NatsBackend

            cleanup = NatsBackend(next(b for b in brokers if b.startswith("nats")), prefix=prefix)
            cleanup.streams_delete()
            cleanup.close()
    return results


def _crash_child(events: int, brokers: list[str]) -> dict[str, Any]:
    """The crash scenario on each backend in turn on this (throwaway) database."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from onewindow.pubsub.backends.nats import NatsBackend
    from onewindow.pubsub.models import Subscription
    from onewindow.pubsub.tests.crash_scenario import CrashConfig, crash_run

    results: dict[str, Any] = {}
    for broker in brokers:
        name = "nats" if broker.startswith("nats") else "database"
        prefix = f"owcrash_{os.getpid()}"
        _queue_empty()
        Subscription.objects.all().delete()
        config = CrashConfig(
            events=events,
            keys=min(1000, max(50, events // 100)),
            environment=dict(os.environ) | {"ONEWINDOW_PUBSUB_NATS_PREFIX": prefix},
            broker="" if name == "database" else broker,
            write_seconds=10.0 if events <= 10_000 else 0.0,
            # A large run: each dispatcher lives 2-10 s once up (hundreds of kills, and time to work).
            life_seconds=(0.5, 3.0) if events <= 10_000 else (2.0, 10.0),
            deadline_seconds=300 + events / 20,
        )
        try:
            results[name] = crash_run(config).as_dict()
        finally:
            if name == "nats":
                cleanup = NatsBackend(broker, prefix=prefix)
                cleanup.streams_delete()
                cleanup.close()
    return results


# --- the parent: throwaway databases, children, figures --------------------------------------------------


def _run_child(child_args: list[str], database_base: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ow-bench-") as directory:
        url = database_url(database_base) if database_base else None
        if url:
            psql(admin_url(url), f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
        try:
            return run_child(__file__, child_args, child_environment(directory, url))
        finally:
            if url:
                psql(admin_url(url), f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _brokers(backend: str, nats_url: str) -> list[str]:
    brokers = {"db": ["database"], "nats": [nats_url], "both": ["database", nats_url]}[backend]
    return [b for b in brokers if b == "database" or _nats_reachable(b)]


def run_events(
    quick: bool,
    database_url: str | None,
    *,
    events: int | None = None,
    backend: str = "both",
    nats_url: str = DEFAULT_NATS_URL,
    rate: int = 500,
) -> dict[str, Any]:
    """The figures of both backends (NATS skipped when nothing listens at ``nats_url``).

    ``database_url``: a PostgreSQL URL whose server gets a throwaway database (its name with a random
    suffix; dropped afterwards), or None for a temporary SQLite file.
    """
    count = events or (2_000 if quick else 100_000)
    paced = min(count, rate * (3 if quick else 20))
    child_args = ["--events", str(count), "--rate", str(rate), "--paced", str(paced)]
    child_args += ["--brokers", ",".join(_brokers(backend, nats_url))]
    results = _run_child(child_args, database_url)
    headline = {
        f"{name}_{figure}": result[figure]
        for name, result in results.items()
        for figure in ("events_per_s", "latency_p50_ms", "latency_p95_ms")
    }
    return {**results, "headline": headline, "load_average": list(os.getloadavg())}


def run_crash(events: int, database_url: str | None, *, backend: str, nats_url: str) -> dict[str, Any]:
    child_args = ["--crash", "--events", str(events), "--brokers", ",".join(_brokers(backend, nats_url))]
    return {**_run_child(child_args, database_url), "load_average": list(os.getloadavg())}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2,000 events (default 100,000)")
    parser.add_argument("--events", type=int, default=None, help="events per run")
    parser.add_argument("--backend", choices=("db", "nats", "both"), default="both")
    parser.add_argument("--nats", default=DEFAULT_NATS_URL, metavar="URL", help="NATS server (JetStream)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES_URL, metavar="URL", help="throwaway db base")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--rate", type=int, default=500, help="paced producer for the latency run (events/s)")
    parser.add_argument("--crash", action="store_true", help="the crash scenario (kill -9 while events flow)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--brokers", default="database", help=argparse.SUPPRESS)
    parser.add_argument("--paced", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=("dispatcher", "consumer"), help=argparse.SUPPRESS)
    parser.add_argument("--code", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.code)
        return
    events = args.events or (2_000 if args.quick else 100_000)
    if args.child:
        brokers = args.brokers.split(",")
        result = (
            _crash_child(events, brokers) if args.crash else _child(events, brokers, args.rate, args.paced)
        )
        print(json.dumps(result))
        return
    database = None if args.sqlite else args.postgres
    if args.crash:
        results = run_crash(events, database, backend=args.backend, nats_url=args.nats)
        for name, report in results.items():
            if name != "load_average":
                print(f"{name}: {report}")
        print(json.dumps(results))
        return
    results = run_events(args.quick, database, events=events, backend=args.backend, nats_url=args.nats)
    for name, result in results.items():
        if name in ("headline", "load_average"):
            continue
        print(
            f"{name} ({result['vendor']}): {result['events']} events × {result['subscriptions']} pull "
            f"subscriptions; baseline outbox inserts {result['baseline_outbox_inserts_per_s']:.0f}/s; "
            f"draining that backlog {result['drain_events_per_s']:.0f} events/s; end to end (writing and "
            f"delivering at once) {result['events_per_s']:.0f} events/s ({result['deliveries_per_s']:.0f} "
            f"acknowledged deliveries/s, p50 {result['end_to_end_latency_p50_ms']:.0f} ms, p95 "
            f"{result['end_to_end_latency_p95_ms']:.0f} ms; CPU ms/event "
            f"{result['end_to_end_cpu_ms_per_event']}); "
            f"paced at {result['paced_rate_per_s']}/s latency "
            f"p50 {result['latency_p50_ms']:.0f} ms, p95 {result['latency_p95_ms']:.0f} ms"
        )
    print(f"load average {results['load_average']}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
