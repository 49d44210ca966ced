"""``message_log_append``: one hash-chained record per exchange with both signatures, digests, purpose and
timings; payloads per subsystem policy, encrypted at rest (issue #8 item 3; PIPL Art. 51; Electronic
Signature Law Art. 13 — later changes must be detectable)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import override_settings

from onewindow.messagelog.chain import GENESIS_HASH, HASHED_FIELDS, record_hash
from onewindow.messagelog.models import MessageLogRecord, PayloadPolicy, PayloadState, SubsystemPayloadPolicy
from onewindow.messagelog.protection import PayloadDecryptionError, payload_open
from onewindow.messagelog.tests.factories import REQUEST_BODY, RESPONSE_BODY, append, subsystem
from onewindow.messagelog.verify import message_log_verify

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _subsystems() -> None:
    subsystem("MSR-SYS", "MSR")
    subsystem("TAX-SYS", "TAX")


def _raw(seq: int, column: str) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM messagelog_messagelogrecord WHERE seq = %s", [seq])  # noqa: S608
        return cursor.fetchone()[0]


def test_appends_chain_each_record_to_the_one_before() -> None:
    # when three exchanges are logged
    records = [append(), append(status=403, error_code="no_grant"), append()]

    # then seq runs 1..3, each prev_hash is the hash before, and every hash covers its stored fields
    stored = list(MessageLogRecord.objects.order_by("seq"))
    assert [record.seq for record in stored] == [1, 2, 3]
    assert stored[0].prev_hash == GENESIS_HASH
    assert [record.prev_hash for record in stored[1:]] == [stored[0].record_hash, stored[1].record_hash]
    for saved, returned in zip(stored, records, strict=True):
        assert saved.record_hash == returned.record_hash
        assert record_hash({name: getattr(saved, name) for name in HASHED_FIELDS}) == saved.record_hash
    assert (stored[1].status, stored[1].error_code) == (403, "no_grant")
    assert (stored[0].consumer_department_code, stored[0].provider_department_code) == ("TAX", "MSR")
    assert stored[0].duration_ms == "11.765"
    assert stored[0].request_signature == "c2lnbmF0dXJlLXJlcXVlc3Q="
    assert message_log_verify().intact


def test_default_policy_metadata_keeps_sizes_but_no_payload() -> None:
    record = append()

    assert record.payload_policy == PayloadPolicy.METADATA
    assert (record.request_size, record.response_size) == (len(REQUEST_BODY), len(RESPONSE_BODY))
    assert record.request_payload_state == record.response_payload_state == PayloadState.NOT_LOGGED
    assert _raw(1, "request_payload") is None
    assert _raw(1, "response_payload") is None


def test_policy_none_keeps_neither_payload_nor_sizes() -> None:
    SubsystemPayloadPolicy.objects.create(subsystem_code="TAX-SYS", policy=PayloadPolicy.NONE)

    record = append()

    assert (record.payload_policy, record.request_size, record.response_size) == ("none", None, None)
    assert _raw(1, "request_payload") is None


def test_full_policy_encrypts_payloads_never_plaintext_in_the_database() -> None:
    # given both subsystems log full payloads
    for code in ("TAX-SYS", "MSR-SYS"):
        SubsystemPayloadPolicy.objects.create(subsystem_code=code, policy=PayloadPolicy.FULL)

    # when an exchange is logged
    record = append(exchange_id="ex-full-1")

    # then the raw columns hold ciphertext only, which opens to the bodies with the record's exchange id
    raw_request = bytes(_raw(1, "request_payload"))
    raw_response = bytes(_raw(1, "response_payload"))
    assert record.request_payload_state == record.response_payload_state == PayloadState.STORED
    assert b"PLAINTEXT" not in raw_request + raw_response
    assert "张三".encode() not in raw_response
    key_id = str(_raw(1, "payload_key_id"))
    assert payload_open(raw_request, key_id=key_id, exchange_id="ex-full-1", side="request") == REQUEST_BODY
    assert (
        payload_open(raw_response, key_id=key_id, exchange_id="ex-full-1", side="response") == RESPONSE_BODY
    )
    # and a payload moved to another record or side does not open
    with pytest.raises(PayloadDecryptionError):
        payload_open(raw_request, key_id=key_id, exchange_id="ex-other", side="request")
    with pytest.raises(PayloadDecryptionError):
        payload_open(raw_request, key_id=key_id, exchange_id="ex-full-1", side="response")


def test_the_stricter_policy_of_the_two_subsystems_applies() -> None:
    SubsystemPayloadPolicy.objects.create(subsystem_code="TAX-SYS", policy=PayloadPolicy.FULL)
    SubsystemPayloadPolicy.objects.create(subsystem_code="MSR-SYS", policy=PayloadPolicy.METADATA)

    assert append().payload_policy == PayloadPolicy.METADATA


@override_settings(MESSAGELOG_PAYLOADS="full", MESSAGELOG_MAX_PAYLOAD=100)
def test_a_payload_over_the_limit_is_not_stored_and_is_flagged() -> None:
    record = append(request_body=b"x" * 101, response_body=b"y" * 100)

    assert record.payload_policy == PayloadPolicy.FULL
    assert (record.request_payload_state, record.request_size) == (PayloadState.TOO_LARGE, 101)
    assert _raw(1, "request_payload") is None
    assert record.response_payload_state == PayloadState.STORED
    assert message_log_verify().intact


def test_naive_started_at_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        append(started_at=dt.datetime(2026, 1, 1, 12, 0))  # noqa: DTZ001 - the case under test
    assert not MessageLogRecord.objects.exists()


@override_settings(
    ONEWINDOW_ENV="production", MESSAGELOG_KEYS_DEVELOPMENT_DEFAULT=True, MESSAGELOG_PAYLOADS="full"
)
def test_the_development_key_is_refused_in_production() -> None:
    messages = [message.id for message in run_checks(include_deployment_checks=True)]
    assert "messagelog.E001" in messages
    with pytest.raises(ImproperlyConfigured, match="development default"):
        append()
    assert not MessageLogRecord.objects.exists()


@override_settings(MESSAGELOG_KEYS={"l2": b"\x02" * 32, "l1": b"\x01" * 32}, MESSAGELOG_PAYLOADS="full")
def test_payloads_under_an_older_key_stay_readable_after_rotation() -> None:
    with override_settings(MESSAGELOG_KEYS={"l1": b"\x01" * 32}):
        append(exchange_id="old")
    append(exchange_id="new")

    assert [_raw(1, "payload_key_id"), _raw(2, "payload_key_id")] == ["l1", "l2"]
    old = bytes(_raw(1, "request_payload"))
    assert payload_open(old, key_id="l1", exchange_id="old", side="request") == REQUEST_BODY
