"""SM2 digital signatures (GB/T 32918.1/.2/.5-2016/2017, GM/T 0003, GM/T 0009) on the recommended curve.

The curve arithmetic is ``gmalglib`` (C, chosen by measurement: docs/crypto.md); everything around it, the
signer ID and Z value, the signature and key encodings, is here.

* Signing hashes ``e = SM3(Z_A || M)`` where ``Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A ||
  y_A)`` binds the signature to the signer's public key and identity ``ID_A``. When no ID is agreed, GM/T 0009
  §10 fixes the default :data:`DEFAULT_SIGNER_ID` ``"1234567812345678"``; signer and verifier must use the
  same ID or the signature does not verify.
* Signatures are DER ``SEQUENCE { r INTEGER, s INTEGER }`` (GM/T 0009 §7.3, the same shape as ECDSA's); the
  64-byte ``r || s`` form some systems use converts with :func:`signature_to_raw` and
  :func:`signature_from_raw`.
  Parsing accepts only canonical DER, so a signature has exactly one accepted encoding.
* Keys: private keys as PKCS#8 (``PRIVATE KEY``), public keys as SubjectPublicKeyInfo (``PUBLIC KEY``), both
  with algorithm id-ecPublicKey and the SM2 curve OID 1.2.156.10197.1.301 (as OpenSSL 3 writes them), or raw
  (32-byte scalar; 65-byte uncompressed ``04 || x || y`` point).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Protocol, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from gmalglib import sm2 as _gmalglib_sm2

from onewindow.crypto import _der
from onewindow.crypto.sm3 import DIGEST_SIZE, sm3, sm3_hasher

__all__ = [
    "CURVE_A",
    "CURVE_B",
    "CURVE_N",
    "CURVE_P",
    "DEFAULT_SIGNER_ID",
    "EC_PUBLIC_KEY_OID",
    "SM2_OID",
    "InvalidSignature",
    "SM2PrivateKey",
    "SM2PublicKey",
    "signature_from_raw",
    "signature_to_raw",
]

#: GM/T 0009-2012 §10: the signer ID when none is agreed.
DEFAULT_SIGNER_ID = b"1234567812345678"
#: The SM2 curve ("SM2 elliptic curve public key cryptography algorithm"), GM/T 0006.
SM2_OID = "1.2.156.10197.1.301"
#: id-ecPublicKey (RFC 5480), the algorithm of SM2 keys in PKCS#8 and SubjectPublicKeyInfo.
EC_PUBLIC_KEY_OID = "1.2.840.10045.2.1"

# The recommended curve's parameters (GB/T 32918.5-2017 §2).
CURVE_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
CURVE_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
CURVE_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
CURVE_GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
CURVE_GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0
CURVE_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123

SCALAR_SIZE = 32
POINT_SIZE = 65
RAW_SIGNATURE_SIZE = 64
# ENTL is two bytes holding the ID's length in bits.
MAX_SIGNER_ID_SIZE = 0xFFFF >> 3
_SIGNING_ATTEMPTS = 2
_ENGINES_CACHED = 8  # per key: one per signer ID in use

_CURVE_PREFIX = b"".join(value.to_bytes(32, "big") for value in (CURVE_A, CURVE_B, CURVE_GX, CURVE_GY))
_ALGORITHM_IDENTIFIER = _der.tlv(
    _der.SEQUENCE,
    _der.tlv(_der.OBJECT_IDENTIFIER, _der.encode_oid(EC_PUBLIC_KEY_OID))
    + _der.tlv(_der.OBJECT_IDENTIFIER, _der.encode_oid(SM2_OID)),
)
_SM2_OID_CONTENT = _der.encode_oid(SM2_OID)


class _Engine(Protocol):
    """The part of ``gmalglib.sm2.SM2`` used here (the package ships stubs but no ``py.typed``)."""

    def sign(self, message: bytes) -> bytes: ...
    def verify(self, message: bytes, signature: bytes) -> bool: ...
    def sign_digest(self, digest: bytes) -> bytes: ...
    def verify_digest(self, digest: bytes, signature: bytes) -> bool: ...
    def get_entity_info(self) -> bytes: ...


def _engine(*, scalar: bytes | None = None, point: bytes | None = None, signer_id: bytes) -> _Engine:
    # gmalglib refuses None for an absent key part: pass only the part there is.
    if scalar is not None:
        return cast(_Engine, _gmalglib_sm2.SM2(sk=scalar, uid=signer_id))
    return cast(_Engine, _gmalglib_sm2.SM2(pk=point, uid=signer_id))


def _check_signer_id(signer_id: bytes) -> bytes:
    if not isinstance(signer_id, bytes):
        message = "the SM2 signer ID must be bytes"
        raise TypeError(message)
    if len(signer_id) > MAX_SIGNER_ID_SIZE:
        message = f"the SM2 signer ID must be at most {MAX_SIGNER_ID_SIZE} bytes, got {len(signer_id)}"
        raise ValueError(message)
    return signer_id


# --- Signatures --------------------------------------------------------------------------------------------


def signature_to_raw(signature: bytes) -> bytes:
    """The 64-byte ``r || s`` form of a DER signature; ``ValueError`` unless canonical DER and in range."""
    try:
        r, s = decode_dss_signature(signature)
    except ValueError as error:
        message = "not a DER SM2 signature"
        raise ValueError(message) from error
    # decode_dss_signature tolerates some non-canonical forms; a signature must have exactly one encoding.
    if encode_dss_signature(r, s) != signature or not (0 < r < CURVE_N and 0 < s < CURVE_N):
        message = "not a canonical DER SM2 signature"
        raise ValueError(message)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def signature_from_raw(raw: bytes) -> bytes:
    """The DER form of a 64-byte ``r || s`` signature; ``ValueError`` if r or s is out of range."""
    if len(raw) != RAW_SIGNATURE_SIZE:
        message = f"a raw SM2 signature is {RAW_SIGNATURE_SIZE} bytes, got {len(raw)}"
        raise ValueError(message)
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    if not (0 < r < CURVE_N and 0 < s < CURVE_N):
        message = "SM2 signature values out of range"
        raise ValueError(message)
    return encode_dss_signature(r, s)


# --- Public keys -------------------------------------------------------------------------------------------


class SM2PublicKey:
    """An SM2 public key (a point on the recommended curve), immutable; verifies signatures."""

    __slots__ = ("_engines", "_point")

    def __init__(self, point: bytes) -> None:
        """From the uncompressed point ``04 || x || y`` (65 bytes); ``from_*`` methods take other forms."""
        if len(point) != POINT_SIZE or point[0] != 0x04:
            message = f"an SM2 public key point is {POINT_SIZE} bytes starting 04"
            raise ValueError(message)
        x, y = int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")
        if x >= CURVE_P or y >= CURVE_P or not _gmalglib_sm2.SM2.is_pk_valid(point):
            message = "the point is not on the SM2 curve"
            raise ValueError(message)
        self._point = bytes(point)
        self._engines: dict[bytes, _Engine] = {}

    @classmethod
    def from_bytes(cls, data: bytes) -> SM2PublicKey:
        """From an uncompressed (65-byte) or compressed (33-byte, ``02``/``03`` prefix) point."""
        if len(data) == 33 and data[0] in (2, 3):
            try:
                data = cast(bytes, _gmalglib_sm2.SM2.convert_pk(data, _gmalglib_sm2.SM2_PCMODE_RAW))
            except ValueError as error:
                message = "the point is not on the SM2 curve"
                raise ValueError(message) from error
        return cls(data)

    @classmethod
    def from_der(cls, der: bytes) -> SM2PublicKey:
        """From a DER SubjectPublicKeyInfo with id-ecPublicKey and the SM2 curve OID."""
        try:
            items = _der.children(_der.read_all(der, _der.SEQUENCE))
            if len(items) != 2 or items[0][0] != _der.SEQUENCE or items[1][0] != _der.BIT_STRING:
                raise _der.DERError("not a SubjectPublicKeyInfo")
            if _der.tlv(_der.SEQUENCE, items[0][1]) != _ALGORITHM_IDENTIFIER:
                raise _der.DERError("not an SM2 key (algorithm must be id-ecPublicKey with the SM2 curve)")
            point = _der.bit_string_bytes(items[1][1])
        except _der.DERError as error:
            message = f"not an SM2 SubjectPublicKeyInfo: {error}"
            raise ValueError(message) from error
        return cls.from_bytes(point)

    @classmethod
    def from_pem(cls, pem: bytes) -> SM2PublicKey:
        """From a ``-----BEGIN PUBLIC KEY-----`` block."""
        try:
            der = _der.pem_decode(pem, "PUBLIC KEY")
        except _der.DERError as error:
            raise ValueError(str(error)) from error
        return cls.from_der(der)

    def to_bytes(self) -> bytes:
        """The uncompressed point ``04 || x || y`` (65 bytes)."""
        return self._point

    def to_der(self) -> bytes:
        """DER SubjectPublicKeyInfo (RFC 5280) with id-ecPublicKey and the SM2 curve OID."""
        return _der.tlv(
            _der.SEQUENCE, _ALGORITHM_IDENTIFIER + _der.tlv(_der.BIT_STRING, b"\x00" + self._point)
        )

    def to_pem(self) -> bytes:
        return _der.pem_encode(self.to_der(), "PUBLIC KEY")

    def fingerprint(self) -> str:
        """SM3 of the DER SubjectPublicKeyInfo, hex: a stable key identifier."""
        return sm3(self.to_der()).hex()

    def z_value(self, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        """``Z_A`` (GB/T 32918.2 §5.5): SM3 over the ID's bit length, the ID, the curve and this key."""
        _check_signer_id(signer_id)
        entl = (len(signer_id) * 8).to_bytes(2, "big")
        return sm3(entl + signer_id + _CURVE_PREFIX + self._point[1:])

    def message_digest(self, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        """``e = SM3(Z_A || M)``, the value that is signed (for an HSM that signs digests: docs/crypto.md)."""
        hasher = sm3_hasher()
        hasher.update(self.z_value(signer_id))
        hasher.update(message)
        return hasher.finalize()

    def _engine(self, signer_id: bytes) -> _Engine:
        engine = self._engines.get(signer_id)
        if engine is None:
            engine = _engine(point=self._point, signer_id=_check_signer_id(signer_id))
            # A verifier may be handed IDs from outside: cache a few, never an unbounded number.
            if len(self._engines) < _ENGINES_CACHED:
                self._engines[signer_id] = engine
        return engine

    def verify(self, signature: bytes, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> None:
        """Check a DER signature over ``message``; raises ``InvalidSignature`` unless it is valid."""
        try:
            raw = signature_to_raw(signature)
        except ValueError:
            raise InvalidSignature from None
        self.verify_raw(raw, message, signer_id)

    def verify_raw(self, signature: bytes, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> None:
        """Check a 64-byte ``r || s`` signature over ``message``; raises ``InvalidSignature`` unless valid."""
        if len(signature) != RAW_SIGNATURE_SIZE or not self._engine(signer_id).verify(message, signature):
            raise InvalidSignature

    def verify_digest(self, signature: bytes, digest: bytes) -> None:
        """Check a DER signature over ``e`` (:meth:`message_digest`); ``InvalidSignature`` unless valid."""
        try:
            raw = signature_to_raw(signature)
        except ValueError:
            raise InvalidSignature from None
        if len(digest) != DIGEST_SIZE or not self._engine(DEFAULT_SIGNER_ID).verify_digest(digest, raw):
            raise InvalidSignature

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SM2PublicKey) and other._point == self._point

    def __hash__(self) -> int:
        return hash(self._point)

    def __repr__(self) -> str:
        return f"<SM2PublicKey {self.fingerprint()[:16]}>"


# --- Private keys ------------------------------------------------------------------------------------------


class SM2PrivateKey:
    """An SM2 private key (scalar ``d`` in [1, n-2]), immutable; signs. Its ``repr`` shows no secret."""

    __slots__ = ("_engines", "_public_key", "_scalar")

    def __init__(self, scalar: bytes) -> None:
        """From the 32-byte big-endian scalar; use :meth:`generate` or the ``from_*`` methods otherwise."""
        if len(scalar) != SCALAR_SIZE or not _gmalglib_sm2.SM2.is_sk_valid(scalar):
            message = "an SM2 private key is a 32-byte scalar in [1, n-2]"
            raise ValueError(message)
        self._scalar = bytes(scalar)
        self._public_key = SM2PublicKey(cast(bytes, _gmalglib_sm2.SM2.get_pk(self._scalar)))
        self._engines: dict[bytes, _Engine] = {}

    @classmethod
    def generate(cls) -> SM2PrivateKey:
        """A new key from the operating system's random source (``/dev/urandom`` via gmalglib)."""
        scalar, _ = _gmalglib_sm2.SM2().generate_keypair()
        return cls(scalar)

    @classmethod
    def from_der(cls, der: bytes) -> SM2PrivateKey:
        """From an unencrypted DER PKCS#8 ``PrivateKeyInfo`` (id-ecPublicKey + SM2 curve OID)."""
        try:
            items = _der.children(_der.read_all(der, _der.SEQUENCE))
            if (
                len(items) != 3
                or items[0] != (_der.INTEGER, b"\x00")
                or _der.tlv(items[1][0], items[1][1]) != _ALGORITHM_IDENTIFIER
                or items[2][0] != _der.OCTET_STRING
            ):
                raise _der.DERError("not an SM2 PKCS#8 PrivateKeyInfo")
            scalar, point = _parse_ec_private_key(items[2][1])
        except _der.DERError as error:
            message = f"not an SM2 PKCS#8 private key: {error}"
            raise ValueError(message) from error
        key = cls(scalar)
        if point is not None and point != key.public_key().to_bytes():
            message = "the PKCS#8 public key does not belong to its private key"
            raise ValueError(message)
        return key

    @classmethod
    def from_pem(cls, pem: bytes) -> SM2PrivateKey:
        """From a ``-----BEGIN PRIVATE KEY-----`` block (unencrypted PKCS#8)."""
        try:
            der = _der.pem_decode(pem, "PRIVATE KEY")
        except _der.DERError as error:
            raise ValueError(str(error)) from error
        return cls.from_der(der)

    def to_bytes(self) -> bytes:
        """The 32-byte scalar. Secret: store it only encrypted."""
        return self._scalar

    def to_der(self) -> bytes:
        """Unencrypted DER PKCS#8 with the public key included (as OpenSSL writes it). Secret."""
        ec_private_key = _der.tlv(
            _der.SEQUENCE,
            _der.encode_small_integer(1)
            + _der.tlv(_der.OCTET_STRING, self._scalar)
            + _der.tlv(_der.CONTEXT_1, _der.tlv(_der.BIT_STRING, b"\x00" + self._public_key.to_bytes())),
        )
        return _der.tlv(
            _der.SEQUENCE,
            _der.encode_small_integer(0)
            + _ALGORITHM_IDENTIFIER
            + _der.tlv(_der.OCTET_STRING, ec_private_key),
        )

    def to_pem(self) -> bytes:
        """Unencrypted PEM PKCS#8. Secret."""
        return _der.pem_encode(self.to_der(), "PRIVATE KEY")

    def public_key(self) -> SM2PublicKey:
        return self._public_key

    def _engine(self, signer_id: bytes) -> _Engine:
        # The engine holds Z_A and the key in gmalglib's form; making one costs a scalar multiplication.
        engine = self._engines.get(signer_id)
        if engine is None:
            engine = _engine(scalar=self._scalar, signer_id=_check_signer_id(signer_id))
            if len(self._engines) < _ENGINES_CACHED:
                self._engines[signer_id] = engine
        return engine

    def sign_raw(self, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        """The 64-byte ``r || s`` SM2 signature of ``message`` with a fresh random k."""
        engine = self._engine(signer_id)
        return _signed(lambda: engine.sign(message))

    def sign(self, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        """The DER SM2 signature of ``message`` (GB/T 32918.2 §6) under ``signer_id``."""
        raw = self.sign_raw(message, signer_id)
        return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))

    def sign_digest(self, digest: bytes) -> bytes:
        """The DER signature of a precomputed ``e = SM3(Z_A || M)`` (:meth:`SM2PublicKey.message_digest`)."""
        if len(digest) != DIGEST_SIZE:
            message = f"an SM2 digest is {DIGEST_SIZE} bytes, got {len(digest)}"
            raise ValueError(message)
        engine = self._engine(DEFAULT_SIGNER_ID)
        raw = _signed(lambda: engine.sign_digest(digest))
        return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SM2PrivateKey) and hmac.compare_digest(other._scalar, self._scalar)

    def __hash__(self) -> int:
        return hash(self._public_key)

    def __repr__(self) -> str:
        return f"<SM2PrivateKey of {self._public_key.fingerprint()[:16]}>"

    def __copy__(self) -> SM2PrivateKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> SM2PrivateKey:
        return self

    def __reduce__(self) -> tuple[object, ...]:
        message = "SM2 private keys are not pickled: export them with to_der() and encrypt them"
        raise TypeError(message)


def _signed(sign: Callable[[], bytes]) -> bytes:
    """``sign()``'s ``r || s``, drawn again if it is out of range.

    gmalglib 0.5.9 leaves its retry loop instead of drawing a new k when r = 0, r + k = n or s = 0
    (probability about 2^-254 each); such output is not a signature. A second bad draw in a row means a
    broken library or random source, not chance.
    """
    for _ in range(_SIGNING_ATTEMPTS):
        raw = sign()
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        if len(raw) == RAW_SIGNATURE_SIZE and 0 < r < CURVE_N and 0 < s < CURVE_N:
            return raw
    message = "SM2 signing produced no valid signature: check gmalglib and the random source"
    raise RuntimeError(message)


def _parse_ec_private_key(der: bytes) -> tuple[bytes, bytes | None]:
    """The scalar and the optional public point of a SEC 1 ``ECPrivateKey`` (RFC 5915) on the SM2 curve."""
    items = _der.children(_der.read_all(der, _der.SEQUENCE))
    if len(items) < 2 or items[0] != (_der.INTEGER, b"\x01") or items[1][0] != _der.OCTET_STRING:
        raise _der.DERError("not an ECPrivateKey")
    scalar = items[1][1]
    if len(scalar) != SCALAR_SIZE:
        raise _der.DERError("the private scalar must be 32 bytes")
    point: bytes | None = None
    rest = items[2:]
    if rest and rest[0][0] == _der.CONTEXT_0:
        if rest[0][1] != _der.tlv(_der.OBJECT_IDENTIFIER, _SM2_OID_CONTENT):
            raise _der.DERError("the key's curve is not SM2")
        rest = rest[1:]
    if rest and rest[0][0] == _der.CONTEXT_1:
        point = _der.bit_string_bytes(_der.read_all(rest[0][1], _der.BIT_STRING))
        rest = rest[1:]
    if rest:
        raise _der.DERError("unexpected fields in ECPrivateKey")
    return scalar, point
