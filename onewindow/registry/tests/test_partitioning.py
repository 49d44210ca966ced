"""The population table partitioned by issuing province on PostgreSQL (issue #5 item 8, docs/scaling.md).

The partition key is the province of the ID number (its first two digits, GB/T 2260; GB 11643-1999 §5.2:
the address code is the one that issued the number and never changes), so a row never moves, a lookup by ID
number reads one partition, and "one active record per ID number" is still enforced by one unique index.
SQLite keeps a plain table: the PostgreSQL-only tests skip there.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, models, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from onewindow.accounts.models import User
from onewindow.core.validators import make_id_number
from onewindow.organisations.models import Division
from onewindow.organisations.packaged_divisions import bulk_load_divisions
from onewindow.registry.actions import person_rename
from onewindow.registry.models import Person, PersonStatus
from onewindow.registry.selectors import person_by_id_number
from onewindow.registry.tests.test_population_support import GULOU, MOTHER_ID, register, registrar

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="declarative partitioning is PostgreSQL's; SQLite keeps a plain table",
)

# GB/T 2260 province-level codes: one partition each, plus the DEFAULT partition.
PROVINCES = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
    "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
]  # fmt: skip
DONGCHENG = "110101"  # 北京市东城区
BEIJING_ID = make_id_number(DONGCHENG, dt.date(1985, 2, 3), 17)
BEFORE_PARTITIONING = ("registry", "0003_person_province_import_jobs")


@pytest.fixture
def handler() -> User:
    return registrar()


def _fetch(sql: str, parameters: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters or [])
        return list(cursor.fetchall())


def _partition_of(person: Person) -> str:
    return str(
        _fetch("SELECT tableoid::regclass::text FROM registry_person WHERE id = %s", [person.pk])[0][0]
    )


def _person_partitions_read(sql: str) -> set[str]:
    """The partitions of registry_person that the plan of ``sql`` reads."""
    value = _fetch("EXPLAIN (FORMAT JSON) " + sql)[0][0]
    plan = json.loads(value) if isinstance(value, str) else value
    found: set[str] = set()

    def walk(node: Any) -> None:
        # Scans name their relation in "Plans"; an UPDATE lists its partitions in "Target Tables".
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            relation = str(node.get("Relation Name", ""))
            if relation.startswith("registry_person_"):
                found.add(relation)
            for value in node.values():
                walk(value)

    walk(plan)
    return found


def _person_query(
    captured: CaptureQueriesContext, marker: str = "", table: str = 'FROM "registry_person"'
) -> str:
    queries = [
        query["sql"]
        for query in captured.captured_queries
        if table in query["sql"] and marker in query["sql"]
    ]
    assert len(queries) == 1, queries
    return queries[0]


# --- Both databases ------------------------------------------------------------------------------------


def test_no_database_foreign_key_points_at_the_person_table() -> None:
    # A partitioned table has no unique index on id alone, so PostgreSQL cannot enforce a foreign key to
    # it: every relation to Person, in any app, must be db_constraint=False (the migration drops the rest).
    relations = {
        f"{model._meta.label}.{field.name}": bool(getattr(field, "db_constraint", True))
        for model in apps.get_models(include_auto_created=True)
        for field in model._meta.concrete_fields
        if isinstance(field, models.ForeignKey) and field.related_model is Person
    }
    enforced = [relation for relation, constrained in relations.items() if constrained]
    assert {
        "registry.Household.head",
        "registry.PersonVersion.person",
        "registry.LegalEntity.legal_rep",
    } <= set(relations)
    assert enforced == []


def test_a_registered_person_carries_the_province_that_issued_the_number(handler: User) -> None:
    # GB 11643-1999 §5.2: the first six digits are the issuing division; the first two its province.
    person = register(handler, id_number=BEIJING_ID, household_no="110101000001", division_code=GULOU)
    assert person.province_code == "11"
    assert Person.objects.get(pk=person.pk).province_code == "11"


def test_the_lookup_by_id_number_finds_a_person_of_any_province(handler: User) -> None:
    register(handler)
    beijing = register(handler, id_number=BEIJING_ID, household_no="110101000001", division_code=GULOU)

    view = person_by_id_number(handler, BEIJING_ID)

    assert view["person_id"] == beijing.pk


# --- PostgreSQL -----------------------------------------------------------------------------------------


@postgres_only
def test_the_person_table_is_partitioned_by_list_of_province() -> None:
    strategy, key = _fetch(
        "SELECT p.partstrat, a.attname FROM pg_partitioned_table p "
        "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
        "WHERE p.partrelid = 'registry_person'::regclass"
    )[0]
    assert (strategy, key) == ("l", "province_code")
    bounds = dict(
        _fetch(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'registry_person'::regclass"
        )
    )
    assert bounds == {
        **{f"registry_person_p{code}": f"FOR VALUES IN ('{code}')" for code in PROVINCES},
        "registry_person_default": "DEFAULT",
    }


@postgres_only
def test_the_keys_hold_the_province_and_the_id_still_comes_from_its_sequence(handler: User) -> None:
    primary_key = _fetch(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'registry_person'::regclass AND contype = 'p'"
    )
    assert primary_key == [("PRIMARY KEY (id, province_code)",)]
    # Every index under the name Django gave it, on the partitioned table (ON ONLY) and each partition.
    indexes = dict(_fetch("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'registry_person'"))
    assert indexes == {
        "registry_person_pkey": (
            "CREATE UNIQUE INDEX registry_person_pkey ON ONLY public.registry_person "
            "USING btree (id, province_code)"
        ),
        "registry_person_active_id_number_unique": (
            "CREATE UNIQUE INDEX registry_person_active_id_number_unique ON ONLY public.registry_person "
            "USING btree (id_number_index, province_code) WHERE ((status)::text = 'active'::text)"
        ),
        "registry_person_id_index_idx": (
            "CREATE INDEX registry_person_id_index_idx ON ONLY public.registry_person "
            "USING btree (id_number_index)"
        ),
        "registry_person_household_id_6c47d043": (
            "CREATE INDEX registry_person_household_id_6c47d043 ON ONLY public.registry_person "
            "USING btree (household_id)"
        ),
    }
    assert _fetch(
        "SELECT count(*) FROM pg_inherits "
        "WHERE inhparent = 'registry_person_active_id_number_unique'::regclass"
    ) == [(len(PROVINCES) + 1,)]
    assert _fetch("SELECT pg_get_serial_sequence('registry_person', 'id')") == [
        ("public.registry_person_id_seq",)
    ]
    first = register(handler)
    second = register(handler, id_number=BEIJING_ID, household_no="110101000001", division_code=GULOU)
    assert second.pk > first.pk


@postgres_only
def test_a_person_lands_in_the_partition_of_their_province(handler: User) -> None:
    fujian = register(handler)
    beijing = register(handler, id_number=BEIJING_ID, household_no="110101000001", division_code=GULOU)
    # A number whose first two digits are no province (the 9x of a foreigner's permanent-residence ID).
    stranger = Person.objects.create(
        id_number="931234199001011234",
        id_number_index="stranger",
        province_code="93",
        name="外籍",
        gender="male",
        ethnicity="01",
        birth_date=dt.date(1990, 1, 1),
        birthplace_code=GULOU,
        household=fujian.household,
        relation_to_head="non_relative",
    )

    assert _partition_of(fujian) == "registry_person_p35"
    assert _partition_of(beijing) == "registry_person_p11"
    assert _partition_of(stranger) == "registry_person_default"
    assert Person.objects.count() == 3


@postgres_only
def test_the_lookup_by_id_number_reads_one_partition(handler: User) -> None:
    register(handler)
    register(handler, id_number=BEIJING_ID, household_no="110101000001", division_code=GULOU)

    with CaptureQueriesContext(connection) as captured:
        person_by_id_number(handler, BEIJING_ID)

    assert _person_partitions_read(_person_query(captured)) == {"registry_person_p11"}


@postgres_only
def test_the_locked_read_and_the_update_of_a_front_desk_operation_read_one_partition(handler: User) -> None:
    register(handler)

    with CaptureQueriesContext(connection) as captured:
        person_rename(acting_user=handler, id_number=MOTHER_ID, new_name="林美玲")

    assert _person_partitions_read(_person_query(captured, "FOR UPDATE")) == {"registry_person_p35"}
    # and so does the UPDATE of the row (save() filters on the province too)
    update = _person_query(captured, table='UPDATE "registry_person"')
    assert '"registry_person"."province_code" = ' in update
    assert _person_partitions_read(update) == {"registry_person_p35"}


@postgres_only
def test_a_second_active_record_is_refused_across_the_partitioned_table(handler: User) -> None:
    mother = register(handler)
    twin = Person(
        id_number=MOTHER_ID,
        id_number_index=mother.id_number_index,
        province_code="35",
        name="重复",
        gender="female",
        ethnicity="01",
        birth_date=mother.birth_date,
        birthplace_code=GULOU,
        household=mother.household,
        relation_to_head="other_relative",
    )

    with pytest.raises(IntegrityError, match="duplicate key"), transaction.atomic():
        twin.save()

    assert list(Person.objects.values_list("pk", "status")) == [(mother.pk, PersonStatus.ACTIVE)]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_migration_converts_the_table_both_ways_and_keeps_the_rows() -> None:
    # a transactional test that ran before on this worker may have flushed the divisions' data migration
    bulk_load_divisions(Division)
    handler = registrar()
    fujian = register(handler)
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        # when the migration is reversed: a plain table again, the foreign keys back, the row kept
        executor.migrate([BEFORE_PARTITIONING])
        assert _fetch(
            "SELECT count(*) FROM pg_partitioned_table WHERE partrelid = 'registry_person'::regclass"
        ) == [(0,)]
        assert _fetch(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'registry_person'::regclass AND contype = 'p'"
        ) == [("PRIMARY KEY (id)",)]
        assert _fetch(
            "SELECT count(*) FROM pg_constraint "
            "WHERE contype = 'f' AND confrelid = 'registry_person'::regclass"
        ) == [(3,)]
        assert _fetch("SELECT id, province_code FROM registry_person") == [(fujian.pk, "35")]

        # and applied again: partitioned, the row in its partition, the sequence where it was
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
        assert _partition_of(fujian) == "registry_person_p35"
        beijing = register(handler, id_number=BEIJING_ID, household_no="110101000001", division_code=GULOU)
        assert beijing.pk > fujian.pk
        assert _partition_of(beijing) == "registry_person_p11"
    finally:
        MigrationExecutor(connection).migrate(leaves)
