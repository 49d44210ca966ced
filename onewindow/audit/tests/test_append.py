"""The audit chain links each record to the one before (MLPS 2.0 / GB/T 22239-2019 §8.1.4.3 a-c).

§8.1.4.3 a: every user's security-relevant actions are audited; b: a record holds date and time, user,
event type, outcome and other audit-relevant information; c: records are protected from deletion,
modification and overwriting.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from onewindow.accounts.models import Membership, User
from onewindow.accounts.roles import Kind, Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.audit.actions import audit_append
from onewindow.audit.chain import GENESIS_HASH, HASHED_FIELDS, canonical_bytes, record_hash, sm3_hex
from onewindow.audit.models import AuditRecord, Outcome
from onewindow.core.context import RequestContext, reset_request_context, set_request_context


class ActionFailedError(Exception):
    pass


@pytest.mark.django_db
def test_records_are_chained_and_secrets_redacted() -> None:
    # given/when two records, one with secrets in its details (also nested)
    first = audit_append(
        action="test.first",
        acting_user=None,
        details={"password": "x", "n": 1, "nested": {"api_token": "t", "kept": "k"}, "items": [{"otp": "1"}]},
    )
    second = audit_append(action="test.second", acting_user=None)

    # then they chain from the genesis hash and no secret is stored
    assert first.seq == 1
    assert first.prev_hash == GENESIS_HASH
    assert second.seq == 2
    assert second.prev_hash == first.hash
    stored = AuditRecord.objects.get(seq=1)
    assert stored.details == {
        "password": "[redacted]",
        "n": 1,
        "nested": {"api_token": "[redacted]", "kept": "k"},
        "items": [{"otp": "[redacted]"}],
    }
    assert record_hash({name: getattr(stored, name) for name in HASHED_FIELDS}) == stored.hash


@pytest.mark.django_db
def test_hash_is_sm3_of_sorted_compact_json() -> None:
    # given a record written in a known request context
    token = set_request_context(
        RequestContext(request_id="req-12345678", client_address="10.0.0.7", channel="web")
    )
    try:
        record = audit_append(action="test.canonical", acting_user=None, details={"b": "二", "a": 1})
    finally:
        reset_request_context(token)

    # then the hash is SM3 over the sorted-key compact UTF-8 JSON documented in docs/audit.md
    expected = (
        '{"action":"test.canonical","actor_id":null,"actor_role":"","actor_username":"","channel":"web",'
        '"client_address":"10.0.0.7","department_code":"","details":{"a":1,"b":"二"},"object_id":"",'
        '"object_type":"","outcome":"success","prev_hash":"'
        + GENESIS_HASH
        + '","recorded_at":"'
        + record.recorded_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        + '","request_id":"req-12345678","seq":1}'
    )
    fields = {name: getattr(record, name) for name in HASHED_FIELDS}
    assert canonical_bytes(fields).decode("utf-8") == expected
    assert record.hash == sm3_hex(expected.encode("utf-8"))
    # GB/T 32905-2016 appendix A example 1: SM3("abc")
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


@pytest.mark.django_db
def test_record_carries_actor_role_department_and_request_context() -> None:
    # given a department handler acting in a request
    handler = staff_user(Role.DEPARTMENT_HANDLER, department_code="D01", username="handler1")
    token = set_request_context(
        RequestContext(request_id="abcdef123456", client_address="192.0.2.1", channel="api")
    )
    try:
        # when an action audits itself
        record = audit_append(
            action="case.accepted", acting_user=handler, object_type="case", object_id=42, details={"k": "v"}
        )
    finally:
        reset_request_context(token)

    # then the record names who, in which role and department, from where, what and on what
    assert (record.actor_id, record.actor_username, record.actor_role, record.department_code) == (
        handler.pk,
        "handler1",
        "department_handler",
        "D01",
    )
    assert (record.action, record.object_type, record.object_id, record.outcome) == (
        "case.accepted",
        "case",
        "42",
        Outcome.SUCCESS,
    )
    assert (record.client_address, record.request_id, record.channel) == ("192.0.2.1", "abcdef123456", "api")


@pytest.mark.django_db
def test_role_lists_active_memberships_and_falls_back_to_kind() -> None:
    # given a staff member with two platform roles and a resident
    staff = staff_user(Role.LEADER, username="leader1")
    Membership.objects.create(user=staff, role=Role.SECURITY_OFFICER)
    resident = User.objects.create_user(username="resident1", kind=Kind.RESIDENT)

    # when both act
    staff_record = audit_append(action="test.staff", acting_user=staff)
    resident_record = audit_append(action="test.resident", acting_user=resident)
    explicit = audit_append(
        action="test.explicit", acting_user=staff, role="window_clerk", department_code="X"
    )

    # then the roles are listed, sorted; a resident's role is their kind; an explicit role wins
    assert staff_record.actor_role == "leader,security_officer"
    assert staff_record.department_code == ""
    assert resident_record.actor_role == "resident"
    assert (explicit.actor_role, explicit.department_code) == ("window_clerk", "X")


@pytest.mark.django_db
def test_record_rolls_back_with_the_action_it_records() -> None:
    # given an action that audits itself and then fails inside its transaction
    audit_append(action="test.before", acting_user=None)

    def failing_action() -> None:
        with transaction.atomic():
            audit_append(action="test.doomed", acting_user=None)
            raise ActionFailedError

    with pytest.raises(ActionFailedError):
        failing_action()

    # then its record is gone with it and the chain goes on from the last committed record
    after = audit_append(action="test.after", acting_user=None)
    assert list(AuditRecord.objects.values_list("seq", "action")) == [(1, "test.before"), (2, "test.after")]
    assert after.prev_hash == AuditRecord.objects.get(seq=1).hash


@pytest.mark.django_db
def test_anonymous_actor_username_is_kept() -> None:
    record = audit_append(
        action="auth.login_failed", acting_user=None, outcome=Outcome.FAILURE, actor_username="nobody"
    )

    assert (record.actor_id, record.actor_username, record.actor_role, record.outcome) == (
        None,
        "nobody",
        "",
        "failure",
    )
