"""The reference adapter: what an external department runs in front of its system to serve the exchange
(docs/exchange.md, "The adapter protocol"). A small WSGI application, standard library plus the platform's
crypto (``onewindow.crypto``, ``cryptography``), no Django::

    from onewindow.exchange.adapter import Adapter, GatewayKeys, make_server

    def schools(query, items):  # one service: a dict keyed by catalog data item names, or None (no record)
        row = my_database_lookup(query["name"])
        return None if row is None else {"学校名称": row.name, "在校生人数": row.pupils}

    adapter = Adapter(
        subsystem="CN/GOV/<credit code>/<system code>",
        signer=load_signer(Path("subsystem-key.der").read_bytes()),  # the department's own key
        handlers={"schools": schools},
        gateway_keys=GatewayKeys(
            root_certificate=Path("platform-root.pem").read_bytes(),  # pinned out of band
            discovery_url="https://onewindow.example/api/v1/exchange/meta/gateway/keys",
        ),
    )
    make_server(adapter, "0.0.0.0", 8080).serve_forever()  # or any WSGI server (gunicorn module:adapter)

It serves, under its base URL (the system's exchange endpoint in the catalog):

* ``POST {base}/services/{code}`` — a call from the exchange gateway. The request must be signed by a key of
  the gateway (``X-OW-Client`` = :data:`GATEWAY_IDENTITY`) whose certificate chains to the pinned platform
  root; the adapter checks signature, digest, timestamp (±5 minutes), nonce (never twice) and purpose in the
  exchange's order and refuses with the exchange's codes and error format ``{code, message, message_zh,
  message_en, exchange_id}``. Then it calls ``handler(query, items)`` and answers ``200 {"exchange_id",
  "service", "data"}`` (only the items asked for), ``404 record_not_found`` for ``None``, ``400 bad_request``
  for :class:`BadQuery`. Every answer, refusals included, is signed with the subsystem's key over the
  exchange's response canonical string (bound to the request's nonce and exchange id).
* ``GET {base}/meta/openapi`` — the OpenAPI 3.1 document naming the services, and ``GET {base}/meta/health``.

The pure protocol helpers here (signing and checking requests and responses, certificate checks, certificate
requests) are shared with the exchange's side (``http_provider``) and the conformance check.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import sqlite3
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.simple_server import make_server as _wsgiref_server

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from onewindow.crypto import _der
from onewindow.crypto.keys import Algorithm, Signer, Verifier, load_verifier
from onewindow.exchange import protocol

logger = logging.getLogger(__name__)

#: Who signs what the exchange sends to external providers (its keys: ``/api/v1/exchange/meta/gateway/keys``).
GATEWAY_IDENTITY = protocol.subsystem_path("PLATFORM", "GATEWAY")
IDENTITY_URI_PREFIX = "urn:onewindow:exchange:"
SERVICES_PATH = "/services/"
OPENAPI_PATH = "/meta/openapi"
HEALTH_PATH = "/meta/health"
MAX_BODY_BYTES = 1024 * 1024
EXCHANGE_ID_MAX_LENGTH = 64

# The exchange's refusal codes the adapter answers (the same codes, statuses and texts as the gateway's).
ERRORS: dict[str, tuple[int, str, str]] = {
    "unsigned": (
        401,
        "请求未签名：缺少交换签名头。",
        "The request is not signed: exchange headers are missing.",
    ),
    "unknown_client": (401, "未知的客户端子系统。", "Unknown client subsystem."),
    "unknown_key": (401, "未知的签名密钥。", "Unknown signing key."),
    "bad_signature": (401, "签名无效。", "The signature is not valid."),
    "digest_mismatch": (400, "请求体与摘要不符。", "The body does not match its digest."),
    "stale_timestamp": (
        401,
        "请求时间超出允许范围（±5 分钟）。",
        "The timestamp is outside the ±5 minute window.",
    ),
    "purpose_required": (
        400,
        "须说明用途（办件编号或事由）。",
        "A purpose (case number or reason) is required.",
    ),
    "replayed_nonce": (409, "重复的请求（随机数已使用）。", "Replayed request: the nonce was already used."),
    "bad_request": (400, "请求内容无效。", "The request body is not valid."),
    "unknown_service": (404, "没有该服务。", "No such service."),
    "record_not_found": (404, "没有该记录。", "No such record."),
    "provider_error": (500, "服务提供方内部错误。", "The provider failed to answer."),
}


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def json_bytes(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def error_body(code: str, exchange_id: str, **extra: Any) -> bytes:
    _status, zh, en = ERRORS[code]
    return json_bytes(
        {"code": code, "message": zh, "message_zh": zh, "message_en": en, "exchange_id": exchange_id, **extra}
    )


# --- Signing and checking (both sides) ----------------------------------------------------------------------


def request_headers(
    signer: Signer,
    *,
    client: str,
    method: str,
    path: str,
    body: bytes,
    purpose: str,
    now: dt.datetime | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The seven signed headers of a request (``protocol.request_canonical``)."""
    signed = protocol.SignedHeaders(
        client=client,
        timestamp=protocol.format_timestamp(now or utc_now()),
        nonce=nonce or protocol.new_nonce(),
        digest=protocol.body_digest(body),
        purpose=protocol.encode_purpose(purpose),
        key_id=signer.key_id,
    )
    return signed.as_headers(signer.sign(protocol.request_canonical(method, path, signed)))


def response_headers(
    signer: Signer,
    *,
    client: str,
    status: int,
    path: str,
    body: bytes,
    request_purpose: str,
    request_nonce: str,
    exchange_id: str,
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """The signed headers of a response (``protocol.response_canonical``) plus ``X-OW-Exchange-Id``.

    ``request_purpose`` is the request's ``X-OW-Purpose`` as sent (``-`` when it had none, so the response
    stays verifiable)."""
    signed = protocol.SignedHeaders(
        client=client,
        timestamp=protocol.format_timestamp(now or utc_now()),
        nonce=protocol.new_nonce(),
        digest=protocol.body_digest(body),
        purpose=request_purpose or "-",
        key_id=signer.key_id,
    )
    signature = signer.sign(
        protocol.response_canonical(
            status, path, signed, request_nonce=request_nonce, exchange_id=exchange_id
        )
    )
    return {**signed.as_headers(signature), protocol.EXCHANGE_ID: exchange_id}


@dataclass(frozen=True)
class ResponseCheck:
    """What checking a signed response found: ``problem`` empty when it verifies."""

    problem: str
    key_id: str = ""
    client: str = ""

    @property
    def verified(self) -> bool:
        return not self.problem


def response_check(
    *,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    path: str,
    request_nonce: str,
    exchange_id: str,
    verifier_for: Callable[[str], tuple[Verifier, str] | None],
    now: dt.datetime | None = None,
) -> ResponseCheck:
    """Check a response's signature, digest, freshness and binding to the request.

    ``verifier_for(key id)`` answers the key's verifier and the identity it belongs to (None: not trusted);
    the response's ``X-OW-Client`` must be that identity and its ``X-OW-Exchange-Id`` the request's."""
    lowered = {name.lower(): value for name, value in headers.items()}
    signed = protocol.SignedHeaders.from_headers(
        {name: lowered.get(name.lower(), "") for name in protocol.SIGNED_HEADERS}
    )
    signature = protocol.decode_signature(lowered.get(protocol.SIGNATURE.lower(), ""))
    if signed is None or signature is None:
        return ResponseCheck("unsigned response")
    trusted = verifier_for(signed.key_id)
    if trusted is None:
        return ResponseCheck(f"untrusted response key {signed.key_id[:64]}", signed.key_id, signed.client)
    verifier, identity = trusted
    if signed.client != identity:
        return ResponseCheck(
            f"response signed as {signed.client[:200]}, but the key belongs to {identity}",
            signed.key_id,
            signed.client,
        )
    if lowered.get(protocol.EXCHANGE_ID.lower(), "") != exchange_id:
        return ResponseCheck("response exchange id differs from the request's", signed.key_id, signed.client)
    if protocol.body_digest(body) != signed.digest:
        return ResponseCheck("response digest mismatch", signed.key_id, signed.client)
    canonical = protocol.response_canonical(
        status, path, signed, request_nonce=request_nonce, exchange_id=exchange_id
    )
    try:
        verifier.verify(signature, canonical)
    except (InvalidSignature, ValueError):
        return ResponseCheck("bad response signature", signed.key_id, signed.client)
    if not protocol.timestamp_is_fresh(signed.timestamp, now or utc_now()):
        return ResponseCheck("stale response timestamp", signed.key_id, signed.client)
    return ResponseCheck("", signed.key_id, signed.client)


# --- Certificates -------------------------------------------------------------------------------------------


class UntrustedCertificate(Exception):  # noqa: N818 - names what the certificate is
    """The certificate does not chain to the pinned root, is out of date, or names another identity."""


def load_certificate(data: bytes) -> x509.Certificate:
    """A certificate from PEM or DER."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def certificate_spki(certificate: x509.Certificate) -> bytes:
    """The DER SubjectPublicKeyInfo of ``certificate`` (read from the to-be-signed bytes: ``cryptography``
    cannot load an SM2 key)."""
    fields = _der.children(_der.read_all(certificate.tbs_certificate_bytes, _der.SEQUENCE))
    index = 6 if fields and fields[0][0] == _der.CONTEXT_0 else 5
    tag, content = fields[index]
    if tag != _der.SEQUENCE:
        message = "no SubjectPublicKeyInfo where expected"
        raise _der.DERError(message)
    return _der.tlv(tag, content)


def certificate_identity(certificate: x509.Certificate) -> str:
    """The exchange identity a certificate names (its ``urn:onewindow:exchange:`` alternative name)."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ""
    for uri in names.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(IDENTITY_URI_PREFIX):
            return uri.removeprefix(IDENTITY_URI_PREFIX)
    return ""


def certificate_verifier(
    certificate: x509.Certificate, root: x509.Certificate, *, identity: str | None, now: dt.datetime
) -> tuple[Verifier, str]:
    """The verifier of a certificate's key and the identity it names, if the root signed it, it is valid at
    ``now`` and (when ``identity`` is given) it names that identity; else :class:`UntrustedCertificate`."""
    root_key = root.public_key()
    if not isinstance(root_key, ec.EllipticCurvePublicKey):
        message = "the root key is not ECDSA"
        raise UntrustedCertificate(message)
    if certificate.issuer != root.subject:
        message = "not issued by the platform root"
        raise UntrustedCertificate(message)
    try:
        root_key.verify(certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        message = "the certificate does not verify under the platform root"
        raise UntrustedCertificate(message) from None
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        message = "the certificate is not valid now"
        raise UntrustedCertificate(message)
    named = certificate_identity(certificate)
    if not named or (identity is not None and named != identity):
        message = f"the certificate names {named or 'no exchange identity'}, not {identity}"
        raise UntrustedCertificate(message)
    try:
        return load_verifier(certificate_spki(certificate)), named
    except ValueError as error:
        message = f"the certificate's key cannot be read: {error}"
        raise UntrustedCertificate(message) from None


# --- Certificate requests (the department's side of "register your own key") -------------------------------

_CN_OID = "2.5.4.3"
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"
ED25519_OID = "1.3.101.112"


def certificate_request(signer: Signer, identity: str) -> bytes:
    """A PKCS#10 certificate request (DER) for ``signer``'s key, subject ``CN=<identity>``, signed with the
    key itself (SM2 with SM3 and the default signer ID, or Ed25519): proof that the department holds the
    private key, which never leaves it. Upload it to ``/api/v1/exchange/systems/{code}/keys/register``."""
    if signer.algorithm is Algorithm.SM2_SM3:
        algorithm_oid = SM2_WITH_SM3_OID
    elif signer.algorithm is Algorithm.ED25519:
        algorithm_oid = ED25519_OID
    else:
        message = "exchange keys are SM2 or Ed25519"
        raise ValueError(message)
    common_name = _der.tlv(
        _der.SEQUENCE,
        _der.tlv(_der.OBJECT_IDENTIFIER, _der.encode_oid(_CN_OID)) + _der.tlv(0x0C, identity.encode("utf-8")),
    )
    subject = _der.tlv(_der.SEQUENCE, _der.tlv(0x31, common_name))
    info = _der.tlv(
        _der.SEQUENCE,
        _der.encode_small_integer(0) + subject + signer.public_key_der() + _der.tlv(_der.CONTEXT_0, b""),
    )
    algorithm = _der.tlv(_der.SEQUENCE, _der.tlv(_der.OBJECT_IDENTIFIER, _der.encode_oid(algorithm_oid)))
    signature = _der.tlv(_der.BIT_STRING, b"\x00" + signer.sign(info))
    return _der.tlv(_der.SEQUENCE, info + algorithm + signature)


def certificate_request_pem(signer: Signer, identity: str) -> bytes:
    return _der.pem_encode(certificate_request(signer, identity), "CERTIFICATE REQUEST")


# --- The gateway's keys, as the adapter trusts them ---------------------------------------------------------


def _fetch_json(url: str, timeout: float) -> Any:
    if not url.startswith(("https://", "http://")):
        message = "the discovery URL must be http(s)"
        raise ValueError(message)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - checked above
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read(4 * 1024 * 1024))


@dataclass
class GatewayKeys:
    """The exchange gateway's verifying keys: certificates given here and/or fetched from the platform's
    discovery (``/api/v1/exchange/meta/gateway/keys``), each accepted only when it chains to the pinned
    platform root, is valid now and names :data:`GATEWAY_IDENTITY`. Fetched again every ``refresh_seconds``
    (a revoked key disappears from discovery) and when an unknown key id arrives (at most every
    ``min_fetch_interval`` seconds)."""

    root_certificate: bytes
    certificates: Sequence[bytes] = ()
    discovery_url: str = ""
    identity: str = GATEWAY_IDENTITY
    refresh_seconds: float = 300.0
    min_fetch_interval: float = 10.0
    timeout: float = 5.0
    fetch: Callable[[], Sequence[bytes]] | None = None  # replaces the HTTP fetch (tests, other transports)
    _root: x509.Certificate = field(init=False, repr=False)
    _fetched: dict[str, Verifier] = field(default_factory=dict, init=False, repr=False)
    _fetched_at: float = field(default=float("-inf"), init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._root = load_certificate(self.root_certificate)

    def _trusted(self, certificates: Iterable[bytes]) -> dict[str, Verifier]:
        verifiers: dict[str, Verifier] = {}
        now = utc_now()
        for data in certificates:
            try:
                verifier, _identity = certificate_verifier(
                    load_certificate(data), self._root, identity=self.identity, now=now
                )
            except (UntrustedCertificate, ValueError) as error:
                logger.warning("adapter_gateway_certificate_refused", extra={"problem": str(error)})
                continue
            verifiers[verifier.key_id] = verifier
        return verifiers

    def _download(self) -> list[bytes]:
        if self.fetch is not None:
            return list(self.fetch())
        if not self.discovery_url:
            return []
        rows = _fetch_json(self.discovery_url, self.timeout)
        return [
            _der_from_base64(row.get("certificate_der_base64", ""))
            for row in rows
            if isinstance(row, dict) and row.get("status") in {"active", "retired"}
        ]

    def verifier(self, key_id: str) -> Verifier | None:
        """The verifier of a trusted gateway key, or None. Certificates are checked when (re)loaded: every
        ``refresh_seconds``, and on an unknown key id at most every ``min_fetch_interval`` seconds. When
        discovery cannot be reached the keys loaded before stay trusted and it is tried again soon."""
        with self._lock:
            age = time.monotonic() - self._fetched_at
            unknown = key_id not in self._fetched
            if age >= self.refresh_seconds or (unknown and age >= self.min_fetch_interval):
                try:
                    downloaded = self._download()
                except (OSError, ValueError) as error:
                    logger.warning("adapter_gateway_keys_unavailable", extra={"problem": str(error)})
                    self._fetched = {**self._fetched, **self._trusted(self.certificates)}
                    self._fetched_at = time.monotonic() - self.refresh_seconds + self.min_fetch_interval
                else:
                    self._fetched = self._trusted([*self.certificates, *downloaded])
                    self._fetched_at = time.monotonic()
            return self._fetched.get(key_id)


def _der_from_base64(value: str) -> bytes:
    return base64.b64decode(value or "", validate=True)


# --- Nonces ------------------------------------------------------------------------------------------------


class NonceStore(Protocol):
    def use(self, client: str, nonce: str, expires_at: float) -> bool:
        """Record the nonce; False when it was used before (a replay)."""
        ...


class MemoryNonceStore:
    """Nonces of one process (enough for one adapter process; several processes need a shared store such as
    :class:`SQLiteNonceStore` on one host, or one of your own)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._next_purge = 0.0

    def use(self, client: str, nonce: str, expires_at: float) -> bool:
        now = time.time()
        with self._lock:
            if now >= self._next_purge:
                self._seen = {key: until for key, until in self._seen.items() if until > now}
                self._next_purge = now + 60
            key = (client, nonce)
            if self._seen.get(key, 0.0) > now:
                return False
            self._seen[key] = expires_at
            return True


class SQLiteNonceStore:
    """Nonces in a SQLite file: shared by every adapter process on one host (a unique key decides races)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._next_purge = 0.0
        with self._connection() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS used_nonce (client TEXT NOT NULL, nonce TEXT NOT NULL, "
                "expires_at REAL NOT NULL, PRIMARY KEY (client, nonce))"
            )

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            self._local.connection = connection
        return connection

    def use(self, client: str, nonce: str, expires_at: float) -> bool:
        connection = self._connection()
        now = time.time()
        connection.execute(
            "DELETE FROM used_nonce WHERE client = ? AND nonce = ? AND expires_at <= ?", (client, nonce, now)
        )
        try:
            connection.execute(
                "INSERT INTO used_nonce (client, nonce, expires_at) VALUES (?, ?, ?)",
                (client, nonce, expires_at),
            )
        except sqlite3.IntegrityError:
            return False
        if now >= self._next_purge:  # expired nonces are useless: a replay of one is stale anyway
            self._next_purge = now + 60
            connection.execute("DELETE FROM used_nonce WHERE expires_at <= ?", (now,))
        return True


# --- The WSGI application ----------------------------------------------------------------------------------


class BadQuery(Exception):  # noqa: N818 - the consumer's query, answered 400 bad_request
    """Raised by a handler when the query is not what the service takes."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


#: ``handler(query, items)``: the record as a dict keyed by data item names, or None when there is none.
Handler = Callable[[dict[str, Any], list[str] | None], dict[str, Any] | None]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed"}
_REASONS.update({409: "Conflict", 413: "Content Too Large", 500: "Internal Server Error"})


class _Refusal(Exception):  # noqa: N818
    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


@dataclass
class Adapter:
    """The WSGI application (see the module's docstring). ``mount`` is the path of the base URL (``/ow`` for
    ``https://dept.example/ow``) when the server hands the whole path to the application."""

    subsystem: str
    signer: Signer
    handlers: Mapping[str, Handler]
    gateway_keys: GatewayKeys
    nonce_store: NonceStore = field(default_factory=MemoryNonceStore)
    title: str = ""
    descriptions: Mapping[str, str] = field(default_factory=dict)
    examples: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # a sample query per service
    mount: str = ""
    clock: Callable[[], dt.datetime] = utc_now

    def __post_init__(self) -> None:
        if protocol.parse_subsystem_path(self.subsystem) is None:
            message = f"not a subsystem identifier (CN/GOV/<member>/<subsystem>): {self.subsystem!r}"
            raise ValueError(message)
        self.mount = self.mount.rstrip("/")

    # WSGI entry point
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        full_path = urllib.parse.quote(
            (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1"), safe="/-._~:@"
        )
        relative = full_path.removeprefix(self.mount) if full_path.startswith(self.mount) else ""
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if relative in {OPENAPI_PATH, HEALTH_PATH}:
            if method not in {"GET", "HEAD"}:
                return self._plain(start_response, 405, {"code": "method_not_allowed"})
            document = self.openapi() if relative == OPENAPI_PATH else self.health()
            return self._plain(start_response, 200, document)
        status, body, headers = self.handle(method, full_path, relative, environ)
        reason = _REASONS.get(status, "Error")
        start_response(
            f"{status} {reason}",
            [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Length", str(len(body))),
                *headers.items(),
            ],
        )
        return [body]

    def _plain(self, start_response: StartResponse, status: int, document: Mapping[str, Any]) -> list[bytes]:
        body = json_bytes(document)
        start_response(
            f"{status} {_REASONS.get(status, 'Error')}",
            [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def handle(
        self, method: str, path: str, relative: str, environ: Mapping[str, Any]
    ) -> tuple[int, bytes, dict[str, str]]:
        """A service call: (status, body, headers), the answer signed whatever it is."""
        headers = {
            name: str(environ.get("HTTP_" + name.upper().replace("-", "_"), ""))
            for name in (*protocol.ALL_HEADERS, protocol.EXCHANGE_ID)
        }
        exchange_id = headers[protocol.EXCHANGE_ID]
        if not exchange_id or len(exchange_id) > EXCHANGE_ID_MAX_LENGTH or not exchange_id.isascii():
            exchange_id = uuid.uuid4().hex
        signed = protocol.SignedHeaders.from_headers(headers)
        try:
            code = relative.removeprefix(SERVICES_PATH) if relative.startswith(SERVICES_PATH) else ""
            if not code or code not in self.handlers:
                raise _Refusal("unknown_service")
            if method != "POST":
                raise _Refusal("bad_request", problem="POST only")
            body = self._body(environ)
            self._authenticate(method, path, headers, body, signed)
            query, items = self._parse(body)
            data = self._answer(code, query, items)
            status, answer = (
                200,
                json_bytes({"exchange_id": exchange_id, "service": f"{self.subsystem}/{code}", "data": data}),
            )
        except _Refusal as refusal:
            status = ERRORS[refusal.code][0]
            answer = self.error_body(refusal.code, exchange_id, **refusal.extra)
            logger.info("adapter_refused", extra={"code": refusal.code, "exchange_id": exchange_id})
        signed_answer = response_headers(
            self.signer,
            client=self.subsystem,
            status=status,
            path=path,
            body=answer,
            request_purpose=signed.purpose if signed else "",
            request_nonce=signed.nonce if signed else "",
            exchange_id=exchange_id,
            now=self.clock(),
        )
        return status, answer, signed_answer

    def error_body(self, code: str, exchange_id: str, **extra: Any) -> bytes:
        """A refusal in the exchange's format (overridable, e.g. to add a department's own fields)."""
        return error_body(code, exchange_id, **extra)

    @staticmethod
    def _body(environ: Mapping[str, Any]) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise _Refusal("bad_request", problem="bad Content-Length") from None
        if length > MAX_BODY_BYTES:
            raise _Refusal("bad_request", problem="body too large")
        stream = environ.get("wsgi.input")
        return bytes(stream.read(length)) if stream is not None and length > 0 else b""

    def _authenticate(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        signed: protocol.SignedHeaders | None,
    ) -> None:
        """The exchange's checks, in the exchange's order (docs/exchange.md, "A call")."""
        signature = protocol.decode_signature(headers.get(protocol.SIGNATURE, ""))
        if signed is None or signature is None:
            raise _Refusal("unsigned")
        if signed.client != self.gateway_keys.identity:
            raise _Refusal("unknown_client")
        verifier = self.gateway_keys.verifier(signed.key_id)
        if verifier is None:
            raise _Refusal("unknown_key")
        try:
            verifier.verify(signature, protocol.request_canonical(method, path, signed))
        except (InvalidSignature, ValueError):
            raise _Refusal("bad_signature") from None
        if protocol.body_digest(body) != signed.digest:
            raise _Refusal("digest_mismatch")
        now = self.clock()
        if not protocol.timestamp_is_fresh(signed.timestamp, now):
            raise _Refusal("stale_timestamp")
        if not protocol.nonce_is_valid(signed.nonce):
            raise _Refusal("unsigned", problem="nonce must be at least 16 random bytes, base64url")
        try:
            purpose = protocol.decode_purpose(signed.purpose).strip()
        except UnicodeDecodeError:
            raise _Refusal("purpose_required") from None
        if not purpose or len(purpose) > protocol.PURPOSE_MAX_LENGTH:
            raise _Refusal("purpose_required")
        expires = (now + 2 * protocol.TIMESTAMP_WINDOW).timestamp()
        if not self.nonce_store.use(signed.client, signed.nonce, expires):
            raise _Refusal("replayed_nonce")

    @staticmethod
    def _parse(body: bytes) -> tuple[dict[str, Any], list[str] | None]:
        try:
            data = json.loads(body) if body else None
        except ValueError:
            raise _Refusal("bad_request", problem="body is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("query"), dict):
            raise _Refusal("bad_request", problem='body must be {"query": {...}, "items": [...]}')
        items = data.get("items")
        if items is not None and (not isinstance(items, list) or not all(isinstance(i, str) for i in items)):
            raise _Refusal("bad_request", problem="items must be a list of data item names")
        return data["query"], items

    def _answer(self, code: str, query: dict[str, Any], items: list[str] | None) -> dict[str, Any]:
        try:
            record = self.handlers[code](query, items)
        except BadQuery as error:
            raise _Refusal("bad_request", problem=error.message_en, problem_zh=error.message_zh) from None
        except Exception:  # the department's code: answer a signed 500, never a traceback
            logger.exception("adapter_handler_failed", extra={"service": code})
            raise _Refusal("provider_error") from None
        if record is None:
            raise _Refusal("record_not_found")
        if not isinstance(record, dict):
            logger.error("adapter_handler_answer_not_a_dict", extra={"service": code})
            raise _Refusal("provider_error")
        # Data minimisation: only what the exchange asked for leaves the department.
        return record if items is None else {item: record.get(item) for item in items}

    # Metaservices
    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of the services (``GET {base}/meta/openapi``)."""
        refusal = {
            "description": "Refusal in the exchange's format, signed.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        paths: dict[str, Any] = {}
        for code in sorted(self.handlers):
            example = self.examples.get(code)
            body_schema: dict[str, Any] = {
                "type": "object",
                "required": ["query"],
                "properties": {
                    "query": {"type": "object"},
                    "items": {"type": "array", "items": {"type": "string"}},
                    "consumer": {"type": "string"},
                    "exchange_id": {"type": "string"},
                },
            }
            media: dict[str, Any] = {"schema": body_schema}
            if example is not None:
                media["example"] = {"query": example}
            paths[f"{SERVICES_PATH}{code}"] = {
                "post": {
                    "operationId": code,
                    "summary": self.descriptions.get(code, code),
                    "x-ow-service": f"{self.subsystem}/{code}",
                    "description": "Signed by the exchange gateway (OW-EXCHANGE-1); the answer is signed by "
                    "the subsystem's key.",
                    "requestBody": {"required": True, "content": {"application/json": media}},
                    "responses": {
                        "200": {"description": "The record: {exchange_id, service, data}."},
                        **dict.fromkeys(("400", "401", "404", "409", "500"), refusal),
                    },
                }
            }
        paths[HEALTH_PATH] = {"get": {"operationId": "health", "responses": {"200": {"description": "Up."}}}}
        paths[OPENAPI_PATH] = {
            "get": {"operationId": "openapi", "responses": {"200": {"description": "This."}}}
        }
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title or self.subsystem, "version": "1", "x-ow-subsystem": self.subsystem},
            "servers": [{"url": self.mount or "/"}],
            "paths": paths,
            "components": {
                "schemas": {
                    "Error": {
                        "type": "object",
                        "required": ["code", "message", "message_zh", "message_en"],
                        "properties": {
                            name: {"type": "string"}
                            for name in ("code", "message", "message_zh", "message_en", "exchange_id")
                        },
                    }
                }
            },
        }

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "subsystem": self.subsystem,
            "services": sorted(self.handlers),
            "time": protocol.format_timestamp(self.clock()),
            "signing_key": self.signer.key_id,
        }


# --- Serving -----------------------------------------------------------------------------------------------


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("adapter_request %s", format % args)


def make_server(app: Callable[..., Iterable[bytes]], host: str, port: int) -> WSGIServer:
    """A threading ``wsgiref`` server for ``app`` (production: any WSGI server, e.g. gunicorn)."""
    return _wsgiref_server(host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
