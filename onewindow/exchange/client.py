"""A Python client of the exchange: signs requests, verifies signed responses (docs/exchange.md).

Used by the tests, the benchmark and other nodes::

    client = ExchangeClient("http://127.0.0.1:8000", "CN/GOV/<credit code>/<subsystem>", signer,
                            provider_verifiers={key_id: verifier})
    answer = client.call("CN/GOV/<credit code>/<subsystem>/<service>", {"credit_code": "…"}, purpose="…")
    answer.status, answer.data, answer.verified

Pure Python (``http.client``, one keep-alive connection per thread); no Django. A ``transport`` callable can
replace HTTP (the tests pass Django's test client).

Retries: a kept-alive connection the server has meanwhile closed fails only when it is used again. If it
fails while the request is being written, the request cannot have been processed (the server had not read a
whole request), and it is sent again as it was. If it fails after the request was written (no response), the
server may have processed it, so the same nonce would be refused as a replay: :meth:`ExchangeClient.call`
then signs the request again with a fresh nonce and timestamp on a new connection (the exchange's services
are look-ups, so asking twice is safe). :meth:`ExchangeClient.send`, which sends prepared headers, never
resends them in that case; it raises :class:`ConnectionUnsure`. A connection idle for longer than
``idle_seconds`` (below gunicorn's keep-alive of 5 s) is not reused at all.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature

from onewindow.crypto.keys import Signer, Verifier
from onewindow.exchange import protocol

# (method, path, headers, body) -> (status, headers, body)
Transport = Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


class ResponseNotVerified(Exception):  # noqa: N818 - names what happened
    """The response's signature, digest or binding to the request does not verify."""


class ConnectionUnsure(ConnectionError):  # noqa: N818 - names what happened
    """A reused connection broke after the request was written: the server may have processed it."""


_BROKEN = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


@dataclass
class ExchangeAnswer:
    status: int
    body: bytes
    headers: dict[str, str]
    verified: bool
    json: Any = None
    problem: str = ""

    @property
    def data(self) -> Any:
        return self.json.get("data") if isinstance(self.json, dict) else None

    @property
    def code(self) -> str:
        return str(self.json.get("code", "")) if isinstance(self.json, dict) else ""


@dataclass
class ExchangeClient:
    base_url: str
    subsystem: str
    signer: Signer
    # Provider keys trusted to sign responses: key id -> verifier; or a callable looking one up.
    provider_verifiers: dict[str, Verifier] = field(default_factory=dict)
    verifier_lookup: Callable[[str], Verifier | None] | None = None
    timeout: float = 10.0
    transport: Transport | None = None
    require_signed_response: bool = True
    # Reuse a kept-alive connection only if it was used less than this long ago (gunicorn closes at 5 s).
    idle_seconds: float = 4.0
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def signed_headers(
        self, path: str, body: bytes, purpose: str, *, now: dt.datetime | None = None
    ) -> dict[str, str]:
        headers = protocol.SignedHeaders(
            client=self.subsystem,
            timestamp=protocol.format_timestamp(now or dt.datetime.now(dt.UTC)),
            nonce=protocol.new_nonce(),
            digest=protocol.body_digest(body),
            purpose=protocol.encode_purpose(purpose),
            key_id=self.signer.key_id,
        )
        signature = self.signer.sign(protocol.request_canonical("POST", path, headers))
        return headers.as_headers(signature)

    def call(
        self, service: str, query: Mapping[str, Any], *, purpose: str, items: list[str] | None = None
    ) -> ExchangeAnswer:
        payload: dict[str, Any] = {"query": dict(query)}
        if items is not None:
            payload["items"] = items
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        path = self.path_of(service)
        try:
            return self.send(path, self.signed_headers(path, body, purpose), body)
        except ConnectionUnsure:
            # The server may have used that nonce: a new request (fresh nonce) on a new connection.
            return self.send(path, self.signed_headers(path, body, purpose), body)

    def path_of(self, service: str) -> str:
        prefix = urllib.parse.urlsplit(self.base_url).path.rstrip("/")
        return f"{prefix}{protocol.PATH_PREFIX}{service}"

    def send(self, path: str, headers: dict[str, str], body: bytes) -> ExchangeAnswer:
        """Send prepared (possibly deliberately broken) headers and body; verify the answer."""
        all_headers = {"Content-Type": "application/json", **headers}
        if self.transport is not None:
            status, response_headers, content = self.transport("POST", path, all_headers, body)
        else:
            status, response_headers, content = self._http("POST", path, all_headers, body)
        answer = ExchangeAnswer(status=status, body=content, headers=response_headers, verified=False)
        try:
            answer.json = json.loads(content) if content else None
        except ValueError:
            answer.json = None
        problem = self.response_problem(answer, path, headers.get(protocol.NONCE, ""))
        answer.verified = problem == ""
        answer.problem = problem
        if problem and self.require_signed_response and status != 404:
            raise ResponseNotVerified(problem)
        return answer

    def response_problem(self, answer: ExchangeAnswer, path: str, request_nonce: str) -> str:
        headers = {name.lower(): value for name, value in answer.headers.items()}
        signed = protocol.SignedHeaders.from_headers(
            {name: headers.get(name.lower(), "") for name in protocol.SIGNED_HEADERS}
        )
        signature = protocol.decode_signature(headers.get(protocol.SIGNATURE.lower(), ""))
        if signed is None or signature is None:
            return "unsigned response"
        verifier = self.provider_verifiers.get(signed.key_id)
        if verifier is None and self.verifier_lookup is not None:
            verifier = self.verifier_lookup(signed.key_id)
        if verifier is None:
            return f"unknown provider key {signed.key_id}"
        if protocol.body_digest(answer.body) != signed.digest:
            return "response digest mismatch"
        exchange_id = headers.get(protocol.EXCHANGE_ID.lower(), "")
        canonical = protocol.response_canonical(
            answer.status, path, signed, request_nonce=request_nonce, exchange_id=exchange_id
        )
        try:
            verifier.verify(signature, canonical)
        except (InvalidSignature, ValueError):
            return "bad response signature"
        return ""

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it was used before (then it may have been closed)."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        last_used: float = getattr(self._local, "last_used", 0.0)
        if connection is not None and time.monotonic() - last_used > self.idle_seconds:
            connection.close()
            connection = None
        if connection is None:
            parts = urllib.parse.urlsplit(self.base_url)
            factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            connection = factory(parts.hostname or "127.0.0.1", parts.port, timeout=self.timeout)
            self._local.connection = connection
            return connection, False
        # http.client reconnects by itself after a "Connection: close" answer: then the socket is new.
        return connection, connection.sock is not None

    def _drop(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        self._local.connection = None

    def _http(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):
            connection, reused = self._connection()
            try:
                connection.request(method, path, body=body, headers=headers)
            except _BROKEN:
                # Not written whole: the server cannot have processed it. Sent again as it is, once.
                self._drop(connection)
                if attempt or not reused:
                    raise
                continue
            try:
                response = connection.getresponse()
                content = response.read()
            except _BROKEN as error:
                self._drop(connection)
                if reused:
                    message = f"the kept-alive connection broke after the request was sent: {error}"
                    raise ConnectionUnsure(message) from error
                raise
            self._local.last_used = time.monotonic()
            return response.status, dict(response.getheaders()), content
        raise RuntimeError("unreachable")  # pragma: no cover
