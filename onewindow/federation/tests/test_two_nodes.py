"""Two OneWindow nodes on this machine (issue #8 item 7, acceptance: "a two-node federation test"):
a province ``CN-35`` and a city ``CN-3501``, each a real server process (gunicorn through ``onewindow
serve``) on its own port with its own database (two SQLite files, or two PostgreSQL databases named after
``DATABASE_URL``'s), migrated, set up with the minimal data and registered as each other's peer through
the ``federation`` management command with the other's root fingerprint.

* A call signed by the city's consumer subsystem reaches the province's provider through both nodes and
  comes back with the province's data, verified by the consumer (city node signature) and, end to end,
  against the province's root (provider signature); both message logs hold the call.
* An entity registered at the province reaches the city's local subscription exactly once, also after the
  province sends it again.
* Once the province revokes the city, the city's calls and event fetches are refused ``peer_revoked``.

The nodes are shared by the module's tests (in order) and always stopped, also on failure.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from onewindow.crypto.keys import load_signer, load_verifier
from onewindow.exchange import protocol as xp
from onewindow.exchange.client import ExchangeClient
from onewindow.federation import protocol

ROOT = Path(settings.BASE_DIR)
START_TIMEOUT_SECONDS = 60
# The event channel between the nodes: signed HTTPS pull (default) or NATS JetStream
# (FEDERATION_TWO_NODES_TRANSPORT=nats, against the NATS server at 127.0.0.1:4222).
TRANSPORT = os.environ.get("FEDERATION_TWO_NODES_TRANSPORT", "https")
NATS_URL = "nats://127.0.0.1:4222"
NATS_PREFIX = f"owfed2n_{secrets.token_hex(4)}"
ITEMS = ["名称", "登记状态", "统一社会信用代码"]
PURPOSE = "ZW2026000777"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Node:
    name: str
    instance: str
    directory: Path
    port: int
    database_url: str
    server: subprocess.Popen[bytes] | None = None
    driver: subprocess.Popen[str] | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        keep = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("ONEWINDOW_", "DJANGO_", "PROMETHEUS_")) and name != "DATABASE_URL"
        }
        environment = keep | {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "ONEWINDOW_ENV": "development",
            "ONEWINDOW_DEBUG": "false",
            "ONEWINDOW_VAR_DIR": str(self.directory),
            "ONEWINDOW_MEDIA_ROOT": str(self.directory / "media"),
            "ONEWINDOW_LOG_LEVEL": "WARNING",
            "ONEWINDOW_SECRET_KEY": secrets.token_urlsafe(40),
            "ONEWINDOW_SEAL_MASTER_KEY": base64.b64encode(self.name.encode().ljust(32, b"k")).decode(),
            "ONEWINDOW_FEDERATION_INSTANCE": self.instance,
            "ONEWINDOW_EXCHANGE_BROKER": "",
            "ONEWINDOW_WEB_WORKERS": "1",
        }
        if TRANSPORT == "nats":
            environment["ONEWINDOW_FEDERATION_NATS_URL"] = NATS_URL
            environment["ONEWINDOW_FEDERATION_NATS_PREFIX"] = NATS_PREFIX
        if self.database_url:
            environment["DATABASE_URL"] = self.database_url
        return environment

    def driver_start(self) -> None:
        """The node's console (``node_driver``): one Django process running its commands for the test."""
        self.driver = subprocess.Popen(
            [sys.executable, "-m", "onewindow.federation.tests.node_driver"],
            cwd=ROOT,
            env=self.environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(self.directory / "driver.log").open("wb"),
            text=True,
        )

    def send(self, request: dict[str, Any]) -> None:
        assert self.driver is not None
        assert self.driver.stdin is not None
        self.driver.stdin.write(json.dumps(request, ensure_ascii=False) + "\n")
        self.driver.stdin.flush()

    def receive(self, what: str = "") -> str:
        """The answer to the last request (log lines the node prints on its own are skipped)."""
        assert self.driver is not None
        assert self.driver.stdout is not None
        for line in self.driver.stdout:
            try:
                answer = json.loads(line)
            except ValueError:
                continue
            if isinstance(answer, dict) and "ok" in answer:
                if not answer["ok"]:
                    pytest.fail(f"{self.name}: {what} failed:\n{answer.get('error')}\n{answer.get('stdout')}")
                return str(answer.get("stdout", ""))
        pytest.fail(f"{self.name}: the console exited during {what}")

    def manage(self, *arguments: str) -> str:
        self.send({"command": list(arguments)})
        return self.receive(" ".join(arguments))

    def shell(self, code: str) -> Any:
        """Run ``code`` in the node's Django; it prints one JSON document, returned parsed."""
        self.send({"code": code})
        return json.loads(self.receive("a check").strip().splitlines()[-1])

    def start(self) -> None:
        log = (self.directory / "server.log").open("wb")
        self.server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "onewindow.cli",
                "serve",
                "--workers",
                "1",
                "--bind",
                f"127.0.0.1:{self.port}",
            ],
            cwd=ROOT,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> None:
        import http.client

        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.server is not None and self.server.poll() is not None:
                pytest.fail(f"{self.name} server exited:\n{self.log()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"{self.name} server did not start:\n{self.log()}")

    def stop(self) -> None:
        for process in (self.server, self.driver):
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log(self) -> str:
        path = self.directory / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def _postgres_admin(url: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path="/postgres"))


def _psql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql.encode())


_DROP = """
import sys, psycopg
for name in sys.argv[2:]:
    with psycopg.connect(sys.argv[1], autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
"""


def _nats_stream_delete() -> None:
    import asyncio

    import nats

    async def delete() -> None:
        connection = await nats.connect(NATS_URL)
        with contextlib.suppress(Exception):
            await connection.jetstream().delete_stream(f"{NATS_PREFIX}_FEDERATION".upper())
        await connection.close()

    asyncio.run(delete())


def _sync(province: Node, city: Node) -> dict[str, Any]:
    """The city takes in the province's events (over NATS the province publishes them first)."""
    if TRANSPORT == "nats":
        province.manage("federation", "sync")
    return dict(json.loads(city.manage("federation", "sync", "--json"))[0])


def _database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _migrated_databases(province: Node, city: Node) -> None:
    """Migrate the province's database once and copy it for the city (both still empty of data); the
    province's console is started on the way, the city's after the copy."""
    if province.database_url:
        admin = _postgres_admin(province.database_url)
        _psql(admin, f'CREATE DATABASE "{_database_name(province.database_url)}"')
    province.driver_start()
    province.receive("start")
    province.manage("migrate", "--no-input", "--verbosity", "0")
    if province.database_url:
        source, target = _database_name(province.database_url), _database_name(city.database_url)
        _psql(_postgres_admin(province.database_url), f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    else:
        source_db = sqlite3.connect(province.directory / "onewindow.sqlite3")
        target_db = sqlite3.connect(city.directory / "onewindow.sqlite3")
        with contextlib.closing(source_db), contextlib.closing(target_db):
            source_db.backup(target_db)
    city.driver_start()
    city.receive("start")


def _both(province: Node, province_request: dict[str, Any], city: Node, city_request: dict[str, Any]) -> None:
    """The same step on both nodes at once."""
    province.send(province_request)
    city.send(city_request)
    province.receive(str(province_request))
    city.receive(str(city_request))


@pytest.fixture(scope="module")
def nodes() -> Iterator[tuple[Node, Node]]:
    base = tempfile.mkdtemp(prefix="ow-federation-")
    database = os.environ.get("DATABASE_URL", "")
    suffix = secrets.token_hex(3)

    def url(name: str) -> str:
        if not database:
            return ""
        parts = urllib.parse.urlsplit(database)
        return urllib.parse.urlunsplit(
            parts._replace(path=f"/{parts.path.lstrip('/') or 'ow'}_fed_{name}_{suffix}")
        )

    province = Node("province", "CN-35", Path(base) / "province", _free_port(), url("province"))
    city = Node("city", "CN-3501", Path(base) / "city", _free_port(), url("city"))
    for node in (province, city):
        node.directory.mkdir(parents=True)
    try:
        _migrated_databases(province, city)
        _both(
            province,
            {"setup": "province", "out": str(province.directory / "setup.json")},
            city,
            {"setup": "city", "out": str(city.directory / "setup.json")},
        )
        for node in (province, city):
            node.data = json.loads((node.directory / "setup.json").read_text(encoding="utf-8"))
            node.start()
        for node in (province, city):
            node.wait_ready()
        # Trust on configuration: each registers the other with the fingerprint exchanged out of band; the
        # province fetches the city's root from the city, the city was handed the province's root file.
        province_add = [
            "federation",
            "peer-add",
            "CN-3501",
            city.url,
            "--fingerprint",
            f"sha256:{city.data['root_sha256']}",
            "--directions",
            "requests_in,events_out",
            "--export-topics",
            "entity.registered",
            "--transport",
            TRANSPORT,
        ]
        city_add = [
            "federation",
            "peer-add",
            "CN-35",
            province.url,
            "--fingerprint",
            f"SM3={province.data['root_sm3']}",
            "--root-file",
            province.data["root_file"],
            "--directions",
            "requests_out,events_in",
            "--import-topics",
            "entity.*",
            "--transport",
            TRANSPORT,
        ]
        _both(province, {"command": province_add}, city, {"command": city_add})
        until = (dt.date.today() + dt.timedelta(days=30)).isoformat()  # noqa: DTZ011 - a date, a month away
        province.manage(
            "federation",
            "grant",
            "CN-3501",
            province.data["service"],
            city.data["consumer"],
            "--items",
            ",".join(ITEMS),
            "--until",
            until,
        )
        yield province, city
    finally:
        for node in (province, city):
            node.stop()
        if database:
            # Dropped by a process of its own: each DROP DATABASE waits for a checkpoint (seconds after a
            # migration), which the test need not wait for.
            names = [_database_name(node.database_url) for node in (province, city)]
            subprocess.Popen(
                [sys.executable, "-c", _DROP, _postgres_admin(database), *names],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        if TRANSPORT == "nats":
            _nats_stream_delete()
        shutil.rmtree(base, ignore_errors=True)


def _city_node_verifier(city: Node) -> Any:
    import urllib.request

    with urllib.request.urlopen(f"{city.url}/api/v1/federation/meta/node", timeout=10) as response:  # noqa: S310
        meta = json.loads(response.read())
    verifiers = {}
    for key in meta["keys"]:
        verifier = load_verifier(protocol.spki_of(base64.b64decode(key["certificate_der_base64"])))
        verifiers[verifier.key_id] = verifier
    return verifiers


def _consumer(city: Node) -> ExchangeClient:
    signer = load_signer(Path(city.data["consumer_key_file"]).read_bytes())
    return ExchangeClient(
        base_url=f"{city.url}/federation",
        subsystem=city.data["consumer"],
        signer=signer,
        provider_verifiers=_city_node_verifier(city),
    )


def test_a_signed_call_reaches_the_province_and_both_nodes_log_it(nodes: tuple[Node, Node]) -> None:
    province, city = nodes
    # Given the city's consumer subsystem with its own key, and the province's service id from discovery
    client = _consumer(city)

    # When it calls the province's service through its own node
    answer = client.call(province.data["service"], {"credit_code": province.data["company"]}, purpose=PURPOSE)

    # Then the province's data comes back, signed by the city's node (verified by the client)
    assert answer.status == 200, answer.body
    assert answer.verified
    assert answer.data == {
        "名称": "福建海峡联邦科技有限公司",
        "登记状态": "active",
        "统一社会信用代码": province.data["company"],
    }
    # And, end to end, the province's provider signature verifies against the province's root, over the body
    carried = json.loads(base64.urlsafe_b64decode(answer.headers[protocol.PEER_RESPONSE] + "=="))
    signed = xp.SignedHeaders.from_headers(carried["headers"])
    assert signed is not None
    assert signed.client == province.data["provider"]
    root = protocol.root_load(Path(province.data["root_file"]).read_text(encoding="ascii"))
    spki = protocol.certificate_check(
        base64.b64decode(carried["headers"][protocol.CERTIFICATE]),
        root,
        subject=province.data["provider"],
        now=dt.datetime.now(dt.UTC),
    )
    assert xp.body_digest(answer.body) == signed.digest
    load_verifier(spki).verify(
        base64.b64decode(carried["headers"][xp.SIGNATURE]),
        xp.response_canonical(
            200,
            carried["path"],
            signed,
            request_nonce=carried["request_nonce"],
            exchange_id=carried["headers"][xp.EXCHANGE_ID],
        ),
    )

    # And both nodes hold the call in their message logs, the province naming the city's consumer
    query = (
        "import json; from onewindow.messagelog.models import MessageLogRecord as R; "
        "from onewindow.federation.models import FederatedCall as F; "
        "r = R.objects.get(exchange_id='{id}'); f = F.objects.get(exchange_id='{id}'); "
        "print(json.dumps({{'consumer': r.consumer, 'provider': r.provider, 'service': r.service, "
        "'status': r.status, 'request_signature': r.request_signature, 'purpose': r.purpose, "
        "'peer': f.peer_instance, 'direction': f.direction, 'remote': f.remote_exchange_id}}))"
    )
    city_record = city.shell(query.format(id=answer.headers[xp.EXCHANGE_ID]))
    province_record = province.shell(query.format(id=answer.headers[protocol.PEER_EXCHANGE_ID]))
    assert city_record == {
        "consumer": city.data["consumer"],
        "provider": protocol.qualified("CN-35", province.data["provider"]),
        "service": protocol.qualified("CN-35", province.data["service"]),
        "status": 200,
        "request_signature": city_record["request_signature"],
        "purpose": PURPOSE,
        "peer": "CN-35",
        "direction": "out",
        "remote": answer.headers[protocol.PEER_EXCHANGE_ID],
    }
    assert province_record == {
        "consumer": protocol.qualified("CN-3501", city.data["consumer"]),
        "provider": province.data["provider"],
        "service": province.data["service"],
        "status": 200,
        "request_signature": city_record["request_signature"],
        "purpose": PURPOSE,
        "peer": "CN-3501",
        "direction": "in",
        "remote": answer.headers[xp.EXCHANGE_ID],
    }
    assert city_record["request_signature"]


def test_a_replayed_forward_and_items_outside_the_grant_are_refused(nodes: tuple[Node, Node]) -> None:
    province, city = nodes
    client = _consumer(city)
    # Items the province did not grant the city's consumer
    answer = client.call(
        province.data["service"],
        {"credit_code": province.data["company"]},
        purpose=PURPOSE,
        items=["法定代表人"],
    )
    assert answer.status == 403
    assert answer.code == "items_not_granted"
    assert answer.verified
    # The same signed request sent twice: the city refuses the second (its nonce was used)
    body = b'{"query":{"credit_code":"%s"}}' % province.data["company"].encode()
    path = client.path_of(province.data["service"])
    headers = client.signed_headers(path, body, PURPOSE)
    assert client.send(path, headers, body).status == 200
    replayed = client.send(path, headers, body)
    assert replayed.status == 409
    assert replayed.code == "replayed_nonce"


def test_an_entity_registered_at_the_province_reaches_the_city_subscription_once(
    nodes: tuple[Node, Node],
) -> None:
    province, city = nodes
    # Given a company registered at the province (the registry's action writes entity.registered)
    event_id = province.shell(
        "import json, datetime as dt; from onewindow.registry.entities import entity_register; "
        "from onewindow.core.validators import make_credit_code; "
        "from onewindow.outbox.models import OutboxEvent; "
        "code = make_credit_code(authority='9', entity_type='1', division='350102', "
        "organisation_base='MA000077'); "
        "entity_register(acting_user=None, credit_code=code, name='闽都联邦新设公司', type='llc', "
        "division_code='350102', registered_capital='10', address='福州', business_scope='咨询', "
        "established_on=dt.date(2025, 1, 2)); "
        "print(json.dumps(str(OutboxEvent.objects.filter(topic='entity.registered', key=code).get().pk)))"
    )

    # When the city takes in the province's events (twice: the second finds nothing new)
    first = _sync(province, city)
    second = _sync(province, city)
    assert first["error"] == ""
    assert event_id in first["imported_ids"]
    assert second["received"] == 0

    # And both nodes logged the batch that carried it (the province serving, the city taking in), metadata
    # only, with the event count, and their message logs still verify
    batches = (
        "import json; from onewindow.federation.models import FederatedCall as F; "
        "from onewindow.messagelog.models import MessageLogRecord as R; "
        "rows = [(f, R.objects.get(exchange_id=f.exchange_id)) for f in "
        "F.objects.filter(service='federation/events', event_count__gt=0).order_by('created_at')]; "
        "print(json.dumps([{'consumer': r.consumer, 'provider': r.provider, 'service': r.service, "
        "'events': f.event_count, 'direction': f.direction, 'remote': f.remote_exchange_id, "
        "'exchange_id': r.exchange_id, 'signature': r.response_signature, "
        "'payload': r.response_payload_state} for f, r in rows]))"
    )
    served, taken = province.shell(batches), city.shell(batches)
    assert served
    assert taken
    common = {"consumer": "CN-3501", "provider": "CN-35", "service": "federation/events"}
    for row in served:
        assert {**row, **common, "direction": "in", "payload": "not_logged"} == row
    for row in taken:
        assert {**row, **common, "direction": "out", "payload": "not_logged"} == row
    assert sum(row["events"] for row in taken) >= 1
    if TRANSPORT == "https":  # one HTTPS exchange, logged on both sides under each other's ids
        assert [(row["exchange_id"], row["signature"]) for row in taken] == [
            (row["remote"], row["signature"]) for row in served
        ]
    for node in (province, city):
        node.manage("messagelog_verify")

    # And the province sends it again (a lost acknowledgement, an operator's replay)
    province.manage("federation", "replay", "CN-3501", "--event-id", event_id)
    third = _sync(province, city)
    assert third["received"] == 1
    assert third["duplicates"] == 1
    assert third["imported"] == 0

    # Then the city's local subscription has exactly one delivery of it, with its origin
    city.manage("pubsub_dispatch")
    deliveries = city.shell(
        "import json; from onewindow.pubsub.models import Delivery; "
        "from onewindow.outbox.models import OutboxEvent; "
        "rows = Delivery.objects.filter(subscription__code='ctax-province-entities'); "
        "events = OutboxEvent.objects.in_bulk([row.event_id for row in rows]); "
        "print(json.dumps([{'origin_event_id': events[r.event_id].payload.get('origin_event_id'), "
        "'origin_instance': events[r.event_id].payload.get('origin_instance'), 'topic': r.topic} "
        "for r in rows]))"
    )
    mine = [row for row in deliveries if row["origin_event_id"] == event_id]
    assert mine == [{"origin_event_id": event_id, "origin_instance": "CN-35", "topic": "entity.registered"}]


def test_a_revoked_peer_is_refused_at_once(nodes: tuple[Node, Node]) -> None:
    province, city = nodes
    client = _consumer(city)
    # When the province revokes the city
    province.manage("federation", "peer-revoke", "CN-3501", "--reason", "联邦测试：撤销")

    # Then the city's next call is refused by the province, and the city passes the signed refusal on
    answer = client.call(province.data["service"], {"credit_code": province.data["company"]}, purpose=PURPOSE)
    assert answer.status == 403
    assert answer.code == "peer_revoked"
    assert answer.json["message_zh"]
    assert answer.json["message_en"]
    assert answer.verified
    # And its event fetches too
    result = _sync(province, city)
    if TRANSPORT == "nats":
        assert (result["error"], result["received"]) == ("", 0)  # the province publishes nothing for it
    else:
        assert result["error"] == "peer_revoked"
