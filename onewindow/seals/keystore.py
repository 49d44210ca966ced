"""Where the seals' private keys live, and the only code that ever holds them (docs/signatures.md).

Electronic Signature Law Art. 13 (1)–(2): the signature-creation data must belong to and be controlled by
the signer alone. Private keys are therefore reached only through a :class:`KeyStore`, by reference
(``key_ref``), and every operation that needs one is a method here: generate, sign (SM2, ECDSA), read the
public key. No function returns private key bytes.

* :class:`DatabaseKeyStore` (refs ``db:<uuid>``) keeps each key as PKCS#8 encrypted with SM4-GCM (GB/T
  32907, GB/T 36624) under a key-encryption key derived with HKDF-SM3 from the master key
  (``settings.SEAL_MASTER_KEYS``: ``ONEWINDOW_SEAL_MASTER_KEY`` / ``_FILE``). The master key id, the key
  ref and the algorithm are the associated data. Production refuses the development default master key.
* An HSM replaces it by implementing :class:`KeyStore` over PKCS#11 with its own ref scheme (for example
  ``pkcs11:``) and registering it in :data:`KEYSTORES`; the seals, the CA and the PDF signer only ever call
  the protocol. docs/signatures.md maps each method to its PKCS#11 call.
* :meth:`KeyStore.signer` opens a key as an :class:`onewindow.crypto.keys.Signer` (the crypto module's key
  interface) for a batch of signatures made where the database must not be touched (pyHanko signs inside an
  event loop); an HSM store returns its own ``Signer`` holding a session and an object handle.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import uuid
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from onewindow.audit.actions import audit_append
from onewindow.crypto.keys import Signer, load_signer
from onewindow.crypto.sm2 import DEFAULT_SIGNER_ID, SM2PrivateKey
from onewindow.crypto.sm4 import SM4GCM
from onewindow.seals.models import KeyAlgorithm, StoredKey

__all__ = [
    "KEYSTORES",
    "DatabaseKeyStore",
    "KeyStore",
    "KeyStoreError",
    "SealKeyDecryptionError",
    "keystore_default",
    "keystore_for",
    "master_key_rotate",
]

TOKEN_VERSION = "sm4gcm1"  # noqa: S105 - the token format, not a secret
NONCE_BYTES = 12
TAG_BYTES = 16
_KEK_INFO = b"onewindow.seals.key-encryption-key/sm4-gcm/v1"


class KeyStoreError(Exception):
    """A key cannot be used: it does not exist, or its store cannot open it."""


class SealKeyDecryptionError(KeyStoreError):
    """A stored private key cannot be decrypted: the master key is wrong or missing, or the value changed."""


class KeyStore(Protocol):
    """The operations a seal needs from a key store; keys are named by ``key_ref`` and never leave it."""

    scheme: str

    def generate(self, algorithm: KeyAlgorithm, *, label: str) -> str:
        """Create a key pair in the store; returns its ref. Call inside the caller's transaction."""
        ...

    def public_key_der(self, key_ref: str) -> bytes:
        """The DER SubjectPublicKeyInfo of the key."""
        ...

    def sign_sm2(self, key_ref: str, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        """The DER SM2 signature (SM3 with Z_A of ``signer_id``, GB/T 32918.2) of ``message``."""
        ...

    def sign_ecdsa(self, key_ref: str, message: bytes) -> bytes:
        """The DER ECDSA P-256 signature of ``message`` with SHA-256."""
        ...

    def signer(self, key_ref: str, *, signer_id: bytes = DEFAULT_SIGNER_ID) -> Signer:
        """The key opened as a :class:`~onewindow.crypto.keys.Signer` that signs without the database."""
        ...


# --- Master key -------------------------------------------------------------------------------------


def _refuse_development_default() -> None:
    if settings.SEAL_MASTER_KEY_DEVELOPMENT_DEFAULT and settings.ONEWINDOW_ENV == "production":
        message = (
            "the seal master key is the development default derived from the secret key: set "
            "ONEWINDOW_SEAL_MASTER_KEY (or ONEWINDOW_SEAL_MASTER_KEY_FILE) before creating or using seals"
        )
        raise ImproperlyConfigured(message)


@functools.lru_cache(maxsize=8)
def _key_encryption_key(master_key: bytes) -> SM4GCM:
    if len(master_key) != 32:
        message = f"a seal master key must be 32 bytes, got {len(master_key)}"
        raise ImproperlyConfigured(message)
    derived = HKDF(algorithm=hashes.SM3(), length=16, salt=None, info=_KEK_INFO).derive(master_key)
    return SM4GCM(derived)


def _master_keys() -> dict[str, bytes]:
    _refuse_development_default()
    keys: dict[str, bytes] = settings.SEAL_MASTER_KEYS
    if not keys:
        message = "settings.SEAL_MASTER_KEYS is empty"
        raise ImproperlyConfigured(message)
    return keys


def current_master_key_id() -> str:
    return next(iter(_master_keys()))


def _associated_data(master_key_id: str, key_ref: str, algorithm: str) -> bytes:
    return f"{TOKEN_VERSION}|{master_key_id}|{key_ref}|{algorithm}".encode()


def _seal_private(key_ref: str, algorithm: str, private_der: bytes) -> str:
    master_key_id = current_master_key_id()
    cipher = _key_encryption_key(_master_keys()[master_key_id])
    nonce = os.urandom(NONCE_BYTES)
    sealed = cipher.encrypt(nonce, private_der, _associated_data(master_key_id, key_ref, algorithm))
    body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
    return f"{TOKEN_VERSION}.{master_key_id}.{body}"


def _open_private(key_ref: str, algorithm: str, token: str) -> bytes:
    version, _, rest = token.partition(".")
    master_key_id, separator, body = rest.partition(".")
    if version != TOKEN_VERSION or not separator:
        message = f"seal key {key_ref} is not stored as a {TOKEN_VERSION} token"
        raise SealKeyDecryptionError(message)
    master_key = _master_keys().get(master_key_id)
    if master_key is None:
        message = (
            f"seal key {key_ref} was encrypted under master key {master_key_id!r}, which is not configured: "
            "keep it in the ONEWINDOW_SEAL_MASTER_KEY_FILE key ring until seals_rotate_master_key has run"
        )
        raise SealKeyDecryptionError(message)
    try:
        sealed = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        message = f"seal key {key_ref} is not valid base64url: the stored value was changed"
        raise SealKeyDecryptionError(message) from None
    try:
        return _key_encryption_key(master_key).decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _associated_data(master_key_id, key_ref, algorithm)
        )
    except (InvalidTag, ValueError):
        message = (
            f"seal key {key_ref} cannot be decrypted with master key {master_key_id!r}: "
            "ONEWINDOW_SEAL_MASTER_KEY is not the key it was encrypted under, or the stored key was changed"
        )
        raise SealKeyDecryptionError(message) from None


# --- The database key store -------------------------------------------------------------------------


class DatabaseKeyStore:
    """Keys in the ``seals_storedkey`` table, encrypted under the master key (module docstring)."""

    scheme = "db"

    def _row(self, key_ref: str, algorithm: KeyAlgorithm) -> StoredKey:
        row = StoredKey.objects.filter(key_ref=key_ref).first()
        if row is None:
            message = f"no key {key_ref} in the database key store"
            raise KeyStoreError(message)
        if row.algorithm != algorithm:
            message = f"key {key_ref} is {row.algorithm}, not {algorithm}"
            raise KeyStoreError(message)
        return row

    def _private_der(self, key_ref: str, algorithm: KeyAlgorithm) -> bytes:
        row = self._row(key_ref, algorithm)
        return _open_private(key_ref, row.algorithm, row.private_key_token)

    def generate(self, algorithm: KeyAlgorithm, *, label: str) -> str:
        key_ref = f"{self.scheme}:{uuid.uuid4().hex}"
        if algorithm == KeyAlgorithm.SM2:
            sm2_key = SM2PrivateKey.generate()
            private_der = sm2_key.to_der()
            public_der = sm2_key.public_key().to_der()
        elif algorithm == KeyAlgorithm.ECDSA_P256:
            ec_key = ec.generate_private_key(ec.SECP256R1())
            private_der = ec_key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            public_der = ec_key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        else:  # pragma: no cover - exhaustive over KeyAlgorithm
            message = f"unsupported key algorithm {algorithm!r}"
            raise KeyStoreError(message)
        StoredKey.objects.create(
            key_ref=key_ref,
            algorithm=algorithm,
            public_key_der=public_der,
            private_key_token=_seal_private(key_ref, algorithm, private_der),
            label=label[:200],
            created_at=timezone.now(),
        )
        return key_ref

    def public_key_der(self, key_ref: str) -> bytes:
        row = StoredKey.objects.filter(key_ref=key_ref).only("public_key_der").first()
        if row is None:
            message = f"no key {key_ref} in the database key store"
            raise KeyStoreError(message)
        return bytes(row.public_key_der)

    def sign_sm2(self, key_ref: str, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        key = SM2PrivateKey.from_der(self._private_der(key_ref, KeyAlgorithm.SM2))
        return key.sign(message, signer_id)

    def sign_ecdsa(self, key_ref: str, message: bytes) -> bytes:
        return self._ecdsa_signer(key_ref).sign(message)

    def _ecdsa_signer(self, key_ref: str) -> Signer:
        return load_signer(self._private_der(key_ref, KeyAlgorithm.ECDSA_P256))

    def signer(self, key_ref: str, *, signer_id: bytes = DEFAULT_SIGNER_ID) -> Signer:
        row = StoredKey.objects.filter(key_ref=key_ref).only("algorithm").first()
        if row is None:
            message = f"no key {key_ref} in the database key store"
            raise KeyStoreError(message)
        return load_signer(self._private_der(key_ref, KeyAlgorithm(row.algorithm)), signer_id=signer_id)


#: Key stores by ref scheme. New keys go to :func:`keystore_default`; an HSM store adds its scheme here.
KEYSTORES: dict[str, KeyStore] = {DatabaseKeyStore.scheme: DatabaseKeyStore()}


def keystore_for(key_ref: str) -> KeyStore:
    """The store that holds ``key_ref`` (by the scheme before the first colon)."""
    scheme, separator, _ = key_ref.partition(":")
    store = KEYSTORES.get(scheme) if separator else None
    if store is None:
        message = f"no key store for {key_ref!r}"
        raise KeyStoreError(message)
    return store


def keystore_default() -> KeyStore:
    """Where new keys are generated."""
    return KEYSTORES[DatabaseKeyStore.scheme]


# --- Master key rotation ----------------------------------------------------------------------------


def master_key_rotate(*, batch_size: int = 100) -> int:
    """Re-encrypt under the current master key every stored private key sealed under an older one.

    Put the new master key in the key ring as ``current`` (keeping the old one), run this (``manage.py
    seals_rotate_master_key``) until it reports 0, then drop the old key (docs/signatures.md). Each batch is
    one transaction with its rows locked; audited as ``seals.master_key_rotated``.
    """
    if batch_size < 1:
        message = "batch_size must be at least 1"
        raise ValueError(message)
    current = current_master_key_id()
    prefix = f"{TOKEN_VERSION}.{current}."
    changed = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            rows = list(
                StoredKey.objects.select_for_update()
                .filter(pk__gt=last_pk)
                .exclude(private_key_token__startswith=prefix)
                .order_by("pk")[:batch_size]
            )
            if not rows:
                break
            for row in rows:
                private_der = _open_private(row.key_ref, row.algorithm, row.private_key_token)
                row.private_key_token = _seal_private(row.key_ref, row.algorithm, private_der)
            StoredKey.objects.bulk_update(rows, ["private_key_token"])
        changed += len(rows)
        last_pk = rows[-1].pk
    with transaction.atomic():
        audit_append(
            action="seals.master_key_rotated",
            acting_user=None,
            actor_username="system",
            details={"current_master_key_id": current, "reencrypted": changed},
        )
    return changed
