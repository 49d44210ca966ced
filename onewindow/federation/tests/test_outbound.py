"""A local consumer calls a service of a peer (issue #8 item 7; docs/federation.md "A call across
nodes"): this node checks the consumer as the exchange does, routes by the member through the peer's
cached directory, forwards signed by its node key with the consumer's envelope, checks the peer's answer
against the peer's pinned root, and answers the consumer signed by its node key; both signatures are in
its message log. The peer is played by the test behind a real HTTP server."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from django.test import Client
from django.utils import timezone

from onewindow.audit.models import AuditRecord
from onewindow.crypto.keys import load_verifier
from onewindow.exchange import actions as exchange_actions
from onewindow.exchange import protocol as xp
from onewindow.exchange.client import ExchangeClient
from onewindow.exchange.keystore import private_key_open, verifier_for
from onewindow.federation import actions, protocol
from onewindow.federation.directory import peer_directory_refresh
from onewindow.federation.identity import node_key_active, own_root
from onewindow.federation.models import FederatedCall, Peer, PeerMember
from onewindow.federation.tests.conftest import LOCAL, PURPOSE, peer_register, system
from onewindow.federation.tests.support import FakeNode, Party, PeerServer, json_answer

pytestmark = pytest.mark.django_db

REMOTE_MEMBER = "11350000MB0000002X"
REMOTE_PROVIDER = f"CN/GOV/{REMOTE_MEMBER}/PROV-REG"
REMOTE_SERVICE = f"{REMOTE_PROVIDER}/entity-basic"
DATA = {"名称": "福建海峡科技有限公司", "登记状态": "active"}


def _transport(client: Client) -> Any:
    def send(
        method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        response = client.generic(method, path, data=body, content_type="application/json", headers=headers)
        return response.status_code, dict(response.items()), response.content

    return send


@dataclass
class City:
    client: ExchangeClient
    consumer: str
    peer: Peer
    remote: FakeNode
    provider: Party
    server: PeerServer
    root: x509.Certificate
    seen: list[dict[str, Any]]


def _province_handler(
    city: City,
) -> Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]:
    """The peer: checks the forwarded call as a OneWindow node does, answers signed by its provider."""

    def handle(
        method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        signed = xp.SignedHeaders.from_headers(headers)
        assert signed is not None
        certificate = base64.b64decode(headers[protocol.CERTIFICATE])
        spki = protocol.certificate_check(
            certificate, city.root, subject=protocol.node_subject(LOCAL), now=timezone.now()
        )
        envelope_value = headers[protocol.CONSUMER]
        load_verifier(spki).verify(
            base64.b64decode(headers[xp.SIGNATURE]),
            protocol.node_request_canonical(
                "POST",
                path,
                signed,
                target=city.remote.instance,
                envelope_digest=protocol.envelope_digest(envelope_value),
            ),
        )
        envelope = protocol.Envelope.decode(envelope_value)
        assert envelope is not None
        consumer_spki = protocol.certificate_check(
            envelope.certificate_der, city.root, subject=envelope.headers.client, now=timezone.now()
        )
        load_verifier(consumer_spki).verify(
            base64.b64decode(envelope.signature),
            xp.request_canonical("POST", envelope.path, envelope.headers),
        )
        city.seen.append({"path": path, "consumer": envelope.headers.client, "body": body})
        answer = json_answer({"exchange_id": "f" * 32, "service": REMOTE_SERVICE, "data": DATA})
        return (
            200,
            city.remote.answer(
                city.provider,
                status=200,
                path=path,
                body=answer,
                request_nonce=signed.nonce,
                purpose=signed.purpose,
            ),
            answer,
        )

    return handle


@pytest.fixture
def city(db: None, local_node: str, remote: FakeNode, peer_server: PeerServer) -> City:
    from onewindow.organisations.tests.factories import DepartmentFactory

    tax = DepartmentFactory.create(code="CTAX", name="税务局")
    consumer_system = system(tax, "CITY-TAX-SYS")
    key = exchange_actions.subsystem_key_issue(acting_user=None, system=consumer_system)
    from onewindow.crypto.keys import load_signer

    signer = load_signer(private_key_open(key.key_id, key.algorithm, key.private_key_token))
    peer = peer_register(remote, directions=["requests_out"], base_url=peer_server.url)
    actions.peer_directory_store(
        peer=peer, members=[{"credit_code": REMOTE_MEMBER, "name": "省市场监管局", "services": []}]
    )
    node_key = node_key_active()
    consumer = xp.subsystem_path(tax.credit_code, consumer_system.code)
    client = ExchangeClient(
        base_url="http://testserver/federation",
        subsystem=consumer,
        signer=signer,
        provider_verifiers={node_key.key_id: verifier_for(node_key.key_id, bytes(node_key.public_key_der))},
        transport=_transport(Client()),
    )
    result = City(client, consumer, peer, remote, remote.party(REMOTE_PROVIDER), peer_server, own_root(), [])
    peer_server.handler = _province_handler(result)
    return result


def test_a_consumer_call_is_forwarded_signed_and_the_answer_verified(city: City) -> None:
    answer = city.client.call(REMOTE_SERVICE, {"credit_code": "91350000MA0000001X"}, purpose=PURPOSE)
    assert answer.status == 200, answer.body
    assert answer.verified  # signed by this node's node key
    assert answer.data == DATA
    assert city.seen[0]["consumer"] == city.consumer
    assert city.seen[0]["path"] == protocol.INBOUND_PREFIX + REMOTE_SERVICE
    assert answer.headers[protocol.PEER_EXCHANGE_ID] == "f" * 32
    from onewindow.messagelog.models import MessageLogRecord

    record = MessageLogRecord.objects.get(exchange_id=answer.headers[xp.EXCHANGE_ID])
    assert record.consumer == city.consumer
    assert record.provider == protocol.qualified(city.remote.instance, REMOTE_PROVIDER)
    assert record.service == protocol.qualified(city.remote.instance, REMOTE_SERVICE)
    assert record.status == 200
    assert record.request_signature  # the consumer's
    assert (
        record.response_signature
        == json.loads(base64.urlsafe_b64decode(answer.headers[protocol.PEER_RESPONSE] + "=="))["headers"][
            xp.SIGNATURE
        ]
    )
    call = FederatedCall.objects.get(exchange_id=record.exchange_id)
    assert (call.direction, call.peer_instance, call.remote_exchange_id) == ("out", "CN-3501", "f" * 32)


def _refused(answer: Any, code: str, status: int) -> None:
    assert answer.status == status, answer.body
    assert answer.code == code
    assert answer.json["message_zh"]
    assert answer.json["message_en"]
    assert AuditRecord.objects.filter(action="federation.refused", details__code=code).exists()
    from onewindow.messagelog.models import MessageLogRecord

    assert MessageLogRecord.objects.get(exchange_id=answer.headers[xp.EXCHANGE_ID]).error_code == code


def test_an_answer_not_signed_under_the_peer_root_is_refused(city: City) -> None:
    forger = FakeNode(city.remote.instance)
    city.provider = forger.party(REMOTE_PROVIDER)
    answer = city.client.call(REMOTE_SERVICE, {"credit_code": "x"}, purpose=PURPOSE)
    _refused(answer, "bad_peer_response", 502)
    assert answer.verified  # the refusal itself is signed by this node
    # Signed under the right root by a party that is not the provider of that service
    city.provider = city.remote.party("CN/GOV/11350000MB0000009X/OTHER")
    _refused(
        city.client.call(REMOTE_SERVICE, {"credit_code": "x"}, purpose=PURPOSE), "bad_peer_response", 502
    )
    # Data signed by the peer's node rather than by the provider subsystem
    city.provider = city.remote.node
    _refused(
        city.client.call(REMOTE_SERVICE, {"credit_code": "x"}, purpose=PURPOSE), "bad_peer_response", 502
    )


def test_a_tampered_answer_is_refused(city: City) -> None:
    handler = city.server.handler

    def tamper(
        method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        status, answer_headers, content = handler(method, path, headers, body)
        return status, answer_headers, content.replace("福建".encode(), "福州".encode())

    city.server.handler = tamper
    _refused(
        city.client.call(REMOTE_SERVICE, {"credit_code": "x"}, purpose=PURPOSE), "bad_peer_response", 502
    )


def test_routing_refusals(city: City) -> None:
    # A member no peer lists
    unknown = "CN/GOV/11350000MB0000008X/SYS/svc"
    _refused(city.client.call(unknown, {}, purpose=PURPOSE), "unknown_member", 404)
    # A member of this node: the exchange serves it
    from onewindow.organisations.models import Department

    local = Department.objects.get(code="CTAX").credit_code
    _refused(city.client.call(f"CN/GOV/{local}/SYS/svc", {}, purpose=PURPOSE), "local_member", 400)
    # The peer revoked here: refused without calling it
    actions.peer_revoke(acting_user=None, peer=city.peer, reason="安全事件")
    _refused(city.client.call(REMOTE_SERVICE, {}, purpose=PURPOSE), "peer_revoked", 403)
    assert city.seen == []


def test_calls_out_not_allowed_and_an_unreachable_peer(city: City, remote: FakeNode) -> None:
    Peer.objects.filter(pk=city.peer.pk).update(requests_out=False)
    _refused(city.client.call(REMOTE_SERVICE, {}, purpose=PURPOSE), "direction_not_allowed", 403)
    Peer.objects.filter(pk=city.peer.pk).update(requests_out=True, base_url="http://127.0.0.1:9")
    _refused(city.client.call(REMOTE_SERVICE, {}, purpose=PURPOSE), "peer_unavailable", 503)


def test_the_consumer_is_checked_as_the_exchange_does(city: City) -> None:
    body = b'{"query":{}}'
    path = city.client.path_of(REMOTE_SERVICE)
    headers = city.client.signed_headers(path, body, PURPOSE)
    assert city.client.send(path, headers, body).status == 200
    _refused(city.client.send(path, headers, body), "replayed_nonce", 409)
    headers = city.client.signed_headers(path, body, PURPOSE)
    _refused(city.client.send(path, headers, body + b" "), "digest_mismatch", 400)
    headers = city.client.signed_headers(path, body, PURPOSE)
    headers[xp.SIGNATURE] = base64.b64encode(b"0" * 64).decode()
    _refused(city.client.send(path, headers, body), "bad_signature", 401)
    _refused(city.client.send(path, {}, body), "unsigned", 401)
    assert len(city.seen) == 1


def test_the_directory_is_refreshed_from_the_peer_discovery(city: City) -> None:
    members = [{"credit_code": REMOTE_MEMBER, "name": "省市场监管局", "name_en": "AMR"}]
    services = [
        {"service": REMOTE_SERVICE, "name": "法人基础信息查询", "name_en": "", "resource_code": "X"},
        {"service": "CN/GOV/OTHER/SYS/svc", "name": "另一成员的服务"},  # not the member's: ignored
    ]

    def discovery(
        method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if path == "/api/v1/exchange/meta/members":
            return 200, {"Content-Type": "application/json"}, json_answer(members)
        if path == f"/api/v1/exchange/meta/members/{REMOTE_MEMBER}/services":
            return 200, {"Content-Type": "application/json"}, json_answer(services)
        return 404, {}, b"{}"

    city.server.handler = discovery
    assert peer_directory_refresh(city.peer) == 1
    member = PeerMember.objects.get(peer=city.peer)
    assert [service["service"] for service in member.services] == [REMOTE_SERVICE]
    assert AuditRecord.objects.filter(action="federation.directory_refreshed", object_id="CN-3501").exists()
