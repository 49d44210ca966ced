"""Ed25519 (RFC 8032) through ``cryptography``: 64-byte signatures, for comparison and for its users."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["Ed25519PrivateKey", "Ed25519PublicKey", "InvalidSignature", "ed25519_sign", "ed25519_verify"]

SIGNATURE_SIZE = 64


def ed25519_sign(private_key: Ed25519PrivateKey, message: bytes) -> bytes:
    """The 64-byte Ed25519 signature of ``message``."""
    return private_key.sign(message)


def ed25519_verify(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> None:
    """Check an Ed25519 signature; raises ``InvalidSignature`` unless it is valid."""
    if len(signature) != SIGNATURE_SIZE:
        raise InvalidSignature
    public_key.verify(signature, message)
