"""The (service, started_at) index of the message log (migration 0002): the exchange's per-service monitoring
page reads one service's calls over a time window (docs/exchange.md "Monitoring"). The migration is
reversible."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from onewindow.messagelog.models import MessageLogRecord

INDEX = "messagelog_service_started_idx"
BEFORE = ("messagelog", "0001_initial")
TABLE = MessageLogRecord._meta.db_table


def _indexes() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return {name: list(info["columns"]) for name, info in constraints.items() if info["index"]}


@pytest.mark.django_db
def test_the_log_has_an_index_on_service_and_start_time() -> None:
    assert _indexes()[INDEX] == ["service", "started_at"]


def test_the_index_migration_only_has_reversible_operations() -> None:
    from django.db.migrations.loader import MigrationLoader

    migration = MigrationLoader(None, ignore_no_migrations=True).get_migration(
        "messagelog", "0002_service_started_at_index"
    )
    assert [operation.reversible for operation in migration.operations] == [True]


@pytest.mark.django_db
def test_the_index_migration_is_reversed_and_applied_again() -> None:
    """Inside the test's transaction (PostgreSQL's DDL is transactional); SQLite's schema editor refuses to
    run inside one, and a transactional test would flush the data migrations' rows for the tests after it."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite cannot change the schema inside the test's transaction (checked on PostgreSQL)")
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([BEFORE])
        assert INDEX not in _indexes()
        assert "messagelog_started_idx" in _indexes()
        MigrationExecutor(connection).migrate(leaves)
        assert _indexes()[INDEX] == ["service", "started_at"]
    finally:
        MigrationExecutor(connection).migrate(leaves)
