"""External HTTP services through the exchange (issue #8 items 2 and 6; docs/exchange.md, "HTTP services and
the adapter protocol"): the gateway signs what it sends with its own key, the reference adapter on a real
local port verifies it and answers signed with the department's own key, the gateway verifies that and
answers the consumer signed with its key; both legs are in the message log. A tampered or foreign answer is
refused; retries re-sign (fresh nonce); the circuit breaker opens and half-opens."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from django.test import override_settings

from onewindow.crypto.keys import Algorithm, generate_signer
from onewindow.exchange import adapter, protocol
from onewindow.exchange.tests.support_adapter import AdapterWorld, adapter_world

pytestmark = pytest.mark.django_db

__all__ = ["adapter_world"]

PURPOSE = "ZW2026000321"


def _records(exchange_id: str) -> list[Any]:
    from onewindow.messagelog.models import MessageLogRecord

    return list(MessageLogRecord.objects.filter(exchange_id=exchange_id).order_by("seq"))


class _Spy:
    """WSGI middleware: records what reached the adapter and can rewrite or replace its answers."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[dict[str, Any]] = []
        self.script: list[int] = []  # statuses answered (unsigned) instead of calling the adapter
        self.rewrite: Callable[[bytes], bytes] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        import io

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        self.requests.append(
            {
                "body": json.loads(body) if body else None,
                "nonce": environ.get("HTTP_X_OW_NONCE", ""),
                "client": environ.get("HTTP_X_OW_CLIENT", ""),
            }
        )
        if self.script:
            status = self.script.pop(0)
            start_response(f"{status} Unavailable", [("Content-Type", "text/plain")])
            return [b"busy"]
        if self.rewrite is None:
            answer: Iterable[bytes] = self.app(environ, start_response)
            return answer
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]]) -> None:
            captured["status"], captured["headers"] = status, headers

        rewritten = self.rewrite(b"".join(self.app(environ, capture)))
        headers = [(n, v) for n, v in captured["headers"] if n.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(rewritten)))])
        return [rewritten]


@pytest.fixture
def spy(adapter_world: AdapterWorld) -> _Spy:
    spy = _Spy(adapter_world.adapter)
    adapter_world.server.app = spy
    return spy


def test_call_through_the_gateway_to_the_reference_adapter(adapter_world: AdapterWorld, spy: _Spy) -> None:
    answer = adapter_world.client.call(
        adapter_world.service_path, {"name": "鼓楼一中"}, purpose=PURPOSE, items=["学校名称"]
    )
    assert answer.status == 200, answer.body
    assert answer.verified  # signed by the gateway's key for an HTTP service
    assert answer.headers[protocol.CLIENT] == adapter.GATEWAY_IDENTITY
    assert answer.data == {"学校名称": "福州市鼓楼第一中学"}
    # The adapter was asked only for the granted item, by the gateway, with the consumer named in the body.
    assert spy.requests[0]["client"] == adapter.GATEWAY_IDENTITY
    assert spy.requests[0]["body"]["items"] == ["学校名称"]
    assert spy.requests[0]["body"]["consumer"] == adapter_world.client.subsystem
    exchange_id = answer.json["exchange_id"]
    assert spy.requests[0]["body"]["exchange_id"] == exchange_id
    provider_leg, consumer_leg = _records(exchange_id)
    # The provider leg: the gateway's request and the department's own signed answer.
    assert provider_leg.consumer == adapter.GATEWAY_IDENTITY
    assert provider_leg.provider == protocol.subsystem_path(
        adapter_world.system.department.credit_code, adapter_world.system.code
    )
    assert provider_leg.status == 200
    assert provider_leg.error_code == ""
    assert provider_leg.request_signature
    assert provider_leg.response_signature
    # The consumer leg, as for every call.
    assert consumer_leg.consumer == adapter_world.client.subsystem
    assert consumer_leg.status == 200
    assert consumer_leg.response_signature == answer.headers[protocol.SIGNATURE]


def test_no_record_and_bad_query_come_back_as_the_exchange_codes(
    adapter_world: AdapterWorld, spy: _Spy
) -> None:
    missing = adapter_world.client.call(adapter_world.service_path, {"name": "不存在"}, purpose=PURPOSE)
    assert (missing.status, missing.code) == (404, "record_not_found")
    assert missing.verified
    bad = adapter_world.client.call(adapter_world.service_path, {"school": "x"}, purpose=PURPOSE)
    assert (bad.status, bad.code) == (400, "bad_request")
    assert "name" in bad.json["problem"]


def test_a_tampered_provider_answer_is_refused_and_logged(
    adapter_world: AdapterWorld, spy: _Spy, caplog: pytest.LogCaptureFixture
) -> None:
    spy.rewrite = lambda body: body.replace(b"1200", b"9999")
    with caplog.at_level(logging.WARNING, logger="onewindow.exchange.http_provider"):
        answer = adapter_world.client.call(adapter_world.service_path, {"name": "鼓楼一中"}, purpose=PURPOSE)
    assert (answer.status, answer.code) == (503, "provider_unavailable")
    assert "9999" not in answer.body.decode()
    assert len(spy.requests) == 1  # not retried: the provider answered, wrongly
    assert any(record.message == "exchange_provider_response_unverified" for record in caplog.records)
    provider_leg, consumer_leg = _records(answer.json["exchange_id"])
    assert provider_leg.error_code == "provider_response_unverified"
    assert consumer_leg.error_code == "provider_unavailable"


def test_an_answer_signed_by_a_key_the_platform_did_not_certify_is_refused(
    adapter_world: AdapterWorld,
) -> None:
    adapter_world.server.app = adapter_world.make_adapter(signer=generate_signer(Algorithm.SM2_SM3))
    answer = adapter_world.client.call(adapter_world.service_path, {"name": "鼓楼一中"}, purpose=PURPOSE)
    assert (answer.status, answer.code) == (503, "provider_unavailable")
    assert _records(answer.json["exchange_id"])[0].error_code == "provider_response_unverified"


def test_an_answer_signed_by_a_revoked_key_is_refused(adapter_world: AdapterWorld) -> None:
    from onewindow.exchange.actions import subsystem_key_revoke

    subsystem_key_revoke(acting_user=None, key=adapter_world.key, reason="私钥泄露")
    answer = adapter_world.client.call(adapter_world.service_path, {"name": "鼓楼一中"}, purpose=PURPOSE)
    assert (answer.status, answer.code) == (503, "provider_unavailable")


def test_an_unsigned_provider_is_refused(adapter_world: AdapterWorld) -> None:
    def legacy(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = json.dumps({"data": {"学校名称": "伪造"}}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    adapter_world.server.app = legacy
    answer = adapter_world.client.call(adapter_world.service_path, {"name": "鼓楼一中"}, purpose=PURPOSE)
    assert (answer.status, answer.code) == (503, "provider_unavailable")


@override_settings(EXCHANGE_RETRY_BACKOFF_SECONDS=0.01)
def test_passing_failures_are_retried_each_attempt_signed_afresh(
    adapter_world: AdapterWorld, spy: _Spy
) -> None:
    spy.script = [503, 502]
    answer = adapter_world.client.call(adapter_world.service_path, {"name": "鼓楼一中"}, purpose=PURPOSE)
    assert answer.status == 200, answer.body
    assert len(spy.requests) == 3
    assert len({request["nonce"] for request in spy.requests}) == 3  # a retry is never a replay


@override_settings(
    EXCHANGE_RETRY_BACKOFF_SECONDS=0.01, EXCHANGE_CIRCUIT_FAILURES=2, EXCHANGE_CIRCUIT_COOLDOWN_SECONDS=1
)
def test_circuit_breaker_opens_and_half_opens(
    adapter_world: AdapterWorld, spy: _Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    spy.script = [503] * 6  # two calls of three attempts each fail
    for _ in range(2):
        answer = adapter_world.client.call(adapter_world.service_path, {"name": "鼓楼一中"}, purpose=PURPOSE)
        assert (answer.status, answer.code) == (503, "provider_unavailable")
    assert len(spy.requests) == 6
    # Open: refused without calling the provider.
    answer = adapter_world.client.call(adapter_world.service_path, {"name": "鼓楼一中"}, purpose=PURPOSE)
    assert answer.code == "provider_unavailable"
    assert len(spy.requests) == 6
    # After the cool-down one trial call goes through; it succeeds and closes the circuit.
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + 2)
    assert (
        adapter_world.client.call(adapter_world.service_path, {"name": "鼓楼一中"}, purpose=PURPOSE).status
        == 200
    )
    assert len(spy.requests) == 7
    assert (
        adapter_world.client.call(adapter_world.service_path, {"name": "鼓楼一中"}, purpose=PURPOSE).status
        == 200
    )


@override_settings(EXCHANGE_RETRY_BACKOFF_SECONDS=0.01)
def test_unreachable_provider_is_unavailable(adapter_world: AdapterWorld) -> None:
    adapter_world.server.stop()
    answer = adapter_world.client.call(adapter_world.service_path, {"name": "鼓楼一中"}, purpose=PURPOSE)
    assert (answer.status, answer.code) == (503, "provider_unavailable")
    assert answer.verified


def test_refusals_before_the_provider_are_signed_by_the_gateway(
    adapter_world: AdapterWorld, spy: _Spy
) -> None:
    answer = adapter_world.client.call(
        adapter_world.service_path, {"name": "鼓楼一中"}, purpose=PURPOSE, items=["办学类型"]
    )
    assert (answer.status, answer.code) == (403, "items_not_granted")
    assert answer.verified
    assert spy.requests == []
