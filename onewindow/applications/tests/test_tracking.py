"""Tracking numbers: format, ISO 7064 MOD 11-2 check, daily sequence, uniqueness under concurrency."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections

from onewindow.applications.models import Application, TrackingCounter
from onewindow.applications.tracking import CHINA, is_valid_tracking_no, mod11_2_check, tracking_no_next

pytestmark = pytest.mark.django_db

needs_postgres = pytest.mark.skipif(
    not settings.IS_POSTGRES, reason="SQLite serialises writers (IMMEDIATE transactions): no real concurrency"
)


def test_check_character_is_the_id_number_algorithm() -> None:
    """GB 11643-1999 uses ISO 7064 MOD 11-2: known ID numbers check out."""
    assert mod11_2_check("11010519491231002") == "X"
    assert mod11_2_check("44052418800101001") == "4"


def test_format_and_daily_sequence() -> None:
    day = datetime(2025, 12, 31, 23, 30, tzinfo=CHINA)
    first = tracking_no_next(now=day)
    second = tracking_no_next(now=day)
    assert len(first) == 21
    assert first[:20] == f"{settings.TRACKING_DIVISION_CODE}20251231000001"
    assert second[14:20] == "000002"
    assert is_valid_tracking_no(first)
    assert is_valid_tracking_no(second)
    assert not is_valid_tracking_no(first[:20] + ("0" if first[20] != "0" else "1"))
    # The date is Asia/Shanghai's: 2026-01-01 00:30 there is still 2025-12-31 in UTC.
    next_day = tracking_no_next(now=datetime(2026, 1, 1, 0, 30, tzinfo=CHINA))
    assert next_day[6:20] == "20260101000001"


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_unique_under_threads() -> None:
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            from django.db import transaction

            for _ in range(10):
                with transaction.atomic():
                    number = tracking_no_next()
                with lock:
                    numbers.append(number)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(numbers) == len(set(numbers)) == 80
    assert TrackingCounter.objects.get().value == 80


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_idempotent_submits_make_one_application(role_users: dict[str, Any]) -> None:
    from onewindow.applications.actions import application_submit
    from onewindow.applications.tests.factories import VALID_FORM, published_service
    from onewindow.services.models import Channel

    published_service("TSVC")
    resident = role_users["resident"]
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        try:
            barrier.wait()
            application, created = application_submit(
                acting_user=resident,
                service_code="TSVC",
                form=dict(VALID_FORM),
                channel=Channel.API,
                idempotency_key="same-key",
            )
            results.append((application.pk, created))
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({pk for pk, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert Application.objects.count() == 1
    assert connection.vendor == "postgresql"
