"""Concurrent writers never fork the chain (MLPS 2.0 / GB/T 22239-2019 §8.1.4.3 c: records are not
overwritten or lost): 8 writers × 25 appends leave records #1-#200, each following the one before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from onewindow.audit.models import AuditRecord
from onewindow.audit.tests.concurrent_writers import run_writers
from onewindow.audit.verify import verify_chain

WRITERS = 8
APPENDS = 25
TOTAL = WRITERS * APPENDS


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the SQLite test database is in memory with a shared cache, where concurrent writers get "
    "'database table is locked' instead of waiting; the SQLite case runs on a file database below",
)
def test_concurrent_writers_on_postgresql_leave_one_unbroken_chain() -> None:
    # when 8 threads, each on its own connection, append 25 records each at the same time
    errors = run_writers(WRITERS, APPENDS)

    # then no append failed, seq runs 1..200 without gaps, no two records follow the same one
    assert errors == []
    assert list(AuditRecord.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, TOTAL + 1)
    )
    assert AuditRecord.objects.values("prev_hash").distinct().count() == TOTAL
    result = verify_chain()
    assert (result.intact, result.checked) == (True, TOTAL)


def test_concurrent_writers_on_a_sqlite_file_leave_one_unbroken_chain(tmp_path: Path) -> None:
    # given a fresh SQLite file database with the project's settings (WAL, BEGIN IMMEDIATE, busy timeout)
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    environment |= {
        "ONEWINDOW_ENV": "test",
        "ONEWINDOW_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ONEWINDOW_LOG_LEVEL": "WARNING",
    }

    # when 8 threads append 25 records each at the same time, in a child process
    completed = subprocess.run(
        [sys.executable, "-m", "onewindow.audit.tests.concurrent_writers", str(WRITERS), str(APPENDS)],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # then the chain is whole: #1-#200, no fork, verified
    assert completed.returncode == 0, completed.stderr
    outcome = json.loads(completed.stdout.strip().splitlines()[-1])
    assert outcome["vendor"] == "sqlite"
    assert outcome["errors"] == []
    assert outcome["seqs"] == list(range(1, TOTAL + 1))
    assert outcome["distinct_prev_hashes"] == TOTAL
    assert (outcome["intact"], outcome["checked"], outcome["problem"]) == (True, TOTAL, "")
