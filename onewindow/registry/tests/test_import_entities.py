"""Bulk import of legal entities (issue #5 items 3 and 6): every row checked as a registration would be (GB
32100-2015 credit codes, entity types, capital, divisions, dates), names unique among active entities
(企业名称登记管理规定 第十七条) in the file and in the database, representatives linked to the population
register by the blind index of their ID number, rejects with exact lines and reasons, idempotence,
resumption and who may import."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.core.validators import make_credit_code, make_id_number
from onewindow.outbox.models import OutboxEvent
from onewindow.registry.entities import _snapshot, entity_cancel, entity_register
from onewindow.registry.importing import ENTITY_COLUMNS, REJECT_COLUMNS, ImportResult, entities_import
from onewindow.registry.models import ImportJob, ImportStatus
from onewindow.registry.models_entities import (
    EntityStatus,
    EntityVersionKind,
    LegalEntity,
    LegalEntityVersion,
)
from onewindow.registry.protection import blind_index
from onewindow.registry.testdata import ENTITY_HEADER, entity_rows, write_entities_csv
from onewindow.registry.tests.test_population_support import GULOU, MOTHER_ID, register, registrar

pytestmark = pytest.mark.django_db


def code(base: str) -> str:
    return make_credit_code(authority="9", entity_type="1", division="350100", organisation_base=base)


FIRST, SECOND, THIRD = code("MA100001"), code("MA100002"), code("MA100003")
OUTSIDER = make_id_number("110101", dt.date(1970, 1, 1), 15)  # not in the population register


def write(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ENTITY_COLUMNS)
        writer.writerows(rows)
    return path


def row(credit_code: str = FIRST, **values: str) -> list[str]:
    fields = {
        "credit_code": credit_code,
        "name": f"福州{credit_code[-4:]}科技有限公司",
        "type": "llc",
        "legal_rep_id_number": OUTSIDER,
        "registered_capital": "100",
        "division_code": GULOU,
        "address": "福州市鼓楼区五四路 1 号",
        "business_scope": "软件开发",
        "established_on": "2020-05-06",
        **values,
    }
    return [fields[column] for column in ENTITY_COLUMNS]


def rejects_of(result: ImportResult) -> list[tuple[str, ...]]:
    with result.rejects_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == REJECT_COLUMNS
    assert all(line[4] and line[5] for line in rows[1:])
    return [tuple(line[:4]) for line in rows[1:]]


def run(path: Path, **options: Any) -> ImportResult:
    options.setdefault("workers", 0)
    return entities_import(path, **options)


def test_the_generator_writes_the_importers_columns() -> None:
    assert ENTITY_HEADER == ENTITY_COLUMNS


@pytest.mark.parametrize("workers", [0, 2])
def test_every_valid_row_becomes_an_active_entity_with_an_imported_version_1(
    tmp_path: Path, workers: int
) -> None:
    path = tmp_path / "entities.csv"
    write_entities_csv(path, 30, seed=5)

    result = run(path, batch_size=8, workers=workers)

    assert (result.imported_now, result.rejected_now, result.lines_done) == (30, 0, 31)
    assert rejects_of(result) == []
    job = ImportJob.objects.get()
    for line, expected in enumerate(entity_rows(30, seed=5), start=2):
        entity = LegalEntity.objects.get(credit_code=expected[0])
        assert (entity.name, entity.type, entity.division_code) == (expected[1], expected[2], expected[5])
        assert entity.legal_rep_index == blind_index(expected[3], kind="id_number")
        assert entity.legal_rep_id is None  # the generated representatives are not in the register
        assert entity.registered_capital == Decimal(expected[4])
        assert (entity.address, entity.business_scope) == (expected[6], expected[7])
        assert entity.established_on.isoformat() == expected[8]
        assert (entity.status, entity.registration_authority, entity.version) == (
            EntityStatus.ACTIVE,
            "AMR",
            1,
        )
        version = LegalEntityVersion.objects.get(entity=entity)
        assert (version.version, version.kind, version.changed) == (1, EntityVersionKind.IMPORTED, ["*"])
        assert version.snapshot == _snapshot(entity)
        assert version.reason == f"批量导入 #{job.pk} 第 {line} 行 / bulk import #{job.pk}, line {line}"
    assert not OutboxEvent.objects.exists()


def test_a_representative_in_the_population_register_is_linked(tmp_path: Path) -> None:
    mother = register(registrar())
    path = write(
        tmp_path / "e.csv", [row(FIRST, legal_rep_id_number=MOTHER_ID), row(SECOND, legal_rep_id_number="")]
    )

    run(path)

    first, second = LegalEntity.objects.get(credit_code=FIRST), LegalEntity.objects.get(credit_code=SECOND)
    assert (first.legal_rep_id, first.legal_rep_index) == (
        mother.pk,
        blind_index(MOTHER_ID, kind="id_number"),
    )
    assert (second.legal_rep_id, second.legal_rep_index) == (None, "")
    assert second.registered_capital == Decimal("100.0000")


def test_each_refused_row_is_listed_with_its_line_column_code_and_reasons(tmp_path: Path) -> None:
    handler = staff_user(Role.DEPARTMENT_HANDLER, department_code="AMR", username="amr_handler")
    in_db = code("MA100009")
    entity_register(
        acting_user=handler,
        credit_code=in_db,
        name="已登记的公司",
        type="llc",
        division_code=GULOU,
        established_on=dt.date(2020, 1, 1),
    )
    bad_check = FIRST[:17] + ("0" if FIRST[17] != "0" else "1")
    tomorrow = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    path = write(
        tmp_path / "entities.csv",
        [
            row(FIRST),  # 2
            row(bad_check, name="甲公司"),  # 3: check character
            row(SECOND, type="company"),  # 4
            row(THIRD, registered_capital="-5"),  # 5
            row(code("MA100004"), established_on="2020-13-01"),  # 6
            row(code("MA100005"), established_on=tomorrow),  # 7
            row(FIRST, name="另一个名称"),  # 8: the credit code of line 2
            row(code("MA100006"), name=row(FIRST)[1]),  # 9: the name of line 2
            row(in_db, name="新名称"),  # 10: registered before
            row(code("MA100007"), name="已登记的公司"),  # 11: an active entity's name
            row(code("MA100008"), legal_rep_id_number="123"),  # 12
            ["x"] * 8,  # 13
            row(code("MA10000A"), division_code="350199", name=""),  # 14
        ],
    )

    result = run(path)

    assert rejects_of(result) == [
        ("3", "credit_code", bad_check, "credit_code_check"),
        ("4", "type", "company", "entity_type_unknown"),
        ("5", "registered_capital", "'-5", "capital_invalid"),
        ("6", "established_on", "2020-13-01", "date_invalid"),
        ("7", "established_on", tomorrow, "date_in_future"),
        ("8", "credit_code", FIRST, "duplicate_in_file"),
        ("9", "name", "", "name_duplicate_in_file"),
        ("10", "credit_code", in_db, "duplicate_in_database"),
        ("11", "name", "", "name_taken"),
        ("12", "legal_rep_id_number", "***", "id_number_length"),
        ("13", "", "8", "column_count"),
        ("14", "name", "", "name_required"),
        ("14", "division_code", "350199", "division_code_unknown"),
    ]
    assert (result.imported_now, result.rejected_now) == (1, 12)
    assert LegalEntity.objects.count() == 2


def test_duplicates_in_later_batches_name_the_line_they_repeat(tmp_path: Path) -> None:
    rows = [list(values) for values in entity_rows(6, seed=8)]
    rows.append([rows[0][0], "别的名称", *rows[0][2:]])  # line 8: the credit code of line 2
    rows.append([code("MA200001"), rows[1][1], *rows[1][2:]])  # line 9: the name of line 3
    path = write(tmp_path / "dup.csv", rows)

    result = run(path, batch_size=2)

    assert rejects_of(result) == [
        ("8", "credit_code", rows[0][0], "duplicate_in_file"),
        ("9", "name", "", "name_duplicate_in_file"),
    ]
    text = result.rejects_path.read_text(encoding="utf-8")
    assert "Duplicates line 2 of this file." in text
    assert "the one of line 3 of this file" in text


def test_a_cancelled_entitys_name_is_free_again(tmp_path: Path) -> None:
    handler = staff_user(Role.DEPARTMENT_HANDLER, department_code="AMR", username="amr_handler")
    old = code("MA300001")
    entity_register(
        acting_user=handler, credit_code=old, name="老字号有限公司", type="llc", division_code=GULOU
    )
    entity_cancel(acting_user=handler, credit_code=old, reason="歇业")
    path = write(tmp_path / "e.csv", [row(FIRST, name="老字号有限公司")])

    assert run(path).imported_now == 1


def test_free_text_with_tabs_quotes_and_line_breaks_is_kept_as_written(tmp_path: Path) -> None:
    scope = '软件开发\t技术服务\n"咨询"\\备案'
    path = write(tmp_path / "e.csv", [row(FIRST, business_scope=scope, address="五四路\\1号")])

    result = run(path)

    assert result.imported_now == 1
    entity = LegalEntity.objects.get()
    assert (entity.business_scope, entity.address) == (scope, "五四路\\1号")


def test_the_same_file_twice_adds_nothing_and_a_crash_resumes(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    write_entities_csv(path, 9, seed=9)

    class StopError(Exception):
        pass

    calls: list[int] = []

    def stop_after_first_batch(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:  # the first call reports where the run starts, the second the first batch
            raise StopError

    with pytest.raises(StopError):
        run(path, batch_size=4, progress=stop_after_first_batch)
    assert LegalEntity.objects.count() == 4
    assert ImportJob.objects.get().status == ImportStatus.FAILED

    resumed = run(path, batch_size=4)
    again = run(path, batch_size=4)

    assert (resumed.resumed_from_line, resumed.imported_now, resumed.imported_total) == (5, 5, 9)
    assert (again.already_imported, again.imported_now) == (True, 0)
    assert LegalEntity.objects.count() == 9
    assert LegalEntityVersion.objects.count() == 9


@pytest.mark.parametrize("role", ALL_ROLES)
def test_no_role_outside_market_regulation_may_import(
    tmp_path: Path, role: str, role_users: dict[str, User]
) -> None:
    path = write(tmp_path / "e.csv", [row()])

    with pytest.raises(PermissionDenied):
        run(path, acting_user=role_users[role])

    assert not ImportJob.objects.exists()
    assert not LegalEntity.objects.exists()


def test_a_public_security_handler_may_not_import_entities(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", [row()])

    with pytest.raises(PermissionDenied):
        run(path, acting_user=registrar())

    assert not LegalEntity.objects.exists()


def test_a_market_regulation_handler_may_import_and_is_recorded(tmp_path: Path) -> None:
    handler = staff_user(Role.DEPARTMENT_HANDLER, department_code="AMR", username="amr_handler")
    path = write(tmp_path / "e.csv", [row()])

    run(path, acting_user=handler)

    assert LegalEntityVersion.objects.get().acting_user == handler
