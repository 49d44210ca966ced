"""Publish/subscribe end to end: events per second and delivery latency (docs/pubsub.md, issue #8).

One run, per backend (the database, and NATS JetStream at ``--nats URL``):

* **baseline** — raw outbox inserts per second: ``outbox_append`` in transactions of 100, nothing else;
* **throughput** — a producer writes ``--events`` events to the outbox as fast as it can (transactions of
  100, as a registry import would) while a dispatcher thread runs ``dispatch_once`` (fan-out, and for NATS
  publish to JetStream + ingest from the durable consumers) and two pull consumers (tax and quality
  inspection, each a department administrator) call the pull and acknowledge *actions* (audited) in batches
  of 500. Events/s = events × subscriptions acknowledged / wall time from the first write to the last ack;
* **latency** — the same pipeline with the producer paced at ``--rate`` events/s; p50/p95/max from the
  event's commit (``created_at``) to its acknowledgement (``delivered_at``).

Runs on a throwaway PostgreSQL database (default ``postgres://postgres@127.0.0.1:5432/ow_bench``, dropped
afterwards) or, with ``--sqlite``, a temporary SQLite file. Each backend runs in its own child process. The
last line printed is one JSON object.

    python benchmarks/pubsub.py --quick --backend both
    python benchmarks/pubsub.py --events 100000 --backend nats
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_support import admin_url, database_url, psql

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/ow_bench"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
WRITE_BATCH = 100
PULL_BATCH = 500
SUBSCRIPTIONS = (("bench-tax", "TAX"), ("bench-qi", "QI"))


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _child(events: int, broker: str, rate: int, latency_events: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from onewindow.accounts.models import Membership, User
    from onewindow.accounts.roles import Kind, Role
    from onewindow.organisations.models import Department, Division
    from onewindow.outbox.actions import outbox_append
    from onewindow.pubsub.actions import deliveries_acknowledge, deliveries_pull, subscription_create
    from onewindow.pubsub.backends import backend_from_settings
    from onewindow.pubsub.dispatcher import dispatch_once
    from onewindow.pubsub.models import Delivery, DeliveryMode, DeliveryStatus, Subscription

    division = Division.objects.order_by("code").first() or Division.objects.create(
        code="350100", name="福州市", level="city"
    )
    departments = {}
    for code in ("AMR", "TAX", "QI"):
        departments[code], _ = Department.objects.get_or_create(
            code=code,
            defaults={
                "name": code,
                "name_en": code,
                "division": division,
                "credit_code": f"11BENCH{code}".ljust(18, "0"),
            },
        )
    consumers: dict[str, User] = {}
    for code, department in SUBSCRIPTIONS:
        user = User.objects.create(username=f"bench_{department.lower()}", kind=Kind.STAFF)
        Membership.objects.create(user=user, role=Role.DEPARTMENT_ADMIN, department=departments[department])
        consumers[code] = user
        subscription_create(
            acting_user=None,
            department_code=department,
            code=code,
            name=code,
            topics=["entity.registered", "entity.changed"],
            mode=DeliveryMode.PULL,
        )
    prefix = f"owbench_{os.getpid()}"

    def backend_make() -> Any:
        if broker == "database":
            return backend_from_settings("database")
        from onewindow.pubsub.backends.nats import NatsBackend

        return NatsBackend(broker, prefix=prefix)

    def write(count: int, start: int, pace: float = 0.0) -> None:
        started = time.perf_counter()
        written = 0
        while written < count:
            size = min(WRITE_BATCH if not pace else 10, count - written)
            with transaction.atomic():
                for i in range(start + written, start + written + size):
                    outbox_append(
                        topic="entity.registered" if i % 3 else "entity.changed",
                        key=f"91350100MA{i:08d}",
                        payload={
                            "credit_code": f"91350100MA{i:08d}",
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
                delay = started + written / pace - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)

    # The NATS consumers exist before the first event (a new subscription hears of what comes after it).
    setup = backend_make()
    if broker != "database":
        setup.consumers_ensure(list(Subscription.objects.all()))
    setup.close()

    # Baseline: raw outbox inserts with no dispatcher running; they become the drain run's backlog.
    drain_start = 10_000_000
    started = time.perf_counter()
    write(events, drain_start)
    baseline_per_s = events / (time.perf_counter() - started)

    def pipeline(count: int, start: int, pace: float, *, backlog: bool = False) -> tuple[float, list[str]]:
        expected = count * len(SUBSCRIPTIONS)
        done = threading.Event()
        errors: list[str] = []

        def dispatcher() -> None:
            backend = backend_make()
            try:
                while not done.is_set():
                    if not dispatch_once(backend, batch=1000).busy:
                        time.sleep(0.005)
            except Exception as error:  # a benchmark reports, it does not hide
                errors.append(f"dispatcher: {error!r}")
            finally:
                backend.close()
                connection.close()

        def consumer(code: str) -> None:
            user = consumers[code]
            subscription = Subscription.objects.select_related("department").get(code=code)
            try:
                while not done.is_set():
                    pulled = deliveries_pull(acting_user=user, subscription=subscription, limit=PULL_BATCH)
                    if not pulled:
                        time.sleep(0.005)
                        continue
                    deliveries_acknowledge(
                        acting_user=user,
                        subscription=subscription,
                        event_ids=[str(d.event_id) for d in pulled],
                    )
            except Exception as error:
                errors.append(f"consumer {code}: {error!r}")
            finally:
                connection.close()

        threads = [threading.Thread(target=dispatcher)] + [
            threading.Thread(target=consumer, args=(code,)) for code, _ in SUBSCRIPTIONS
        ]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        if not backlog:
            write(count, start, pace)
        deadline = time.perf_counter() + max(120.0, count / 200)
        while time.perf_counter() < deadline and not errors:
            acknowledged = Delivery.objects.filter(
                status=DeliveryStatus.DELIVERED, key__gte=f"91350100MA{start:08d}"
            )
            if acknowledged.filter(key__lt=f"91350100MA{start + count:08d}").count() >= expected:
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - began
        done.set()
        for thread in threads:
            thread.join()
        return elapsed, errors

    drain_elapsed, errors = pipeline(events, drain_start, 0.0, backlog=True)
    drained = Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count()
    throughput_elapsed, throughput_errors = pipeline(events, 0, 0.0)
    errors += throughput_errors
    delivered = Delivery.objects.filter(
        status=DeliveryStatus.DELIVERED, key__lt=f"91350100MA{events:08d}"
    ).count()
    throughput_rows = list(
        Delivery.objects.filter(
            status=DeliveryStatus.DELIVERED, key__lt=f"91350100MA{events:08d}"
        ).values_list("event_created_at", "delivered_at")
    )
    throughput_latencies = [(b - a).total_seconds() for a, b in throughput_rows if b is not None]

    latency_start = 5_000_000
    latency_elapsed, latency_errors = pipeline(latency_events, latency_start, float(rate))
    rows = list(
        Delivery.objects.filter(
            status=DeliveryStatus.DELIVERED,
            key__gte=f"91350100MA{latency_start:08d}",
            key__lt=f"91350100MA{drain_start:08d}",
        ).values_list("event_created_at", "delivered_at")
    )
    latencies = [(b - a).total_seconds() for a, b in rows if b is not None]
    if broker != "database":
        cleanup = backend_make()
        cleanup.streams_delete()
        cleanup.close()
    return {
        "vendor": connection.vendor,
        "backend": "database" if broker == "database" else "nats",
        "events": events,
        "subscriptions": len(SUBSCRIPTIONS),
        "baseline_outbox_inserts_per_s": round(baseline_per_s, 1),
        "drain_events_per_s": round(events / drain_elapsed, 1),
        "drained": drained,
        "events_per_s": round(events / throughput_elapsed, 1),
        "deliveries_per_s": round(delivered / throughput_elapsed, 1),
        "delivered": delivered,
        "expected": events * len(SUBSCRIPTIONS),
        "throughput_latency_p50_s": round(_percentile(throughput_latencies, 0.5), 3),
        "throughput_latency_p95_s": round(_percentile(throughput_latencies, 0.95), 3),
        "paced_rate_per_s": rate,
        "paced_events": latency_events,
        "paced_seconds": round(latency_elapsed, 1),
        "latency_p50_ms": round(_percentile(latencies, 0.5) * 1000, 1),
        "latency_p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        "latency_max_ms": round(max(latencies, default=0.0) * 1000, 1),
        "latency_delivered": len(latencies),
        "errors": (errors + latency_errors)[:3],
    }


def _run(environment: dict[str, str], args: list[str]) -> dict[str, Any]:
    completed = subprocess.run(  # noqa: S603 - our own script and interpreter
        [sys.executable, __file__, "--child", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(completed.stderr[-3000:])
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _environment(var_dir: str, database: str | None) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    environment |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ONEWINDOW_ENV": "development",
        "ONEWINDOW_VAR_DIR": var_dir,
        "ONEWINDOW_LOG_LEVEL": "WARNING",
    }
    return environment | ({"DATABASE_URL": database} if database else {})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2,000 events (default 100,000)")
    parser.add_argument("--events", type=int, default=None, help="events written in the throughput run")
    parser.add_argument("--backend", choices=("db", "nats", "both"), default="both")
    parser.add_argument("--nats", default=DEFAULT_NATS_URL, metavar="URL", help="NATS server (JetStream)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES_URL, metavar="URL", help="throwaway db base")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--rate", type=int, default=500, help="paced producer for the latency run (events/s)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--broker", default="database", help=argparse.SUPPRESS)
    parser.add_argument("--latency-events", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    events = args.events or (2_000 if args.quick else 100_000)
    latency_events = args.latency_events or min(events, args.rate * (3 if args.quick else 20))
    if args.child:
        print(json.dumps(_child(events, args.broker, args.rate, latency_events)))
        return
    brokers = {"db": ["database"], "nats": [args.nats], "both": ["database", args.nats]}[args.backend]
    results: dict[str, Any] = {}
    for broker in brokers:
        child_args = ["--events", str(events), "--broker", broker, "--rate", str(args.rate)]
        child_args += ["--latency-events", str(latency_events)]
        name = "database" if broker == "database" else "nats"
        with tempfile.TemporaryDirectory(prefix="ow-bench-") as directory:
            if args.sqlite:
                results[name] = _run(_environment(directory, None), child_args)
                continue
            url = database_url(args.postgres)
            database = url.rsplit("/", 1)[1]
            psql(admin_url(url), f'CREATE DATABASE "{database}"')
            try:
                results[name] = _run(_environment(directory, url), child_args)
            finally:
                psql(admin_url(url), f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    for name, result in results.items():
        print(
            f"{name} ({result['vendor']}): {result['events']} events × {result['subscriptions']} pull "
            f"subscriptions; baseline outbox inserts {result['baseline_outbox_inserts_per_s']:.0f}/s; "
            f"draining that backlog {result['drain_events_per_s']:.0f} events/s; writing and delivering "
            f"at once {result['events_per_s']:.0f} events/s ({result['deliveries_per_s']:.0f} acknowledged "
            f"deliveries/s, {result['delivered']}/{result['expected']}); paced at "
            f"{result['paced_rate_per_s']}/s latency p50 {result['latency_p50_ms']:.0f} ms, "
            f"p95 {result['latency_p95_ms']:.0f} ms; errors {result['errors']}"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
