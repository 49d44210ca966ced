"""What the exchange message log costs: ``message_log_append`` calls per second (docs/messagelog.md).

Each append is one transaction: payload policy look-up, subsystem departments, AES-256-GCM sealing of both
bodies (policy ``full``, 1 KiB request and 2 KiB response, the worst case), the chain lock, head read, SM3
hash and insert. Measured with one writer and with 4 concurrent writers (threads, own connections), then
the whole chain is verified. Runs on SQLite (a temporary file database with the project's settings) and,
with ``--postgres [URL]``, on a throwaway PostgreSQL database (dropped afterwards). Each database runs in
its own child process. The last line printed is one JSON object.

    python benchmarks/messagelog.py --quick
    python benchmarks/messagelog.py --quick --postgres                 # default postgres://postgres@127.0.0.1:5432/ow_bench
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_support import admin_url, child_environment, database_url, psql, run_child

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/ow_bench"
WRITERS = 4


def _child(appends: int) -> dict[str, Any]:
    import django

    django.setup()
    import datetime as dt
    import uuid

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from onewindow.catalog.models import InformationSystem
    from onewindow.messagelog.actions import message_log_append
    from onewindow.messagelog.verify import message_log_verify
    from onewindow.organisations.models import Department, Division

    division = Division.objects.order_by("code").first() or Division.objects.create(
        code="110000", name="北京市", level="province"
    )
    for code in ("MSR", "TAX"):
        department, _ = Department.objects.get_or_create(
            code=f"BENCH{code}",
            defaults={
                "name": code,
                "name_en": code,
                "division": division,
                "credit_code": f"11BENCH{code}".ljust(18, "0"),
            },
        )
        now = timezone.now()
        InformationSystem.objects.get_or_create(
            code=f"{code}-SYS",
            defaults={
                "department": department,
                "name": code,
                "state": "built",
                "owner": "bench",
                "created_at": now,
                "updated_at": now,
            },
        )
    request, response = b"r" * 1024, b"s" * 2048

    def one() -> None:
        message_log_append(
            exchange_id=uuid.uuid4().hex,
            service="CN/GOV/X/MSR-SYS/entity-basic",
            consumer="CN/GOV/Y/TAX-SYS",
            provider="CN/GOV/X/MSR-SYS",
            purpose="QYKB20260001",
            request_digest="0" * 64,
            response_digest="1" * 64,
            request_signature="c2ln" * 20,
            response_signature="c2ln" * 20,
            status=200,
            error_code="",
            started_at=timezone.now() - dt.timedelta(milliseconds=5),
            duration_ms=4.2,
            request_body=request,
            response_body=response,
            consumer_subsystem_code="TAX-SYS",
            provider_subsystem_code="MSR-SYS",
        )

    one()  # warm-up
    started = time.perf_counter()
    for _ in range(appends):
        one()
    single = appends / (time.perf_counter() - started)

    errors: list[str] = []

    def writer() -> None:
        try:
            for _ in range(appends // WRITERS):
                one()
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    concurrent = (appends // WRITERS) * WRITERS / (time.perf_counter() - started)
    started = time.perf_counter()
    result = message_log_verify()
    verify_per_s = result.checked / (time.perf_counter() - started)
    return {
        "vendor": connection.vendor,
        "appends": appends,
        "single_per_s": round(single, 1),
        f"concurrent{WRITERS}_per_s": round(concurrent, 1),
        "verify_records_per_s": round(verify_per_s, 1),
        "chain_records": result.checked,
        "chain_intact": result.intact,
        "errors": errors[:3],
    }


def _environment(var_dir: str, database: str | None = None) -> dict[str, str]:
    return child_environment(var_dir, database, ONEWINDOW_MESSAGELOG_PAYLOADS="full")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1,000 appends per measurement (default 10,000)")
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_POSTGRES_URL, default=None, metavar="URL")
    parser.add_argument("--appends", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    appends = args.appends or (1000 if args.quick else 10_000)
    if args.child:
        print(json.dumps(_child(appends)))
        return
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ow-bench-") as directory:
        results["sqlite"] = run_child(__file__, ["--appends", str(appends)], _environment(directory))
    if args.postgres:
        url = database_url(args.postgres)
        name = url.rsplit("/", 1)[1]
        psql(admin_url(url), f'CREATE DATABASE "{name}"')
        try:
            with tempfile.TemporaryDirectory(prefix="ow-bench-") as directory:
                results["postgresql"] = run_child(
                    __file__, ["--appends", str(appends)], _environment(directory, url)
                )
        finally:
            psql(admin_url(url), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for name, result in results.items():
        print(
            f"{name}: {result['appends']} appends; single writer {result['single_per_s']:.0f}/s, "
            f"{WRITERS} writers {result[f'concurrent{WRITERS}_per_s']:.0f}/s; verify "
            f"{result['verify_records_per_s']:.0f} records/s; chain {result['chain_records']} intact="
            f"{result['chain_intact']}"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
