"""HMAC-SM3: HMAC (GB/T 15852.2-2012 / ISO/IEC 9797-2, the same construction as RFC 2104) with SM3.

Use a random key of at least 32 bytes (the digest size). Compare tags only with :func:`hmac_sm3_verify`,
which is constant-time.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes, hmac

TAG_SIZE = 32
MINIMUM_KEY_SIZE = 16


def _mac(key: bytes) -> hmac.HMAC:
    if len(key) < MINIMUM_KEY_SIZE:
        message = f"HMAC-SM3 key must be at least {MINIMUM_KEY_SIZE} bytes, got {len(key)}"
        raise ValueError(message)
    return hmac.HMAC(key, hashes.SM3())


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """The 32-byte HMAC-SM3 tag of ``data`` under ``key``."""
    mac = _mac(key)
    mac.update(data)
    return mac.finalize()


def hmac_sm3_verify(key: bytes, data: bytes, tag: bytes) -> None:
    """Check ``tag`` in constant time; raises ``cryptography.exceptions.InvalidSignature`` if it is wrong."""
    mac = _mac(key)
    mac.update(data)
    mac.verify(tag)
