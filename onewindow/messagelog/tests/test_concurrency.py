"""Concurrent exchanges never fork the message log: 6 threads × 20 appends on their own connections leave
records #1-#120, each following the one before (the PostgreSQL advisory lock; SQLite relies on its
IMMEDIATE transactions, the same mechanism the audit chain's SQLite-file test covers)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from onewindow.messagelog.models import MessageLogRecord
from onewindow.messagelog.tests.factories import append
from onewindow.messagelog.verify import message_log_verify

WRITERS = 6
APPENDS = 20


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the SQLite test database is in memory with a shared cache: concurrent writers get 'table is "
    "locked' instead of waiting",
)
def test_concurrent_appends_on_postgresql_leave_one_unbroken_chain() -> None:
    barrier = threading.Barrier(WRITERS)
    errors: list[str] = []

    def write() -> None:
        try:
            barrier.wait()
            for _ in range(APPENDS):
                append()
        except Exception as error:  # collected and asserted below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    total = WRITERS * APPENDS
    assert list(MessageLogRecord.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, total + 1)
    )
    assert MessageLogRecord.objects.values("prev_hash").distinct().count() == total
    result = message_log_verify()
    assert (result.intact, result.checked) == (True, total)
