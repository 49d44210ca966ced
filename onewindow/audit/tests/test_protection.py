"""The database refuses to change audit records (MLPS 2.0 / GB/T 22239-2019 §8.1.4.3 c).

§8.1.4.3 c: audit records are protected and backed up regularly against unexpected deletion, modification
or overwriting; records are kept at least six months (Cybersecurity Law of the PRC, art. 21(3)).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from onewindow.audit.actions import audit_append
from onewindow.audit.models import AuditRecord
from onewindow.audit.protection import EXPECTED_TRIGGERS, protection_suspended, protection_triggers

pytestmark = pytest.mark.django_db


def _old(tamper: Callable[[str, list[Any]], None], seq: int, days: int) -> None:
    """Backdate a record (the triggers must judge DELETE by the stored time)."""
    recorded_at = timezone.now() - dt.timedelta(days=days)
    tamper("UPDATE audit_auditrecord SET recorded_at = %s WHERE seq = %s", [recorded_at, seq])


def test_migrations_install_every_protection_trigger() -> None:
    # then: a later migration that rebuilds the table (SQLite does on many ALTERs) must re-create them
    assert protection_triggers() == EXPECTED_TRIGGERS[connection.vendor]


def test_update_is_refused() -> None:
    # given a record
    record = audit_append(action="test.record", acting_user=None)

    # when anyone updates it, through the ORM or SQL
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).update(outcome="denied")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditrecord SET action = 'x'")

    # then nothing changed
    assert AuditRecord.objects.get(pk=record.pk).outcome == "success"
    assert AuditRecord.objects.get(pk=record.pk).action == "test.record"


def test_delete_inside_retention_is_refused(tamper: Callable[[str, list[Any]], None]) -> None:
    # given a new record and one 179 days old
    audit_append(action="test.new", acting_user=None)
    audit_append(action="test.179", acting_user=None)
    _old(tamper, 2, 179)

    # when either is deleted
    with pytest.raises(DatabaseError, match="180"), transaction.atomic():
        AuditRecord.objects.filter(seq=1).delete()
    with pytest.raises(DatabaseError, match="180"), transaction.atomic():
        AuditRecord.objects.filter(seq=2).delete()

    # then both remain
    assert list(AuditRecord.objects.values_list("seq", flat=True)) == [1, 2]


def test_delete_after_retention_is_allowed(tamper: Callable[[str, list[Any]], None]) -> None:
    # given a record 181 days old
    audit_append(action="test.old", acting_user=None)
    _old(tamper, 1, 181)

    # when it is deleted (what audit_purge does), the database allows it
    AuditRecord.objects.filter(seq=1).delete()

    assert AuditRecord.objects.count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no TRUNCATE statement")
def test_truncate_is_refused_on_postgresql() -> None:
    audit_append(action="test.record", acting_user=None)

    with pytest.raises(DatabaseError, match="truncated"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditrecord")

    assert AuditRecord.objects.count() == 1


def test_flush_outside_the_test_environment_is_refused(settings: Any) -> None:
    # given a record and an environment other than the test suite
    audit_append(action="test.record", acting_user=None)
    settings.ONEWINDOW_ENV = "production"

    # when someone empties the database with manage.py flush
    with pytest.raises(CommandError, match="couldn't be flushed"):
        call_command("flush", interactive=False, verbosity=0)

    # then the audit record is still there
    assert AuditRecord.objects.count() == 1


@pytest.mark.parametrize("environment", ["production", "development"])
def test_protection_cannot_be_suspended_outside_tests(
    settings: Any, monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    # given an environment that is not a test run (Django's test environment not set up either)
    settings.ONEWINDOW_ENV = environment
    monkeypatch.delattr(mail, "outbox")

    with pytest.raises(ImproperlyConfigured), protection_suspended():
        pass

    assert protection_triggers() == EXPECTED_TRIGGERS[connection.vendor]
