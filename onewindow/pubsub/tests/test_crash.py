"""Crash test (issue #8 acceptance): the dispatcher is killed with SIGKILL again and again while 2,000
events flow; afterwards every event reached every subscriber, and a consumer keyed on the event id saw no
duplicate effect. (``benchmarks/pubsub.py --crash`` runs the same with 100,000 events.)"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection, transaction

from onewindow.organisations.tests.factories import DepartmentFactory
from onewindow.outbox.actions import outbox_append
from onewindow.pubsub.actions import subscription_create
from onewindow.pubsub.models import Delivery, DeliveryStatus
from onewindow.pubsub.tests.conftest import Receiver

EVENTS = 2000
BATCHES = 10
DEADLINE_SECONDS = 240


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_dispatcher() -> subprocess.Popen[bytes]:
    environment = os.environ | {
        "DATABASE_URL": _database_url(),
        "ONEWINDOW_ENV": "test",
        "ONEWINDOW_EXCHANGE_BROKER": "",
        "ONEWINDOW_PUBSUB_LEASE_SECONDS": "2",
        "ONEWINDOW_PUBSUB_BACKOFF_SECONDS": "1",
        "ONEWINDOW_PUBSUB_BATCH_SIZE": "200",
        "ONEWINDOW_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "pubsub_dispatch", "--loop", "--idle-sleep", "0.05"],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the dispatcher child process needs the test database on a server; the SQLite test database "
    "is in memory",
)
def test_sigkilled_dispatchers_lose_nothing_and_consumers_see_no_duplicate_effect(receiver: Receiver) -> None:
    DepartmentFactory.create(code="TAX")
    DepartmentFactory.create(code="QI")
    for code in ("tax-hook", "qi-hook"):
        subscription_create(
            acting_user=None,
            department_code="TAX" if code == "tax-hook" else "QI",
            code=code,
            name=code,
            topics=["entity.*"],
            mode="push",
            webhook_url=receiver.url + f"?s={code}",
            max_attempts=50,
        )
    rng = random.Random(8)
    kills = 0
    written: list[str] = []
    dispatcher = _start_dispatcher()
    try:
        # While events flow in ten batches, kill the dispatcher at random moments and start another
        for batch in range(BATCHES):
            with transaction.atomic():
                for n in range(EVENTS // BATCHES):
                    number = batch * (EVENTS // BATCHES) + n
                    event = outbox_append(
                        topic="entity.changed" if number % 3 else "entity.registered",
                        key=f"9135010000000{number % 97:05d}",
                        payload={"version": number, "division_code": "350102", "type": "company"},
                    )
                    written.append(str(event.pk))
            time.sleep(rng.uniform(0.1, 0.6))
            dispatcher.send_signal(signal.SIGKILL)
            dispatcher.wait()
            kills += 1
            dispatcher = _start_dispatcher()
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists() and (
                Delivery.objects.count() == 2 * EVENTS
            ):
                break
            time.sleep(0.5)
    finally:
        dispatcher.send_signal(signal.SIGKILL)
        dispatcher.wait()
    assert kills == BATCHES
    # Every event reached both subscribers
    assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 2 * EVENTS
    for code in ("tax-hook", "qi-hook"):
        received = [
            r["headers"]["X-OneWindow-Event-Id"]
            for r in receiver.requests
            if r["status"] == 200 and r["json"]["subscription"] == code
        ]
        # At least once: a copy may come twice after a kill, the idempotent consumer applies it once
        effects = set(received)
        assert effects == set(written)
        assert len(received) >= EVENTS
