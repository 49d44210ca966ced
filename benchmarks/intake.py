"""Intake throughput: applications submitted per second over HTTP against ``onewindow serve`` on PostgreSQL.

What it does, in one run:

1. creates a throwaway PostgreSQL database (``--postgres URL``, default
   postgres://postgres@127.0.0.1:5432/ow_bench; a random suffix is added) and migrates it;
2. loads the demo data (departments, accounts, the demo service catalog) and issues bearer tokens for the
   demo applicants;
3. starts ``onewindow serve`` (gunicorn, ``--workers``, default 2 x cores + 1 capped at 8) on a free port;
4. drives it with ``--clients`` concurrent HTTP clients (one asyncio process, one connection per request,
   as gunicorn's sync workers close each connection) for ``--seconds`` per phase:
   * baseline: ``GET /api/v1/me`` — a trivial authenticated endpoint (token lookup, one user row);
   * health: ``GET /healthz`` — no authentication, no database work beyond a connection check;
   * intake: ``POST /api/v1/applications`` — a valid ``QYKB`` (open a company) form with its own
     ``Idempotency-Key`` and no uploads: form validation, tracking number, application, timeline event,
     audit record, notification, receipt row; without its materials it waits for the window (``submitted``);
5. prints requests per second and p50/p95/p99 latency for each phase, the intake/baseline ratio, checks
   that every submission answered 201 and that the database holds exactly that many applications, then
   drops the database.

The aims (issue #3) are >= 300 submissions/s and p95 < 100 ms on a 2-core machine; the client shares the
machine with the server, so the figures are a floor. Open Zaak reports about 25 case creations/s per worker.

    python benchmarks/intake.py --quick
    python benchmarks/intake.py                      # 20 s per phase
    python benchmarks/intake.py --clients 32 --workers 5 --postgres postgres://postgres@db:5432/ow_bench

The last line printed is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import bench_support
from bench_support import free_port, psql

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/ow_bench"
TARGET_RATE = 300.0
TARGET_P95_MS = 100.0
SERVICE_CODE = "QYKB"


# --- Database and server ----------------------------------------------------------------------------


SETUP_SCRIPT = r"""
import json, os, secrets, sys
from datetime import timedelta
from pathlib import Path
import django
django.setup()
from django.conf import settings
from django.utils import timezone
from onewindow.accounts.api_auth import token_hash
from onewindow.accounts.models import ApiToken, User
from onewindow.demo.actions import demo_load

demo_load(accounts_path=Path(sys.argv[1]))
tokens = []
for username in ("founder1", "resident1"):
    user = User.objects.get(username=username)
    for _ in range(4):
        token = secrets.token_urlsafe(32)
        ApiToken.objects.create(
            user=user, token_hash=token_hash(token),
            expires_at=timezone.now() + timedelta(seconds=settings.API_TOKEN_TTL_SECONDS),
        )
        tokens.append({"token": token, "name": user.display_name or user.get_full_name() or username,
                       "id_number": user.id_number, "mobile": user.mobile or "13800138000"})
print(json.dumps(tokens))
"""

COUNT_SCRIPT = r"""
import django
django.setup()
from onewindow.applications.models import Application
print(Application.objects.count())
"""


def _run_django(script: str, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        message = "benchmark setup failed"
        raise SystemExit(message)
    return result.stdout.strip().splitlines()[-1]


def _wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            message = "onewindow serve exited during start-up"
            raise SystemExit(message)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.3)
    message = "onewindow serve did not become ready"
    raise SystemExit(message)


# --- Load generator ---------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
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
            "requests": len(ordered),
            "per_second": round(len(ordered) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": percentile(0.50),
            "p95_ms": percentile(0.95),
            "p99_ms": percentile(0.99),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2) if ordered else 0.0,
            "statuses": {str(code): count for code, count in sorted(self.statuses.items())},
        }


async def _request(port: int, raw: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()  # until the server closes (sync workers close every connection)
    finally:
        writer.close()
    return int(status_line.split()[1]) if status_line else 0


def _get(path: str, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n".encode()


def _submission(applicant: dict[str, str], number: int) -> bytes:
    form = {
        "company_name": f"福州基准测试{number}号有限公司",
        "company_type": "llc",
        "registered_capital": 100,
        "division_code": "350102",
        "address": "福州市鼓楼区基准路 1 号",
        "business_scope": "软件开发；信息技术咨询服务",
        "legal_rep_name": applicant["name"],
        "legal_rep_id_number": applicant["id_number"],
        "legal_rep_mobile": applicant["mobile"],
        "employees": 5,
        "need_invoice": True,
    }
    body = json.dumps({"service_code": SERVICE_CODE, "form": form}, ensure_ascii=False).encode()
    head = (
        "POST /api/v1/applications HTTP/1.1\r\nHost: localhost\r\n"
        f"Authorization: Bearer {applicant['token']}\r\n"
        f"Idempotency-Key: {uuid.uuid4()}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def _drive(port: int, phase: Phase, clients: int, seconds: float, make: Any) -> None:
    deadline = time.monotonic() + seconds
    counter = 0

    async def client() -> None:
        nonlocal counter
        while time.monotonic() < deadline:
            counter += 1
            raw = make(counter)
            started = time.perf_counter()
            try:
                status = await _request(port, raw)
            except OSError:
                status = 0
            phase.latencies.append(time.perf_counter() - started)
            phase.statuses[status] = phase.statuses.get(status, 0) + 1

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    phase.seconds = time.monotonic() - started


def _run_phase(port: int, name: str, clients: int, seconds: float, make: Any) -> Phase:
    phase = Phase(name)
    asyncio.run(_drive(port, phase, clients, seconds, make))
    return phase


# --- Main -------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="5 s per phase (under a minute in all)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers (default: the serve default)"
    )
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_POSTGRES_URL))
    args = parser.parse_args()
    seconds = 5.0 if args.quick else args.seconds

    database_url = bench_support.database_url(args.postgres)
    admin_url = bench_support.admin_url(database_url)
    database_name = urlsplit(database_url).path.lstrip("/")
    psql(admin_url, f'CREATE DATABASE "{database_name}"')
    var_dir = Path(tempfile.mkdtemp(prefix="ow-bench-intake-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ONEWINDOW_ENV": "development",
        "ONEWINDOW_DEBUG": "false",
        "ONEWINDOW_VAR_DIR": str(var_dir),
        "ONEWINDOW_MEDIA_ROOT": str(var_dir / "media"),
        "ONEWINDOW_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    onewindow = str(Path(sys.executable).with_name("onewindow"))
    server: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run([onewindow, "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)  # noqa: S603
        applicants: list[dict[str, str]] = json.loads(
            _run_django(SETUP_SCRIPT, env, str(var_dir / "demo-accounts.json"))
        )
        port = free_port()
        serve = [onewindow, "serve", "--bind", f"127.0.0.1:{port}"]
        if args.workers:
            serve += ["--workers", str(args.workers)]
        server = subprocess.Popen(  # noqa: S603
            serve, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_ready(port, server)
        token = applicants[0]["token"]
        # Warm every worker (imports, connections, jieba, schema caches) before measuring.
        _run_phase(
            port, "warm-up", args.clients, 2.0, lambda n: _submission(applicants[n % len(applicants)], n)
        )
        _run_phase(port, "warm-up", args.clients, 1.0, lambda n: _get("/api/v1/me", token))
        before = int(_run_django(COUNT_SCRIPT, env))

        baseline = _run_phase(port, "me", args.clients, seconds, lambda n: _get("/api/v1/me", token))
        health = _run_phase(port, "healthz", args.clients, seconds, lambda n: _get("/healthz", None))
        offset = 10_000_000
        intake = _run_phase(
            port,
            "intake",
            args.clients,
            seconds,
            lambda n: _submission(applicants[n % len(applicants)], offset + n),
        )
        after = int(_run_django(COUNT_SCRIPT, env))
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        psql(admin_url, f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)

    figures = {phase.name: phase.figures() for phase in (baseline, health, intake)}
    created = intake.statuses.get(201, 0)
    stored = after - before
    for name, figure in figures.items():
        print(
            f"{name:8} {figure['per_second']:8.1f} req/s  p50 {figure['p50_ms']:7.2f} ms  "
            f"p95 {figure['p95_ms']:7.2f} ms  p99 {figure['p99_ms']:7.2f} ms  statuses {figure['statuses']}"
        )
    ratio = round(figures["intake"]["per_second"] / figures["me"]["per_second"], 3) if baseline.seconds else 0
    print(f"intake / trivial endpoint ratio: {ratio}; 201 answers {created}, applications stored {stored}")
    rate_met = "met" if figures["intake"]["per_second"] >= TARGET_RATE else "not met"
    p95_met = "met" if figures["intake"]["p95_ms"] < TARGET_P95_MS else "not met"
    print(f"aims: >= {TARGET_RATE:.0f} submissions/s ({rate_met}), p95 < {TARGET_P95_MS:.0f} ms ({p95_met})")
    headline = {
        "benchmark": "intake",
        "database": "postgresql",
        "clients": args.clients,
        "workers": args.workers or "default",
        "seconds_per_phase": seconds,
        "submissions_per_s": figures["intake"]["per_second"],
        "submit_p50_ms": figures["intake"]["p50_ms"],
        "submit_p95_ms": figures["intake"]["p95_ms"],
        "submit_p99_ms": figures["intake"]["p99_ms"],
        "trivial_per_s": figures["me"]["per_second"],
        "trivial_p95_ms": figures["me"]["p95_ms"],
        "healthz_per_s": figures["healthz"]["per_second"],
        "ratio_to_trivial": ratio,
        "all_created": created == len(intake.latencies) and stored == created,
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
