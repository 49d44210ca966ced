"""Push delivery: a signed POST to the subscription's webhook (docs/pubsub.md "Webhooks").

Headers: ``X-OneWindow-Event-Id`` (the idempotency key: the outbox event id), ``X-OneWindow-Topic``,
``X-OneWindow-Timestamp`` (Unix seconds), ``X-OneWindow-Signature: hmac-sm3=<hex>`` over
``{timestamp}.{event_id}.{body}`` with the subscription's secret. A 2xx answer is a delivery; anything
else, a timeout or a connection error is a failed attempt (retried with backoff).
"""

from __future__ import annotations

import functools
import http.client
import json
import socket
import ssl
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from onewindow.crypto import hmac_sm3, hmac_sm3_verify
from onewindow.pubsub.models import Delivery
from onewindow.pubsub.protection import SecretDecryptionError, address_resolve, secret_open

# Kept-alive connections per sending thread (the dispatcher sends from a pool of threads).
_local = threading.local()


def signature(secret: str, timestamp: str, event_id: str, body: bytes) -> str:
    return "hmac-sm3=" + hmac_sm3(secret.encode(), f"{timestamp}.{event_id}.".encode() + body).hex()


def signature_verify(secret: str, timestamp: str, event_id: str, body: bytes, header: str) -> bool:
    """For consumers (and the tests): True if ``header`` signs this request."""
    scheme, _, tag = header.partition("=")
    if scheme != "hmac-sm3":
        return False
    try:
        hmac_sm3_verify(secret.encode(), f"{timestamp}.{event_id}.".encode() + body, bytes.fromhex(tag))
    except (ValueError, InvalidSignature):
        return False
    return True


def event_document(delivery: Delivery) -> dict[str, Any]:
    """What a subscriber receives, by push or pull."""
    event = delivery.event
    return {
        "event_id": str(event.pk),
        "topic": event.topic,
        "key": event.key,
        "occurred_at": event.occurred_at,
        "published_at": event.created_at,
        "subscription": delivery.subscription.code,
        "attempt": delivery.attempts,
        "payload": event.payload,
    }


class _GuardedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address :func:`address_resolve` checked (docs/pubsub.md "Webhooks")."""

    def connect(self) -> None:
        address = address_resolve(self.host, self.port)
        self.sock = socket.create_connection((address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: the certificate is verified for the host name, the connection goes to the
    address that was checked."""

    def __init__(self, host: str, port: int, *, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)

    def connect(self) -> None:
        address = address_resolve(self.host, self.port)
        sock = socket.create_connection((address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


@functools.lru_cache(maxsize=256)
def _secret(stored: str, subscription_code: str) -> str:
    return secret_open(stored, subscription_code=subscription_code)


def _connection(url: str) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    scheme = parts.scheme
    host = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    key = (scheme, host, port)
    if not hasattr(_local, "connections"):
        _local.connections = {}
    connections: dict[tuple[str, str, int], http.client.HTTPConnection] = _local.connections
    connection = connections.get(key)
    if connection is None:
        timeout = settings.PUBSUB_WEBHOOK_TIMEOUT_SECONDS
        connection = (
            _GuardedHTTPSConnection(host, port, timeout=timeout)
            if scheme == "https"
            else _GuardedHTTPConnection(host, port, timeout=timeout)
        )
        connections[key] = connection
    path = parts.path or "/"
    return connection, path + (f"?{parts.query}" if parts.query else "")


def webhook_send(delivery: Delivery) -> str:
    """POST one event; "" when delivered, else the reason it failed (a status or an error class)."""
    subscription = delivery.subscription
    try:
        secret = _secret(subscription.secret, subscription.code)
    except SecretDecryptionError:
        return "SecretDecryptionError"
    body = json.dumps(event_document(delivery), cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    event_id = str(delivery.event_id)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "OneWindow-pubsub/1",
        "X-OneWindow-Event-Id": event_id,
        "X-OneWindow-Topic": delivery.topic,
        "X-OneWindow-Timestamp": timestamp,
        "X-OneWindow-Signature": signature(secret, timestamp, event_id, body),
    }
    status = 0
    for attempt in range(2):
        connection, path = _connection(subscription.webhook_url)
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
            break
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            # A kept-alive connection the server closed meanwhile: try once more on a new one.
            stale = isinstance(error, http.client.RemoteDisconnected | BrokenPipeError | ConnectionResetError)
            if attempt or not stale:
                return type(error).__name__
    if 200 <= status < 300:
        return ""
    return f"HTTP {status}"
