"""The database triggers that make the audit table append-only (installed by migration 0002).

:func:`protection_triggers` reports which triggers are present, so tests and ``audit_verify`` notice when a
later migration rebuilt the table without them (SQLite rebuilds tables on many ALTERs and drops their
triggers). :func:`protection_suspended` exists only for the test suite: Django's test teardown empties
every table, which the triggers rightly refuse.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from onewindow.audit.models import AuditRecord

TABLE = AuditRecord._meta.db_table
EXPECTED_TRIGGERS = {
    "postgresql": frozenset(
        {"audit_auditrecord_no_update", "audit_auditrecord_no_delete", "audit_auditrecord_no_truncate"}
    ),
    "sqlite": frozenset({"audit_auditrecord_no_update", "audit_auditrecord_no_delete"}),
}


def protection_triggers(using: str = "default") -> frozenset[str]:
    """Names of the enabled protection triggers on the audit table."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal "
                "AND tgenabled <> 'D'",
                [TABLE],
            )
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE])
        else:
            return frozenset()
        return frozenset(row[0] for row in cursor.fetchall())


def protection_complete(using: str = "default") -> bool:
    vendor = connections[using].vendor
    return EXPECTED_TRIGGERS.get(vendor, frozenset()) <= protection_triggers(using)


def test_run() -> bool:
    """True while the test suite runs: never in production; ``ONEWINDOW_ENV=test``, or Django's test
    environment is set up (``setup_test_environment`` gives ``django.core.mail`` its ``outbox``).

    The second test matters because pytest-django reads the settings before the root conftest.py can set
    ``ONEWINDOW_ENV``.
    """
    if settings.ONEWINDOW_ENV == "production":
        return False
    return settings.ONEWINDOW_ENV == "test" or hasattr(mail, "outbox")


@contextmanager
def protection_suspended(using: str = "default") -> Iterator[None]:
    """Switch the triggers off for the duration of the block (test runs only: see :func:`test_run`).

    Inside a transaction the change is transactional on both databases and rolls back with it.
    """
    if not test_run():
        message = "audit protection may only be suspended while the test suite runs"
        raise ImproperlyConfigured(message)
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f'ALTER TABLE "{TABLE}" DISABLE TRIGGER USER')
            try:
                yield
            finally:
                cursor.execute(f'ALTER TABLE "{TABLE}" ENABLE TRIGGER USER')
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE]
            )
            saved = cursor.fetchall()
            for name, _sql in saved:
                cursor.execute(f'DROP TRIGGER "{name}"')
            try:
                yield
            finally:
                for _name, sql in saved:
                    cursor.execute(sql, None)
        else:
            yield
