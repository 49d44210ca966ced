"""Bulk import of persons (issue #5 item 6): every row checked as a birth registration would be (GB 11643-1999
ID numbers, GB/T 3304 ethnicity, GB/T 2260 divisions, GB/T 4761 relations), rejects with their exact line,
column and reason, duplicates in the file and in the database, resumption after a crash, idempotence,
encryption at rest (PIPL Art. 51), flat memory, and who may import."""

from __future__ import annotations

import csv
import datetime as dt
import json
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.core.validators import make_id_number
from onewindow.outbox.models import OutboxEvent
from onewindow.registry import importing, importing_writes
from onewindow.registry.actions import _snapshot
from onewindow.registry.importing import PERSON_COLUMNS, REJECT_COLUMNS, ImportResult, persons_import
from onewindow.registry.importing_rows import RELATION_CODES, Sealer
from onewindow.registry.models import (
    Household,
    ImportJob,
    ImportStatus,
    Person,
    PersonStatus,
    PersonVersion,
    VersionKind,
)
from onewindow.registry.protection import blind_index, decrypt
from onewindow.registry.testdata import PERSON_HEADER, person_rows, write_persons_csv
from onewindow.registry.tests.test_population_support import GULOU, MOTHER_ID, TAIJIANG, register, registrar

pytestmark = pytest.mark.django_db

MAN = make_id_number(GULOU, dt.date(1985, 2, 3), 11)  # 17th digit odd: male
WOMAN = make_id_number(GULOU, dt.date(1987, 8, 9), 12)
CHILD = make_id_number(TAIJIANG, dt.date(2015, 1, 20), 31)


def write(path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = PERSON_COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def row(id_number: str = MAN, **values: str) -> list[str]:
    """A valid person row (a man heading household H350102A in 鼓楼区) with ``values`` changed."""
    fields = {
        "id_number": id_number,
        "name": "陈立新",
        "gender": "1" if int(id_number[16]) % 2 else "2",
        "ethnicity": "01",
        "birth_date": f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}",
        "division_code": GULOU,
        "address": "福州市鼓楼区东街 8 号",
        "household_no": "H350102A",
        "relation_to_head": "head",
        **values,
    }
    return [fields[column] for column in PERSON_COLUMNS]


def rejects_of(result: ImportResult) -> list[tuple[str, ...]]:
    """The rejects file's rows as (line, column, value, code), after checking its header and reasons."""
    with result.rejects_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == REJECT_COLUMNS
    for line in rows[1:]:
        assert line[4], line  # a reason in Chinese
        assert line[5], line  # and in English
    return [tuple(line[:4]) for line in rows[1:]]


def run(path: Path, **options: Any) -> ImportResult:
    options.setdefault("workers", 0)
    return persons_import(path, **options)


# --- A valid file ------------------------------------------------------------------------------------------


def test_the_generator_writes_the_importers_columns() -> None:
    assert PERSON_HEADER == PERSON_COLUMNS


@pytest.mark.parametrize("workers", [0, 2])
def test_every_valid_row_becomes_an_active_person_with_an_imported_version_1(
    tmp_path: Path, workers: int
) -> None:
    path = tmp_path / "persons.csv"
    write_persons_csv(path, 60, seed=7)

    result = run(path, batch_size=7, workers=workers)

    assert (result.imported_now, result.rejected_now, result.rows_read) == (60, 0, 60)
    assert (result.imported_total, result.lines_done, result.already_imported) == (60, 61, False)
    assert rejects_of(result) == []
    assert Person.objects.count() == 60
    job = ImportJob.objects.get()
    assert (job.status, job.imported, job.rejected, job.lines_done) == (ImportStatus.DONE, 60, 0, 61)
    assert job.bytes_done == path.stat().st_size
    for line, expected in enumerate(person_rows(60, seed=7), start=2):
        person = Person.objects.get(id_number_index=blind_index(expected[0], kind="id_number"))
        household = Household.objects.select_related("division").get(pk=person.household_id)
        assert (person.id_number, person.name, person.province_code) == (
            expected[0],
            expected[1],
            expected[0][:2],
        )
        assert (person.gender, person.ethnicity) == ({"1": "male", "2": "female"}[expected[2]], expected[3])
        assert (person.birth_date.isoformat(), household.division.code) == (expected[4], expected[5])
        assert (household.household_no, household.address) == (expected[7], expected[6])
        assert (person.relation_to_head, person.status, person.version) == (
            expected[8],
            PersonStatus.ACTIVE,
            1,
        )
        version = PersonVersion.objects.get(person=person)
        assert (version.version, version.kind, version.changed) == (1, VersionKind.IMPORTED, ["*"])
        assert version.reason == f"批量导入 #{job.pk} 第 {line} 行 / bulk import #{job.pk}, line {line}"
        assert version.snapshot_data == _snapshot(person, household)
        assert version.acting_user_id is None
        if expected[8] == "head":
            assert household.head_id == person.pk
    # One household per head; the generator's households (1-5 persons) each have their head in the file.
    assert Household.objects.count() == sum(
        1 for expected in person_rows(60, seed=7) if expected[8] == "head"
    )
    assert not Household.objects.filter(head__isnull=True).exists()
    # A migration of existing registrations, not a change: no events.
    assert not OutboxEvent.objects.exists()


def test_relations_may_be_gbt_4761_codes_and_gender_the_platforms_words(tmp_path: Path) -> None:
    path = write(
        tmp_path / "codes.csv",
        [
            row(MAN, relation_to_head="02", gender="male"),
            row(WOMAN, relation_to_head="12", name="林小红"),
            row(CHILD, relation_to_head="28", name="陈一", division_code=GULOU),
        ],
    )

    result = run(path)

    assert (result.imported_now, result.rejected_now) == (3, 0)
    relations = {p.id_number: p.relation_to_head for p in Person.objects.all()}
    assert relations == {MAN: "head", WOMAN: "spouse", CHILD: "child_in_law"}
    assert RELATION_CODES["01"] == "head"
    assert RELATION_CODES["99"] == "non_relative"
    assert "13" not in RELATION_CODES
    assert "98" not in RELATION_CODES


# --- Rejects ---------------------------------------------------------------------------------------------


def test_each_refused_row_is_listed_with_its_line_column_code_and_reasons(tmp_path: Path) -> None:
    bad_check = MAN[:17] + ("0" if MAN[17] != "0" else "1")
    register(registrar(), id_number=MOTHER_ID, household_no="H350102DB")
    path = write(
        tmp_path / "persons.csv",
        [
            row(MAN),  # 2: fine, head of H350102A
            row(bad_check, household_no="H2"),  # 3: GB 11643 check character
            row(WOMAN, birth_date="1987/08/09", relation_to_head="spouse"),  # 4: not YYYY-MM-DD
            row(CHILD, division_code="350199", household_no="H4"),  # 5: no such division
            row(make_id_number(GULOU, dt.date(1990, 1, 1), 41), ethnicity="57", household_no="H5"),  # 6
            row(make_id_number(GULOU, dt.date(1991, 1, 1), 51), gender="2", household_no="H6"),  # 7: gender
            row(MAN, name="重复", relation_to_head="child"),  # 8: the ID number of line 2
            ["1", "2", "3"],  # 9: three columns
            row(MOTHER_ID, household_no="H350102DB", relation_to_head="spouse", address=""),  # 10: in the db
            row(make_id_number(GULOU, dt.date(1992, 1, 1), 61), birth_date="1992-01-02", household_no="H11"),
            row(make_id_number(GULOU, dt.date(1993, 1, 1), 71), relation_to_head="boss", household_no="H12"),
            row(
                make_id_number(GULOU, dt.date(1994, 1, 1), 81),
                household_no="H350102A",
                division_code=TAIJIANG,
            ),
            row(make_id_number(GULOU, dt.date(1995, 1, 1), 91), household_no="H350102A"),  # 14: a second head
            row(make_id_number(GULOU, dt.date(1996, 1, 1), 11), household_no="H15", address=""),  # 15
            row(make_id_number(GULOU, dt.date(1997, 1, 1), 21), name="", household_no="H16!"),  # 16
        ],
    )

    result = run(path)

    assert (result.imported_now, result.rejected_now, result.rows_read) == (1, 14, 15)
    assert rejects_of(result) == [
        ("3", "id_number", bad_check[:6] + "********" + bad_check[-4:], "id_number_check"),
        ("4", "birth_date", "1987/08/09", "date_invalid"),
        ("5", "division_code", "350199", "division_code_unknown"),
        ("6", "ethnicity", "57", "ethnicity_unknown"),
        ("7", "gender", "2", "gender_mismatch"),
        ("8", "id_number", MAN[:6] + "********" + MAN[-4:], "duplicate_in_file"),
        ("9", "", "3", "column_count"),
        ("10", "id_number", MOTHER_ID[:6] + "********" + MOTHER_ID[-4:], "duplicate_in_database"),
        ("11", "birth_date", "1992-01-02", "birth_date_mismatch"),
        ("12", "relation_to_head", "boss", "relation_unknown"),
        ("13", "division_code", TAIJIANG, "household_division_mismatch"),
        ("14", "relation_to_head", "head", "household_has_head"),
        ("15", "address", "", "address_required"),
        ("16", "name", "", "name_required"),
        ("16", "household_no", "H16!", "household_no_invalid"),
    ]
    with result.rejects_path.open(encoding="utf-8") as handle:
        text = handle.read()
    assert "与本文件第 2 行重复" in text
    assert "Duplicates line 2 of this file" in text
    assert MAN not in text
    assert "陈立新" not in text
    assert "东街" not in text
    assert Person.objects.count() == 2  # the front desk's and line 2
    assert result.rejects_path == tmp_path / "persons.rejects.csv"
    job = ImportJob.objects.get()
    assert (job.imported, job.rejected) == (1, 14)


def test_a_division_code_that_is_not_a_division_at_all_carries_the_validators_reason(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", [row(division_code="35010X")])

    result = run(path)

    assert rejects_of(result) == [("2", "division_code", "35010X", "division_code_character")]


def test_a_duplicate_in_a_later_batch_names_the_line_it_repeats(tmp_path: Path) -> None:
    rows = [list(values) for values in person_rows(9, seed=3)]
    rows.append(
        [*rows[1][:1], "另一人", *rows[1][2:7], "HDUP1", "head"]
    )  # line 11 repeats line 3's ID number
    path = write(tmp_path / "dup.csv", rows)

    result = run(path, batch_size=2)

    assert rejects_of(result) == [
        ("11", "id_number", rows[1][0][:6] + "********" + rows[1][0][-4:], "duplicate_in_file")
    ]
    with result.rejects_path.open(encoding="utf-8") as handle:
        assert "Duplicates line 3 of this file." in handle.read()
    # The household created for the duplicate alone was not left behind.
    assert not Household.objects.filter(household_no="HDUP1").exists()
    assert Person.objects.count() == 9


def test_a_quoted_field_over_two_lines_counts_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    first = ",".join(row(MAN, address="x"))
    path.write_text(
        ",".join(PERSON_COLUMNS)
        + "\n"
        + first.replace(",x,", ',"福州市\n鼓楼区",')
        + "\n\n"
        + ",".join(row(WOMAN, relation_to_head="夫妻"))
        + "\n",
        encoding="utf-8",
    )

    result = run(path)

    assert rejects_of(result) == [("5", "relation_to_head", "夫妻", "relation_unknown")]
    assert Household.objects.get().address == "福州市\n鼓楼区"


def test_a_line_that_is_not_utf8_is_refused_alone(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    good = ",".join(row(MAN)).encode()
    bad = (
        ",".join(row(WOMAN, name="林", relation_to_head="spouse"))
        .encode()
        .replace("林".encode(), "林".encode("gbk"))
    )
    path.write_bytes(",".join(PERSON_COLUMNS).encode() + b"\n" + good + b"\n" + bad + b"\n")

    result = run(path)

    assert rejects_of(result) == [("3", "", "", "encoding_invalid")]
    assert Person.objects.count() == 1


# --- Refusing the whole file ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"id_number,name,gender\n", "import_header_invalid"),
        (b"", "import_header_invalid"),
        (",".join(reversed(PERSON_COLUMNS)).encode() + b"\n", "import_header_invalid"),
        ("身份证号,姓名\n".encode("gbk"), "import_encoding_invalid"),
    ],
)
def test_a_file_without_the_header_is_refused_and_nothing_is_written(
    tmp_path: Path, content: bytes, code: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content + ",".join(row()).encode() + b"\n")

    with pytest.raises(RuleViolation) as refusal:
        run(path)

    assert refusal.value.code == code
    assert refusal.value.message_zh
    assert refusal.value.message_en
    assert "Nothing was imported" in refusal.value.message_en
    assert not ImportJob.objects.exists()
    assert not Person.objects.exists()
    assert not (tmp_path / "bad.rejects.csv").exists()


def test_a_header_with_a_byte_order_mark_and_spaces_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(
        "\ufeff".encode() + ", ".join(PERSON_COLUMNS).encode() + b"\r\n" + ",".join(row()).encode() + b"\r\n"
    )

    assert run(path).imported_now == 1


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleViolation) as refusal:
        run(tmp_path / "nowhere.csv")

    assert (refusal.value.code, refusal.value.status) == ("import_file_missing", 404)
    assert not ImportJob.objects.exists()


# --- Idempotence and resumption --------------------------------------------------------------------------


def test_the_same_file_twice_adds_nothing(tmp_path: Path) -> None:
    path = tmp_path / "again.csv"
    write_persons_csv(path, 12, seed=11)
    first = run(path, batch_size=5)
    rejects_before = first.rejects_path.read_bytes()

    second = run(path, batch_size=5)

    assert second.already_imported
    assert (second.job_id, second.imported_now, second.rows_read, second.imported_total) == (
        first.job_id,
        0,
        0,
        12,
    )
    assert Person.objects.count() == 12
    assert second.rejects_path.read_bytes() == rejects_before
    assert ImportJob.objects.count() == 1
    assert AuditRecord.objects.filter(action="registry.import_finished").count() == 1


def test_the_same_rows_in_another_file_are_duplicates_in_the_database(tmp_path: Path) -> None:
    write_persons_csv(tmp_path / "one.csv", 4, seed=12)
    run(tmp_path / "one.csv")
    rows = list(person_rows(4, seed=12))
    path = write(tmp_path / "two.csv", [*rows, row(MAN, household_no="HNEW")])  # a different file

    result = run(path)

    assert [(line, code) for line, _c, _v, code in rejects_of(result)] == [
        (str(line), "duplicate_in_database") for line in range(2, 6)
    ]
    assert result.imported_now == 1
    assert ImportJob.objects.count() == 2


class CrashError(Exception):
    pass


def crash_after(batches: int) -> Callable[[int, int], None]:
    """A progress callback that stops the import after ``batches`` committed batches (like a kill -9 between
    two batches, except that the job is marked failed)."""
    calls = {"n": -1}  # the first call reports the starting offset

    def progress(done: int, total: int) -> None:
        calls["n"] += 1
        if calls["n"] == batches:
            raise CrashError

    return progress


def mixed_rows() -> list[list[str]]:
    """20 generated rows with a reject on lines 4 and 15."""
    rows = [list(values) for values in person_rows(20, seed=21)]
    rows[2][3] = "00"  # line 4: unknown ethnicity
    rows[13][2] = "3"  # line 15: gender code
    return rows


def test_an_import_stopped_after_a_batch_resumes_there_and_ends_with_exactly_the_right_rows(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "resume.csv", mixed_rows())

    with pytest.raises(CrashError):
        run(path, batch_size=5, progress=crash_after(2))

    job = ImportJob.objects.get()
    assert (job.status, job.lines_done, job.imported, job.rejected) == (ImportStatus.FAILED, 11, 9, 1)
    assert Person.objects.count() == 9
    assert AuditRecord.objects.filter(action="registry.import_failed").count() == 1

    result = run(path, batch_size=5)

    assert (result.resumed_from_line, result.rows_read, result.imported_now, result.rejected_now) == (
        11,
        10,
        9,
        1,
    )
    assert (result.imported_total, result.rejected_total) == (18, 2)
    assert [(line, code) for line, _c, _v, code in rejects_of(result)] == [
        ("4", "ethnicity_unknown"),
        ("15", "gender_unknown"),
    ]
    assert Person.objects.count() == 18
    assert PersonVersion.objects.count() == 18
    job.refresh_from_db()
    assert (job.status, job.lines_done, job.bytes_done) == (ImportStatus.DONE, 21, path.stat().st_size)
    assert AuditRecord.objects.filter(action="registry.import_resumed").count() == 1


def test_a_batch_that_fails_half_written_is_rolled_back_with_its_rejects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "half.csv", mixed_rows())
    original = importing._job_advance
    calls = {"n": 0}

    def advance_then_die(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # the third batch (lines 12-16, with the reject of line 15) has been written
            raise CrashError
        original(*args)

    monkeypatch.setattr(importing, "_job_advance", advance_then_die)
    with pytest.raises(CrashError):
        run(path, batch_size=5)
    monkeypatch.undo()

    assert Person.objects.count() == 9  # batches 1 and 2 only
    assert ImportJob.objects.get().lines_done == 11
    # Line 15's reject reached the file before the failed commit ...
    assert ("15", "gender", "3", "gender_unknown") in rejects_of(
        ImportResult("persons", 0, path, tmp_path / "half.rejects.csv")
    )

    result = run(path, batch_size=5)

    # ... and is listed once after the resumed run.
    assert [(line, code) for line, _c, _v, code in rejects_of(result)] == [
        ("4", "ethnicity_unknown"),
        ("15", "gender_unknown"),
    ]
    assert Person.objects.count() == 18


def test_a_crash_inside_the_database_write_leaves_nothing_of_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "db.csv"
    write_persons_csv(path, 10, seed=23)

    def fail(*args: Any) -> set[int]:
        raise CrashError

    monkeypatch.setattr(importing_writes, "_persons_insert", fail)
    with pytest.raises(CrashError):
        run(path, batch_size=4)
    monkeypatch.undo()

    assert not Person.objects.exists()
    assert not Household.objects.exists()  # created in the batch, rolled back with it
    assert run(path, batch_size=4).imported_total == 10


def test_a_second_run_while_the_first_holds_the_file_is_refused(tmp_path: Path) -> None:
    import fcntl

    path = tmp_path / "busy.csv"
    write_persons_csv(path, 3)
    with path.open("rb") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        with pytest.raises(importing.ImportConcurrent):
            run(path)
    assert not ImportJob.objects.exists()


# --- Protection ------------------------------------------------------------------------------------------


def test_id_numbers_names_addresses_and_snapshots_are_encrypted_at_rest(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", [row(MAN)])
    run(path)

    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, name, id_number_index, province_code FROM registry_person")
        id_token, name_token, index, province = cursor.fetchone()
        cursor.execute("SELECT address FROM registry_household")
        (address_token,) = cursor.fetchone()
        cursor.execute("SELECT snapshot FROM registry_personversion")
        (snapshot_token,) = cursor.fetchone()
    for token in (id_token, name_token, address_token, snapshot_token):
        assert token.startswith("v1.")
        assert MAN not in token
        assert "陈立新" not in token
        assert "东街" not in token
    assert (decrypt(id_token), decrypt(name_token), decrypt(address_token)) == (
        MAN,
        "陈立新",
        "福州市鼓楼区东街 8 号",
    )
    assert json.loads(decrypt(snapshot_token))["id_number"] == MAN
    assert (index, province) == (blind_index(MAN, kind="id_number"), "35")


def test_the_fast_sealer_makes_the_platforms_tokens_and_index() -> None:
    sealer = Sealer()
    for value in (MAN, "林美华", "", "福州市鼓楼区东街 8 号"):
        token = sealer.encrypt(value)
        assert decrypt(token) == value
        assert token != sealer.encrypt(value)  # a fresh nonce each time
    assert sealer.id_number_index(MAN) == blind_index(MAN, kind="id_number")
    assert sealer.id_number_index(WOMAN) == blind_index(WOMAN.lower(), kind="id_number")


# --- Memory --------------------------------------------------------------------------------------------


def _peak(path: Path) -> int:
    tracemalloc.start()
    try:
        run(path, batch_size=250)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_however_long_the_file(tmp_path: Path) -> None:
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    write_persons_csv(small, 1000, seed=31)
    write_persons_csv(large, 5000, seed=31, start=1000)
    run(write(tmp_path / "warm.csv", [row()]))  # imports, caches and the divisions are loaded once

    peak_small, peak_large = _peak(small), _peak(large)

    assert Person.objects.count() == 6001
    assert peak_large < peak_small * 1.5, (peak_small, peak_large)


# --- Who may import --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_no_role_outside_public_security_may_import(
    tmp_path: Path, role: str, role_users: dict[str, User]
) -> None:
    path = write(tmp_path / "p.csv", [row()])

    with pytest.raises(PermissionDenied):
        run(path, acting_user=role_users[role])

    assert not ImportJob.objects.exists()
    assert not Person.objects.exists()
    assert not (tmp_path / "p.rejects.csv").exists()


def test_a_public_security_handler_may_import_and_is_recorded(tmp_path: Path) -> None:
    handler = registrar()
    path = write(tmp_path / "p.csv", [row()])

    run(path, acting_user=handler)

    assert PersonVersion.objects.get().acting_user == handler
    assert ImportJob.objects.get().acting_user == handler
    assert AuditRecord.objects.filter(action="registry.import_started", actor_id=handler.pk).exists()


def test_the_audit_trail_has_the_job_with_counts_and_no_personal_data(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", [row(), row(WOMAN, ethnicity="99", relation_to_head="spouse")])

    run(path)

    started = AuditRecord.objects.get(action="registry.import_started")
    finished = AuditRecord.objects.get(action="registry.import_finished")
    job = ImportJob.objects.get()
    assert (started.object_type, started.object_id, started.actor_username) == (
        "import_job",
        str(job.pk),
        "system",
    )
    assert finished.details == {
        "kind": "persons",
        "file_sha256": job.file_sha256,
        "file_size": job.file_size,
        "lines_done": 3,
        "imported": 1,
        "rejected": 1,
    }
    text = json.dumps([started.details, finished.details], ensure_ascii=False)
    assert MAN not in text
    assert WOMAN not in text
    assert "陈立新" not in text
