"""Database side of the bulk import (``importing``): one checked batch in, inside its transaction.

PostgreSQL: the batch is copied (``COPY``) into a temporary staging table, and one statement inserts the
records with ``ON CONFLICT DO NOTHING`` (no conflict target: it holds for the partitioned person table's
unique index on (ID number index, province) as well), writes the version 1 of each inserted record and, for
persons, makes the heads of households; it answers the staged lines that met an existing record. SQLite
inserts one row per statement (``RETURNING id``). Both then classify the conflicts the same way: a
duplicate in the file when this import wrote the record it met (its version 1 reason names the job and the
line), else a duplicate in the database. Nothing here relies on a database foreign key to the person table.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from django.db import connection

from onewindow.registry.entities import REGISTRY_ENTITY_DEPARTMENT
from onewindow.registry.entities import _snapshot as entity_snapshot
from onewindow.registry.importing_rows import (
    EntityRow,
    PersonRow,
    Reject,
    Sealer,
    person_snapshot,
    reason_line,
    reject,
    version_reason,
)
from onewindow.registry.models import (
    Household,
    ImportKind,
    Person,
    PersonStatus,
    PersonVersion,
    Relation,
    VersionKind,
)
from onewindow.registry.models_entities import (
    EntityStatus,
    EntityVersionKind,
    LegalEntity,
    LegalEntityVersion,
)

# The registration authority of imported entities: the market-regulation department, as entity_register
# records it (a credit code's first character, GB 32100 登记管理部门代码, is 9 for it).
IMPORT_REGISTRATION_AUTHORITY: Final = REGISTRY_ENTITY_DEPARTMENT


@dataclass
class Writer:
    """The main process's side of one import: the job, the acting user, the clock, the dialect."""

    job_id: int
    acting_user_id: int | None
    now: dt.datetime
    today: dt.date
    sealer: Sealer
    postgres: bool = field(default_factory=lambda: connection.vendor == "postgresql")
    staged: set[str] = field(default_factory=set)
    person_sequence: str = ""

    def person_ids(self, count: int) -> list[int]:
        """PostgreSQL: ``count`` new ids from the person table's own sequence (gaps are harmless)."""
        with connection.cursor() as cursor:
            if not self.person_sequence:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Person._meta.db_table])
                self.person_sequence = str(cursor.fetchone()[0])
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [self.person_sequence, count])
            return [pk for (pk,) in cursor.fetchall()]

    def stage(self, cursor: Any, name: str, columns: str, lines: list[str]) -> None:
        """PostgreSQL: the batch's rows (lines of COPY text) into the emptied temporary table ``name``."""
        if name not in self.staged:
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns}) ON COMMIT DELETE ROWS")
            self.staged.add(name)
        cursor.execute(f"TRUNCATE {name}")
        with cursor.cursor.copy(f"COPY {name} FROM STDIN") as copy:
            copy.write("".join(lines))


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    """A value for COPY's text format. Tokens, hashes, codes and dates never need it; free text does."""
    return value.translate(_COPY_ESCAPES)


def _duplicate_in_database(row_line: int, column: str, value: str) -> Reject:
    subject = ("身份证号码", "ID number") if column == "id_number" else ("统一社会信用代码", "credit code")
    return reject(
        row_line, column, value, "duplicate_in_database", subject_zh=subject[0], subject_en=subject[1]
    )


# --- Persons --------------------------------------------------------------------------------------------

_PERSON_STAGE = "ow_import_person_stage"
_PERSON_STAGE_COLUMNS = (
    "line bigint, id bigint, id_number text, id_number_index text, province_code text, name text, "
    "gender text, ethnicity text, birth_date date, household_id bigint, relation_to_head text, "
    "heads_existing boolean, snapshot text, reason text"
)
_PERSON_COLUMNS = (
    "id_number, id_number_index, province_code, name, former_names_text, gender, ethnicity, birth_date, "
    "birthplace_code, household_id, relation_to_head, status, died_on, version, created_at, updated_at"
)
_VERSION_COLUMNS = (
    "person_id, version, kind, effective_on, snapshot, changed, acting_user_id, case_tracking_no, reason, "
    "created_at"
)


@dataclass
class _Household:
    pk: int | None  # None until created
    division_id: int
    address: str
    has_head: bool
    head_person: int | None = None  # PostgreSQL: the id drawn for its head, written with the household


@dataclass
class _Placed:
    row: PersonRow
    household: _Household
    head: bool
    person: int = 0  # PostgreSQL: the id drawn for the person


def persons_write(rows: list[PersonRow], rejects: list[Reject], writer: Writer) -> int:
    """Write one checked batch of persons (inside the batch's transaction); returns how many were added."""
    first_line: dict[str, int] = {}
    unique: list[PersonRow] = []
    for row in rows:
        earlier = first_line.setdefault(row.id_index, row.line)
        if earlier != row.line:
            rejects.append(reject(row.line, "id_number", row.id_number, "duplicate_in_file", first=earlier))
        else:
            unique.append(row)
    refused: list[Reject] = []
    placed, new = _households_place(unique, refused, writer)
    if refused:
        # A row refused for its household may be a person already in the register: that is what to say.
        by_line = {row.line: row for row in unique}
        duplicates = _duplicates([by_line[item.line] for item in refused], writer)
        rejects.extend(duplicates.get(item.line, item) for item in refused)
    if not placed:
        return 0
    if writer.postgres:
        # Ids drawn first, so a new household is written with its head and no row is updated afterwards.
        for item, person in zip(placed, writer.person_ids(len(placed)), strict=True):
            item.person = person
            if item.head and item.household.pk is None:
                item.household.head_person = person
    _households_create(new, writer)
    conflicts = _persons_insert(placed, writer)
    if conflicts:
        conflicting = [item for item in placed if item.row.line in conflicts]
        duplicates = _duplicates([item.row for item in conflicting], writer)
        rejects.extend(
            duplicates.get(item.row.line)
            or _duplicate_in_database(item.row.line, "id_number", item.row.id_number)
            for item in conflicting
        )
        _households_undo(
            conflicting, {household.pk for household in new.values() if household.pk is not None}
        )
    return len(placed) - len(conflicts)


def _households_place(
    rows: list[PersonRow], rejects: list[Reject], writer: Writer
) -> tuple[list[_Placed], dict[str, _Household]]:
    """Put each row in its household: an existing one (in the same division) or a new one, made from the
    first row naming it, which must give an address; at most one living, present head each. Returns the
    rows placed and the new households (not written yet)."""
    existing = {
        number: _Household(pk, division_id, address, head_id is not None)
        for pk, number, division_id, address, head_id in Household.objects.filter(
            household_no__in={row.household_no for row in rows}
        ).values_list("pk", "household_no", "division_id", "address", "head_id")
    }
    heads_wanted = {row.household_no for row in rows if row.relation == Relation.HEAD}
    _heads_refresh([household for number, household in existing.items() if number in heads_wanted])
    new: dict[str, _Household] = {}
    placed: list[_Placed] = []
    for row in rows:
        household = existing.get(row.household_no) or new.get(row.household_no)
        if household is None:
            if not row.address:
                rejects.append(
                    reject(row.line, "address", "", "address_required", household=row.household_no)
                )
                continue
            household = new[row.household_no] = _Household(None, row.division_id, row.address, False)
        elif household.division_id != row.division_id:
            rejects.append(
                reject(
                    row.line,
                    "division_code",
                    row.division_code,
                    "household_division_mismatch",
                    household=row.household_no,
                )
            )
            continue
        head = row.relation == Relation.HEAD
        if head:
            if household.has_head:
                rejects.append(
                    reject(
                        row.line,
                        "relation_to_head",
                        row.relation,
                        "household_has_head",
                        household=row.household_no,
                    )
                )
                continue
            household.has_head = True
        if row.address != household.address:  # the snapshot holds the household's address
            row = row._replace(snapshot_token=writer.sealer.encrypt(person_snapshot(row, household.address)))
        placed.append(_Placed(row, household, head))
    return placed, new


def _heads_refresh(households: list[_Household]) -> None:
    """Lock the existing households that would get a head and check their head is living and present (a
    head who died or moved out leaves the place free, as in ``actions._head_set``)."""
    locked = [household.pk for household in households if household.has_head]
    if not locked:
        return
    head_ids = dict(Household.objects.select_for_update().filter(pk__in=locked).values_list("pk", "head_id"))
    active = set(
        Person.objects.filter(
            pk__in=[pk for pk in head_ids.values() if pk is not None], status=PersonStatus.ACTIVE
        ).values_list("pk", flat=True)
    )
    for household in households:
        if household.pk in head_ids:
            household.has_head = head_ids[household.pk] in active


def _households_create(new: dict[str, _Household], writer: Writer) -> None:
    """Insert the new households (address encrypted; on PostgreSQL with their head) and set their ids. A
    household number taken meanwhile by a front-desk registration fails the batch (IntegrityError); the
    next run resumes there."""
    if not new:
        return
    numbers = list(new)
    tokens = [writer.sealer.encrypt(new[number].address) for number in numbers]
    table = Household._meta.db_table
    columns = "household_no, division_id, address, head_id, created_at, updated_at"
    with connection.cursor() as cursor:
        if writer.postgres:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT n, d, a, h, %s, %s "  # noqa: S608 - the model's table
                "FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::bigint[]) AS v(n, d, a, h) "
                "RETURNING id, household_no",
                [
                    writer.now,
                    writer.now,
                    numbers,
                    [new[number].division_id for number in numbers],
                    tokens,
                    [new[number].head_person for number in numbers],
                ],
            )
            ids = {number: pk for pk, number in cursor.fetchall()}
        else:
            now = connection.ops.adapt_datetimefield_value(writer.now)
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, NULL, %s, %s)",  # noqa: S608
                [(n, new[n].division_id, token, now, now) for n, token in zip(numbers, tokens, strict=True)],
            )
            ids = dict(Household.objects.filter(household_no__in=numbers).values_list("household_no", "pk"))
    for number, household in new.items():
        household.pk = ids[number]


def _persons_insert(placed: list[_Placed], writer: Writer) -> set[int]:
    """Insert the persons, their version 1 and the heads of existing households; returns the lines that met
    an active record with the same ID number. The birthplace is not in the file: it is left empty."""
    persons, versions, households = (
        Person._meta.db_table,
        PersonVersion._meta.db_table,
        Household._meta.db_table,
    )
    with connection.cursor() as cursor:
        if writer.postgres:
            writer.stage(
                cursor,
                _PERSON_STAGE,
                _PERSON_STAGE_COLUMNS,
                [
                    f"{row.line}\t{item.person}\t{row.id_token}\t{row.id_index}\t{row.id_number[:2]}\t"
                    f"{row.name_token}\t{row.gender}\t{row.ethnicity}\t{row.birth_date}\t{item.household.pk}\t"
                    f"{row.relation}\t{'t' if item.head and item.household.head_person is None else 'f'}\t"
                    f"{row.snapshot_token}\t{version_reason(writer.job_id, row.line)}\n"
                    for item in placed
                    for row in (item.row,)
                ],
            )
            cursor.execute(
                f"""
                WITH inserted AS (
                    INSERT INTO {persons} (id, {_PERSON_COLUMNS})
                    SELECT id, id_number, id_number_index, province_code, name, '', gender, ethnicity,
                        birth_date, '', household_id, relation_to_head, 'active', NULL, 1, %(now)s, %(now)s
                    FROM {_PERSON_STAGE}
                    -- partition by partition, in index order: fewer partition switches, warmer index pages
                    ORDER BY province_code, id_number_index
                    ON CONFLICT DO NOTHING
                    RETURNING id
                ), versions AS (
                    INSERT INTO {versions} ({_VERSION_COLUMNS})
                    SELECT s.id, 1, %(kind)s, %(today)s, s.snapshot, '["*"]'::jsonb, %(user)s, '', s.reason,
                        %(now)s
                    FROM {_PERSON_STAGE} s WHERE s.id IN (SELECT id FROM inserted)
                ), heads AS (
                    UPDATE {households} h SET head_id = s.id, updated_at = %(now)s
                    FROM {_PERSON_STAGE} s
                    WHERE s.heads_existing AND h.id = s.household_id AND s.id IN (SELECT id FROM inserted)
                )
                SELECT line FROM {_PERSON_STAGE} WHERE id NOT IN (SELECT id FROM inserted)
                """,  # noqa: S608 - the models' tables
                {
                    "now": writer.now,
                    "today": writer.today,
                    "user": writer.acting_user_id,
                    "kind": VersionKind.IMPORTED.value,
                },
            )
            return {line for (line,) in cursor.fetchall()}
        now = connection.ops.adapt_datetimefield_value(writer.now)
        today = connection.ops.adapt_datefield_value(writer.today)
        conflicts: set[int] = set()
        version_rows: list[tuple[Any, ...]] = []
        head_rows: list[tuple[Any, ...]] = []
        for item in placed:
            row = item.row
            cursor.execute(
                f"INSERT INTO {persons} ({_PERSON_COLUMNS}) "  # noqa: S608 - the model's table
                "VALUES (%s, %s, %s, %s, '', %s, %s, %s, '', %s, %s, 'active', NULL, 1, %s, %s) "
                "ON CONFLICT DO NOTHING RETURNING id",
                [
                    row.id_token,
                    row.id_index,
                    row.id_number[:2],
                    row.name_token,
                    row.gender,
                    row.ethnicity,
                    row.birth_date,
                    item.household.pk,
                    row.relation,
                    now,
                    now,
                ],
            )
            inserted = cursor.fetchone()
            if inserted is None:
                conflicts.add(row.line)
                continue
            item.person = inserted[0]
            reason = version_reason(writer.job_id, row.line)
            version_rows.append((item.person, today, row.snapshot_token, writer.acting_user_id, reason, now))
            if item.head:
                head_rows.append((item.person, now, item.household.pk))
        cursor.executemany(
            f"INSERT INTO {versions} ({_VERSION_COLUMNS}) "  # noqa: S608 - the model's table
            f"VALUES (%s, 1, '{VersionKind.IMPORTED.value}', %s, %s, '[\"*\"]', %s, '', %s, %s)",
            version_rows,
        )
        cursor.executemany(f"UPDATE {households} SET head_id = %s, updated_at = %s WHERE id = %s", head_rows)  # noqa: S608
        return conflicts


def _duplicates(rows: list[PersonRow], writer: Writer) -> dict[int, Reject]:
    """The rows whose ID number an active record holds, by line: a duplicate in the file when this job wrote
    that record (its version 1 reason names the line), else a duplicate in the database."""
    holders = dict(
        Person.objects.filter(
            id_number_index__in=[row.id_index for row in rows],
            province_code__in={row.id_number[:2] for row in rows},
            status=PersonStatus.ACTIVE,
        ).values_list("id_number_index", "pk")
    )
    if not holders:
        return {}
    reasons = dict(
        PersonVersion.objects.filter(
            person_id__in=holders.values(), version=1, kind=VersionKind.IMPORTED
        ).values_list("person_id", "reason")
    )
    found: dict[int, Reject] = {}
    for row in rows:
        holder = holders.get(row.id_index)
        if holder is None:
            continue
        line = reason_line(reasons.get(holder, ""), writer.job_id)
        found[row.line] = (
            reject(row.line, "id_number", row.id_number, "duplicate_in_file", first=line)
            if line is not None
            else _duplicate_in_database(row.line, "id_number", row.id_number)
        )
    return found


def _households_undo(conflicting: list[_Placed], created: set[int]) -> None:
    """Households this batch made for rows that turned out to be duplicates: no head that was not written,
    and no household left without anyone in it."""
    touched = {item.household.pk for item in conflicting if item.household.pk in created}
    if not touched:
        return
    Household.objects.filter(
        pk__in=touched, head_id__in=[item.person for item in conflicting if item.head and item.person]
    ).update(head=None)
    occupied = Person.objects.filter(household_id__in=touched).values_list("household_id", flat=True)
    Household.objects.filter(pk__in=touched, head__isnull=True).exclude(pk__in=set(occupied)).delete()


# --- Legal entities -------------------------------------------------------------------------------------

_ENTITY_STAGE = "ow_import_entity_stage"
_ENTITY_STAGE_COLUMNS = (
    "line bigint, credit_code text, name text, type text, legal_rep_id bigint, legal_rep_index text, "
    "registered_capital numeric, division_code text, address text, business_scope text, "
    "established_on date, snapshot text, reason text"
)
_ENTITY_COLUMNS = (
    "credit_code, name, type, legal_rep_id, legal_rep_index, registered_capital, division_code, address, "
    "business_scope, established_on, status, registration_authority, version, created_at, updated_at"
)
_ENTITY_VERSION_COLUMNS = (
    "entity_id, version, kind, snapshot, changed, acting_user_id, case_tracking_no, reason, created_at"
)

Staged = tuple[EntityRow, int | None, str]  # row, representative's person id, snapshot (JSON)


def entities_write(rows: list[EntityRow], rejects: list[Reject], writer: Writer) -> int:
    """Write one checked batch of entities (inside the batch's transaction); returns how many were added.

    Credit codes are unique, names unique among active entities: in the batch (the later row is refused),
    then in the database (``ON CONFLICT``)."""
    first_code: dict[str, int] = {}
    first_name: dict[str, int] = {}
    unique: list[EntityRow] = []
    for row in rows:
        earlier = first_code.setdefault(row.credit_code, row.line)
        if earlier != row.line:
            rejects.append(
                reject(row.line, "credit_code", row.credit_code, "duplicate_in_file", first=earlier)
            )
            continue
        earlier = first_name.setdefault(row.name, row.line)
        if earlier != row.line:
            rejects.append(reject(row.line, "name", "", "name_duplicate_in_file", first=earlier))
            continue
        unique.append(row)
    if not unique:
        return 0
    representatives = dict(
        Person.objects.filter(
            id_number_index__in=[row.legal_rep_index for row in unique if row.legal_rep_index],
            province_code__in={row.legal_rep_province for row in unique if row.legal_rep_index},
            status=PersonStatus.ACTIVE,
        ).values_list("id_number_index", "pk")
    )
    staged: list[Staged] = []
    for row in unique:
        entity = LegalEntity(
            credit_code=row.credit_code,
            name=row.name,
            type=row.type,
            legal_rep_id=representatives.get(row.legal_rep_index),
            legal_rep_index=row.legal_rep_index,
            registered_capital=row.registered_capital,
            division_code=row.division_code,
            address=row.address,
            business_scope=row.business_scope,
            established_on=row.established_on,
            status=EntityStatus.ACTIVE,
            registration_authority=IMPORT_REGISTRATION_AUTHORITY,
        )
        staged.append((row, entity.legal_rep_id, json.dumps(entity_snapshot(entity), ensure_ascii=False)))
    conflicts = _entities_insert(staged, writer)
    if conflicts:
        _entities_conflicts_classify([row for row in unique if row.line in conflicts], rejects, writer)
    return len(unique) - len(conflicts)


def _entities_insert(staged: list[Staged], writer: Writer) -> set[int]:
    """Insert the entities and their version 1; returns the lines that met an existing credit code or the
    name of an active entity."""
    entities, versions = LegalEntity._meta.db_table, LegalEntityVersion._meta.db_table
    with connection.cursor() as cursor:
        if writer.postgres:
            writer.stage(
                cursor,
                _ENTITY_STAGE,
                _ENTITY_STAGE_COLUMNS,
                [
                    "\t".join(
                        (
                            str(row.line),
                            row.credit_code,
                            _copy_text(row.name),
                            row.type,
                            str(representative) if representative is not None else "\\N",
                            row.legal_rep_index,
                            str(row.registered_capital) if row.registered_capital is not None else "\\N",
                            row.division_code,
                            _copy_text(row.address),
                            _copy_text(row.business_scope),
                            row.established_on.isoformat(),
                            _copy_text(snapshot),
                            version_reason(writer.job_id, row.line),
                        )
                    )
                    + "\n"
                    for row, representative, snapshot in staged
                ],
            )
            cursor.execute(
                f"""
                WITH inserted AS (
                    INSERT INTO {entities} ({_ENTITY_COLUMNS})
                    SELECT credit_code, name, type, legal_rep_id, legal_rep_index, registered_capital,
                        division_code, address, business_scope, established_on, 'active', %(authority)s, 1,
                        %(now)s, %(now)s
                    FROM {_ENTITY_STAGE} ORDER BY line
                    ON CONFLICT DO NOTHING
                    RETURNING id, credit_code
                ), versions AS (
                    INSERT INTO {versions} ({_ENTITY_VERSION_COLUMNS})
                    SELECT i.id, 1, %(kind)s, s.snapshot::jsonb, '["*"]'::jsonb, %(user)s, '', s.reason,
                        %(now)s
                    FROM inserted i JOIN {_ENTITY_STAGE} s USING (credit_code)
                )
                SELECT s.line FROM {_ENTITY_STAGE} s
                WHERE NOT EXISTS (SELECT 1 FROM inserted i WHERE i.credit_code = s.credit_code)
                """,  # noqa: S608 - the models' tables
                {
                    "now": writer.now,
                    "user": writer.acting_user_id,
                    "authority": IMPORT_REGISTRATION_AUTHORITY,
                    "kind": EntityVersionKind.IMPORTED.value,
                },
            )
            return {line for (line,) in cursor.fetchall()}
        now = connection.ops.adapt_datetimefield_value(writer.now)
        conflicts: set[int] = set()
        version_rows: list[tuple[Any, ...]] = []
        for row, representative, snapshot in staged:
            cursor.execute(
                f"INSERT INTO {entities} ({_ENTITY_COLUMNS}) "  # noqa: S608 - the model's table
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'active', %s, 1, %s, %s) "
                "ON CONFLICT DO NOTHING RETURNING id",
                [
                    row.credit_code,
                    row.name,
                    row.type,
                    representative,
                    row.legal_rep_index,
                    connection.ops.adapt_decimalfield_value(row.registered_capital, 14, 4),
                    row.division_code,
                    row.address,
                    row.business_scope,
                    connection.ops.adapt_datefield_value(row.established_on),
                    IMPORT_REGISTRATION_AUTHORITY,
                    now,
                    now,
                ],
            )
            inserted = cursor.fetchone()
            if inserted is None:
                conflicts.add(row.line)
                continue
            reason = version_reason(writer.job_id, row.line)
            version_rows.append((inserted[0], snapshot, writer.acting_user_id, reason, now))
        cursor.executemany(
            f"INSERT INTO {versions} ({_ENTITY_VERSION_COLUMNS}) "  # noqa: S608 - the model's table
            f"VALUES (%s, 1, '{EntityVersionKind.IMPORTED.value}', %s, '[\"*\"]', %s, '', %s, %s)",
            version_rows,
        )
        return conflicts


def _entities_conflicts_classify(rows: list[EntityRow], rejects: list[Reject], writer: Writer) -> None:
    """A conflict on the credit code, else on the name of an active entity; in the file when this job
    wrote the entity met, else in the database."""
    by_code = dict(
        LegalEntity.objects.filter(credit_code__in=[row.credit_code for row in rows]).values_list(
            "credit_code", "pk"
        )
    )
    by_name = dict(
        LegalEntity.objects.filter(
            name__in=[row.name for row in rows], status=EntityStatus.ACTIVE
        ).values_list("name", "pk")
    )
    reasons = dict(
        LegalEntityVersion.objects.filter(
            entity_id__in=[*by_code.values(), *by_name.values()], version=1, kind=EntityVersionKind.IMPORTED
        ).values_list("entity_id", "reason")
    )
    for row in rows:
        if row.credit_code in by_code:
            line = reason_line(reasons.get(by_code[row.credit_code], ""), writer.job_id)
            if line is not None:
                rejects.append(
                    reject(row.line, "credit_code", row.credit_code, "duplicate_in_file", first=line)
                )
            else:
                rejects.append(_duplicate_in_database(row.line, "credit_code", row.credit_code))
            continue
        line = reason_line(reasons.get(by_name.get(row.name, 0), ""), writer.job_id)
        if line is not None:
            rejects.append(reject(row.line, "name", "", "name_duplicate_in_file", first=line))
        else:
            rejects.append(reject(row.line, "name", "", "name_taken"))


WRITERS: Final[dict[str, Callable[[list[Any], list[Reject], Writer], int]]] = {
    ImportKind.PERSONS: persons_write,
    ImportKind.ENTITIES: entities_write,
}
