"""Webhook secrets encrypted at rest, and the guard on webhook addresses (docs/pubsub.md "Webhooks").

**Secrets.** A push subscription's HMAC-SM3 secret is stored as ``enc1:<key id>:<base64(nonce ‖ ciphertext ‖
tag)>``: AES-256-GCM (GB/T 39786-2021 allows AES where SM4 is not required) under a key derived from the
exchange's at-rest key ring, ``settings.MESSAGELOG_KEYS`` (``ONEWINDOW_MESSAGELOG_KEY``; the deployment check
``messagelog.E001`` refuses its development default in production). The associated data binds a secret to
its key id and subscription code, so it cannot be copied to another subscription unnoticed. Rotating the
key ring: secrets sealed under an older key stay readable while that key is in the ring, and
``subscription_secret_rotate`` seals the new secret under the current key.

**Addresses.** Unless ``ONEWINDOW_PUBSUB_ALLOW_PRIVATE_WEBHOOKS`` is set (the default outside production),
a webhook may only reach globally routable addresses: loopback, private, link-local (including cloud
metadata at 169.254.169.254), shared, reserved and multicast addresses are refused when the subscription is
made (an address literal, or a name resolving to one) and again at every connection, which goes to the
address that was checked (a name re-pointed to an internal address later is refused too).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import ipaddress
import os
import socket

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SEALED_PREFIX = "enc1"
NONCE_BYTES = 12
_DERIVATION = b"onewindow.pubsub.webhook-secret"


class SecretDecryptionError(ValueError):
    """A stored webhook secret could not be opened: its key is not configured, or it was changed."""


class WebhookAddressRefusedError(OSError):
    """The webhook's host is, or resolves to, an address that is not globally routable."""


@functools.lru_cache(maxsize=8)
def _ciphers(keys: tuple[tuple[str, bytes], ...]) -> dict[str, AESGCM]:
    return {key_id: AESGCM(hmac.new(key, _DERIVATION, hashlib.sha256).digest()) for key_id, key in keys}


def _keyring() -> tuple[str, dict[str, AESGCM]]:
    keys: dict[str, bytes] = settings.MESSAGELOG_KEYS
    if not keys:
        message = "settings.MESSAGELOG_KEYS is empty: webhook secrets cannot be encrypted"
        raise ImproperlyConfigured(message)
    return next(iter(keys)), _ciphers(tuple(keys.items()))


def _associated_data(key_id: str, subscription_code: str) -> bytes:
    return f"{_DERIVATION.decode()}|{key_id}|{subscription_code}".encode()


def secret_seal(secret: str, *, subscription_code: str) -> str:
    """The stored form of ``secret`` (empty stays empty: pull subscriptions have none)."""
    if not secret:
        return ""
    key_id, ciphers = _keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ciphers[key_id].encrypt(nonce, secret.encode(), _associated_data(key_id, subscription_code))
    return f"{SEALED_PREFIX}:{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def secret_open(stored: str, *, subscription_code: str) -> str:
    """The secret sealed by :func:`secret_seal`; :class:`SecretDecryptionError` if it cannot be opened."""
    if not stored:
        return ""
    prefix, _, rest = stored.partition(":")
    key_id, _, encoded = rest.partition(":")
    if prefix != SEALED_PREFIX:
        message = "the webhook secret is not sealed (run the pub/sub migrations)"
        raise SecretDecryptionError(message)
    cipher = _keyring()[1].get(key_id)
    if cipher is None:
        message = f"the webhook secret was sealed under key {key_id!r}, which is not configured"
        raise SecretDecryptionError(message)
    try:
        raw = base64.b64decode(encoded, validate=True)
        plain = cipher.decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated_data(key_id, subscription_code)
        )
    except (binascii.Error, InvalidTag):
        message = "the webhook secret was changed or moved to another subscription"
        raise SecretDecryptionError(message) from None
    return plain.decode()


def address_allowed(address: str) -> bool:
    """True if ``address`` (an IP address) may be a webhook's: globally routable, or private ones allowed."""
    if settings.PUBSUB_ALLOW_PRIVATE_WEBHOOKS:
        return True
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def host_refused(host: str) -> bool:
    """For the subscription form: True if ``host`` is, or resolves now to, a refused address.

    A name that does not resolve (yet) is not refused here; every connection is checked again.
    """
    if settings.PUBSUB_ALLOW_PRIVATE_WEBHOOKS:
        return False
    try:
        return not address_allowed(host.strip("[]"))
    except ValueError:
        pass  # a name, not an address literal
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return any(not address_allowed(str(info[4][0])) for info in infos)


def address_resolve(host: str, port: int) -> str:
    """The address to connect to for ``host``: the first one resolved, if every one is allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise OSError(error.errno, error.strerror) from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or not all(address_allowed(address) for address in addresses):
        message = f"webhook host {host!r} is not a public address"
        raise WebhookAddressRefusedError(message)
    return addresses[0]
