"""Archiving (issue #8 item 3: "archiving older segments with a chained digest keeps the live table small"):
records move into chained gzip segments, the live table shrinks, the whole chain still verifies, and a
changed segment file or row is found."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.test import override_settings
from django.utils import timezone

from onewindow.audit.models import AuditRecord
from onewindow.cli import main
from onewindow.messagelog.archive import message_log_archive
from onewindow.messagelog.models import (
    ArchiveSegment,
    MessageLogRecord,
    PayloadPolicy,
    SubsystemPayloadPolicy,
)
from onewindow.messagelog.protection import payload_open
from onewindow.messagelog.tests.factories import REQUEST_BODY, append, subsystem
from onewindow.messagelog.verify import message_log_verify

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _storage(tmp_path: Path) -> Iterator[None]:
    with override_settings(
        STORAGES={
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path)},
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ):
        yield


@pytest.fixture(autouse=True)
def _log() -> None:
    subsystem("MSR-SYS", "MSR")
    subsystem("TAX-SYS", "TAX")
    SubsystemPayloadPolicy.objects.create(subsystem_code="TAX-SYS", policy=PayloadPolicy.FULL)
    SubsystemPayloadPolicy.objects.create(subsystem_code="MSR-SYS", policy=PayloadPolicy.FULL)
    for _ in range(7):
        append()


def test_archive_then_verify_passes_and_the_live_table_shrinks() -> None:
    # when the records are archived in segments of at most 3
    segments = message_log_archive(before=timezone.now() + dt.timedelta(seconds=1), max_records=3)

    # then three chained segments hold #1-#7, the live table is empty, and the chain verifies
    assert [(s.number, s.first_seq, s.last_seq, s.record_count) for s in segments] == [
        (1, 1, 3, 3),
        (2, 4, 6, 3),
        (3, 7, 7, 1),
    ]
    assert segments[1].prev_segment_digest == segments[0].segment_digest
    assert not MessageLogRecord.objects.exists()
    result = message_log_verify()
    assert (result.intact, result.checked, result.segments) == (True, 7, 3)
    # and the archive run is audited, one record per segment
    assert AuditRecord.objects.filter(action="messagelog.archived").count() == 3


def test_new_records_chain_onto_the_archive_and_verify() -> None:
    message_log_archive(before=timezone.now() + dt.timedelta(seconds=1), max_records=4)
    last = ArchiveSegment.objects.order_by("-number").first()
    assert last is not None

    record = append()

    assert (record.seq, record.prev_hash) == (8, last.last_record_hash)
    assert message_log_verify().intact


def test_only_records_before_the_date_are_archived() -> None:
    cutoff = timezone.now()
    append()
    append()

    message_log_archive(before=cutoff)

    assert list(MessageLogRecord.objects.values_list("seq", flat=True)) == [8, 9]
    assert message_log_verify().intact


def test_payloads_stay_encrypted_in_the_archive() -> None:
    segment = message_log_archive(before=timezone.now() + dt.timedelta(seconds=1))[0]

    with default_storage.open(segment.file_name, "rb") as raw:
        content = gzip.decompress(raw.read())
    assert b"PLAINTEXT" not in content
    first = json.loads(content.splitlines()[0])
    sealed = base64.b64decode(first["request_payload"])
    opened = payload_open(
        sealed, key_id=first["payload_key_id"], exchange_id=first["exchange_id"], side="request"
    )
    assert opened == REQUEST_BODY


def test_an_altered_segment_file_is_found() -> None:
    segment = message_log_archive(before=timezone.now() + dt.timedelta(seconds=1), max_records=4)[1]
    path = Path(default_storage.path(segment.file_name))
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    forged = json.loads(lines[1])
    forged["status"] = 200
    forged["purpose"] = "FORGED"
    lines[1] = json.dumps(forged, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    path.write_bytes(gzip.compress(b"".join(lines), mtime=0))

    result = message_log_verify()

    assert (result.intact, result.problem_kind, result.problem_seq) == (False, "altered", 6)
    assert "archive segment 2" in result.problem_en


def test_a_byte_flipped_segment_file_is_found() -> None:
    segment = message_log_archive(before=timezone.now() + dt.timedelta(seconds=1))[0]
    path = Path(default_storage.path(segment.file_name))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    result = message_log_verify()

    # then it is found: usually as an unreadable or re-hashed file, or, when the flipped bit still
    # decompresses before the CRC is read, as the record it changed (the payloads are random, so either)
    assert result.intact is False
    assert result.problem_kind in {"segment_altered", "altered"}
    assert result.problem_seq is not None
    assert 1 <= result.problem_seq <= 7


def test_a_missing_segment_file_and_an_altered_segment_row_are_found() -> None:
    segments = message_log_archive(before=timezone.now() + dt.timedelta(seconds=1), max_records=4)
    ArchiveSegment.objects.filter(number=2).update(last_record_hash="f" * 64)
    result = message_log_verify()
    assert (result.problem_kind, result.problem_seq) == ("segment_altered", 5)

    ArchiveSegment.objects.filter(number=2).update(last_record_hash=segments[1].last_record_hash)
    default_storage.delete(segments[0].file_name)
    result = message_log_verify()
    assert (result.problem_kind, result.problem_seq) == ("segment_missing", 1)


def test_onewindow_exchange_archive_log(capsys: pytest.CaptureFixture[str]) -> None:
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()

    assert main(["exchange", "archive-log", "--before", tomorrow]) == 0

    assert "Archived 7 records into 1 segments" in capsys.readouterr().out
    assert main(["exchange", "verify-log"]) == 0
    assert main(["exchange", "archive-log", "--before", "not-a-date"]) != 0
