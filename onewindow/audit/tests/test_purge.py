"""Retention: audit records are kept at least 180 days, then may be purged from the start of the chain.

Cybersecurity Law of the PRC art. 21(3): network logs are kept no less than six months; MLPS 2.0 /
GB/T 22239-2019 §8.1.4.3 c: records are protected against unexpected deletion.
"""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.audit.actions import AuditRetentionError, audit_append, audit_purge
from onewindow.audit.models import AuditRecord
from onewindow.audit.verify import verify_chain

pytestmark = pytest.mark.django_db


def _records_at(when: dt.datetime, count: int, label: str) -> None:
    with mock.patch.object(timezone, "now", return_value=when):
        for n in range(count):
            audit_append(action=f"test.{label}.{n}", acting_user=None)


def _seqs() -> list[int]:
    return list(AuditRecord.objects.order_by("seq").values_list("seq", flat=True))


def test_purge_inside_retention_is_refused_and_the_refusal_audited(settings: Any) -> None:
    # given records and a retention of 365 days
    settings.AUDIT_RETENTION_DAYS = 365
    _records_at(timezone.now() - dt.timedelta(days=400), 2, "old")
    before = timezone.now() - dt.timedelta(days=300)

    # when a purge of everything before 300 days ago is asked for
    with pytest.raises(AuditRetentionError) as refused:
        audit_purge(before=before, acting_user=None)

    # then nothing is deleted and the refusal is recorded
    assert "365" in refused.value.message_en
    assert "365" in refused.value.message_zh
    assert _seqs() == [1, 2, 3]
    refusal = AuditRecord.objects.get(seq=3)
    assert (refusal.action, refusal.outcome) == ("audit.purge_refused", "denied")
    assert refusal.details == {"before": before.isoformat(), "retention_days": 365}


def test_purge_deletes_old_records_from_the_start_and_the_chain_still_verifies() -> None:
    # given 3 records 200 days old, 2 recent ones, and an auditor-free system run
    now = timezone.now()
    _records_at(now - dt.timedelta(days=200), 3, "old")
    _records_at(now - dt.timedelta(days=10), 2, "new")
    last_old_hash = AuditRecord.objects.get(seq=3).hash

    # when records before 190 days ago are purged
    result = audit_purge(before=now - dt.timedelta(days=190), acting_user=None)

    # then #1-#3 are gone, a purge record names them, and verification accepts the later start
    assert (result.deleted, result.from_seq, result.to_seq) == (3, 1, 3)
    assert _seqs() == [4, 5, 6]
    purge = AuditRecord.objects.get(seq=6)
    assert purge.action == "audit.purged"
    assert purge.details["from_seq"] == 1
    assert purge.details["to_seq"] == 3
    assert purge.details["last_hash"] == last_old_hash
    verified = verify_chain()
    assert (verified.intact, verified.checked, verified.first_seq) == (True, 3, 4)


def test_purge_stops_at_the_first_record_not_old_enough() -> None:
    # given an old record, a newer one, then an old one again (clock skew between servers)
    now = timezone.now()
    _records_at(now - dt.timedelta(days=300), 1, "a")
    _records_at(now - dt.timedelta(days=100), 1, "b")
    _records_at(now - dt.timedelta(days=300), 1, "c")

    # when purged before 200 days ago
    result = audit_purge(before=now - dt.timedelta(days=200), acting_user=None)

    # then only the first is deleted: purging never leaves a hole in the chain
    assert (result.deleted, result.to_seq) == (1, 1)
    assert _seqs() == [2, 3, 4]
    assert verify_chain().intact


def test_two_purges_in_turn_keep_the_chain_verifiable() -> None:
    now = timezone.now()
    _records_at(now - dt.timedelta(days=400), 2, "a")
    _records_at(now - dt.timedelta(days=300), 2, "b")
    _records_at(now - dt.timedelta(days=1), 1, "c")

    audit_purge(before=now - dt.timedelta(days=350), acting_user=None)  # #1-#2, purge record #6
    second = audit_purge(before=now - dt.timedelta(days=250), acting_user=None)  # #3-#4, purge record #7

    assert (second.from_seq, second.to_seq) == (3, 4)
    assert _seqs() == [5, 6, 7]
    assert verify_chain().intact


def test_a_purge_record_that_does_not_match_is_caught(tamper: Any) -> None:
    # given a purge, then record #4 (the new first record) rewritten to follow another hash
    now = timezone.now()
    _records_at(now - dt.timedelta(days=300), 3, "old")
    _records_at(now, 1, "new")
    audit_purge(before=now - dt.timedelta(days=200), acting_user=None)
    tamper("UPDATE audit_auditrecord SET prev_hash = %s WHERE seq = 4", ["e" * 64])

    result = verify_chain()

    assert (result.intact, result.problem_kind, result.problem_seq) == (False, "link_broken", 4)


def test_purge_with_nothing_old_enough_deletes_nothing() -> None:
    _records_at(timezone.now(), 2, "new")

    result = audit_purge(before=timezone.now() - dt.timedelta(days=200), acting_user=None)

    assert result.deleted == 0
    assert _seqs() == [1, 2]


def test_purge_records_the_acting_user() -> None:
    officer = staff_user(Role.SECURITY_OFFICER, username="officer1")
    _records_at(timezone.now() - dt.timedelta(days=300), 1, "old")

    result = audit_purge(before=timezone.now() - dt.timedelta(days=200), acting_user=officer)

    assert result.record is not None
    assert (result.record.actor_username, result.record.actor_role) == ("officer1", "security_officer")


def test_the_command_refuses_young_dates_and_purges_old_ones() -> None:
    # given two old records and a recent one
    _records_at(timezone.now() - dt.timedelta(days=400), 2, "old")
    _records_at(timezone.now(), 1, "new")
    young = (timezone.localdate() - dt.timedelta(days=179)).isoformat()
    old = (timezone.localdate() - dt.timedelta(days=300)).isoformat()

    # when the command is run with a date inside the retention period, it refuses in both languages
    with pytest.raises(CommandError, match="180") as refused:
        call_command("audit_purge", "--before", young)
    assert "审计记录须保存180天" in str(refused.value)
    assert _seqs() == [1, 2, 3, 4]  # #4: the refusal

    # and with an old date it purges
    out = StringIO()
    call_command("audit_purge", "--before", old, stdout=out)
    assert "Purged audit records #1-#2 (2)" in out.getvalue()
    assert _seqs() == [3, 4, 5]
    assert AuditRecord.objects.get(seq=5).channel == "cli"
    assert verify_chain().intact


def test_the_command_rejects_a_malformed_date() -> None:
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("audit_purge", "--before", "yesterday")
