"""HTTP to peers: one request per call with a timeout (``ONEWINDOW_FEDERATION_TIMEOUT``), no Django.

Signed calls and event fetches are POSTs (``http_post``); the peer's public discovery is read with
``http_get_json`` (unsigned, like the exchange's metaservices: it names members and services, never data,
and every answer that matters is signed and checked against the pinned root).
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

MAX_RESPONSE_BYTES = 8 * 1024 * 1024


class PeerUnreachable(Exception):  # noqa: N818 - names the condition
    """The peer did not answer: connection refused or reset, timeout, or an answer too large."""


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        message = f"not an http(s) URL: {url}"
        raise PeerUnreachable(message)
    factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return factory(parts.hostname, parts.port, timeout=timeout), target


def _request(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> HttpAnswer:
    connection, target = _connection(url, timeout)
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read(MAX_RESPONSE_BYTES + 1)
        if len(content) > MAX_RESPONSE_BYTES:
            message = "answer too large"
            raise PeerUnreachable(message)
        return HttpAnswer(
            response.status, {name.lower(): value for name, value in response.getheaders()}, content
        )
    except (OSError, http.client.HTTPException) as error:
        raise PeerUnreachable(type(error).__name__) from error
    finally:
        connection.close()


def http_post(url: str, headers: dict[str, str], body: bytes, *, timeout: float) -> HttpAnswer:
    """POST ``body``; a connection reset before an answer is tried once more (calls are look-ups or
    idempotent event fetches, so a second copy is harmless)."""
    all_headers = {"Content-Type": "application/json", **headers}
    try:
        return _request("POST", url, all_headers, body, timeout)
    except PeerUnreachable as error:
        if not isinstance(error.__cause__, ConnectionResetError | http.client.RemoteDisconnected):
            raise
        return _request("POST", url, all_headers, body, timeout)


def http_get_json(url: str, *, timeout: float) -> Any:
    answer = _request("GET", url, {"Accept": "application/json"}, None, timeout)
    if answer.status != 200:
        message = f"HTTP {answer.status} from {url}"
        raise PeerUnreachable(message)
    try:
        return json.loads(answer.body)
    except ValueError as error:
        message = f"not JSON from {url}"
        raise PeerUnreachable(message) from error


def http_get_bytes(url: str, *, accept: str, timeout: float) -> bytes:
    """GET ``url``: the body of a 200 answer (the peer's CRL); :class:`PeerUnreachable` otherwise."""
    answer = _request("GET", url, {"Accept": accept}, None, timeout)
    if answer.status != 200:
        message = f"HTTP {answer.status} from {url}"
        raise PeerUnreachable(message)
    return answer.body
