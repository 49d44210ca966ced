"""What auditing costs: audited actions per second against plain inserts per second, same run, same database.

An *audited action* is one transaction that inserts a row into a benchmark table and appends its audit
record with ``audit_append`` (chain lock, head lookup, SM3 hash, insert). A *plain insert* is one
transaction that inserts the same kind of row into a twin table with the same columns and no chain.
For the analysis a third kind, a *logged action*, inserts the row plus an unchained log row with the
audit record's columns and indexes (no lock, no head lookup, no hash): audited / logged is the price of
the chain itself. All run single-writer and with 4 concurrent writers (threads, each on its own
connection), on:

* SQLite: a temporary file database with the project's settings (WAL, BEGIN IMMEDIATE, busy timeout);
* PostgreSQL: a throwaway database created on the server of ``--postgres URL`` (default
  postgres://postgres@127.0.0.1:5432/ow_bench; the database name gets a random suffix) or of
  ``DATABASE_URL``, dropped afterwards.

Each database runs in its own child process (Django's settings are per process). The last line printed
is one JSON object with the headline figures; the aim is a ratio (audited / plain) of at least 0.5.

    python benchmarks/audit_append.py --quick
    python benchmarks/audit_append.py --postgres                # also PostgreSQL, default URL
    python benchmarks/audit_append.py --postgres postgres://postgres@db:5432/ow_bench
"""

from __future__ import annotations

import argparse
import json
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
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/ow_bench"
WRITERS = 4
TARGET_RATIO = 0.5


# --- Child process: one database ------------------------------------------------------------------


def _child(transactions: int, rounds: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from onewindow.accounts.models import User
    from onewindow.accounts.permissions import RoleGrant
    from onewindow.accounts.roles import Kind, Role
    from onewindow.audit.actions import audit_append
    from onewindow.audit.verify import verify_chain

    call_command("migrate", "audit", verbosity=0)
    postgres = connection.vendor == "postgresql"
    key = "BIGSERIAL PRIMARY KEY" if postgres else "INTEGER PRIMARY KEY AUTOINCREMENT"
    with connection.cursor() as cursor:
        for table in ("bench_plain", "bench_audited", "bench_logged"):
            cursor.execute(
                f"CREATE TABLE {table} (id {key}, case_ref VARCHAR(40) NOT NULL, "
                "status VARCHAR(20) NOT NULL, note VARCHAR(200) NOT NULL, updated_at TIMESTAMP NOT NULL)"
            )
        cursor.execute(
            f"CREATE TABLE bench_log (id {key}, seq BIGINT NOT NULL, recorded_at TIMESTAMP NOT NULL, "
            "actor_id BIGINT, actor_username VARCHAR(150) NOT NULL, actor_role VARCHAR(200) NOT NULL, "
            "department_code VARCHAR(20) NOT NULL, action VARCHAR(100) NOT NULL, "
            "object_type VARCHAR(100) NOT NULL, object_id VARCHAR(100) NOT NULL, "
            "outcome VARCHAR(10) NOT NULL, client_address VARCHAR(64) NOT NULL, "
            "request_id VARCHAR(64) NOT NULL, channel VARCHAR(10) NOT NULL, "
            f"details {'JSONB' if postgres else 'TEXT'} NOT NULL, prev_hash VARCHAR(64) NOT NULL, "
            "hash VARCHAR(64) NOT NULL)"
        )
        # The audit table's secondary indexes, so that only the chain differs.
        for number, columns in enumerate(
            ("recorded_at", "actor_username", "action", "object_type, object_id")
        ):
            cursor.execute(f"CREATE INDEX bench_log_{number} ON bench_log ({columns})")
        # Stands in for the unique index on seq (seq values repeat across this table's writers).
        cursor.execute("CREATE UNIQUE INDEX bench_log_seq ON bench_log (id, seq)")

    # The acting user as a request sees it after the permission check loaded its roles (cached on the
    # object): the benchmark needs no accounts tables.
    clerk = User(pk=1, username="bench_clerk", kind=Kind.STAFF)
    clerk._onewindow_roles = [RoleGrant(Role.WINDOW_CLERK, "D01")]  # type: ignore[attr-defined]

    from django.utils import timezone

    def plain(writer: int, n: int) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_plain (case_ref, status, note, updated_at) VALUES (%s, %s, %s, %s)",
                [f"C{writer}-{n}", "accepted", "受理", timezone.now()],
            )

    def audited(writer: int, n: int) -> None:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO bench_audited (case_ref, status, note, updated_at) VALUES (%s, %s, %s, %s)",
                    [f"C{writer}-{n}", "accepted", "受理", timezone.now()],
                )
            audit_append(
                action="bench.case_accepted",
                acting_user=clerk,
                object_type="bench_case",
                object_id=f"C{writer}-{n}",
                details={"status": "accepted", "note": "受理"},
            )

    log_columns = (
        "seq, recorded_at, actor_id, actor_username, actor_role, department_code, action, object_type, "
        "object_id, outcome, client_address, request_id, channel, details, prev_hash, hash"
    )
    log_sql = f"INSERT INTO bench_log ({log_columns}) VALUES ({', '.join(['%s'] * 16)})"

    def logged(writer: int, n: int) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_logged (case_ref, status, note, updated_at) VALUES (%s, %s, %s, %s)",
                [f"C{writer}-{n}", "accepted", "受理", timezone.now()],
            )
            details = connection.ops.adapt_json_value({"status": "accepted", "note": "受理"}, None)
            cursor.execute(
                log_sql,
                [
                    n,
                    timezone.now(),
                    1,
                    "bench_clerk",
                    "window_clerk",
                    "D01",
                    "bench.case_accepted",
                    "bench_case",
                    f"C{writer}-{n}",
                    "success",
                    "",
                    "0" * 32,
                    "system",
                    details,
                    "0" * 64,
                    "0" * 64,
                ],
            )

    def run(action: Callable[[int, int], None], writers: int) -> float:
        """Transactions per second of ``writers`` threads sharing ``transactions`` transactions."""
        each = transactions // writers
        barrier = threading.Barrier(writers + 1)
        errors: list[BaseException] = []

        def work(writer: int) -> None:
            try:
                barrier.wait()
                for n in range(each):
                    action(writer, n)
            except BaseException as error:  # reported below, in the main thread
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=work, args=(writer,)) for writer in range(writers)]
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        if errors:
            raise errors[0]
        return each * writers / elapsed

    # Warm up both paths (connections, statement caches, first pages of the tables).
    for n in range(50):
        plain(9, n)
        logged(9, n)
        audited(9, n)
    results: dict[str, Any] = {"vendor": connection.vendor, "transactions": transactions, "rounds": rounds}
    for writers in (1, WRITERS):
        # Alternate the two kinds over several rounds so drift in machine load hits both alike; keep the
        # best round of each (the least disturbed by other processes).
        plain_rates: list[float] = []
        logged_rates: list[float] = []
        audited_rates: list[float] = []
        for _ in range(rounds):
            plain_rates.append(run(plain, writers))
            logged_rates.append(run(logged, writers))
            audited_rates.append(run(audited, writers))
        label = "single" if writers == 1 else f"concurrent{writers}"
        results[f"{label}_plain_per_s"] = round(max(plain_rates), 1)
        results[f"{label}_logged_per_s"] = round(max(logged_rates), 1)
        results[f"{label}_audited_per_s"] = round(max(audited_rates), 1)
        results[f"{label}_ratio"] = round(max(audited_rates) / max(plain_rates), 3)
        results[f"{label}_chain_ratio"] = round(max(audited_rates) / max(logged_rates), 3)
    verified = verify_chain()
    results["chain_intact"] = verified.intact
    results["chain_records"] = verified.checked
    connection.close()
    return results


# --- Parent process: set up, run the children, report --------------------------------------------


def _run_child(environment: dict[str, str], transactions: int, rounds: int) -> dict[str, Any]:
    completed = subprocess.run(  # noqa: S603 - runs this very script
        [sys.executable, __file__, "--child", "--transactions", str(transactions), "--rounds", str(rounds)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        message = f"benchmark child failed with exit code {completed.returncode}"
        raise RuntimeError(message)
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _base_environment() -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    environment |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ONEWINDOW_ENV": "development",
        "ONEWINDOW_LOG_LEVEL": "WARNING",
    }
    return environment


def _sqlite(transactions: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ow-bench-") as directory:
        environment = _base_environment() | {"ONEWINDOW_VAR_DIR": directory}
        return _run_child(environment, transactions, rounds)


def _postgres(url: str, transactions: int, rounds: int) -> dict[str, Any]:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    base_name = parts.path.lstrip("/") or "ow_bench"
    name = f"{base_name}_{secrets.token_hex(4)}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        environment = _base_environment() | {
            "DATABASE_URL": urlunsplit(parts._replace(path=f"/{name}")),
            "ONEWINDOW_VAR_DIR": tempfile.mkdtemp(prefix="ow-bench-"),
        }
        return _run_child(environment, transactions, rounds)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _report(name: str, result: dict[str, Any]) -> None:
    print(
        f"\n{name}: {result['transactions']} transactions per measurement, best of {result['rounds']} rounds"
    )
    print(f"  {'writers':<9}{'plain/s':>9}{'logged/s':>10}{'audited/s':>11}{'ratio':>7}{'chain':>7}")
    for label, writers in (("single", 1), (f"concurrent{WRITERS}", WRITERS)):
        ratio = result[f"{label}_ratio"]
        flag = "" if ratio >= TARGET_RATIO else f"  (ratio below {TARGET_RATIO})"
        print(
            f"  {writers:<9}{result[f'{label}_plain_per_s']:>9.0f}{result[f'{label}_logged_per_s']:>10.0f}"
            f"{result[f'{label}_audited_per_s']:>11.0f}{ratio:>7.2f}{result[f'{label}_chain_ratio']:>7.2f}{flag}"
        )
    print("  ratio = audited / plain; chain = audited / logged (the chain's own cost)")
    print(f"  chain after the run: {result['chain_records']} records, intact: {result['chain_intact']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer transactions: finishes in under a minute")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_POSTGRES_URL,
        default=None,
        metavar="URL",
        help=f"also run on PostgreSQL (default URL {DEFAULT_POSTGRES_URL}; DATABASE_URL also enables it)",
    )
    parser.add_argument("--transactions", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    transactions = options.transactions or (240 if options.quick else 2000)
    rounds = options.rounds or (1 if options.quick else 3)
    if options.child:
        sys.stdout.write(json.dumps(_child(transactions, rounds)) + "\n")
        return

    postgres_url = options.postgres or os.environ.get("DATABASE_URL") or None
    started = time.perf_counter()
    sqlite = _sqlite(transactions, rounds)
    _report("SQLite (file, WAL, BEGIN IMMEDIATE)", sqlite)
    postgres = _postgres(postgres_url, transactions, rounds) if postgres_url else None
    if postgres is not None:
        _report("PostgreSQL", postgres)
    else:
        print("\nPostgreSQL: skipped (give --postgres [URL] or set DATABASE_URL)")
    summary: dict[str, Any] = {
        "sqlite_ratio": sqlite["single_ratio"],
        "sqlite_audited_per_s": sqlite["single_audited_per_s"],
        "sqlite_plain_per_s": sqlite["single_plain_per_s"],
        "sqlite_chain_ratio": sqlite["single_chain_ratio"],
        "sqlite_concurrent_ratio": sqlite[f"concurrent{WRITERS}_ratio"],
        "sqlite_concurrent_audited_per_s": sqlite[f"concurrent{WRITERS}_audited_per_s"],
        "postgres_ratio": postgres["single_ratio"] if postgres else None,
        "postgres_audited_per_s": postgres["single_audited_per_s"] if postgres else None,
        "postgres_plain_per_s": postgres["single_plain_per_s"] if postgres else None,
        "postgres_chain_ratio": postgres["single_chain_ratio"] if postgres else None,
        "postgres_concurrent_ratio": postgres[f"concurrent{WRITERS}_ratio"] if postgres else None,
        "postgres_concurrent_audited_per_s": postgres[f"concurrent{WRITERS}_audited_per_s"]
        if postgres
        else None,
        "transactions": transactions,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
