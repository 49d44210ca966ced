"""On PostgreSQL, ``registry_person`` becomes a table partitioned by issuing province (docs/scaling.md).

``PARTITION BY LIST (province_code)``: one partition per GB/T 2260 province-level code (the first two digits
of an ID number, fixed for life) and a DEFAULT partition for anything else (a code outside the list, such as
the 9x of a foreigner's permanent-residence ID). A row never moves between partitions.

A partitioned table's primary key and unique indexes must hold the partition key, so:

* the primary key becomes (id, province_code); ``id`` stays an identity column, continuing its sequence,
  and stays Django's primary key (ids are only ever drawn from that sequence, so they remain unique);
* "one active record per ID number" becomes unique on (id_number_index, province_code) where active, which
  is the same rule because an ID number always carries the same province;
* the blind index ``id_number_index`` keeps one plain b-tree index (the ``varchar_pattern_ops`` twin that
  ``db_index`` adds on PostgreSQL serves LIKE, never used on a hash, and was a third of the index space);
* nothing can reference ``id`` alone: the foreign keys to Person (Household.head, PersonVersion.person,
  LegalEntity.legal_rep) lose their database constraint (``db_constraint=False``, so Django's state agrees).

The table is converted in place: the rows are moved into the new table, every index and constraint Django
created is recreated under its own name (so later migrations that alter them find them), and the
reverse migration turns it back into a plain table. SQLite keeps a plain table: the operations below other
than the conversion are all it sees.

The SQL is written out here rather than imported so that this migration keeps doing what it did when it was
applied, whatever later code says.
"""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

TABLE = "registry_person"
PRIMARY_KEY = "registry_person_pkey"
# GB/T 2260 province-level divisions: 31 provinces, autonomous regions and municipalities, Taiwan, Hong Kong
# and Macao.
PROVINCE_CODES = (
    "11", "12", "13", "14", "15",
    "21", "22", "23",
    "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46",
    "50", "51", "52", "53", "54",
    "61", "62", "63", "64", "65",
    "71", "81", "82",
)  # fmt: skip


def _partitioned(cursor: Any) -> bool:
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))", [TABLE]
    )
    return bool(cursor.fetchone()[0])


def _references_drop(cursor: Any) -> None:
    """Drop any foreign key still pointing at the table (the models have none with ``db_constraint``)."""
    cursor.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint "
        "WHERE contype = 'f' AND confrelid = %s::regclass",
        [TABLE],
    )
    for table, name in cursor.fetchall():
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')


def _definitions(cursor: Any) -> tuple[list[tuple[str, str]], list[str]]:
    """The table's constraints other than the primary key (name, definition) and the CREATE INDEX statements
    of its indexes that back no constraint, as PostgreSQL writes them."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype <> 'p' ORDER BY conname",
        [TABLE],
    )
    constraints = [(str(name), str(definition)) for name, definition in cursor.fetchall()]
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass "
        "AND i.indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE conrelid = %s::regclass) "
        "ORDER BY c.relname",
        [TABLE, TABLE],
    )
    # A partitioned table's index reads "ON ONLY table"; the same index on a plain table reads "ON table".
    indexes = [str(row[0]).replace(" ON ONLY ", " ON ", 1) for row in cursor.fetchall()]
    return constraints, indexes


def _sequence(cursor: Any) -> tuple[str, int, bool]:
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
    sequence = str(cursor.fetchone()[0])
    cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608 - a catalogue name
    last_value, is_called = cursor.fetchone()
    return sequence, int(last_value), bool(is_called)


def _rebuild(cursor: Any, *, partitioned: bool) -> None:
    """Recreate the table (partitioned or plain) with the same columns, rows, sequence position, constraints
    and index names."""
    _references_drop(cursor)
    constraints, indexes = _definitions(cursor)
    sequence, last_value, is_called = _sequence(cursor)
    old = f"{TABLE}_old"
    cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {old}")
    partition_by = " PARTITION BY LIST (province_code)" if partitioned else ""
    # The new identity sequence gets a free name (the old one is still taken) and is renamed below.
    cursor.execute(
        f"CREATE TABLE {TABLE} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING STORAGE "
        f"INCLUDING COMMENTS){partition_by}"
    )
    if partitioned:
        for code in PROVINCE_CODES:
            cursor.execute(f"CREATE TABLE {TABLE}_p{code} PARTITION OF {TABLE} FOR VALUES IN ('{code}')")
        cursor.execute(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")
    cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {old}")  # noqa: S608 - fixed names
    cursor.execute(f"DROP TABLE {old}")
    key = "id, province_code" if partitioned else "id"
    cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {PRIMARY_KEY} PRIMARY KEY ({key})")
    for name, definition in constraints:
        cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
    for statement in indexes:
        cursor.execute(statement)
    new_sequence = _sequence(cursor)[0]
    if new_sequence != sequence:
        cursor.execute(f"ALTER SEQUENCE {new_sequence} RENAME TO {sequence.rsplit('.', 1)[-1]}")
    cursor.execute("SELECT setval(%s, %s, %s)", [sequence, last_value, is_called])
    cursor.execute(f"ANALYZE {TABLE}")


def _partition(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if not _partitioned(cursor):
            _rebuild(cursor, partitioned=True)


def _unpartition(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if _partitioned(cursor):
            _rebuild(cursor, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0003_person_province_import_jobs"),
    ]

    operations = [
        migrations.AlterField(
            model_name="household",
            name="head",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="registry.person",
                verbose_name="head of household",
            ),
        ),
        migrations.AlterField(
            model_name="legalentity",
            name="legal_rep",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="registry.person",
                verbose_name="legal representative",
            ),
        ),
        migrations.AlterField(
            model_name="personversion",
            name="person",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="versions",
                to="registry.person",
            ),
        ),
        # The blind index is only ever compared for equality: one plain index, not db_index's pair (which
        # adds a varchar_pattern_ops index for LIKE on PostgreSQL).
        migrations.AlterField(
            model_name="person",
            name="id_number_index",
            field=models.CharField(max_length=64),
        ),
        migrations.AddIndex(
            model_name="person",
            index=models.Index(fields=["id_number_index"], name="registry_person_id_index_idx"),
        ),
        migrations.RemoveConstraint(
            model_name="person",
            name="registry_person_active_id_number_unique",
        ),
        migrations.AddConstraint(
            model_name="person",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "active")),
                fields=("id_number_index", "province_code"),
                name="registry_person_active_id_number_unique",
            ),
        ),
        migrations.RunPython(_partition, _unpartition, elidable=False),
    ]
