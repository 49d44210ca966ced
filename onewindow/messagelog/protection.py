"""Payload encryption at rest: AES-256-GCM (GB/T 39786-2021 allows AES where SM4 is not required; PIPL
Art. 51). The same key-ring scheme as the registry (onewindow/registry/protection.py) with this log's own
keys, ``settings.MESSAGELOG_KEYS`` (id -> 32 bytes, current first).

A sealed payload is ``nonce ‖ ciphertext ‖ tag``; the associated data binds it to its key id, its exchange and
its side (request or response), so a payload cannot be moved to another record or side unnoticed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from onewindow.crypto.mac import hmac_sm3

NONCE_BYTES = 12
KEY_BYTES = 32


class PayloadDecryptionError(ValueError):
    """A stored payload could not be decrypted: unknown key id, or it was changed."""


def _refuse_development_default() -> None:
    if settings.MESSAGELOG_KEYS_DEVELOPMENT_DEFAULT and settings.ONEWINDOW_ENV == "production":
        message = (
            "the message log key is the development default derived from the secret key: set "
            "ONEWINDOW_MESSAGELOG_KEY (or ONEWINDOW_MESSAGELOG_KEY_FILE)"
        )
        raise ImproperlyConfigured(message)


@functools.lru_cache(maxsize=8)
def _ciphers(keys: tuple[tuple[str, bytes], ...]) -> dict[str, AESGCM]:
    for key_id, key in keys:
        if len(key) != KEY_BYTES:
            message = f"message log key {key_id!r} must be {KEY_BYTES} bytes (AES-256), got {len(key)}"
            raise ImproperlyConfigured(message)
    return {key_id: AESGCM(key) for key_id, key in keys}


def _keyring() -> tuple[str, dict[str, AESGCM]]:
    _refuse_development_default()
    keys: dict[str, bytes] = settings.MESSAGELOG_KEYS
    if not keys:
        message = "settings.MESSAGELOG_KEYS is empty"
        raise ImproperlyConfigured(message)
    return next(iter(keys)), _ciphers(tuple(keys.items()))


def current_key_id() -> str:
    return _keyring()[0]


def _associated_data(key_id: str, exchange_id: str, side: str) -> bytes:
    return f"onewindow.messagelog|{key_id}|{exchange_id}|{side}".encode()


def payload_seal(plaintext: bytes, *, exchange_id: str, side: str) -> tuple[str, bytes]:
    """Encrypt one body under the current key; returns (key id, nonce ‖ ciphertext ‖ tag)."""
    key_id, ciphers = _keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ciphers[key_id].encrypt(nonce, plaintext, _associated_data(key_id, exchange_id, side))
    return key_id, nonce + sealed


def payload_open(sealed: bytes, *, key_id: str, exchange_id: str, side: str) -> bytes:
    """The body sealed by :func:`payload_seal`; :class:`PayloadDecryptionError` if it cannot be opened."""
    _, ciphers = _keyring()
    cipher = ciphers.get(key_id)
    if cipher is None:
        message = f"the payload was encrypted under key {key_id!r}, which is not configured"
        raise PayloadDecryptionError(message)
    try:
        return cipher.decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _associated_data(key_id, exchange_id, side)
        )
    except InvalidTag:
        message = "authentication failed: the payload was changed or moved"
        raise PayloadDecryptionError(message) from None


def _mac_key(key_id: str) -> bytes:
    keys: dict[str, bytes] = settings.MESSAGELOG_KEYS
    if key_id not in keys:
        message = f"message log key {key_id!r} is not configured"
        raise ImproperlyConfigured(message)
    # A separate key for segment MACs, derived so that one configured secret serves both purposes.
    return hmac.new(keys[key_id], b"onewindow.messagelog.segment-mac", hashlib.sha256).digest()


def segment_mac(digest: str, *, key_id: str) -> str:
    """HMAC-SM3 (GB/T 15852.2) of an archive segment's digest under the key derived from ``key_id``."""
    _refuse_development_default()
    return hmac_sm3(_mac_key(key_id), digest.encode("ascii")).hex()


def segment_mac_valid(digest: str, mac: str, *, key_id: str) -> bool:
    try:
        expected = segment_mac(digest, key_id=key_id)
    except ImproperlyConfigured:
        return False
    return hmac.compare_digest(expected, mac)
