"""ECDSA on NIST P-256 with SHA-256 (FIPS 186-5, RFC 5480), through ``cryptography``.

The platform's second signature algorithm, for the PDF ecosystem (PAdES readers know ECDSA, not SM2).
Signatures are DER ``SEQUENCE { r, s }``; verification accepts only canonical DER.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

__all__ = ["InvalidSignature", "ecdsa_p256_generate", "ecdsa_p256_sign", "ecdsa_p256_verify"]

_ALGORITHM = ec.ECDSA(hashes.SHA256())


def _check_curve(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> None:
    if not isinstance(key.curve, ec.SECP256R1):
        message = f"expected a P-256 key, got {key.curve.name}"
        raise ValueError(message)


def ecdsa_p256_generate() -> ec.EllipticCurvePrivateKey:
    """A new P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def ecdsa_p256_sign(private_key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """The DER ECDSA-SHA256 signature of ``message``."""
    _check_curve(private_key)
    return private_key.sign(message, _ALGORITHM)


def ecdsa_p256_verify(public_key: ec.EllipticCurvePublicKey, signature: bytes, message: bytes) -> None:
    """Check a DER ECDSA-SHA256 signature; raises ``InvalidSignature`` unless it is valid and canonical."""
    _check_curve(public_key)
    try:
        r, s = decode_dss_signature(signature)
    except ValueError:
        raise InvalidSignature from None
    if encode_dss_signature(r, s) != signature:
        raise InvalidSignature
    public_key.verify(signature, message, _ALGORITHM)
