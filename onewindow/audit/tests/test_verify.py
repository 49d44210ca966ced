"""Verification names the first altered, missing or cut-off record (MLPS 2.0 / GB/T 22239-2019 §8.1.4.3 c).

§8.1.4.3 c: audit records are protected against unexpected deletion, modification or overwriting; the
chain and the head anchors make any of these detectable, and ``audit_verify`` reports it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from onewindow.audit.actions import audit_anchor_write, audit_append
from onewindow.audit.anchors import latest_anchor
from onewindow.audit.chain import HASHED_FIELDS, record_hash
from onewindow.audit.models import AuditRecord
from onewindow.audit.tasks import audit_anchor
from onewindow.audit.verify import verify_chain
from onewindow.core.schedule import autodiscover_schedules

pytestmark = pytest.mark.django_db
Tamper = Callable[[str, list[Any]], None]


def _chain(count: int) -> list[AuditRecord]:
    return [audit_append(action=f"test.{n}", acting_user=None, details={"n": n}) for n in range(1, count + 1)]


def _verify_command() -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_an_intact_chain_verifies_in_chunks() -> None:
    # given 25 records, read 4 at a time
    _chain(25)

    # when verified
    result = verify_chain(chunk_size=4)

    # then every record was checked
    assert (result.intact, result.checked, result.first_seq, result.head_seq) == (True, 25, 1, 25)
    assert (result.problem_kind, result.problem_seq, result.problem_en) == ("", None, "")


def test_an_empty_chain_is_intact() -> None:
    result = verify_chain()

    assert (result.intact, result.checked, result.head_seq) == (True, 0, None)


def test_the_command_reports_an_intact_chain_in_both_languages() -> None:
    _chain(3)

    code, out, err = _verify_command()

    assert code == 0
    assert "审计记录链完整：已校验 3 条记录" in out
    assert "Audit chain intact: 3 records checked" in out
    assert err == ""


def test_an_altered_record_is_named(tamper: Tamper) -> None:
    # given a chain in which someone changed record #3's outcome behind the trigger's back
    _chain(5)
    tamper("UPDATE audit_auditrecord SET outcome = 'denied' WHERE seq = %s", [3])

    # when verified
    result = verify_chain(chunk_size=2)
    code, out, err = _verify_command()

    # then record #3 is named as altered, after two good records
    assert (result.intact, result.problem_kind, result.problem_seq, result.checked) == (
        False,
        "altered",
        3,
        2,
    )
    assert result.problem_en == "record #3 altered: its hash does not match its contents"
    assert result.problem_zh == "记录 #3 已被篡改：哈希与内容不符"
    assert code == 1
    assert out == ""
    assert "Audit chain broken: record #3 altered" in err
    assert "审计记录链已损坏：记录 #3 已被篡改" in err
    assert "2 records checked" in err


def test_an_altered_details_value_is_named(tamper: Tamper) -> None:
    _chain(4)
    tamper("UPDATE audit_auditrecord SET details = %s WHERE seq = %s", [json.dumps({"n": 99}), 2])

    result = verify_chain()

    assert (result.intact, result.problem_kind, result.problem_seq) == (False, "altered", 2)


def test_a_rehashed_record_breaks_the_next_link(tamper: Tamper) -> None:
    # given record #2 altered and given a fresh hash, so it is consistent in itself
    records = _chain(4)
    fields = {name: getattr(records[1], name) for name in HASHED_FIELDS} | {"action": "test.forged"}
    tamper(
        "UPDATE audit_auditrecord SET action = %s, hash = %s WHERE seq = %s",
        ["test.forged", record_hash(fields), 2],
    )

    # when verified
    result = verify_chain()

    # then record #3 no longer follows it
    assert (result.intact, result.problem_kind, result.problem_seq) == (False, "link_broken", 3)
    assert result.problem_en == "record #3 link broken: its prev_hash does not match the hash of record #2"


def test_a_deleted_record_is_named_missing(tamper: Tamper) -> None:
    # given record #4 of 6 deleted behind the trigger's back
    _chain(6)
    tamper("DELETE FROM audit_auditrecord WHERE seq = %s", [4])

    # when verified
    result = verify_chain(chunk_size=3)
    code, _out, err = _verify_command()

    # then #4 is named missing
    assert (result.intact, result.problem_kind, result.problem_seq, result.checked) == (
        False,
        "missing",
        4,
        3,
    )
    assert result.problem_en == "record #4 missing"
    assert code == 1
    assert "record #4 missing" in err
    assert "记录 #4 缺失" in err


def test_deleted_first_records_without_a_purge_record_are_named(tamper: Tamper) -> None:
    # given the first two records deleted with no audit.purged record
    _chain(5)
    tamper("DELETE FROM audit_auditrecord WHERE seq <= %s", [2])

    result = verify_chain()

    assert (result.intact, result.problem_kind, result.problem_seq, result.checked) == (
        False,
        "missing",
        1,
        0,
    )
    assert "chain starts at #3" in result.problem_en


def test_a_wrong_first_link_is_named(tamper: Tamper) -> None:
    _chain(2)
    tamper("UPDATE audit_auditrecord SET prev_hash = %s WHERE seq = 1", ["f" * 64])

    result = verify_chain()

    assert (result.intact, result.problem_kind, result.problem_seq) == (False, "link_broken", 1)
    assert result.problem_en == "record #1 link broken: the first record does not follow the genesis hash"


def test_truncating_the_tail_after_an_anchor_is_named(tamper: Tamper, anchor_file: Path) -> None:
    # given 6 records anchored at #6, then the last three cut off
    _chain(6)
    anchor = audit_anchor_write()
    assert anchor is not None
    assert anchor["seq"] == 6
    tamper("DELETE FROM audit_auditrecord WHERE seq >= %s", [4])

    # when verified
    result = verify_chain()
    code, _out, err = _verify_command()

    # then the first cut-off record is named, although the remaining chain is consistent
    assert (result.intact, result.problem_kind, result.problem_seq, result.checked) == (
        False,
        "truncated",
        4,
        3,
    )
    assert result.anchor_seq == 6
    assert result.problem_en.startswith("record #4 missing: the chain ends at #3 but the anchor written at ")
    assert code == 1
    assert "records truncated" in err
    assert "记录被截断" in err


def test_a_truncated_and_regrown_tail_is_caught_by_the_anchor(tamper: Tamper) -> None:
    # given records anchored at #4, then #3-#4 cut off and two new records appended in their place
    _chain(4)
    audit_anchor_write()
    tamper("DELETE FROM audit_auditrecord WHERE seq >= %s", [3])
    _chain(2)

    # when verified
    result = verify_chain()

    # then #4 differs from its anchor
    assert (result.intact, result.problem_kind, result.problem_seq) == (False, "altered", 4)
    assert "differs from the anchor" in result.problem_en


def test_records_after_the_anchor_are_accepted(anchor_file: Path) -> None:
    # given an anchor at #3 and two later records
    _chain(3)
    audit_anchor_write()
    _chain(2)

    result = verify_chain()

    assert (result.intact, result.checked, result.anchor_seq, result.head_seq) == (True, 5, 3, 5)


def test_anchor_file_lines_and_a_torn_last_line(anchor_file: Path) -> None:
    # given two anchors and a torn line (a crash while writing)
    _chain(1)
    first = audit_anchor_write()
    _chain(1)
    second = audit_anchor_write()
    with anchor_file.open("a", encoding="utf-8") as handle:
        handle.write('{"seq": 9, "ha')

    # then the file holds one JSON object per line and the latest whole one is used
    lines = anchor_file.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == first
    assert json.loads(lines[1]) == second
    assert second is not None
    assert latest_anchor(anchor_file) == second
    assert (second["seq"], second["hash"]) == (2, AuditRecord.objects.get(seq=2).hash)


def test_no_anchor_is_written_for_an_empty_chain(anchor_file: Path) -> None:
    assert audit_anchor_write() is None
    assert not anchor_file.exists()


def test_the_scheduler_writes_an_anchor_every_five_minutes(anchor_file: Path) -> None:
    # given the audit app's registered periodic job
    jobs = {job.name: job for job in autodiscover_schedules().jobs()}
    assert jobs["audit_anchor"].every_seconds == 300
    assert jobs["audit_anchor"].target is audit_anchor

    # when the task runs, it anchors the head
    _chain(2)
    assert audit_anchor.call() == 2
    assert latest_anchor(anchor_file) is not None
