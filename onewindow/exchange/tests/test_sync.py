"""Synchronous signed services (issue #8 item 2): a signed call through a built-in provider, grant
enforcement and item filtering, and every refusal code, each refused, audited and message-logged."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest

from onewindow.audit.models import AuditRecord
from onewindow.crypto.keys import Algorithm, generate_signer
from onewindow.exchange import actions, protocol
from onewindow.exchange.tests.conftest import World

pytestmark = pytest.mark.django_db

PURPOSE = "ZW2026000123"


def _log(exchange_id: str) -> Any:
    from onewindow.messagelog.models import MessageLogRecord

    return MessageLogRecord.objects.filter(exchange_id=exchange_id).first()


def _refused(world: World, answer: Any, code: str, status: int) -> None:
    assert answer.status == status, answer.body
    assert answer.code == code
    assert answer.json["message_zh"]
    assert answer.json["message_en"]
    exchange_id = answer.json["exchange_id"]
    audit = AuditRecord.objects.get(action="exchange.refused", details__exchange_id=exchange_id)
    assert audit.outcome == "denied"
    assert audit.details["code"] == code
    record = _log(exchange_id)
    assert record is not None
    assert record.error_code == code
    assert record.status == status


def test_signed_call_answers_granted_items_signed_by_the_provider(world: World) -> None:
    answer = world.client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE)
    assert answer.status == 200, answer.body
    assert answer.verified
    assert answer.headers[protocol.KEY_ID] == world.provider_key.key_id
    assert answer.data == {
        "名称": "福州闽江科技有限公司",
        "登记状态": "active",
        "统一社会信用代码": world.entity_code,
    }
    record = _log(answer.json["exchange_id"])
    assert record is not None
    assert record.status == 200
    assert record.error_code == ""
    assert record.request_signature
    assert record.response_signature == answer.headers[protocol.SIGNATURE]


def test_asking_for_a_subset_answers_only_that(world: World) -> None:
    answer = world.client.call(
        world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE, items=["名称"]
    )
    assert answer.status == 200
    assert answer.data == {"名称": "福州闽江科技有限公司"}


def test_items_outside_the_grant_are_refused(world: World) -> None:
    answer = world.client.call(
        world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE, items=["名称", "法定代表人"]
    )
    _refused(world, answer, "items_not_granted", 403)
    assert answer.json["items"] == ["法定代表人"]


def test_a_revoked_grant_stops_access_at_once(world: World, role_users: dict[str, Any]) -> None:
    from onewindow.catalog.actions_sharing import grant_revoke
    from onewindow.core.validators import make_credit_code  # noqa: F401

    assert (
        world.client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE).status
        == 200
    )
    grant_revoke(acting_user=role_users["system_admin"], grant=world.grant, reason="停止共享")
    answer = world.client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE)
    _refused(world, answer, "no_grant", 403)


def test_a_consumer_without_grant_is_refused(world: World) -> None:
    from onewindow.exchange.tests.conftest import key_signer, system

    other = system(world.provider.department, "AMR-OTHER")
    key = actions.subsystem_key_issue(acting_user=None, system=other)
    client = world.new_client(
        signer=key_signer(key), subsystem=protocol.subsystem_path(other.department.credit_code, other.code)
    )
    _refused(
        world,
        client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE),
        "no_grant",
        403,
    )


def _send(
    world: World, *, headers: dict[str, str] | None = None, body: bytes | None = None, **changes: Any
) -> Any:
    client = world.new_client()
    client.require_signed_response = False
    payload = body if body is not None else json.dumps({"query": {"credit_code": world.entity_code}}).encode()
    path = client.path_of(world.service_path)
    signed = headers if headers is not None else client.signed_headers(path, payload, PURPOSE, **changes)
    return client.send(path, signed, payload)


def test_unsigned_is_refused(world: World) -> None:
    _refused(world, _send(world, headers={}), "unsigned", 401)


def test_unknown_client_is_refused(world: World) -> None:
    client = world.new_client(subsystem="CN/GOV/000000000000000000/NOPE")
    client.require_signed_response = False
    _refused(
        world,
        client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE),
        "unknown_client",
        401,
    )


def test_wrong_key_is_refused(world: World) -> None:
    client = world.new_client(signer=generate_signer(Algorithm.SM2_SM3))
    client.require_signed_response = False
    _refused(
        world,
        client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE),
        "unknown_key",
        401,
    )


def test_bad_signature_is_refused(world: World) -> None:
    client = world.new_client()
    payload = json.dumps({"query": {"credit_code": world.entity_code}}).encode()
    path = client.path_of(world.service_path)
    headers = client.signed_headers(path, payload, PURPOSE)
    headers[protocol.PURPOSE] = protocol.encode_purpose("另一个用途")  # changed after signing
    client.require_signed_response = False
    _refused(world, client.send(path, headers, payload), "bad_signature", 401)


def test_altered_body_is_refused(world: World) -> None:
    client = world.new_client()
    payload = json.dumps({"query": {"credit_code": world.entity_code}}).encode()
    path = client.path_of(world.service_path)
    headers = client.signed_headers(path, payload, PURPOSE)
    client.require_signed_response = False
    altered = payload.replace(b"credit_code", b"credit_cod\\u0065")
    _refused(world, client.send(path, headers, altered), "digest_mismatch", 400)


def test_stale_timestamp_is_refused(world: World) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
    _refused(world, _send(world, now=old), "stale_timestamp", 401)
    future = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)
    _refused(world, _send(world, now=future), "stale_timestamp", 401)


def test_replayed_nonce_is_refused(world: World) -> None:
    client = world.new_client()
    payload = json.dumps({"query": {"credit_code": world.entity_code}}).encode()
    path = client.path_of(world.service_path)
    headers = client.signed_headers(path, payload, PURPOSE)
    assert client.send(path, headers, payload).status == 200
    client.require_signed_response = False
    _refused(world, client.send(path, headers, payload), "replayed_nonce", 409)


def test_revoked_key_is_refused_and_rotation_keeps_the_old_key_verifying(world: World) -> None:
    old = world.consumer_key
    new = actions.subsystem_key_issue(acting_user=None, system=world.consumer)
    old.refresh_from_db()
    assert old.status == "retired"
    assert new.status == "active"
    # The retired key still verifies what it signs (a request signed just before the rotation).
    assert (
        world.client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE).status
        == 200
    )
    actions.subsystem_key_revoke(acting_user=None, key=old, reason="泄露")
    client = world.new_client()
    client.require_signed_response = False
    _refused(
        world,
        client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE),
        "key_revoked",
        401,
    )


class _ClockInOneMinute:
    """``time`` as the gateway sees it, with ``time()`` held in the middle of the current minute: the limit
    counts per minute window, so three calls straddling a minute boundary would start a new count."""

    def __init__(self) -> None:
        self._now = (time.time() // 60) * 60 + 30

    def time(self) -> float:
        return self._now

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def test_rate_limit_per_grant(
    world: World, role_users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from onewindow.exchange import gateway

    monkeypatch.setattr(gateway, "time", _ClockInOneMinute())
    amr_admin = _amr_admin()
    actions.grant_rate_limit_set(acting_user=amr_admin, grant=world.grant, per_minute=2)
    for _ in range(2):
        assert (
            world.client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE).status
            == 200
        )
    answer = world.client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE)
    _refused(world, answer, "rate_limited", 429)


def _amr_admin() -> Any:
    from onewindow.accounts.roles import Role
    from onewindow.accounts.tests.factories import staff_user

    return staff_user(Role.DEPARTMENT_ADMIN, department_code="AMR", username="amr_admin")


def test_unknown_record_and_bad_body(world: World) -> None:
    answer = world.client.call(world.service_path, {"credit_code": "91350100MA0000000X"}, purpose=PURPOSE)
    assert answer.status == 404
    assert answer.code == "record_not_found"
    assert answer.verified
    answer = world.client.call(world.service_path, {"nothing": 1}, purpose=PURPOSE)
    assert answer.status == 400
    assert answer.code == "bad_request"


def test_tampered_response_is_not_verified(world: World) -> None:
    from onewindow.exchange.client import ExchangeAnswer

    answer = world.client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE)
    forged = ExchangeAnswer(
        answer.status, answer.body.replace("闽江".encode(), "闽东".encode()), answer.headers, False
    )
    path = world.client.path_of(world.service_path)
    assert world.client.response_problem(forged, path, "any") != ""
