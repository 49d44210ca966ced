"""The audit chain links each record to the one before (MLPS 2.0 §8.1.4.3 c: protect audit records)."""

from __future__ import annotations

import pytest

from onewindow.audit.actions import audit_append
from onewindow.audit.chain import GENESIS_HASH, record_hash
from onewindow.audit.models import AuditRecord


@pytest.mark.django_db
def test_records_are_chained_and_secrets_redacted() -> None:
    first = audit_append(action="test.first", acting_user=None, details={"password": "x", "n": 1})
    second = audit_append(action="test.second", acting_user=None)

    assert first.seq == 1
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert first.details == {"password": "[redacted]", "n": 1}
    stored = AuditRecord.objects.get(seq=1)
    fields = {name: getattr(stored, name) for name in ("seq", "recorded_at", "actor_id", "actor_username",
              "actor_role", "department_code", "action", "object_type", "object_id", "outcome",
              "client_address", "request_id", "channel", "details", "prev_hash")}
    assert record_hash(fields) == stored.hash
