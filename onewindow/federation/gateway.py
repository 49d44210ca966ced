"""Calls across nodes (docs/federation.md, "A call across nodes"), X-Road style.

Consumer at node A → ``POST {A}/federation/exchange/v1/{service id}`` (the exchange's protocol, signed by
the consumer's subsystem key) → A checks the consumer, finds the peer serving the member (its cached
directory), and forwards the body unchanged to ``POST {B}/federation/v1/inbound/{service id}`` signed by
A's node key, with the consumer's own signed headers, signature and certificate in ``X-OW-Consumer`` →
B checks A's node certificate and signature against A's pinned root, the consumer's signature and
certificate the same way, its own grant to that consumer *of that peer*, asks the provider, and answers
signed by the provider subsystem's key (its certificate chains to B's root) → A checks that answer
against B's pinned root and answers its consumer with B's body, signed by A's node key (B's signed headers
carried in ``X-OW-Peer-Response``). Both nodes append the call to their message logs under their own
exchange ids (with the other's in :class:`~onewindow.federation.models.FederatedCall`).

No web code: the views hand over method, path, headers and body. The exchange is not changed: its
protocol, key store, certificates and providers are used through their public functions.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from onewindow.applications.tracking import china_date
from onewindow.audit.actions import audit_append
from onewindow.core.logging import get_logger
from onewindow.crypto.keys import Signer, load_verifier
from onewindow.crypto.sm3 import sm3_hex
from onewindow.exchange import protocol as xp
from onewindow.exchange.gateway import ERRORS as EXCHANGE_ERRORS
from onewindow.exchange.gateway import Refusal as Refusal  # the federation refuses as the exchange does
from onewindow.exchange.gateway import parse_call_body
from onewindow.exchange.keystore import signer_for
from onewindow.exchange.models import KeyStatus, Service, ServiceKind, SubsystemKey
from onewindow.exchange.providers import (
    BUILTIN_PROVIDERS,
    ProviderCall,
    ProviderInputError,
    ProviderUnavailable,
    http_call,
)
from onewindow.federation import protocol
from onewindow.federation.crl import certificate_revoked
from onewindow.federation.identity import FederationNotConfigured, instance_id, node_key_active, node_signer
from onewindow.federation.models import (
    CallDirection,
    FederatedCall,
    Peer,
    PeerGrant,
    PeerGrantStatus,
    PeerMember,
    PeerStatus,
    UsedNonce,
)
from onewindow.federation.transport import HttpAnswer, PeerUnreachable, http_post

logger = get_logger(__name__)

# code -> (HTTP status, Chinese, English): the exchange's codes plus the federation's own.
ERRORS: dict[str, tuple[int, str, str]] = {
    **EXCHANGE_ERRORS,
    "federation_not_configured": (
        503,
        "本节点未配置联邦实例标识。",
        "This node has no federation instance id.",
    ),
    "unknown_peer": (401, "未知的对端节点。", "Unknown peer node."),
    "peer_revoked": (403, "对端节点已被撤销。", "The peer node has been revoked."),
    "direction_not_allowed": (
        403,
        "与该对端节点不允许此方向的交换。",
        "This direction of exchange is not allowed with the peer.",
    ),
    "untrusted_certificate": (
        401,
        "证书不是由对端节点登记的根证书签发，或与发送方不符。",
        "The certificate is not issued by the peer's pinned root, or does not name the sender.",
    ),
    "bad_consumer_signature": (
        401,
        "请求方子系统的签名或证书无效。",
        "The consumer subsystem's signature or certificate does not verify.",
    ),
    "unknown_member": (
        404,
        "没有已登记的对端节点提供该成员的服务。",
        "No registered peer node serves this member.",
    ),
    "local_member": (
        400,
        "该成员属于本节点，请直接调用 /exchange/v1/。",
        "The member belongs to this node: call /exchange/v1/ instead.",
    ),
    "peer_unavailable": (503, "对端节点暂不可用。", "The peer node is unavailable."),
    "certificate_revoked": (
        401,
        "证书已被签发它的对端节点吊销（列在该节点根证书的吊销列表中）。",
        "The certificate has been revoked: it is on the CRL of the peer's root.",
    ),
    "bad_peer_response": (
        502,
        "对端节点的响应签名无法验证。",
        "The peer node's response does not verify.",
    ),
}


# The purpose an answer carries when the request had none (every signed header must be non-empty).
NO_PURPOSE = "-"


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    error_code: str = ""


@dataclass
class _Call:
    """What one federated call has established so far (filled in step by step, logged at the end)."""

    direction: str
    exchange_id: str
    started_at: dt.datetime
    started: float
    path: str
    service_path: str
    body: bytes
    instance: str = ""
    headers: xp.SignedHeaders | None = None  # the consumer's (outbound) or the peer node's (inbound)
    signature: str = ""
    consumer: str = ""  # subsystem id as the consumer's node vouches for it
    consumer_system_code: str = ""  # outbound only: the local subsystem
    consumer_signature: str = ""
    purpose: str = ""
    peer: Peer | None = None
    service: Service | None = None
    node_key_id: str = ""
    node_signature: str = ""
    remote_exchange_id: str = ""
    remote_response_signature: str = ""
    remote_path: str = ""
    node_nonce: str = ""
    provider: str = ""


def _error_body(code: str, exchange_id: str, extra: Mapping[str, Any]) -> bytes:
    _status, zh, en = ERRORS[code]
    shown = {key: value for key, value in extra.items() if key in {"items", "problem"}}
    return protocol.json_body(
        {"code": code, "message": zh, "message_zh": zh, "message_en": en, "exchange_id": exchange_id, **shown}
    )


def _b64(raw: str) -> bytes | None:
    return xp.decode_signature(raw)


# --- Signing and verifying answers --------------------------------------------------------------------------


def answer_sign(
    *,
    signer: Signer,
    certificate_der: bytes,
    client: str,
    status: int,
    path: str,
    body: bytes,
    purpose: str,
    request_nonce: str,
    exchange_id: str,
) -> dict[str, str]:
    """Headers of a signed answer (the exchange's response canonical string) with the signer's certificate."""
    signed = xp.SignedHeaders(
        client=client,
        timestamp=xp.format_timestamp(timezone.now()),
        nonce=xp.new_nonce(),
        digest=xp.body_digest(body),
        purpose=purpose,
        key_id=signer.key_id,
    )
    signature = signer.sign(
        xp.response_canonical(status, path, signed, request_nonce=request_nonce, exchange_id=exchange_id)
    )
    return {
        "Content-Type": "application/json; charset=utf-8",
        xp.EXCHANGE_ID: exchange_id,
        protocol.CERTIFICATE: protocol.certificate_b64(certificate_der),
        **signed.as_headers(signature),
    }


def peer_answer_problem(
    peer: Peer, answer: HttpAnswer, *, path: str, request_nonce: str, signers: Mapping[str, str]
) -> str:
    """Why ``answer`` from ``peer`` cannot be trusted ("" when it can): it must be signed by one of
    ``signers`` (``X-OW-Client`` value → the subject its certificate must name), with a certificate issued
    by the peer's pinned root, over this request's nonce and the answer's exchange id and body."""
    signed = xp.SignedHeaders.from_headers({name: answer.header(name) for name in xp.SIGNED_HEADERS})
    signature = _b64(answer.header(xp.SIGNATURE))
    certificate = protocol.certificate_from_b64(answer.header(protocol.CERTIFICATE))
    if signed is None or signature is None or certificate is None:
        return "unsigned answer"
    subject = signers.get(signed.client)
    if subject is None:
        return f"answer signed by an unexpected party {signed.client[:80]}"
    try:
        spki = protocol.certificate_check(certificate, peer_root(peer), subject=subject, now=timezone.now())
    except protocol.CertificateProblem as problem:
        return f"signer certificate {problem}"
    revoked = certificate_revoked(peer, certificate)
    if revoked:
        return f"certificate_revoked: signer certificate {revoked} is on the peer's CRL"
    verifier = load_verifier(spki)
    if verifier.key_id != signed.key_id:
        return "the key id is not the certificate's key"
    if xp.body_digest(answer.body) != signed.digest:
        return "answer digest mismatch"
    canonical = xp.response_canonical(
        answer.status, path, signed, request_nonce=request_nonce, exchange_id=answer.header(xp.EXCHANGE_ID)
    )
    try:
        verifier.verify(signature, canonical)
    except (InvalidSignature, ValueError):
        return "bad answer signature"
    return ""


_roots: dict[str, x509.Certificate] = {}


def peer_root(peer: Peer) -> x509.Certificate:
    """The peer's pinned root (parsed once per process and fingerprint)."""
    root = _roots.get(peer.root_sha256)
    if root is None:
        root = x509.load_der_x509_certificate(bytes(peer.root_certificate_der))
        _roots[peer.root_sha256] = root
    return root


def _node_answer(call: _Call, status: int, body: bytes, *, request_nonce: str, purpose: str) -> Answer:
    key = node_key_active()
    headers = answer_sign(
        signer=node_signer(key),
        certificate_der=bytes(key.certificate_der),
        client=call.instance,
        status=status,
        path=call.path,
        body=body,
        purpose=purpose,
        request_nonce=request_nonce,
        exchange_id=call.exchange_id,
    )
    return Answer(status, body, headers)


def nonce_use(client: str, nonce: str, now: dt.datetime) -> None:
    """Record ``nonce`` of ``client``; ``Refusal('replayed_nonce')`` when it was used before."""
    try:
        with transaction.atomic():
            UsedNonce.objects.create(
                client=client[:200], nonce=nonce, expires_at=now + 2 * xp.TIMESTAMP_WINDOW
            )
    except IntegrityError:
        raise Refusal("replayed_nonce") from None


def _purpose(signed: xp.SignedHeaders) -> str:
    try:
        purpose = xp.decode_purpose(signed.purpose).strip()
    except UnicodeDecodeError:
        raise Refusal("purpose_required") from None
    if not purpose or len(purpose) > xp.PURPOSE_MAX_LENGTH:
        raise Refusal("purpose_required")
    return purpose


# --- A peer node's signed request (inbound calls and event fetches) -----------------------------------------


@dataclass
class PeerRequest:
    peer: Peer
    headers: xp.SignedHeaders
    signature: str
    purpose: str


def peer_lookup(instance: str) -> Peer | None:
    """The active peer of that instance, else its latest revoked registration, else None."""
    return (
        Peer.objects.filter(instance=instance)
        .order_by("status", "-created_at")  # "active" sorts before "revoked"
        .first()
    )


def peer_request_authenticate(
    *,
    method: str,
    path: str,
    raw: Mapping[str, str],
    body: bytes,
    direction: str,
    own_instance: str,
    envelope_value: str,
    now: dt.datetime,
) -> PeerRequest:
    """Check a peer node's signed request: a known, active peer allowed ``direction`` (a :class:`Peer`
    flag), a node certificate issued by its pinned root naming it, a valid signature over this node as the
    target, the body digest, a fresh timestamp, an unused nonce."""
    signed = xp.SignedHeaders.from_headers(raw)
    signature = _b64(raw.get(xp.SIGNATURE, ""))
    if signed is None or signature is None:
        raise Refusal("unsigned")
    peer = peer_lookup(signed.client)
    if peer is None:
        raise Refusal("unknown_peer")
    if peer.status != PeerStatus.ACTIVE:
        raise Refusal("peer_revoked", peer=peer)
    if not getattr(peer, direction):
        raise Refusal("direction_not_allowed", peer=peer)
    certificate = protocol.certificate_from_b64(raw.get(protocol.CERTIFICATE, ""))
    if certificate is None:
        raise Refusal("untrusted_certificate", peer=peer, problem="no node certificate")
    try:
        spki = protocol.certificate_check(
            certificate, peer_root(peer), subject=protocol.node_subject(peer.instance), now=now
        )
    except protocol.CertificateProblem as problem:
        raise Refusal("untrusted_certificate", peer=peer, problem=f"node certificate {problem}") from None
    revoked = certificate_revoked(peer, certificate)
    if revoked:
        raise Refusal("certificate_revoked", peer=peer, problem=f"node certificate {revoked}")
    verifier = load_verifier(spki)
    if verifier.key_id != signed.key_id:
        raise Refusal("unknown_key", peer=peer)
    canonical = protocol.node_request_canonical(
        method, path, signed, target=own_instance, envelope_digest=protocol.envelope_digest(envelope_value)
    )
    try:
        verifier.verify(signature, canonical)
    except (InvalidSignature, ValueError):
        raise Refusal("bad_signature", peer=peer) from None
    if xp.body_digest(body) != signed.digest:
        raise Refusal("digest_mismatch", peer=peer)
    if not xp.timestamp_is_fresh(signed.timestamp, now):
        raise Refusal("stale_timestamp", peer=peer)
    if not xp.nonce_is_valid(signed.nonce):
        raise Refusal("unsigned", peer=peer, problem="nonce must be at least 16 random bytes, base64url")
    purpose = _purpose(signed)
    nonce_use(signed.client, signed.nonce, now)
    return PeerRequest(peer, signed, raw.get(xp.SIGNATURE, ""), purpose)


def node_request_headers(
    *, peer: Peer, path: str, body: bytes, purpose: str, envelope_value: str = ""
) -> tuple[dict[str, str], xp.SignedHeaders]:
    """This node's signed headers for a request to ``peer`` at ``path`` (purpose as sent: percent-encoded)."""
    key = node_key_active()
    signer = node_signer(key)
    signed = xp.SignedHeaders(
        client=instance_id(),
        timestamp=xp.format_timestamp(timezone.now()),
        nonce=xp.new_nonce(),
        digest=xp.body_digest(body),
        purpose=purpose,
        key_id=key.key_id,
    )
    signature = signer.sign(
        protocol.node_request_canonical(
            "POST",
            path,
            signed,
            target=peer.instance,
            envelope_digest=protocol.envelope_digest(envelope_value),
        )
    )
    headers = {
        **signed.as_headers(signature),
        protocol.CERTIFICATE: protocol.certificate_b64(bytes(key.certificate_der)),
    }
    if envelope_value:
        headers[protocol.CONSUMER] = envelope_value
    return headers, signed


def peer_path(peer: Peer, suffix: str) -> tuple[str, str]:
    """(URL, path) of ``suffix`` (starting with /) at ``peer``."""
    parts = urllib.parse.urlsplit(peer.base_url)
    path = parts.path.rstrip("/") + suffix
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", "")), path


# --- Logging and audit --------------------------------------------------------------------------------------


def refusal_audit(call: _Call, refusal: Refusal) -> None:
    peer = refusal.extra.get("peer") or call.peer
    with transaction.atomic():
        audit_append(
            action="federation.refused",
            acting_user=None,
            actor_username=(call.consumer or (call.headers.client if call.headers else "") or "anonymous")[
                :150
            ],
            outcome="denied",
            object_type="exchange_service",
            object_id=call.service_path[:200],
            details={
                "code": refusal.code,
                "direction": call.direction,
                "exchange_id": call.exchange_id,
                "peer": peer.instance if isinstance(peer, Peer) else "",
                "key_id": call.headers.key_id[:64] if call.headers else "",
                "purpose": call.purpose,
                **{
                    key: str(value)[:200]
                    for key, value in refusal.extra.items()
                    if key in {"items", "problem"}
                },
            },
        )


# The message log's service of an event batch (HTTPS fetch or NATS batch), on both nodes: not a service id
# of the exchange, so it is never qualified by an instance; consumer and provider are the nodes' instances.
EVENTS_SERVICE = "federation/events"


def call_log(call: _Call, answer: Answer, *, event_count: int | None = None) -> None:
    """Append the call (or event batch, ``event_count`` events) to the message log and record the
    node-level evidence (FederatedCall)."""
    if call.peer is not None:
        peer_instance = call.peer.instance
    elif call.direction == CallDirection.INBOUND and call.headers is not None:
        peer_instance = call.headers.client[:40]  # as claimed: the refusal came before the peer was known
    else:
        peer_instance = ""
    if call.direction == CallDirection.OUTBOUND:
        consumer = call.consumer
        provider = protocol.qualified(peer_instance, call.provider) if call.provider else peer_instance
        service = protocol.qualified(peer_instance, call.service_path) if peer_instance else call.service_path
        if call.service_path == EVENTS_SERVICE:
            service = EVENTS_SERVICE
        request_signature, response_signature = call.signature, call.remote_response_signature
        consumer_code, provider_code = call.consumer_system_code, ""
    else:
        consumer = protocol.qualified(peer_instance, call.consumer) if call.consumer else peer_instance
        provider = call.provider
        service = call.service_path
        request_signature = call.consumer_signature or call.signature
        response_signature = answer.headers.get(xp.SIGNATURE, "")
        consumer_code, provider_code = "", call.service.provider.code if call.service else ""
    try:
        from onewindow.messagelog.actions import message_log_append
    except ImportError:  # pragma: no cover - the message log is part of the platform
        message_log_append = None  # type: ignore[assignment]
    if message_log_append is not None:
        message_log_append(
            exchange_id=call.exchange_id,
            service=service,
            consumer=consumer[:255],
            provider=provider[:255],
            purpose=call.purpose,
            request_digest=sm3_hex(call.body),
            response_digest=sm3_hex(answer.body),
            request_signature=request_signature,
            response_signature=response_signature,
            status=answer.status,
            error_code=answer.error_code,
            started_at=call.started_at,
            duration_ms=(time.perf_counter() - call.started) * 1000,
            request_body=call.body,
            response_body=answer.body,
            consumer_subsystem_code=consumer_code,
            provider_subsystem_code=provider_code,
        )
    FederatedCall.objects.create(
        exchange_id=call.exchange_id,
        direction=call.direction,
        peer_instance=peer_instance[:40],
        service=call.service_path[:255],
        consumer=(call.consumer or "")[:200],
        remote_exchange_id=call.remote_exchange_id[:64],
        node_key_id=call.node_key_id[:64],
        node_signature=call.node_signature,
        status=answer.status,
        error_code=answer.error_code,
        event_count=event_count,
        created_at=call.started_at,
    )


def new_call(direction: str, path: str, prefix: str, body: bytes) -> _Call:
    marker = path.find(prefix)
    return _Call(
        direction=direction,
        exchange_id=uuid.uuid4().hex,
        started_at=timezone.now(),
        started=time.perf_counter(),
        path=path,
        service_path=path[marker + len(prefix) :] if marker >= 0 else "",
        body=body,
    )


# --- Outbound: a local consumer calls a peer's service ------------------------------------------------------


def _consumer_authenticate(
    call: _Call, method: str, raw: Mapping[str, str], now: dt.datetime
) -> SubsystemKey:
    """The exchange's checks of a local consumer (docs/exchange.md "A call"), same codes, own nonce store."""
    signed = xp.SignedHeaders.from_headers(raw)
    signature = _b64(raw.get(xp.SIGNATURE, ""))
    if signed is None or signature is None:
        raise Refusal("unsigned")
    call.headers, call.signature = signed, raw.get(xp.SIGNATURE, "")
    client = xp.parse_subsystem_path(signed.client)
    if client is None:
        raise Refusal("unknown_client")
    member, subsystem = client
    key = (
        SubsystemKey.objects.select_related("system__department")
        .filter(key_id=signed.key_id, system__code=subsystem, system__department__credit_code=member)
        .first()
    )
    if key is None:
        from onewindow.catalog.models import InformationSystem

        known = InformationSystem.objects.filter(code=subsystem, department__credit_code=member).exists()
        raise Refusal("unknown_key" if known else "unknown_client")
    call.consumer = signed.client
    call.consumer_system_code = subsystem
    if key.status == KeyStatus.REVOKED:
        raise Refusal("key_revoked")
    verifier = load_verifier(bytes(key.public_key_der))
    try:
        verifier.verify(signature, xp.request_canonical(method, call.path, signed))
    except (InvalidSignature, ValueError):
        raise Refusal("bad_signature") from None
    if xp.body_digest(call.body) != signed.digest:
        raise Refusal("digest_mismatch")
    if not xp.timestamp_is_fresh(signed.timestamp, now):
        raise Refusal("stale_timestamp")
    if not xp.nonce_is_valid(signed.nonce):
        raise Refusal("unsigned", problem="nonce must be at least 16 random bytes, base64url")
    call.purpose = _purpose(signed)
    nonce_use(signed.client, signed.nonce, now)
    return key


def route(member_code: str) -> Peer:
    """The peer whose directory lists the member: refused when none does, it is revoked or calls out to it
    are not allowed."""
    from onewindow.organisations.models import Department

    if Department.objects.filter(credit_code=member_code).exists():
        raise Refusal("local_member")
    rows = list(
        PeerMember.objects.select_related("peer")
        .filter(credit_code=member_code)
        .order_by("peer__status", "-peer__created_at")
    )
    if not rows:
        raise Refusal("unknown_member")
    peer = rows[0].peer
    if peer.status != PeerStatus.ACTIVE:
        raise Refusal("peer_revoked", peer=peer)
    if not peer.requests_out:
        raise Refusal("direction_not_allowed", peer=peer)
    return peer


def _forward(call: _Call, peer: Peer, consumer_key: SubsystemKey) -> HttpAnswer:
    if call.headers is None:  # pragma: no cover - authenticated before
        raise Refusal("unsigned")
    envelope = protocol.Envelope(
        headers=call.headers,
        signature=call.signature,
        path=call.path,
        certificate_der=bytes(consumer_key.certificate_der),
    ).encode()
    url, remote_path = peer_path(peer, protocol.INBOUND_PREFIX + call.service_path)
    headers, signed = node_request_headers(
        peer=peer, path=remote_path, body=call.body, purpose=call.headers.purpose, envelope_value=envelope
    )
    headers[xp.EXCHANGE_ID] = call.exchange_id
    call.node_key_id, call.node_signature = signed.key_id, headers[xp.SIGNATURE]
    call.remote_path, call.node_nonce = remote_path, signed.nonce
    try:
        answer = http_post(url, headers, call.body, timeout=float(settings.FEDERATION_TIMEOUT_SECONDS))
    except PeerUnreachable as error:
        logger.warning("federation_peer_unreachable", peer=peer.instance, error=str(error))
        raise Refusal("peer_unavailable") from None
    parsed = xp.parse_service_path(call.service_path)
    if parsed is None:  # pragma: no cover - routed before
        raise Refusal("unknown_service")
    provider = xp.subsystem_path(parsed[0], parsed[1])
    problem = peer_answer_problem(
        peer,
        answer,
        path=remote_path,
        request_nonce=signed.nonce,
        signers={provider: provider, peer.instance: protocol.node_subject(peer.instance)},
    )
    call.remote_exchange_id = answer.header(xp.EXCHANGE_ID)[:64]
    if not problem and answer.status == 200 and answer.header(xp.CLIENT) != provider:
        problem = "data must be signed by the provider subsystem, not the node"
    if problem:
        logger.warning("federation_bad_peer_answer", peer=peer.instance, problem=problem)
        raise Refusal("bad_peer_response", problem=problem)
    call.remote_response_signature = answer.header(xp.SIGNATURE)
    if answer.header(xp.CLIENT) == provider:
        call.provider = provider
    return answer


def federation_outbound_handle(*, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
    """Answer a local consumer's call of a peer's service (``POST /federation/exchange/v1/{service id}``)."""
    now = timezone.now()
    call = new_call(CallDirection.OUTBOUND, path, protocol.OUTBOUND_PREFIX, body)
    try:
        call.instance = instance_id()
    except FederationNotConfigured:
        status = ERRORS["federation_not_configured"][0]
        return Answer(
            status,
            _error_body("federation_not_configured", call.exchange_id, {}),
            error_code="federation_not_configured",
        )
    consumer_nonce = ""
    try:
        if method.upper() != "POST":
            raise Refusal("bad_request", problem="POST only")
        parsed = xp.parse_service_path(call.service_path)
        if parsed is None:
            raise Refusal("unknown_service")
        consumer_key = _consumer_authenticate(call, method, headers, now)
        consumer_nonce = call.headers.nonce if call.headers else ""
        parse_call_body(body)  # refuse malformed bodies here rather than at the peer
        call.peer = route(parsed[0])
        peer_answer = _forward(call, call.peer, consumer_key)
        answer = _node_answer(
            call,
            peer_answer.status,
            peer_answer.body,
            request_nonce=consumer_nonce,
            purpose=call.headers.purpose if call.headers else NO_PURPOSE,
        )
        answer.headers[protocol.PEER_EXCHANGE_ID] = call.remote_exchange_id
        answer.headers[protocol.PEER_RESPONSE] = _peer_response_header(
            peer_answer, path=call.remote_path, request_nonce=call.node_nonce
        )
        try:
            answer.error_code = (
                str(json.loads(peer_answer.body).get("code", ""))[:40] if peer_answer.status >= 400 else ""
            )
        except (ValueError, AttributeError):
            answer.error_code = ""
    except Refusal as refusal:
        if isinstance(refusal.extra.get("peer"), Peer):
            call.peer = refusal.extra["peer"]
        refusal_audit(call, refusal)
        answer = _node_answer(
            call,
            ERRORS[refusal.code][0],
            _error_body(refusal.code, call.exchange_id, refusal.extra),
            request_nonce=consumer_nonce or (call.headers.nonce if call.headers else ""),
            purpose=call.headers.purpose if call.headers else NO_PURPOSE,
        )
        answer.error_code = refusal.code
    call_log(call, answer)
    return answer


def _peer_response_header(answer: HttpAnswer, *, path: str, request_nonce: str) -> str:
    """The peer's signed answer headers with what its signature covers besides the body (the path and
    this node's request nonce), so the consumer or an auditor can check the provider's own signature:
    base64url of a JSON object."""
    names = (*xp.ALL_HEADERS, xp.EXCHANGE_ID, protocol.CERTIFICATE)
    document = {
        "status": answer.status,
        "path": path,
        "request_nonce": request_nonce,
        "headers": {name: answer.header(name) for name in names},
    }
    raw = json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


# --- Inbound: a peer's consumer calls a local service -------------------------------------------------------


@dataclass
class _Consumer:
    client: str
    signature: str


def _envelope_verify(
    call: _Call, request: PeerRequest, raw: Mapping[str, str], now: dt.datetime
) -> _Consumer:
    """The consumer's own signature, checked here too: the log then names who asked, with proof."""
    envelope = protocol.Envelope.decode(raw.get(protocol.CONSUMER, ""))
    if envelope is None:
        raise Refusal("bad_consumer_signature", problem="no consumer envelope")
    signed = envelope.headers
    signature = _b64(envelope.signature)
    if signature is None or not all(signed.lines()) or xp.parse_subsystem_path(signed.client) is None:
        raise Refusal("bad_consumer_signature", problem="incomplete consumer headers")
    if not envelope.path.endswith(xp.PATH_PREFIX + call.service_path):
        raise Refusal("bad_consumer_signature", problem="the consumer signed a call of another service")
    try:
        spki = protocol.certificate_check(
            envelope.certificate_der, peer_root(request.peer), subject=signed.client, now=now
        )
    except protocol.CertificateProblem as problem:
        raise Refusal("bad_consumer_signature", problem=f"consumer certificate {problem}") from None
    revoked = certificate_revoked(request.peer, envelope.certificate_der)
    if revoked:
        raise Refusal("certificate_revoked", problem=f"consumer certificate {revoked}")
    verifier = load_verifier(spki)
    if verifier.key_id != signed.key_id:
        raise Refusal("bad_consumer_signature", problem="the key id is not the certificate's key")
    try:
        verifier.verify(signature, xp.request_canonical("POST", envelope.path, signed))
    except (InvalidSignature, ValueError):
        raise Refusal("bad_consumer_signature", problem="bad consumer signature") from None
    if signed.digest != xp.body_digest(call.body) or signed.purpose != request.headers.purpose:
        raise Refusal("bad_consumer_signature", problem="the consumer signed another body or purpose")
    if not xp.timestamp_is_fresh(signed.timestamp, now):
        raise Refusal("stale_timestamp")
    # Each consumer request is answered once, whatever node nonce carries it.
    nonce_use(f"{request.peer.instance}|{signed.client}", signed.nonce, now)
    call.consumer, call.consumer_signature = signed.client, envelope.signature
    return _Consumer(signed.client, envelope.signature)


def _service(service_path: str) -> Service:
    parsed = xp.parse_service_path(service_path)
    if parsed is None:
        raise Refusal("unknown_service")
    member, subsystem, code = parsed
    service = (
        Service.objects.select_related("provider__department")
        .filter(provider__department__credit_code=member, provider__code=subsystem, code=code, is_active=True)
        .first()
    )
    if service is None:
        raise Refusal("unknown_service")
    return service


def _granted(
    peer: Peer, service: Service, consumer: str, requested: list[str] | None
) -> tuple[PeerGrant, frozenset[str]]:
    from onewindow.catalog.models import Resource, ResourceStatus

    today = china_date(timezone.now())
    grants = list(
        PeerGrant.objects.filter(
            peer=peer,
            service=service,
            consumer__in=[consumer, protocol.member_of(consumer)],
            status=PeerGrantStatus.ACTIVE,
            expires_on__gte=today,
        ).order_by("-expires_on", "-id")
    )
    active_resource = Resource.objects.filter(
        code=service.resource_code, status=ResourceStatus.ACTIVE
    ).exists()
    if not grants or not active_resource:
        raise Refusal("no_grant")
    covered = frozenset().union(*(frozenset(grant.item_names) for grant in grants))
    if requested is None:
        return grants[0], covered
    wanted = frozenset(requested)
    if not wanted:
        raise Refusal("bad_request", problem="items is empty")
    if not wanted <= covered:
        raise Refusal("items_not_granted", items=sorted(wanted - covered))
    return grants[0], wanted


def _rate_limit_exceeded(grant: PeerGrant) -> bool:
    """The exchange's per-grant, per-minute limit (``ONEWINDOW_EXCHANGE_RATE_LIMIT_PER_MINUTE``), counted
    in Django's cache as the exchange does (docs/exchange.md "Rate limit")."""
    limit = int(settings.EXCHANGE_RATE_LIMIT_PER_MINUTE)
    if limit <= 0:
        return False
    key = f"federation:rate:{grant.pk}:{int(time.time() // 60)}"
    if cache.add(key, 1, timeout=120):
        return limit < 1
    try:
        return int(cache.incr(key)) > limit
    except ValueError:
        cache.set(key, 1, timeout=120)
        return False


def _provide(call: _Call, service: Service, query: dict[str, Any], wanted: frozenset[str]) -> dict[str, Any]:
    provider_call = ProviderCall(
        query=query,
        items=wanted,
        purpose=call.purpose,
        consumer=protocol.qualified(call.peer.instance if call.peer else "", call.consumer),
        consumer_department_code="",
        exchange_id=call.exchange_id,
    )
    try:
        if service.kind == ServiceKind.BUILTIN:
            answer = BUILTIN_PROVIDERS[service.builtin](provider_call)
        else:
            answer = http_call(
                service_id=service.pk,
                url=service.endpoint_url,
                timeout=service.timeout_seconds,
                retries=service.retries,
                call=provider_call,
            )
    except ProviderInputError as error:
        raise Refusal("bad_request", problem=error.message_en) from None
    except ProviderUnavailable:
        raise Refusal("provider_unavailable") from None
    if answer is None:
        raise Refusal("record_not_found")
    return {item: answer.get(item) for item in sorted(wanted)}


def _provider_key(service: Service) -> SubsystemKey:
    key = SubsystemKey.objects.filter(system_id=service.provider_id, status=KeyStatus.ACTIVE).first()
    if key is None:
        from onewindow.exchange.actions import subsystem_key_issue

        try:
            key = subsystem_key_issue(acting_user=None, system=service.provider)
        except IntegrityError:  # issued meanwhile by a concurrent first call
            key = SubsystemKey.objects.get(system_id=service.provider_id, status=KeyStatus.ACTIVE)
    return key


def _provider_answer(
    call: _Call, service: Service, status: int, body: bytes, *, request_nonce: str, purpose: str
) -> Answer:
    key = _provider_key(service)
    headers = answer_sign(
        signer=signer_for(key.key_id, key.algorithm, key.private_key_token),
        certificate_der=bytes(key.certificate_der),
        client=call.provider,
        status=status,
        path=call.path,
        body=body,
        purpose=purpose,
        request_nonce=request_nonce,
        exchange_id=call.exchange_id,
    )
    return Answer(status, body, headers)


def federation_inbound_handle(*, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
    """Answer a peer node's forwarded call (``POST /federation/v1/inbound/{service id}``)."""
    now = timezone.now()
    call = new_call(CallDirection.INBOUND, path, protocol.INBOUND_PREFIX, body)
    try:
        call.instance = instance_id()
    except FederationNotConfigured:
        status = ERRORS["federation_not_configured"][0]
        return Answer(
            status,
            _error_body("federation_not_configured", call.exchange_id, {}),
            error_code="federation_not_configured",
        )
    raw_signed = xp.SignedHeaders.from_headers(headers)
    node_nonce = raw_signed.nonce if raw_signed else ""
    node_purpose = raw_signed.purpose if raw_signed else NO_PURPOSE
    call.headers = raw_signed
    call.remote_exchange_id = str(headers.get(xp.EXCHANGE_ID, ""))[:64]
    try:
        if method.upper() != "POST":
            raise Refusal("bad_request", problem="POST only")
        request = peer_request_authenticate(
            method=method,
            path=path,
            raw=headers,
            body=body,
            direction="requests_in",
            own_instance=call.instance,
            envelope_value=headers.get(protocol.CONSUMER, ""),
            now=now,
        )
        call.peer, call.purpose = request.peer, request.purpose
        call.node_key_id, call.node_signature = request.headers.key_id, request.signature
        consumer = _envelope_verify(call, request, headers, now)
        service = _service(call.service_path)
        call.service = service
        call.provider = xp.subsystem_path(service.provider.department.credit_code, service.provider.code)
        query, requested = parse_call_body(body)
        grant, wanted = _granted(request.peer, service, consumer.client, requested)
        if _rate_limit_exceeded(grant):
            raise Refusal("rate_limited")
        data = _provide(call, service, query, wanted)
        answer = _provider_answer(
            call,
            service,
            200,
            protocol.json_body({"exchange_id": call.exchange_id, "service": call.service_path, "data": data}),
            request_nonce=node_nonce,
            purpose=node_purpose,
        )
    except Refusal as refusal:
        if isinstance(refusal.extra.get("peer"), Peer):
            call.peer = refusal.extra["peer"]
        refusal_audit(call, refusal)
        status = ERRORS[refusal.code][0]
        error_body = _error_body(refusal.code, call.exchange_id, refusal.extra)
        if call.service is not None:
            answer = _provider_answer(
                call, call.service, status, error_body, request_nonce=node_nonce, purpose=node_purpose
            )
        else:
            answer = _node_answer(call, status, error_body, request_nonce=node_nonce, purpose=node_purpose)
        answer.error_code = refusal.code
    call_log(call, answer)
    return answer


def used_nonces_purge(*, now: dt.datetime | None = None) -> int:
    deleted, _ = UsedNonce.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted
