"""External HTTP providers: the exchange's side of the adapter protocol (docs/exchange.md, "HTTP services and
the adapter protocol").

The exchange POSTs ``{"query", "items", "consumer", "exchange_id"}`` to the service's registered URL, signed
with the **gateway's** key (identity ``adapter.GATEWAY_IDENTITY``, certified by the platform root) over the
exchange's canonical request string (``protocol.request_canonical``, the path being the URL's path), with
``X-OW-Exchange-Id``; each attempt is signed afresh (a new nonce), so a retry is never a replay. The provider
must answer signed by a key of **its own subsystem** (the service's provider, a key certified by the
platform, e.g. one it registered from its own certificate request), bound to the request's nonce and the
exchange id. An answer that does not verify is refused as ``provider_unavailable`` to the consumer, logged
``exchange_provider_response_unverified`` and counted as a failure by the circuit breaker.

Every answer the provider sent is kept in the message log as its own record (the provider leg: consumer
``GATEWAY_IDENTITY``, the provider's signature and digest of its full answer); the consumer's record is
written by the gateway as for any call, signed by the gateway's key for HTTP services.

Connection failures, timeouts and 502/503/504 are retried with exponential backoff (the services are
look-ups, so retrying is safe); a circuit breaker per service and process opens after
``EXCHANGE_CIRCUIT_FAILURES`` failed calls in a row and lets one trial call through after
``EXCHANGE_CIRCUIT_COOLDOWN_SECONDS`` (half-open).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from onewindow.catalog.models import InformationSystem
from onewindow.crypto.keys import Signer, Verifier
from onewindow.crypto.sm3 import sm3_hex
from onewindow.exchange import adapter, protocol
from onewindow.exchange.keystore import signer_for, verifier_for
from onewindow.exchange.models import KeyStatus, Service, SubsystemKey
from onewindow.exchange.providers import (
    ProviderAnswer,
    ProviderCall,
    ProviderInputError,
    ProviderUnavailable,
)

logger = logging.getLogger(__name__)

UNVERIFIED_CODE = "provider_response_unverified"


class ProviderResponseNotVerified(ProviderUnavailable):
    """The provider answered, but its answer's signature, digest or binding to the request does not verify
    (the consumer is told ``provider_unavailable``; the log and the message log say this)."""


# --- Circuit breaker -------------------------------------------------------------------------------------


@dataclass
class Circuit:
    """Consecutive failures of one service in this process and when the circuit opened (0: closed)."""

    failures: int = 0
    opened_at: float = 0.0
    trial_running: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


_circuits: dict[int, Circuit] = {}
_circuits_lock = threading.Lock()


def circuit_for(service_id: int) -> Circuit:
    with _circuits_lock:
        return _circuits.setdefault(service_id, Circuit())


def circuits_reset() -> None:
    """Forget every circuit's state (tests, and after an operator fixed a provider)."""
    with _circuits_lock:
        _circuits.clear()


def _circuit_admit(circuit: Circuit) -> bool:
    """Closed: yes. Open: no until the cool-down is over, then one trial call (half-open)."""
    with circuit.lock:
        if circuit.failures < int(settings.EXCHANGE_CIRCUIT_FAILURES):
            return True
        if time.monotonic() - circuit.opened_at < float(settings.EXCHANGE_CIRCUIT_COOLDOWN_SECONDS):
            return False
        if circuit.trial_running:
            return False
        circuit.trial_running = True
        return True


def _circuit_record(circuit: Circuit, *, success: bool) -> None:
    with circuit.lock:
        circuit.trial_running = False
        if success:
            circuit.failures = 0
            circuit.opened_at = 0.0
            return
        circuit.failures += 1
        if circuit.failures >= int(settings.EXCHANGE_CIRCUIT_FAILURES):
            circuit.opened_at = time.monotonic()


# --- The gateway's key -------------------------------------------------------------------------------------


def gateway_signer() -> Signer:
    """The gateway's active key, opened (the first one is issued on first need, audited)."""
    from onewindow.exchange.actions import gateway_key_current

    key = gateway_key_current()
    return signer_for(key.key_id, key.algorithm, key.private_key_token)


def gateway_verifier(key_id: str) -> Verifier | None:
    """A gateway key that still verifies (active or retired), or None."""
    from onewindow.exchange.models import GatewayKey

    key = (
        GatewayKey.objects.filter(key_id=key_id, status__in=[KeyStatus.ACTIVE, KeyStatus.RETIRED])
        .only("key_id", "public_key_der")
        .first()
    )
    return None if key is None else verifier_for(key.key_id, bytes(key.public_key_der))


def gateway_response_headers(
    status: int,
    path: str,
    body: bytes,
    request: protocol.SignedHeaders | None,
    exchange_id: str,
) -> dict[str, str]:
    """The signed headers of the exchange's answer to a consumer of an HTTP service: the gateway vouches for
    what the provider answered (its own signature is in the message log), signing as ``GATEWAY_IDENTITY``."""
    return adapter.response_headers(
        gateway_signer(),
        client=adapter.GATEWAY_IDENTITY,
        status=status,
        path=path,
        body=body,
        request_purpose=request.purpose if request else "",
        request_nonce=request.nonce if request else "",
        exchange_id=exchange_id,
        now=timezone.now(),
    )


# --- Calling the provider ----------------------------------------------------------------------------------

_RETRIED_STATUSES = frozenset({502, 503, 504})
MAX_ANSWER_BYTES = 10 * 1024 * 1024


def _post_once(
    url: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only, checked at registration
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), dict(response.headers.items()), response.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as error:
        return int(error.code), dict(error.headers.items()), error.read(64 * 1024)


def provider_key_lookup(system: InformationSystem) -> Callable[[str], tuple[Verifier, str] | None]:
    """``key id -> (verifier, subsystem identity)`` for keys of ``system`` that still verify (active or
    retired; a revoked key verifies nothing from the moment it is revoked)."""
    identity = protocol.subsystem_path(system.department.credit_code, system.code)

    def lookup(key_id: str) -> tuple[Verifier, str] | None:
        key = (
            SubsystemKey.objects.filter(
                key_id=key_id, system=system, status__in=[KeyStatus.ACTIVE, KeyStatus.RETIRED]
            )
            .only("key_id", "public_key_der")
            .first()
        )
        return None if key is None else (verifier_for(key.key_id, bytes(key.public_key_der)), identity)

    return lookup


def _provider_leg_log(
    *,
    call: ProviderCall,
    service: Service,
    request_headers: Mapping[str, str],
    body: bytes,
    status: int,
    response_headers: Mapping[str, str],
    content: bytes,
    error_code: str,
    started_at: dt.datetime,
    started: float,
) -> None:
    """The provider leg in the message log: what the gateway sent and what the provider answered, with both
    signatures (the consumer's own record is the gateway's)."""
    try:
        from onewindow.messagelog.actions import message_log_append
    except ImportError:  # pragma: no cover - the message log is part of the platform
        return
    lowered = {name.lower(): value for name, value in response_headers.items()}
    consumer = protocol.parse_subsystem_path(call.consumer)
    system = service.provider
    member = system.department.credit_code
    message_log_append(
        exchange_id=call.exchange_id,
        service=protocol.service_path(member, system.code, service.code),
        consumer=adapter.GATEWAY_IDENTITY,
        provider=protocol.subsystem_path(member, system.code),
        purpose=call.purpose,
        request_digest=sm3_hex(body),
        response_digest=sm3_hex(content),
        request_signature=request_headers.get(protocol.SIGNATURE, ""),
        response_signature=lowered.get(protocol.SIGNATURE.lower(), "")[:200],
        status=status,
        error_code=error_code,
        started_at=started_at,
        duration_ms=(time.perf_counter() - started) * 1000,
        request_body=body,
        response_body=content,
        # The consumer's subsystem decides the payload policy with the provider's (the stricter of both).
        consumer_subsystem_code=consumer[1] if consumer else "",
        provider_subsystem_code=system.code,
    )


def http_call(
    *, service_id: int, url: str, timeout: float, retries: int, call: ProviderCall
) -> ProviderAnswer:
    """POST the signed call to the external system; answer its verified ``data`` (404: None)."""
    circuit = circuit_for(service_id)
    if not _circuit_admit(circuit):
        raise ProviderUnavailable("circuit open")
    body = adapter.json_bytes(
        {
            "query": call.query,
            "items": sorted(call.items),
            "consumer": call.consumer,
            "exchange_id": call.exchange_id,
        }
    )
    path = urllib.parse.urlsplit(url).path or "/"
    service = Service.objects.select_related("provider__department").get(pk=service_id)
    signer = gateway_signer()
    lookup = provider_key_lookup(service.provider)
    backoff = float(settings.EXCHANGE_RETRY_BACKOFF_SECONDS)
    problem, failure = "no attempt", ProviderUnavailable
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * (2 ** (attempt - 1)))
        headers = adapter.request_headers(
            signer, client=adapter.GATEWAY_IDENTITY, method="POST", path=path, body=body, purpose=call.purpose
        )
        sent = {
            "Content-Type": "application/json",
            protocol.EXCHANGE_ID: call.exchange_id,
            **headers,
        }
        started_at, started = timezone.now(), time.perf_counter()
        try:
            status, answer_headers, content = _post_once(url, body, sent, timeout)
        except (TimeoutError, OSError) as error:  # URLError is an OSError; so are refused connections
            problem = f"{type(error).__name__}: {error}"
            continue
        check = adapter.response_check(
            status=status,
            headers=answer_headers,
            body=content,
            path=path,
            request_nonce=headers[protocol.NONCE],
            exchange_id=call.exchange_id,
            verifier_for=lookup,
            now=timezone.now(),
        )
        answer: Any = None
        if check.verified:
            try:
                answer = json.loads(content)
            except ValueError:
                answer = None
        error_code = "" if status == 200 else str(answer.get("code", "")) if isinstance(answer, dict) else ""
        if not check.verified and status not in _RETRIED_STATUSES:
            error_code = UNVERIFIED_CODE
        _provider_leg_log(
            call=call,
            service=service,
            request_headers=headers,
            body=body,
            status=status,
            response_headers=answer_headers,
            content=content,
            error_code=error_code or ("" if status == 200 else f"http_{status}"),
            started_at=started_at,
            started=started,
        )
        if status in _RETRIED_STATUSES:
            problem = f"HTTP {status}"
            continue
        if not check.verified:
            problem, failure = f"{UNVERIFIED_CODE}: {check.problem}", ProviderResponseNotVerified
            logger.warning(
                "exchange_provider_response_unverified",
                extra={"service": service_id, "status": status, "problem": check.problem},
            )
            break
        if status == 404 and isinstance(answer, dict) and answer.get("code") == "record_not_found":
            _circuit_record(circuit, success=True)
            return None
        if status == 400 and isinstance(answer, dict) and answer.get("code") == "bad_request":
            _circuit_record(circuit, success=True)  # the provider is well: the query was not
            raise ProviderInputError(
                str(answer.get("problem_zh") or answer.get("message_zh") or "请求内容无效。"),
                str(answer.get("problem") or answer.get("message_en") or "The request is not valid."),
            )
        if status != 200:
            problem = f"HTTP {status} {error_code}".strip()
            break  # a 4xx/500 is the provider's answer, not a passing failure: not retried
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            problem = "no data object"
            break
        _circuit_record(circuit, success=True)
        return data
    _circuit_record(circuit, success=False)
    raise failure(problem)
