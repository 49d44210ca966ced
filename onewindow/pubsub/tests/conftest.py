"""Fixtures of the publish/subscribe tests: both backends, a webhook receiver, events in the outbox."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import transaction

from onewindow.organisations.models import Department
from onewindow.organisations.tests.factories import DepartmentFactory
from onewindow.outbox.actions import outbox_append
from onewindow.outbox.models import OutboxEvent
from onewindow.pubsub.backends import Backend
from onewindow.pubsub.backends.database import DatabaseBackend
from onewindow.pubsub.dispatcher import DispatchResult, dispatch_once

NATS_URL = "nats://127.0.0.1:4222"


def nats_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["database", "nats"])
def backend(request: pytest.FixtureRequest, db: None) -> Iterator[Backend]:
    """The same tests on both backends; NATS cases skip only when no server listens on 4222."""
    if request.param == "database":
        yield DatabaseBackend()
        return
    if not nats_reachable():
        pytest.skip("no NATS server at 127.0.0.1:4222")
    from onewindow.pubsub.backends.nats import NatsBackend

    nats_backend = NatsBackend(NATS_URL, prefix=f"owtest_{uuid.uuid4().hex[:10]}")
    try:
        yield nats_backend
    finally:
        nats_backend.streams_delete()
        nats_backend.close()


def dispatch_until_idle(backend: Backend, *, rounds: int = 50) -> DispatchResult:
    total = DispatchResult()
    for _ in range(rounds):
        result = dispatch_once(backend)
        for name in ("published", "ingested", "delivered", "failed", "dead"):
            setattr(total, name, getattr(total, name) + getattr(result, name))
        if not result.busy:
            break
    return total


def entity_event(
    credit_code: str = "91350100M000100Y43",
    *,
    topic: str = "entity.registered",
    division_code: str = "350102",
    entity_type: str = "company",
    version: int = 1,
) -> OutboxEvent:
    """An event as the legal-entity register writes it (registry.entities._record)."""
    with transaction.atomic():
        return outbox_append(
            topic=topic,
            key=credit_code,
            payload={
                "entity_id": 1,
                "credit_code": credit_code,
                "version": version,
                "name": "福州测试有限公司",
                "type": entity_type,
                "status": "active",
                "division_code": division_code,
                "registration_authority": "AMR",
                "case_tracking_no": "",
                "changed": ["*"],
            },
        )


@pytest.fixture
def departments(db: None) -> dict[str, Department]:
    return {
        code: Department.objects.filter(code=code).first() or DepartmentFactory.create(code=code)
        for code in ("AMR", "TAX", "QI")
    }


class Receiver:
    """A webhook endpoint: records requests; ``fail`` maps event ids to how many times to answer 500."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail: dict[str, int] = {}
        self.always_fail = False
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def event_ids(self) -> list[str]:
        return [r["headers"]["X-OneWindow-Event-Id"] for r in self.requests if r["status"] == 200]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            event_id = self.headers["X-OneWindow-Event-Id"]
            with state.lock:
                remaining = state.fail.get(event_id, 0)
                status = 500 if state.always_fail or remaining > 0 else 200
                if remaining:
                    state.fail[event_id] = remaining - 1
                state.requests.append(
                    {"headers": dict(self.headers), "body": body, "json": json.loads(body), "status": status}
                )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


EventFactory = Callable[..., OutboxEvent]
