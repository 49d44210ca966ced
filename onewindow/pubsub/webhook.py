"""Push delivery: a signed POST to the subscription's webhook (docs/pubsub.md "Webhooks").

Headers: ``X-OneWindow-Event-Id`` (the idempotency key: the outbox event id), ``X-OneWindow-Topic``,
``X-OneWindow-Timestamp`` (Unix seconds), ``X-OneWindow-Signature: hmac-sm3=<hex>`` over
``{timestamp}.{event_id}.{body}`` with the subscription's secret. A 2xx answer is a delivery; anything
else, a timeout or a connection error is a failed attempt (retried with backoff).
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from onewindow.crypto import hmac_sm3, hmac_sm3_verify
from onewindow.pubsub.models import Delivery

_connections: dict[tuple[str, str, int], http.client.HTTPConnection] = {}


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


def _connection(url: str) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    scheme = parts.scheme
    host = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    key = (scheme, host, port)
    connection = _connections.get(key)
    if connection is None:
        timeout = settings.PUBSUB_WEBHOOK_TIMEOUT_SECONDS
        connection = (
            http.client.HTTPSConnection(host, port, timeout=timeout)
            if scheme == "https"
            else http.client.HTTPConnection(host, port, timeout=timeout)
        )
        _connections[key] = connection
    path = parts.path or "/"
    return connection, path + (f"?{parts.query}" if parts.query else "")


def webhook_send(delivery: Delivery) -> str:
    """POST one event; "" when delivered, else the reason it failed (a status or an error class)."""
    subscription = delivery.subscription
    body = json.dumps(event_document(delivery), cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    event_id = str(delivery.event_id)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "OneWindow-pubsub/1",
        "X-OneWindow-Event-Id": event_id,
        "X-OneWindow-Topic": delivery.topic,
        "X-OneWindow-Timestamp": timestamp,
        "X-OneWindow-Signature": signature(subscription.secret, timestamp, event_id, body),
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
