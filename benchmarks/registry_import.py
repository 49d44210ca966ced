"""The population register at scale: bulk import against a raw COPY, peak memory, and lookup latency by ID
number, on PostgreSQL with the person table partitioned by province (docs/scaling.md).

What it does, in one run:

1. generates ``--persons`` persons (default 10,000,000; ``--quick`` 50,000) as a CSV file in the import
   format with ``onewindow.registry.testdata`` (valid ID numbers spread over every county of GB/T 2260,
   households of one to five); ``--csv-dir DIR`` keeps the file there and reuses it while the generator is
   unchanged;
2. creates a throwaway PostgreSQL database (``--postgres URL``, default
   postgres://postgres@127.0.0.1:5432/ow_bench; a random suffix is added), migrates it, loads the demo data
   (for the public-security handler ``psb_handler``); the registry keys are random, as in production;
3. **raw COPY**: ``COPY … FROM STDIN (FORMAT csv)`` of the same file into a bare table with the same nine
   columns as text, no index, no check: the floor any import is measured against; the table is dropped;
4. **import**: ``persons_import`` (onewindow/registry/importing.py: every row checked, ID numbers hashed
   with HMAC-SM3, ID number, name and address sealed with AES-256-GCM, households, a version per person)
   in a child process, so that its peak memory (``ru_maxrss`` of the importing process and of its
   checking workers) is its own; then ``ANALYZE``;
5. prints rows/s of both and their ratio (aim: import / COPY >= 0.5), the sizes of the person table, its
   indexes and each partition;
6. **lookups in-process**: ``--lookups`` calls of ``registry.selectors.person_by_id_number`` (what the API
   calls: permission check, partition-pruned index lookup, decryption, an audit record committed) for
   random ID numbers of the file, as ``psb_handler``; p50/p99 (aim: p99 < 2 ms); then the same calls with
   the session's ``synchronous_commit`` off (how much is the wait for the audit record's WAL flush), and
   the bare query alone;
7. **API**: starts ``onewindow serve`` (gunicorn) on a free port and sends ``--clients`` clients (default 1)
   for ``--seconds`` to ``GET /api/v1/registry/persons/{id_number}`` with random ID numbers and
   ``psb_handler``'s bearer token, after a ``GET /api/v1/me`` baseline; p50/p95/p99 (aim: p95 < 15 ms);
   ``--explain`` prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the lookup;
8. drops the database (and the CSV file unless ``--csv-dir``).

    python benchmarks/registry_import.py --quick                  # 50,000 persons, under a minute
    python benchmarks/registry_import.py --persons 1000000        # 1 M
    python benchmarks/registry_import.py --csv-dir var/bench      # 10 M, keeping the 0.9 GB CSV file

The full 10 M run wants a quiet machine and about 15 GB of free disk (at 1 M the person table, its indexes,
the versions and households took 1.4 GB, the CSV file 85 MB); at the 1 M rate of about 12,000 rows/s its
import alone takes a quarter of an hour, longer once the indexes outgrow memory. The last line printed is one
JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import http.client
import json
import os
import random
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/ow_bench"
HANDLER = "psb_handler"
SEED = 2026
TARGET_RATIO = 0.5
TARGET_LOOKUP_P99_MS = 2.0
TARGET_API_P95_MS = 15.0
RAW_COLUMNS = (
    "id_number",
    "name",
    "gender",
    "ethnicity",
    "birth_date",
    "division_code",
    "address",
    "household_no",
    "relation_to_head",
)


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted seconds, in milliseconds."""
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return round(ordered[index] * 1000, 3)


def _latency(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "count": len(ordered),
        "p50_ms": _percentile(ordered, 0.50),
        "p95_ms": _percentile(ordered, 0.95),
        "p99_ms": _percentile(ordered, 0.99),
        "max_ms": round(ordered[-1] * 1000, 3) if ordered else 0.0,
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3) if ordered else 0.0,
    }


# --- Child process: the import alone --------------------------------------------------------------------


def _import_child(path: Path, workers: int | None, batch_size: int) -> None:
    """Run ``persons_import`` and print one JSON line: what it did, its time and its peak memory."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from onewindow.registry.importing import persons_import

    started = time.perf_counter()
    result = persons_import(path, workers=workers, batch_size=batch_size)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows_read": result.rows_read,
                "imported": result.imported_now,
                "rejected": result.rejected_now,
                "seconds": seconds,
                # Linux reports ru_maxrss in KiB.
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "workers_peak_rss_mib": round(
                    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
                ),
            }
        )
    )


# --- Steps in the main process ---------------------------------------------------------------------------


def _generate(path: Path, persons: int) -> float:
    """Write the CSV file unless a complete one is there; returns the seconds it took (0 if reused)."""
    from onewindow.registry import testdata
    from onewindow.registry.testdata import write_persons_csv

    # The file is reused only if it was written in full by the same generator.
    generator = hashlib.sha256(Path(testdata.__file__).read_bytes()).hexdigest()
    done = path.with_suffix(".done")
    if path.exists() and done.exists() and done.read_text() == generator:
        return 0.0
    done.unlink(missing_ok=True)
    started = time.perf_counter()
    write_persons_csv(path, persons, seed=SEED)
    done.write_text(generator)
    return time.perf_counter() - started


def _raw_copy(url: str, path: Path) -> tuple[int, float]:
    """COPY the file into a bare table of text columns; returns (rows, seconds). The table is dropped."""
    import psycopg

    columns = ", ".join(f"{name} text" for name in RAW_COLUMNS)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE TABLE bench_raw_person ({columns})".encode())
        _checkpoint(connection)
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy(b"COPY bench_raw_person FROM STDIN (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as handle,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        seconds = time.perf_counter() - started
        row = connection.execute(b"SELECT count(*) FROM bench_raw_person").fetchone()
        connection.execute(b"DROP TABLE bench_raw_person")
        _checkpoint(connection)
    return int(row[0]) if row else 0, seconds


def _checkpoint(connection: Any) -> None:
    """Start each timed write with the earlier writes flushed, so neither pays for the other's."""
    import psycopg

    # Not a superuser: no CHECKPOINT, and the figures are a little noisier.
    with contextlib.suppress(psycopg.Error):
        connection.execute(b"CHECKPOINT")


def _import(path: Path, environment: dict[str, str], workers: int | None, batch_size: int) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--import-only", str(path)]
    command += ["--batch-size", str(batch_size)]
    if workers is not None:
        command += ["--workers", str(workers)]
    completed = subprocess.run(  # noqa: S603 - this script, with our own arguments
        command, cwd=ROOT, env={**os.environ, **environment}, check=True, stdout=subprocess.PIPE, text=True
    )
    figures: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures


def _analyze_and_sizes() -> dict[str, Any]:
    """ANALYZE the registry tables; the person table's partitions with their table and index sizes."""
    from django.db import connection

    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute("ANALYZE registry_person, registry_personversion, registry_household")
        analyze_seconds = time.perf_counter() - started
        cursor.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_table_size(c.oid), pg_indexes_size(c.oid) "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'registry_person'::regclass ORDER BY c.relname"
        )
        partitions = [
            {
                "partition": name,
                "rows": max(int(rows), 0),
                "table_bytes": int(table),
                "index_bytes": int(index),
            }
            for name, rows, table, index in cursor.fetchall()
        ]
        cursor.execute(
            "SELECT pg_total_relation_size('registry_personversion'), "
            "pg_total_relation_size('registry_household')"
        )
        versions_bytes, households_bytes = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM registry_person")
        persons = int(cursor.fetchone()[0])
        # Each index of the partitioned table, summed over its partitions' indexes.
        cursor.execute(
            "SELECT parent.relname, sum(pg_relation_size(i.inhrelid)) FROM pg_index x "
            "JOIN pg_class parent ON parent.oid = x.indexrelid "
            "JOIN pg_inherits i ON i.inhparent = x.indexrelid "
            "WHERE x.indrelid = 'registry_person'::regclass GROUP BY parent.relname ORDER BY parent.relname"
        )
        indexes = {str(name): int(size) for name, size in cursor.fetchall()}
    return {
        "analyze_seconds": round(analyze_seconds, 1),
        "persons": persons,
        "partitions": partitions,
        "person_table_bytes": sum(item["table_bytes"] for item in partitions),
        "person_index_bytes": sum(item["index_bytes"] for item in partitions),
        "versions_bytes": int(versions_bytes),
        "households_bytes": int(households_bytes),
        "indexes": indexes,
    }


def _sample(path: Path, count: int, seed: int) -> list[str]:
    """ID numbers of ``count`` random persons of the file: the line after a random byte offset."""
    chooser = random.Random(seed)
    size = path.stat().st_size
    found: list[str] = []
    with path.open("rb") as handle:
        handle.readline()  # the header
        start = handle.tell()
        while len(found) < count:
            handle.seek(chooser.randrange(start, size))
            handle.readline()  # the rest of the line the offset fell in
            line = handle.readline()
            if line:
                found.append(line.split(b",", 1)[0].decode())
    return found


def _lookups(id_numbers: list[str], warm_up: int) -> dict[str, dict[str, float]]:
    """Time, for each ID number: ``person_by_id_number`` (``selector``); the same with the session's
    ``synchronous_commit`` off (``selector_async_commit``: what the wait for the audit record's WAL flush
    costs); the bare partition-pruned query alone (``query``)."""
    from django.db import connection
    from django.db.models import Case, IntegerField, Value, When

    from onewindow.accounts.models import User
    from onewindow.registry.models import Person, PersonStatus
    from onewindow.registry.protection import blind_index
    from onewindow.registry.selectors import person_by_id_number

    handler = User.objects.get(username=HANDLER)
    for id_number in id_numbers[:warm_up]:
        person_by_id_number(handler, id_number)
    selector: list[float] = []
    for id_number in id_numbers:
        started = time.perf_counter()
        person_by_id_number(handler, id_number)
        selector.append(time.perf_counter() - started)
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    selector_async: list[float] = []
    for id_number in id_numbers:
        started = time.perf_counter()
        person_by_id_number(handler, id_number)
        selector_async.append(time.perf_counter() - started)
    with connection.cursor() as cursor:
        cursor.execute("RESET synchronous_commit")
    active_first = Case(
        When(status=PersonStatus.ACTIVE, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    query: list[float] = []
    for id_number in id_numbers:
        started = time.perf_counter()
        found = (
            Person.objects.filter(
                id_number_index=blind_index(id_number, kind="id_number"), province_code=id_number[:2]
            )
            .order_by(active_first, "-id")
            .values_list("pk", flat=True)
            .first()
        )
        query.append(time.perf_counter() - started)
        if found is None:
            message = f"a sampled ID number is not in the register: {id_number[:6]}…"
            raise SystemExit(message)
    return {
        "selector": _latency(selector),
        "selector_async_commit": _latency(selector_async),
        "query": _latency(query),
    }


def _explain(id_number: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from onewindow.accounts.models import User
    from onewindow.registry.selectors import person_by_id_number

    with CaptureQueriesContext(connection) as captured:
        person_by_id_number(User.objects.get(username=HANDLER), id_number)
    for query in captured.captured_queries:
        if 'FROM "registry_person"' in query["sql"]:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                print("\n--- EXPLAIN person_by_id_number")
                print("\n".join(row[0] for row in cursor.fetchall()))


def _token() -> str:
    """A bearer token for the benchmark handler."""
    from django.conf import settings
    from django.utils import timezone

    from onewindow.accounts.api_auth import token_hash
    from onewindow.accounts.models import ApiToken, User

    token = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=User.objects.get(username=HANDLER),
        token_hash=token_hash(token),
        expires_at=timezone.now() + timedelta(seconds=settings.API_TOKEN_TTL_SECONDS),
    )
    return token


# --- HTTP ----------------------------------------------------------------------------------------------


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers={"Host": "localhost", "Connection": "close", **headers})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            message = "onewindow serve exited during start-up"
            raise SystemExit(message)
        try:
            if _get(port, "/healthz", {})[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    message = "onewindow serve did not become ready"
    raise SystemExit(message)


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def figures(self) -> dict[str, Any]:
        return {
            **_latency(self.latencies),
            "per_second": round(len(self.latencies) / self.seconds, 1) if self.seconds else 0.0,
            "statuses": {str(code): count for code, count in sorted(self.statuses.items())},
        }


def _run_phase(
    port: int, name: str, paths: list[str], headers: dict[str, str], clients: int, seconds: float
) -> Phase:
    """``clients`` threads GET the paths in turn for ``seconds``; each request's own time is recorded."""
    phase = Phase(name)
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    counter = iter(range(1 << 62))

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                path = paths[next(counter) % len(paths)]
            started = time.perf_counter()
            try:
                status, _ = _get(port, path, headers)
            except OSError:
                status = 0
            elapsed = time.perf_counter() - started
            with lock:
                phase.latencies.append(elapsed)
                phase.statuses[status] = phase.statuses.get(status, 0) + 1

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.monotonic() - started
    return phase


# --- Main -------------------------------------------------------------------------------------------


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="50,000 persons, short phases (under a minute)")
    parser.add_argument("--persons", type=int, default=10_000_000, help="persons to generate and import")
    parser.add_argument(
        "--workers", type=int, default=None, help="the import's checking processes (default: its own)"
    )
    parser.add_argument("--batch-size", type=int, default=5000, help="rows per import transaction")
    parser.add_argument("--lookups", type=int, default=5000, help="in-process lookups to time")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each API phase")
    parser.add_argument("--clients", type=int, default=1, help="concurrent API clients")
    parser.add_argument("--serve-workers", type=int, default=0, help="gunicorn workers (default: serve's)")
    parser.add_argument("--csv-dir", type=Path, default=None, help="keep (and reuse) the generated CSV here")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the lookup")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--import-only", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    if args.import_only is not None:
        _import_child(args.import_only, args.workers, args.batch_size)
        return
    sys.path.insert(0, str(ROOT))
    import bench_support

    persons = 50_000 if args.quick else args.persons
    lookups = 1000 if args.quick else args.lookups
    seconds = 3.0 if args.quick else args.seconds
    load_before = os.getloadavg()

    database_url = bench_support.database_url(args.postgres)
    admin_url = bench_support.admin_url(database_url)
    database_name = urlsplit(database_url).path.lstrip("/")
    var_dir = Path(tempfile.mkdtemp(prefix="ow-bench-registry-"))
    csv_dir = args.csv_dir.resolve() if args.csv_dir is not None else var_dir
    csv_dir.mkdir(parents=True, exist_ok=True)
    csv_path = csv_dir / f"persons-{persons}-seed{SEED}.csv"
    environment = {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ONEWINDOW_ENV": "development",
        "ONEWINDOW_DEBUG": "false",
        "ONEWINDOW_VAR_DIR": str(var_dir),
        "ONEWINDOW_MEDIA_ROOT": str(var_dir / "media"),
        "ONEWINDOW_LOG_LEVEL": "WARNING",
        # Keys of their own, as in production (not the development default derived from the secret key).
        "ONEWINDOW_REGISTRY_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ONEWINDOW_REGISTRY_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    os.environ.update(environment)
    import django

    django.setup()
    from django.db import connection, connections

    onewindow = str(Path(sys.executable).with_name("onewindow"))
    server: subprocess.Popen[bytes] | None = None
    bench_support.psql(admin_url, f'CREATE DATABASE "{database_name}"')
    try:
        generate_seconds = _generate(csv_path, persons)
        csv_bytes = csv_path.stat().st_size
        print(
            f"{persons:,} persons in {csv_path.name} ({csv_bytes / 2**20:,.0f} MiB), "
            f"generated in {generate_seconds:.1f} s"
        )
        subprocess.run([onewindow, "migrate", "--verbosity", "0"], cwd=ROOT, check=True)  # noqa: S603
        bench_support.demo_load(var_dir)
        with connection.cursor() as cursor:
            cursor.execute("SHOW shared_buffers")
            shared_buffers = str(cursor.fetchone()[0])
        connections.close_all()

        copied, copy_seconds = _raw_copy(database_url, csv_path)
        copy_rate = copied / copy_seconds
        print(f"raw COPY:  {copied:,} rows in {copy_seconds:.1f} s = {copy_rate:,.0f} rows/s")
        imported = _import(csv_path, environment, args.workers, args.batch_size)
        import_rate = imported["imported"] / imported["seconds"]
        ratio = import_rate / copy_rate
        print(
            f"import:    {imported['imported']:,} rows ({imported['rejected']:,} rejected) in "
            f"{imported['seconds']:.1f} s = {import_rate:,.0f} rows/s; ratio import/COPY {ratio:.3f} "
            f"(aim >= {TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'not met'})"
        )
        print(
            f"peak memory: importing process {imported['peak_rss_mib']:,.0f} MiB, "
            f"largest checking worker {imported['workers_peak_rss_mib']:,.0f} MiB"
        )
        sizes = _analyze_and_sizes()
        partitions = sizes["partitions"]
        largest = max(partitions, key=lambda item: item["rows"])
        table_mib, index_mib = sizes["person_table_bytes"] / 2**20, sizes["person_index_bytes"] / 2**20
        per_person = (sizes["person_table_bytes"] + sizes["person_index_bytes"]) / max(sizes["persons"], 1)
        print(
            f"registry_person: {sizes['persons']:,} rows in {len(partitions)} partitions; table "
            f"{table_mib:,.0f} MiB + indexes {index_mib:,.0f} MiB ({per_person:,.0f} bytes a person); "
            f"largest partition {largest['partition']}: {largest['rows']:,} rows, table "
            f"{largest['table_bytes'] / 2**20:,.1f} MiB + indexes {largest['index_bytes'] / 2**20:,.1f} MiB"
        )
        print(
            "indexes: "
            + ", ".join(f"{name} {size / 2**20:,.1f} MiB" for name, size in sizes["indexes"].items())
        )
        print(
            f"registry_personversion {sizes['versions_bytes'] / 2**20:,.0f} MiB, registry_household "
            f"{sizes['households_bytes'] / 2**20:,.0f} MiB (with indexes); "
            f"ANALYZE {sizes['analyze_seconds']} s"
        )

        sample = _sample(csv_path, lookups, seed=SEED)
        timed = _lookups(sample, warm_up=min(200, lookups))
        selector, unflushed, query = timed["selector"], timed["selector_async_commit"], timed["query"]
        print(
            f"person_by_id_number in-process ({lookups:,} lookups, audited): p50 {selector['p50_ms']} ms, "
            f"p99 {selector['p99_ms']} ms (aim p99 < {TARGET_LOOKUP_P99_MS:g} ms: "
            f"{'met' if selector['p99_ms'] < TARGET_LOOKUP_P99_MS else 'not met'}); with synchronous_commit "
            f"off: p50 {unflushed['p50_ms']} ms, p99 {unflushed['p99_ms']} ms; the query alone: "
            f"p50 {query['p50_ms']} ms, p99 {query['p99_ms']} ms"
        )
        if args.explain:
            _explain(sample[0])
        token = _token()
        connections.close_all()

        port = bench_support.free_port()
        serve = [onewindow, "serve", "--bind", f"127.0.0.1:{port}"]
        if args.serve_workers:
            serve += ["--workers", str(args.serve_workers)]
        server = subprocess.Popen(serve, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        _wait_ready(port, server)
        bearer = {"Authorization": f"Bearer {token}"}
        paths = [
            f"/api/v1/registry/persons/{id_number}" for id_number in _sample(csv_path, 20_000, seed=SEED + 1)
        ]
        warm = 0.5 if args.quick else 2.0
        _run_phase(port, "warm-up", ["/api/v1/me"], bearer, max(args.clients, 2), warm)
        me = _run_phase(port, "me", ["/api/v1/me"], bearer, args.clients, seconds)
        _run_phase(port, "warm-up", paths[-500:], bearer, max(args.clients, 2), warm)
        api = _run_phase(port, "person", paths, bearer, args.clients, seconds)
        connections.close_all()
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        connections.close_all()
        bench_support.psql(admin_url, f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)
    load_after = os.getloadavg()

    me_figures, api_figures = me.figures(), api.figures()
    all_ok = api_figures["statuses"] == {"200": api_figures["count"]} and me_figures["statuses"] == {
        "200": me_figures["count"]
    }
    api_met = "met" if api_figures["p95_ms"] < TARGET_API_P95_MS else "not met"
    print(
        f"API ({args.clients} client(s), {seconds:g} s): GET /api/v1/me p50 {me_figures['p50_ms']} ms, "
        f"p95 {me_figures['p95_ms']} ms; GET /api/v1/registry/persons/{{id}} "
        f"{api_figures['per_second']} req/s, p50 {api_figures['p50_ms']} ms, p95 {api_figures['p95_ms']} ms, "
        f"p99 {api_figures['p99_ms']} ms (aim p95 < {TARGET_API_P95_MS:g} ms: {api_met}); "
        f"statuses {api_figures['statuses']}"
    )
    print(f"PostgreSQL shared_buffers {shared_buffers}; {os.cpu_count()} cores")
    print(
        "load average before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f}".format(
            *load_before, *load_after
        )
    )
    headline: dict[str, Any] = {
        "benchmark": "registry_import",
        "database": "postgresql",
        "persons": persons,
        "csv_mib": round(csv_bytes / 2**20, 1),
        "copy_rows_per_s": round(copy_rate),
        "import_rows_per_s": round(import_rate),
        "import_copy_ratio": round(ratio, 3),
        "import_seconds": round(imported["seconds"], 1),
        "imported": imported["imported"],
        "rejected": imported["rejected"],
        "import_peak_rss_mib": imported["peak_rss_mib"],
        "workers_peak_rss_mib": imported["workers_peak_rss_mib"],
        "partitions": len(partitions),
        "person_table_mib": round(sizes["person_table_bytes"] / 2**20, 1),
        "person_index_mib": round(sizes["person_index_bytes"] / 2**20, 1),
        "largest_partition_rows": largest["rows"],
        "largest_partition_mib": round((largest["table_bytes"] + largest["index_bytes"]) / 2**20, 1),
        "lookup_p50_ms": selector["p50_ms"],
        "lookup_p99_ms": selector["p99_ms"],
        "lookup_async_commit_p50_ms": unflushed["p50_ms"],
        "lookup_async_commit_p99_ms": unflushed["p99_ms"],
        "query_p50_ms": query["p50_ms"],
        "query_p99_ms": query["p99_ms"],
        "api_p50_ms": api_figures["p50_ms"],
        "api_p95_ms": api_figures["p95_ms"],
        "api_p99_ms": api_figures["p99_ms"],
        "me_p95_ms": me_figures["p95_ms"],
        "all_ok": all_ok and imported["rejected"] == 0 and sizes["persons"] == persons,
        "load_average_before": round(load_before[0], 2),
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
