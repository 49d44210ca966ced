"""The synchronous exchange (docs/exchange.md, "A call"): check a signed request, enforce the catalog grant
and the rate limit, ask the provider, filter the answer to the granted items, sign it, log it.

No web code here: ``views.exchange_call`` hands over the method, path, headers and body and sends back
what :func:`exchange_handle` answers. Every refusal is audited (``exchange.refused``, outcome denied, with
the code) and, like every answered call, written to the message log when it is installed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone

from onewindow.applications.tracking import china_date
from onewindow.audit.actions import audit_append
from onewindow.crypto.sm3 import sm3_hex
from onewindow.exchange import metrics, protocol, selectors
from onewindow.exchange.keystore import signer_for, verifier_for
from onewindow.exchange.models import KeyStatus, Service, ServiceKind, SubsystemKey, UsedNonce
from onewindow.exchange.providers import (
    BUILTIN_PROVIDERS,
    ProviderCall,
    ProviderInputError,
    ProviderUnavailable,
    http_call,
)

logger = logging.getLogger(__name__)

# code -> (HTTP status, Chinese, English)
ERRORS: dict[str, tuple[int, str, str]] = {
    "unsigned": (
        401,
        "请求未签名：缺少交换签名头。",
        "The request is not signed: exchange headers are missing.",
    ),
    "unknown_client": (401, "未知的客户端子系统。", "Unknown client subsystem."),
    "unknown_key": (401, "未知的签名密钥。", "Unknown signing key."),
    "key_revoked": (401, "签名密钥已注销。", "The signing key has been revoked."),
    "bad_signature": (401, "签名无效。", "The signature is not valid."),
    "digest_mismatch": (400, "请求体与摘要不符。", "The body does not match its digest."),
    "stale_timestamp": (
        401,
        "请求时间超出允许范围（±5 分钟）。",
        "The timestamp is outside the ±5 minute window.",
    ),
    "replayed_nonce": (409, "重复的请求（随机数已使用）。", "Replayed request: the nonce was already used."),
    "no_grant": (403, "没有该资源的有效共享授权。", "No active grant for this resource."),
    "items_not_granted": (403, "请求了未授权的信息项。", "Some requested data items are not granted."),
    "rate_limited": (429, "超过该授权的调用频率限制。", "The grant's rate limit is exceeded."),
    "provider_unavailable": (503, "服务提供方暂不可用。", "The provider is unavailable."),
    "unknown_service": (404, "没有该服务。", "No such service."),
    "bad_request": (400, "请求内容无效。", "The request body is not valid."),
    "purpose_required": (
        400,
        "须说明用途（办件编号或事由）。",
        "A purpose (case number or reason) is required.",
    ),
    "record_not_found": (404, "没有该记录。", "No such record."),
}


@dataclass
class GatewayResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    error_code: str = ""


@dataclass
class _Exchange:
    """What one call has established so far (filled in step by step, logged at the end)."""

    exchange_id: str
    started_at: dt.datetime
    started: float
    path: str
    service_path: str
    body: bytes
    headers: protocol.SignedHeaders | None = None
    signature: str = ""
    service: Service | None = None
    consumer: str = ""
    consumer_system_code: str = ""
    consumer_department_code: str = ""
    purpose: str = ""
    request_digest: str = ""  # SM3 hex of the body, once it matched the signed digest
    nonce_expires_at: dt.datetime | None = None  # set once the request is authenticated: record its nonce


class Refusal(Exception):  # noqa: N818 - a refusal with its code, turned into the error response
    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


def _json(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def _error_body(code: str, exchange_id: str, extra: Mapping[str, Any]) -> bytes:
    _status, zh, en = ERRORS[code]
    return _json(
        {"code": code, "message": zh, "message_zh": zh, "message_en": en, "exchange_id": exchange_id, **extra}
    )


# --- Step by step ------------------------------------------------------------------------------------------


def _service(service_path: str) -> Service:
    parsed = protocol.parse_service_path(service_path)
    if parsed is None:
        raise Refusal("unknown_service")
    service = selectors.service_for_call(*parsed)
    if service is None:
        raise Refusal("unknown_service")
    return service


_NONCE_SQL = (
    f"INSERT INTO {UsedNonce._meta.db_table} (client, nonce, expires_at) VALUES (%s, %s, %s) "  # noqa: S608
    "ON CONFLICT (client, nonce) DO NOTHING"
)


def _nonce_record(client: str, nonce: str, expires_at: dt.datetime) -> bool:
    """Record a used nonce inside the caller's transaction; False if (client, nonce) is taken — by a committed
    call, or by a concurrent one (PostgreSQL waits for that one's transaction; SQLite writers are serialised),
    so of two concurrent uses exactly one records it, in any process."""
    database = connections[DEFAULT_DB_ALIAS]
    with database.cursor() as cursor:
        cursor.execute(_NONCE_SQL, [client, nonce, database.ops.adapt_datetimefield_value(expires_at)])
        return bool(cursor.rowcount == 1)


def _authenticate(call: _Exchange, method: str, raw: Mapping[str, str], now: dt.datetime) -> None:
    signed = protocol.SignedHeaders.from_headers(raw)
    signature = protocol.decode_signature(raw.get(protocol.SIGNATURE, ""))
    if signed is None or signature is None:
        raise Refusal("unsigned")
    call.headers, call.signature = signed, raw.get(protocol.SIGNATURE, "")
    client = protocol.parse_subsystem_path(signed.client)
    if client is None:
        raise Refusal("unknown_client")
    member, subsystem = client
    key, nonce_seen = selectors.client_key_for_call(signed.key_id, client=signed.client, nonce=signed.nonce)
    if key is None or key.system.code != subsystem or key.system.department.credit_code != member:
        from onewindow.catalog.models import InformationSystem

        known = InformationSystem.objects.filter(code=subsystem, department__credit_code=member).exists()
        raise Refusal("unknown_key" if known else "unknown_client")
    call.consumer = signed.client
    call.consumer_system_code = subsystem
    call.consumer_department_code = key.system.department.code
    if key.status == KeyStatus.REVOKED:
        raise Refusal("key_revoked")
    verifier = verifier_for(key.key_id, bytes(key.public_key_der))
    try:
        verifier.verify(signature, protocol.request_canonical(method, call.path, signed))
    except (InvalidSignature, ValueError):
        raise Refusal("bad_signature") from None
    request_digest = sm3_hex(call.body)
    if "SM3=" + request_digest != signed.digest:
        raise Refusal("digest_mismatch")
    call.request_digest = request_digest
    if not protocol.timestamp_is_fresh(signed.timestamp, now):
        raise Refusal("stale_timestamp")
    if not protocol.nonce_is_valid(signed.nonce):
        raise Refusal("unsigned", problem="nonce must be at least 16 random bytes, base64url")
    try:
        purpose = protocol.decode_purpose(signed.purpose).strip()
    except UnicodeDecodeError:
        raise Refusal("purpose_required") from None
    if not purpose or len(purpose) > protocol.PURPOSE_MAX_LENGTH or "\x00" in purpose:
        raise Refusal("purpose_required")  # not kept: a NUL cannot go into PostgreSQL text or JSON
    call.purpose = purpose
    if nonce_seen:
        raise Refusal("replayed_nonce")
    # Recorded with the call's message-log record, in one transaction (_logged).
    call.nonce_expires_at = now + 2 * protocol.TIMESTAMP_WINDOW


def _granted(
    call: _Exchange, service: Service, requested: list[str] | None
) -> tuple[selectors.CallGrant, frozenset[str]]:
    """The grant that covers what the consumer asked for (everything its grants cover when it named no
    items): the catalog's ``grant_check`` rule (a system grant covers that system only, a department grant
    all its systems; every item in one grant; revoked, expired or withdrawn allow nothing) applied to the rows
    of one statement, read on every call."""
    today = china_date(timezone.now())
    grants = selectors.grants_for_call(
        call.consumer_department_code, service.resource_code, call.consumer_system_code, today=today
    )
    if not grants:
        raise Refusal("no_grant")
    if requested is None:
        wanted = grants[0].item_names
    else:
        wanted = frozenset(requested)
        if not wanted:
            raise Refusal("bad_request", problem="items is empty")
        covered = frozenset().union(*(grant.item_names for grant in grants))
        if not wanted <= covered:
            raise Refusal("items_not_granted", items=sorted(wanted - covered))
    grant = selectors.grant_covering(grants, wanted)
    if grant is None:
        raise Refusal("items_not_granted" if requested else "no_grant")
    return grant, wanted


def _rate_limit_exceeded(grant: selectors.CallGrant) -> bool:
    """Count this call against the grant's per-minute limit (cache, per minute window: docs/exchange.md)."""
    limit = grant.per_minute if grant.per_minute is not None else int(settings.EXCHANGE_RATE_LIMIT_PER_MINUTE)
    if limit <= 0:
        return False
    window = int(time.time() // 60)
    key = f"exchange:rate:{grant.id}:{window}"
    if cache.add(key, 1, timeout=120):
        return limit < 1
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=120)
        return False
    return int(count) > limit


def parse_call_body(body: bytes) -> tuple[dict[str, Any], list[str] | None]:
    """A call's body ``{"query": {...}, "items": [...]}``: the query and the items asked for (None: all
    granted); ``Refusal("bad_request")`` otherwise. The federation's gateway checks bodies with it too."""
    if b"\x00" in body or b"\\u0000" in body:
        # As RejectNulCharactersMiddleware does for the rest of the site (the lean WSGI path skips it).
        raise Refusal("bad_request", problem="the body contains a NUL character")
    try:
        data = json.loads(body) if body else None
    except ValueError:
        raise Refusal("bad_request", problem="body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("query"), dict):
        raise Refusal("bad_request", problem='body must be {"query": {...}, "items": [...]}')
    items = data.get("items")
    if items is not None and (not isinstance(items, list) or not all(isinstance(i, str) for i in items)):
        raise Refusal("bad_request", problem="items must be a list of data item names")
    return data["query"], items


def _provide(
    call: _Exchange, service: Service, query: dict[str, Any], wanted: frozenset[str]
) -> dict[str, Any]:
    provider_call = ProviderCall(
        query=query,
        items=wanted,
        purpose=call.purpose,
        consumer=call.consumer,
        consumer_department_code=call.consumer_department_code,
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
    except ProviderUnavailable as error:
        logger.warning("exchange_provider_unavailable", extra={"service": service.pk, "problem": str(error)})
        raise Refusal("provider_unavailable") from None
    if answer is None:
        raise Refusal("record_not_found")
    # Only the granted items the consumer asked for, whatever the provider answered.
    return {item: answer.get(item) for item in sorted(wanted)}


# --- Signing the response, logging ----------------------------------------------------------------------


def _provider_signer_key(service: Service) -> SubsystemKey:
    key = selectors.signing_key_for_call(service.provider_id)
    if key is None:
        # First need, as the seals do: the provider subsystem gets its first key from the system (audited).
        from onewindow.exchange.actions import subsystem_key_issue

        try:
            key = subsystem_key_issue(acting_user=None, system=service.provider)
        except IntegrityError:  # issued meanwhile by a concurrent first call
            key = SubsystemKey.objects.get(system_id=service.provider_id, status=KeyStatus.ACTIVE)
    return key


def _signed_response(call: _Exchange, status: int, body: bytes) -> GatewayResponse:
    headers = {"Content-Type": "application/json; charset=utf-8", protocol.EXCHANGE_ID: call.exchange_id}
    if call.service is None:
        return GatewayResponse(status, body, headers)
    service = call.service
    if service.kind == ServiceKind.HTTP:  # an external provider: the gateway's key signs (http_provider)
        from onewindow.exchange.http_provider import gateway_response_headers

        headers.update(gateway_response_headers(status, call.path, body, call.headers, call.exchange_id))
        return GatewayResponse(status, body, headers)
    key = _provider_signer_key(service)
    signed = protocol.SignedHeaders(
        client=protocol.subsystem_path(service.provider.department.credit_code, service.provider.code),
        timestamp=protocol.format_timestamp(timezone.now()),
        nonce=protocol.new_nonce(),
        digest=protocol.body_digest(body),
        purpose=call.headers.purpose if call.headers else "",
        key_id=key.key_id,
    )
    signer = signer_for(key.key_id, key.algorithm, key.private_key_token)
    request_nonce = call.headers.nonce if call.headers else ""
    signature = signer.sign(
        protocol.response_canonical(
            status, call.path, signed, request_nonce=request_nonce, exchange_id=call.exchange_id
        )
    )
    headers.update(signed.as_headers(signature))
    return GatewayResponse(status, body, headers)


def _message_log(call: _Exchange, response: GatewayResponse) -> None:
    try:
        from onewindow.messagelog.actions import message_log_append
    except ImportError:  # the message log (issue #8 item 3) is not installed in this checkout
        return
    service = call.service
    response_digest = response.headers.get(protocol.DIGEST, "").removeprefix("SM3=")
    message_log_append(
        exchange_id=call.exchange_id,
        service=call.service_path,
        consumer=call.consumer or (call.headers.client if call.headers else ""),
        provider=(
            protocol.subsystem_path(service.provider.department.credit_code, service.provider.code)
            if service
            else ""
        ),
        purpose=call.purpose,
        request_digest=call.request_digest or sm3_hex(call.body),
        response_digest=response_digest or sm3_hex(response.body),
        request_signature=call.signature,
        response_signature=response.headers.get(protocol.SIGNATURE, ""),
        status=response.status,
        error_code=response.error_code,
        started_at=call.started_at,
        duration_ms=(time.perf_counter() - call.started) * 1000,
        request_body=call.body,
        response_body=response.body,
        consumer_subsystem_code=call.consumer_system_code,
        provider_subsystem_code=service.provider.code if service else "",
        # Known already (the client's key and the service were read with their departments): no look-up.
        consumer_department_code=call.consumer_department_code if call.consumer_system_code else "",
        provider_department_code=service.provider.department.code if service else "",
    )


def _refusal_audit(call: _Exchange, refusal: Refusal) -> None:
    with transaction.atomic():
        audit_append(
            action="exchange.refused",
            acting_user=None,
            actor_username=(call.consumer or (call.headers.client if call.headers else "") or "anonymous")[
                :150
            ],
            outcome="denied",
            object_type="exchange_service",
            object_id=call.service_path[:200],
            details={
                "code": refusal.code,
                "exchange_id": call.exchange_id,
                "key_id": call.headers.key_id[:64] if call.headers else "",
                "purpose": call.purpose,
                **{key: value for key, value in refusal.extra.items() if key == "items"},
            },
            department_code=call.consumer_department_code,
        )


def _refused(call: _Exchange, refusal: Refusal) -> GatewayResponse:
    _refusal_audit(call, refusal)
    status = ERRORS[refusal.code][0]
    response = _signed_response(call, status, _error_body(refusal.code, call.exchange_id, refusal.extra))
    response.error_code = refusal.code
    return response


def _logged(call: _Exchange, response: GatewayResponse) -> bool:
    """Write the call's message-log record, and for an authenticated call its nonce, in one transaction
    (one commit per call; both durable before the response is released). False, with nothing written, when
    the nonce was taken meanwhile by a concurrent call (the unique constraint decides, in any process)."""
    if call.headers is None or call.nonce_expires_at is None:
        _message_log(call, response)
        return True
    with transaction.atomic():
        if not _nonce_record(call.headers.client, call.headers.nonce, call.nonce_expires_at):
            return False
        _message_log(call, response)
    return True


def exchange_handle(*, method: str, path: str, headers: Mapping[str, str], body: bytes) -> GatewayResponse:
    """Answer one exchange call (``POST /exchange/v1/{service path}``)."""
    now = timezone.now()
    call = _Exchange(
        exchange_id=uuid.uuid4().hex,
        started_at=now,
        started=time.perf_counter(),
        path=path,
        service_path=path.removeprefix(protocol.PATH_PREFIX),
        body=body,
    )
    try:
        if method.upper() != "POST":
            raise Refusal("bad_request", problem="POST only")
        call.service = _service(call.service_path)
        _authenticate(call, method, headers, now)
        query, requested = parse_call_body(body)
        grant, wanted = _granted(call, call.service, requested)
        if _rate_limit_exceeded(grant):
            raise Refusal("rate_limited")
        data = _provide(call, call.service, query, wanted)
        response = _signed_response(
            call, 200, _json({"exchange_id": call.exchange_id, "service": call.service_path, "data": data})
        )
    except Refusal as refusal:
        response = _refused(call, refusal)
    if not _logged(call, response):
        # A concurrent call with the same nonce recorded it first: this one is the replay. Nothing of its
        # answer leaves the gateway; its refusal is audited and logged like any other.
        call.nonce_expires_at = None
        response = _refused(call, Refusal("replayed_nonce"))
        _logged(call, response)
    metrics.observe_call(
        call.service_path if call.service else None, response.error_code, time.perf_counter() - call.started
    )
    return response


def used_nonces_purge(*, now: dt.datetime | None = None) -> int:
    """Delete nonces past their expiry (a replay of those is refused as stale anyway)."""
    deleted, _ = UsedNonce.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted
