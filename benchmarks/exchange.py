"""Exchange throughput (issue #8 acceptance; docs/performance.md "Exchange").

``--section sync``: signed request/response exchanges through ``onewindow serve`` (gunicorn) on a
throwaway PostgreSQL database — ``--clients`` threads each using :class:`ExchangeClient` (SM2 signing of
the request, SM2 verification of the response) against the built-in entity look-up — next to the same
look-up done directly in-process (``registry.prefill.active_entity`` + ``entity_record``, no signatures, no
HTTP) in the same run. Prints the figures and, as its last line, one JSON object.

``--section events`` is reserved for the publish/subscribe part (another script section, not here yet);
``--section all`` runs every section present.

    .venv/bin/python benchmarks/exchange.py --section sync --quick     # under a minute
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/ow_bench_exchange"
AIM_PER_SECOND = 1000


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
    from onewindow.registry.prefill import active_entity, entity_record

    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    index = 0
    while time.monotonic() < deadline:
        begun = time.perf_counter()
        entity = active_entity(codes[index % len(codes)])
        if entity is None:
            raise SystemExit("entity missing")
        entity_record(entity)
        latencies.append(time.perf_counter() - begun)
        index += 1
    return _figures(latencies, time.monotonic() - started, {200: len(latencies)})


def _through_exchange(port: int, setup: dict[str, Any], clients: int, seconds: float) -> dict[str, Any]:
    from onewindow.crypto.keys import load_signer
    from onewindow.exchange.client import ExchangeClient
    from onewindow.exchange.keystore import private_key_open, verifier_for
    from onewindow.exchange.models import SubsystemKey

    signer = load_signer(private_key_open(setup["key_id"], setup["algorithm"], setup["key_token"]))
    verifiers = {
        key.key_id: verifier_for(key.key_id, bytes(key.public_key_der)) for key in SubsystemKey.objects.all()
    }
    client = ExchangeClient(
        f"http://127.0.0.1:{port}", setup["subsystem"], signer, provider_verifiers=verifiers
    )
    codes = setup["codes"]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    unverified = [0]

    def work(offset: int) -> None:
        index = offset
        while time.monotonic() < deadline:
            begun = time.perf_counter()
            try:
                answer = client.call(
                    setup["service"], {"credit_code": codes[index % len(codes)]}, purpose="BENCH"
                )
                status, verified = answer.status, answer.verified
            except Exception:  # counted as a failure, the run goes on
                status, verified = 0, False
            elapsed = time.perf_counter() - begun
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
                unverified[0] += 0 if verified else 1
            index += clients

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures = _figures(latencies, time.monotonic() - started, statuses)
    figures["responses_not_verified"] = unverified[0]
    return figures


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


def section_sync(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_support

    seconds = 5.0 if args.quick else args.seconds
    database_url = bench_support.database_url(args.postgres)
    admin_url = bench_support.admin_url(database_url)
    database_name = database_url.rsplit("/", 1)[1]
    var_dir = Path(tempfile.mkdtemp(prefix="ow-bench-exchange-"))
    environment = {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ONEWINDOW_ENV": "development",
        "ONEWINDOW_DEBUG": "false",
        "ONEWINDOW_VAR_DIR": str(var_dir),
        "ONEWINDOW_MEDIA_ROOT": str(var_dir / "media"),
        "ONEWINDOW_LOG_LEVEL": "WARNING",
        "ONEWINDOW_SEAL_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ONEWINDOW_EXCHANGE_RATE_LIMIT_PER_MINUTE": "0",
    }
    os.environ.update(environment)
    import django

    django.setup()
    from django.db import connections

    onewindow = str(Path(sys.executable).with_name("onewindow"))
    bench_support.psql(admin_url, f'CREATE DATABASE "{database_name}"')
    server: subprocess.Popen[bytes] | None = None
    load_before = os.getloadavg()
    try:
        subprocess.run([onewindow, "migrate", "--verbosity", "0"], cwd=ROOT, check=True)  # noqa: S603
        setup = _setup(50 if args.quick else 500)
        direct = _direct(setup["codes"], seconds)
        print(f"direct in-process look-up: {direct['per_second']:,.0f}/s, p95 {direct['p95_ms']} ms")
        port = bench_support.free_port()
        serve = [onewindow, "serve", "--bind", f"127.0.0.1:{port}"]
        if args.serve_workers:
            serve += ["--workers", str(args.serve_workers)]
        server = subprocess.Popen(serve, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        _wait_ready(port, server)
        _through_exchange(port, setup, args.clients, 1.0)  # warm-up: keys opened, connections made
        exchanged = _through_exchange(port, setup, args.clients, seconds)
        rate = exchanged["per_second"]
        print(
            f"signed exchange ({args.clients} client threads): {rate:,.0f}/s, p50 {exchanged['p50_ms']} ms, "
            f"p95 {exchanged['p95_ms']} ms, statuses {exchanged['statuses']}, "
            f"unverified responses {exchanged['responses_not_verified']} "
            f"(aim >= {AIM_PER_SECOND}/s: {'met' if rate >= AIM_PER_SECOND else 'not met'})"
        )
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        connections.close_all()
        bench_support.psql(admin_url, f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
    return {
        "direct": direct,
        "exchange": exchanged,
        "clients": args.clients,
        "seconds": seconds,
        "cpus": os.cpu_count(),
        "load_before": [round(value, 2) for value in load_before],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=["sync", "events", "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="a short run, under a minute")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--serve-workers", type=int, default=0, help="gunicorn workers (default: serve's)")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_POSTGRES_URL))
    args = parser.parse_args()
    result: dict[str, Any] = {"benchmark": "exchange"}
    if args.section in {"sync", "all"}:
        result["sync"] = section_sync(args)
    if args.section in {"events", "all"}:
        result["events"] = None  # the publish/subscribe section is added by its own helper
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
