"""The key interface: what signs and what verifies, whatever holds the private key.

Code that signs (seals, e-licences, receipts) asks for a :class:`Signer` and never touches key bytes, so the
software keys here can later be replaced by keys in a hardware security module reached through PKCS#11
(or GM/T 0018 SDF) without changing the callers: an ``HSMSigner`` implements the same four members, with
the private key never leaving the device (docs/crypto.md, "HSM and PKCS#11").

* :class:`Signer`: ``algorithm``, ``key_id``, ``public_key_der()``, ``sign(message)``.
* :class:`Verifier`: ``algorithm``, ``key_id``, ``public_key_der()``, ``verify(signature, message)`` which
  raises ``InvalidSignature``.
* Software implementations for SM2-with-SM3, ECDSA P-256 with SHA-256 and Ed25519; :func:`generate_signer`,
  :func:`load_signer` (PKCS#8) and :func:`load_verifier` (SubjectPublicKeyInfo) pick the class from the
  algorithm or the key's own algorithm identifier.

``key_id`` is the SM3 digest (hex) of the DER SubjectPublicKeyInfo, so a verifier and its signer, software
or HSM, agree on it. SM2 signatures also depend on the signer ID (``signer_id``, default
``1234567812345678``): signer and verifier of one key must be built with the same ID.
"""

from __future__ import annotations

import enum
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from onewindow.crypto.ecdsa import ecdsa_p256_generate, ecdsa_p256_sign, ecdsa_p256_verify
from onewindow.crypto.ed25519 import ed25519_sign, ed25519_verify
from onewindow.crypto.sm2 import DEFAULT_SIGNER_ID, SM2PrivateKey, SM2PublicKey
from onewindow.crypto.sm3 import sm3

__all__ = [
    "Algorithm",
    "ECDSAP256Signer",
    "ECDSAP256Verifier",
    "Ed25519Signer",
    "Ed25519Verifier",
    "InvalidSignature",
    "SM2Signer",
    "SM2Verifier",
    "Signer",
    "Verifier",
    "generate_signer",
    "load_signer",
    "load_verifier",
    "signature_is_valid",
]


class Algorithm(enum.StrEnum):
    """Signature algorithms; the value is what records and APIs show."""

    #: SM2 (GB/T 32918.2) over SM3(Z_A || M) (GB/T 32905); DER signature (GM/T 0009).
    SM2_SM3 = "SM2-SM3"
    #: ECDSA on P-256 with SHA-256 (FIPS 186-5); DER signature.
    ECDSA_P256_SHA256 = "ECDSA-P256-SHA256"
    #: Ed25519 (RFC 8032); 64-byte signature.
    ED25519 = "Ed25519"


@runtime_checkable
class Verifier(Protocol):
    """Checks signatures made with one key."""

    @property
    def algorithm(self) -> Algorithm: ...

    @property
    def key_id(self) -> str: ...

    def public_key_der(self) -> bytes:
        """The DER SubjectPublicKeyInfo."""
        ...

    def verify(self, signature: bytes, message: bytes) -> None:
        """Return if ``signature`` is valid for ``message``; raise ``InvalidSignature`` otherwise."""
        ...


@runtime_checkable
class Signer(Protocol):
    """Signs with one private key that the caller never sees (software here; an HSM later)."""

    @property
    def algorithm(self) -> Algorithm: ...

    @property
    def key_id(self) -> str: ...

    def public_key_der(self) -> bytes:
        """The DER SubjectPublicKeyInfo (what goes into the key's certificate)."""
        ...

    def sign(self, message: bytes) -> bytes:
        """The signature of ``message`` (DER for SM2 and ECDSA, 64 bytes for Ed25519)."""
        ...

    def verifier(self) -> Verifier:
        """A verifier for this signer's signatures."""
        ...


def signature_is_valid(verifier: Verifier, signature: bytes, message: bytes) -> bool:
    """``verifier.verify`` as a boolean."""
    try:
        verifier.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _key_id(public_key_der: bytes) -> str:
    return sm3(public_key_der).hex()


# --- SM2 ---------------------------------------------------------------------------------------------------


class SM2Verifier:
    __slots__ = ("_der", "_key_id", "public_key", "signer_id")

    algorithm = Algorithm.SM2_SM3

    def __init__(self, public_key: SM2PublicKey, *, signer_id: bytes = DEFAULT_SIGNER_ID) -> None:
        self.public_key = public_key
        self.signer_id = signer_id
        self._der = public_key.to_der()
        self._key_id = _key_id(self._der)

    @property
    def key_id(self) -> str:
        return self._key_id

    def public_key_der(self) -> bytes:
        return self._der

    def verify(self, signature: bytes, message: bytes) -> None:
        self.public_key.verify(signature, message, self.signer_id)

    def __repr__(self) -> str:
        return f"<SM2Verifier {self._key_id[:16]}>"


class SM2Signer:
    __slots__ = ("_private_key", "_verifier")

    algorithm = Algorithm.SM2_SM3

    def __init__(self, private_key: SM2PrivateKey, *, signer_id: bytes = DEFAULT_SIGNER_ID) -> None:
        self._private_key = private_key
        self._verifier = SM2Verifier(private_key.public_key(), signer_id=signer_id)

    @property
    def key_id(self) -> str:
        return self._verifier.key_id

    @property
    def signer_id(self) -> bytes:
        return self._verifier.signer_id

    def public_key_der(self) -> bytes:
        return self._verifier.public_key_der()

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message, self._verifier.signer_id)

    def verifier(self) -> SM2Verifier:
        return self._verifier

    def private_key_der(self) -> bytes:
        """Unencrypted PKCS#8 (software keys only). Secret: encrypt before storing."""
        return self._private_key.to_der()

    def __repr__(self) -> str:
        return f"<SM2Signer {self.key_id[:16]}>"


# --- ECDSA P-256 -------------------------------------------------------------------------------------------


def _spki(public_key: ec.EllipticCurvePublicKey | Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _pkcs8(private_key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class ECDSAP256Verifier:
    __slots__ = ("_der", "_key_id", "public_key")

    algorithm = Algorithm.ECDSA_P256_SHA256

    def __init__(self, public_key: ec.EllipticCurvePublicKey) -> None:
        if not isinstance(public_key.curve, ec.SECP256R1):
            message = f"expected a P-256 key, got {public_key.curve.name}"
            raise ValueError(message)
        self.public_key = public_key
        self._der = _spki(public_key)
        self._key_id = _key_id(self._der)

    @property
    def key_id(self) -> str:
        return self._key_id

    def public_key_der(self) -> bytes:
        return self._der

    def verify(self, signature: bytes, message: bytes) -> None:
        ecdsa_p256_verify(self.public_key, signature, message)

    def __repr__(self) -> str:
        return f"<ECDSAP256Verifier {self._key_id[:16]}>"


class ECDSAP256Signer:
    """ECDSA P-256 signer; ``private_key`` is the ``cryptography`` key, for libraries needing it (pyHanko)."""

    __slots__ = ("_verifier", "private_key")

    algorithm = Algorithm.ECDSA_P256_SHA256

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        self.private_key = private_key
        self._verifier = ECDSAP256Verifier(private_key.public_key())

    @property
    def key_id(self) -> str:
        return self._verifier.key_id

    def public_key_der(self) -> bytes:
        return self._verifier.public_key_der()

    def sign(self, message: bytes) -> bytes:
        return ecdsa_p256_sign(self.private_key, message)

    def verifier(self) -> ECDSAP256Verifier:
        return self._verifier

    def private_key_der(self) -> bytes:
        """Unencrypted PKCS#8 (software keys only). Secret: encrypt before storing."""
        return _pkcs8(self.private_key)

    def __repr__(self) -> str:
        return f"<ECDSAP256Signer {self.key_id[:16]}>"


# --- Ed25519 -----------------------------------------------------------------------------------------------


class Ed25519Verifier:
    __slots__ = ("_der", "_key_id", "public_key")

    algorithm = Algorithm.ED25519

    def __init__(self, public_key: Ed25519PublicKey) -> None:
        self.public_key = public_key
        self._der = _spki(public_key)
        self._key_id = _key_id(self._der)

    @property
    def key_id(self) -> str:
        return self._key_id

    def public_key_der(self) -> bytes:
        return self._der

    def verify(self, signature: bytes, message: bytes) -> None:
        ed25519_verify(self.public_key, signature, message)

    def __repr__(self) -> str:
        return f"<Ed25519Verifier {self._key_id[:16]}>"


class Ed25519Signer:
    __slots__ = ("_verifier", "private_key")

    algorithm = Algorithm.ED25519

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self.private_key = private_key
        self._verifier = Ed25519Verifier(private_key.public_key())

    @property
    def key_id(self) -> str:
        return self._verifier.key_id

    def public_key_der(self) -> bytes:
        return self._verifier.public_key_der()

    def sign(self, message: bytes) -> bytes:
        return ed25519_sign(self.private_key, message)

    def verifier(self) -> Ed25519Verifier:
        return self._verifier

    def private_key_der(self) -> bytes:
        """Unencrypted PKCS#8 (software keys only). Secret: encrypt before storing."""
        return _pkcs8(self.private_key)

    def __repr__(self) -> str:
        return f"<Ed25519Signer {self.key_id[:16]}>"


# --- Construction ------------------------------------------------------------------------------------------

SoftwareSigner = SM2Signer | ECDSAP256Signer | Ed25519Signer
SoftwareVerifier = SM2Verifier | ECDSAP256Verifier | Ed25519Verifier


def generate_signer(algorithm: Algorithm, *, signer_id: bytes = DEFAULT_SIGNER_ID) -> SoftwareSigner:
    """A signer with a new software key (``signer_id`` applies to SM2 only)."""
    if algorithm is Algorithm.SM2_SM3:
        return SM2Signer(SM2PrivateKey.generate(), signer_id=signer_id)
    if algorithm is Algorithm.ECDSA_P256_SHA256:
        return ECDSAP256Signer(ecdsa_p256_generate())
    return Ed25519Signer(Ed25519PrivateKey.generate())


def load_signer(pkcs8_der: bytes, *, signer_id: bytes = DEFAULT_SIGNER_ID) -> SoftwareSigner:
    """A signer from an unencrypted DER PKCS#8 key of any of the three algorithms."""
    try:
        return SM2Signer(SM2PrivateKey.from_der(pkcs8_der), signer_id=signer_id)
    except ValueError:
        pass  # not SM2: try the algorithms cryptography knows
    try:
        key = serialization.load_der_private_key(pkcs8_der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        message = "not a PKCS#8 key of a supported algorithm (SM2, ECDSA P-256, Ed25519)"
        raise ValueError(message) from error
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return ECDSAP256Signer(key)
    if isinstance(key, Ed25519PrivateKey):
        return Ed25519Signer(key)
    message = f"unsupported private key type {type(key).__name__}"
    raise ValueError(message)


def load_verifier(spki_der: bytes, *, signer_id: bytes = DEFAULT_SIGNER_ID) -> SoftwareVerifier:
    """A verifier from a DER SubjectPublicKeyInfo of any of the three algorithms."""
    try:
        return SM2Verifier(SM2PublicKey.from_der(spki_der), signer_id=signer_id)
    except ValueError:
        pass  # not SM2: try the algorithms cryptography knows
    try:
        key = serialization.load_der_public_key(spki_der)
    except (ValueError, UnsupportedAlgorithm) as error:
        message = "not a SubjectPublicKeyInfo of a supported algorithm (SM2, ECDSA P-256, Ed25519)"
        raise ValueError(message) from error
    if isinstance(key, ec.EllipticCurvePublicKey):
        return ECDSAP256Verifier(key)
    if isinstance(key, Ed25519PublicKey):
        return Ed25519Verifier(key)
    message = f"unsupported public key type {type(key).__name__}"
    raise ValueError(message)
