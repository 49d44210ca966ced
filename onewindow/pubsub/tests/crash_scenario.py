"""The crash scenario of issue #8's acceptance (``test_crash.py``, ``benchmarks/pubsub.py --crash``).

"Kill -9 the dispatcher or worker repeatedly while 100,000 events flow; afterwards every event has reached
every subscriber, and consumers using the event id saw no duplicate effect."

* Two push subscriptions (tax, quality inspection) to a webhook receiver in this process; the receiver is
  an idempotent consumer: it applies an event's effect (a per-key counter) only the first time it sees
  the event id, and records every copy.
* A producer thread writes the events to the outbox in transactions of 100, ``keys`` keys in turn, each
  key's events numbered 1, 2, 3… in the payload's ``version``.
* ``dispatchers`` real dispatcher processes (``manage.py pubsub_dispatch --loop``) run against the same
  database (and NATS server); every ``kill_seconds`` one of them, chosen at random, is sent SIGKILL and
  a new one started — while the events are written and until the last is delivered.
* Afterwards: every event reached both subscribers (the receivers' effects equal the events written),
  each key's events were first received in the order written, no delivery is pending or dead, and the
  queue's bookkeeping is empty (no pending-key rows left).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from onewindow.organisations.models import Department
from onewindow.organisations.tests.factories import DepartmentFactory
from onewindow.outbox.actions import outbox_append
from onewindow.pubsub.actions import subscription_create
from onewindow.pubsub.models import Delivery, DeliveryStatus, PendingKey

SUBSCRIPTIONS = (("crash-tax", "TAX"), ("crash-qi", "QI"))
WRITE_BATCH = 100


@dataclass
class CrashConfig:
    events: int
    keys: int
    # The environment of the dispatcher processes: how they reach the database and the broker.
    environment: dict[str, str]
    broker: str = ""
    dispatchers: int = 2
    # Each dispatcher is killed this long (at random) after it is ready, then a new one started.
    life_seconds: tuple[float, float] = (0.5, 3.0)
    # Spread the writing over at least this long (so a small run has several kills while events flow).
    write_seconds: float = 0.0
    deadline_seconds: float = 600.0
    seed: int = 8


@dataclass
class CrashReport:
    backend: str
    vendor: str
    events: int
    keys: int
    subscriptions: int
    dispatchers: int
    kills: int = 0
    kills_while_writing: int = 0
    write_seconds: float = 0.0
    seconds: float = 0.0
    receipts: int = 0
    duplicates_received: int = 0
    duplicate_effects: int = 0
    missing: int = 0
    order_violations: int = 0
    delivered: int = 0
    pending: int = 0
    dead: int = 0
    pending_keys_left: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A killed dispatcher resets its connections mid-request: expected here, not worth a traceback.
        return


class _Consumer:
    """The subscribers' webhook: records every copy, applies each event id once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.receipts = 0
        self.seen: dict[str, set[str]] = defaultdict(set)
        # Per subscription and key: the versions in the order first received (the effects applied).
        self.applied: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        consumer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                try:
                    body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                except ValueError:
                    return  # cut off by a kill: the sender never heard back, it will send again
                event_id = self.headers["X-OneWindow-Event-Id"]
                code = body["subscription"]
                with consumer.lock:
                    consumer.receipts += 1
                    if event_id not in consumer.seen[code]:
                        consumer.seen[code].add(event_id)
                        consumer.applied[code][body["key"]].append(int(body["payload"]["version"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Dispatcher:
    """One dispatcher process: ``manage.py pubsub_dispatch --loop``, run once Django is set up (it says
    so on its standard output), so a kill lands while it works rather than while it starts."""

    # django.setup(), say "ready", then the management command exactly as an operator runs it.
    PROGRAM = (
        "import django, sys; django.setup(); print('ready', flush=True); "
        "from django.core.management import call_command; "
        "call_command('pubsub_dispatch', '--loop', '--idle-sleep', '0.05')"
    )

    def __init__(self, config: CrashConfig, life: float) -> None:
        environment = config.environment | {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "ONEWINDOW_EXCHANGE_BROKER": config.broker,
            "ONEWINDOW_PUBSUB_LEASE_SECONDS": "3",
            "ONEWINDOW_PUBSUB_BACKOFF_SECONDS": "1",
            "ONEWINDOW_PUBSUB_BATCH_SIZE": "500",
            "ONEWINDOW_LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-c", self.PROGRAM],
            cwd=Path(settings.BASE_DIR),
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.life = life
        self.ready_at: float | None = None
        threading.Thread(target=self._wait_ready, daemon=True).start()

    def _wait_ready(self) -> None:
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() == b"ready":
            self.ready_at = time.monotonic()

    def due(self) -> bool:
        return self.ready_at is not None and time.monotonic() >= self.ready_at + self.life

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _key(number: int) -> str:
    return f"91350100CRASH{number:05d}"


def _produce(config: CrashConfig, versions: dict[str, int], done: threading.Event, errors: list[str]) -> None:
    """Write the events; ``versions`` ends with each key's number of events."""
    try:
        started = time.monotonic()
        for batch_start in range(0, config.events, WRITE_BATCH):
            with transaction.atomic():
                for number in range(batch_start, min(batch_start + WRITE_BATCH, config.events)):
                    key = _key(number % config.keys)
                    versions[key] += 1
                    outbox_append(
                        topic="entity.changed" if versions[key] > 1 else "entity.registered",
                        key=key,
                        payload={"version": versions[key], "division_code": "350102", "type": "company"},
                    )
            if config.write_seconds:
                ahead = started + config.write_seconds * (batch_start + WRITE_BATCH) / config.events
                time.sleep(max(0.0, ahead - time.monotonic()))
    except Exception as error:  # reported, never hidden
        errors.append(f"producer: {error!r}")
    finally:
        connection.close()
        done.set()


def crash_run(config: CrashConfig) -> CrashReport:
    """Run the scenario in the current database (migrated, empty of pub/sub rows) and report."""
    report = CrashReport(
        backend="nats" if config.broker else "database",
        vendor=connection.vendor,
        events=config.events,
        keys=config.keys,
        subscriptions=len(SUBSCRIPTIONS),
        dispatchers=config.dispatchers,
    )
    consumer = _Consumer()
    consumer.start()
    for code, department in SUBSCRIPTIONS:
        if not Department.objects.filter(code=department).exists():
            DepartmentFactory.create(code=department)
        subscription_create(
            acting_user=None,
            department_code=department,
            code=code,
            name=code,
            topics=["entity.*"],
            mode="push",
            webhook_url=consumer.url,
            max_attempts=50,
        )
    rng = random.Random(config.seed)
    expected = config.events * len(SUBSCRIPTIONS)
    written: dict[str, int] = defaultdict(int)
    written_done = threading.Event()
    producer = threading.Thread(target=_produce, args=(config, written, written_done, report.errors))
    dispatchers = [_Dispatcher(config, rng.uniform(*config.life_seconds)) for _ in range(config.dispatchers)]
    began_setup = time.monotonic()
    # Events start flowing once a dispatcher is up, so the first kills land while they are written.
    while (
        not any(d.ready_at for d in dispatchers) and time.monotonic() - began_setup < config.deadline_seconds
    ):
        time.sleep(0.05)
    began = time.monotonic()
    producer.start()
    try:
        while time.monotonic() - began < config.deadline_seconds and not report.errors:
            if written_done.is_set():
                if not report.write_seconds:
                    report.write_seconds = round(time.monotonic() - began, 1)
                with consumer.lock:
                    received = sum(len(ids) for ids in consumer.seen.values())
                if (
                    received >= expected
                    and not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()
                ):
                    break
            for number, dispatcher in enumerate(dispatchers):
                if dispatcher.due():
                    dispatcher.kill()
                    report.kills += 1
                    report.kills_while_writing += not written_done.is_set()
                    dispatchers[number] = _Dispatcher(config, rng.uniform(*config.life_seconds))
            time.sleep(0.05)
        report.seconds = round(time.monotonic() - began, 1)
    finally:
        for dispatcher in dispatchers:
            dispatcher.kill()
        producer.join()
        consumer.stop()
    _verify(report, consumer, written)
    return report


def _verify(report: CrashReport, consumer: _Consumer, written: dict[str, int]) -> None:
    report.receipts = consumer.receipts
    unique = sum(len(ids) for ids in consumer.seen.values())
    report.duplicates_received = consumer.receipts - unique
    for code, _ in SUBSCRIPTIONS:
        applied = consumer.applied[code]
        for key, count in written.items():
            expected = list(range(1, count + 1))
            got = applied.get(key, [])
            report.missing += len(set(expected) - set(got))
            # Each effect applied once per event id; a version applied twice would be a duplicate effect.
            report.duplicate_effects += len(got) - len(set(got))
            report.order_violations += sum(1 for a, b in pairwise(got) if b <= a)
    counts = dict(Delivery.objects.values_list("status").order_by().annotate(n=Count("id")))
    report.delivered = counts.get(DeliveryStatus.DELIVERED, 0)
    report.pending = counts.get(DeliveryStatus.PENDING, 0)
    report.dead = counts.get(DeliveryStatus.DEAD, 0)
    report.pending_keys_left = PendingKey.objects.count()
