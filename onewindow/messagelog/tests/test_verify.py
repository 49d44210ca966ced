"""``message_log_verify`` and ``onewindow exchange verify-log``: tampering with a logged exchange is found and
the first broken seq named (issue #8 item 3 acceptance: "message-log tampering detected")."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from onewindow.cli import main
from onewindow.messagelog.tests.factories import append, subsystem
from onewindow.messagelog.verify import message_log_verify

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _log() -> None:
    subsystem("MSR-SYS", "MSR")
    subsystem("TAX-SYS", "TAX")
    for _ in range(5):
        append()


def _sql(statement: str, params: list[str | int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_an_untouched_log_verifies() -> None:
    result = message_log_verify()
    assert (result.intact, result.checked, result.first_seq, result.head_seq) == (True, 5, 1, 5)


def test_a_record_altered_with_raw_sql_is_found() -> None:
    # when someone changes record #3's status directly in the database
    _sql("UPDATE messagelog_messagelogrecord SET status = 200, purpose = %s WHERE seq = %s", ["FORGED", 3])

    # then verification names #3
    result = message_log_verify()
    assert (result.intact, result.problem_kind, result.problem_seq, result.checked) == (
        False,
        "altered",
        3,
        2,
    )


def test_a_rehashed_record_breaks_the_link_to_the_next() -> None:
    # given record #2 altered and its own hash recomputed to hide it
    from onewindow.messagelog.chain import HASHED_FIELDS, record_hash
    from onewindow.messagelog.models import MessageLogRecord

    record = MessageLogRecord.objects.get(seq=2)
    record.purpose = "FORGED"
    fields = {name: getattr(record, name) for name in HASHED_FIELDS}
    _sql(
        "UPDATE messagelog_messagelogrecord SET purpose = %s, record_hash = %s WHERE seq = 2",
        ["FORGED", record_hash(fields)],
    )

    result = message_log_verify()
    assert (result.problem_kind, result.problem_seq) == ("link_broken", 3)


def test_a_deleted_record_is_found() -> None:
    _sql("DELETE FROM messagelog_messagelogrecord WHERE seq = %s", [4])

    result = message_log_verify()
    assert (result.problem_kind, result.problem_seq) == ("missing", 4)


def test_the_command_exits_1_and_names_the_seq(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("messagelog_verify")
    assert "Message log intact: 5 records checked" in capsys.readouterr().out

    _sql("UPDATE messagelog_messagelogrecord SET duration_ms = %s WHERE seq = %s", ["0.001", 2])
    with pytest.raises(SystemExit) as exit_:
        call_command("messagelog_verify")
    assert exit_.value.code == 1
    error = capsys.readouterr().err
    assert "first broken seq #2" in error
    assert "记录 #2 已被篡改" in error


def test_onewindow_exchange_verify_log(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exchange", "verify-log"]) == 0
    _sql("UPDATE messagelog_messagelogrecord SET status = 500 WHERE seq = %s", [5])
    assert main(["exchange", "verify-log"]) == 1
    assert "#5" in capsys.readouterr().err
