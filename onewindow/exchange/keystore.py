"""Subsystem private keys at rest: PKCS#8 sealed with SM4-GCM (GB/T 32907, GB/T 36624) under a key derived
with HKDF-SM3 from the platform master key — the seals' key ring (``ONEWINDOW_SEAL_MASTER_KEY``, see
docs/signatures.md "Key protection"), with this module's own HKDF label, so a seal key and an exchange key
never share a key-encryption key. The token is ``sm4gcm1.<master key id>.<base64url(nonce ‖ ct ‖ tag)>``;
the master key id, the key id and the algorithm are the associated data, so a token copied to another row
does not open. Production refuses the development default master key, as the seals do.

Signers are cached per process by key id (opening a key costs a decryption); whether a key may still sign
is checked against the database on every use by the caller.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from onewindow.crypto.keys import Signer, Verifier, load_signer, load_verifier
from onewindow.crypto.sm4 import SM4GCM

TOKEN_VERSION = "sm4gcm1"  # noqa: S105 - the token format, not a secret
NONCE_BYTES = 12
_KEK_INFO = b"onewindow.exchange.subsystem-key/sm4-gcm/v1"


class ExchangeKeyError(Exception):
    """A subsystem key cannot be opened: wrong or missing master key, or the stored value was changed."""


def _master_keys() -> dict[str, bytes]:
    if settings.SEAL_MASTER_KEY_DEVELOPMENT_DEFAULT and settings.ONEWINDOW_ENV == "production":
        message = (
            "the master key is the development default derived from the secret key: set "
            "ONEWINDOW_SEAL_MASTER_KEY (or _FILE) before creating or using exchange keys"
        )
        raise ImproperlyConfigured(message)
    keys: dict[str, bytes] = settings.SEAL_MASTER_KEYS
    if not keys:
        message = "settings.SEAL_MASTER_KEYS is empty"
        raise ImproperlyConfigured(message)
    return keys


@functools.lru_cache(maxsize=8)
def _kek(master_key: bytes) -> SM4GCM:
    return SM4GCM(HKDF(algorithm=hashes.SM3(), length=16, salt=None, info=_KEK_INFO).derive(master_key))


def _associated(master_key_id: str, key_id: str, algorithm: str) -> bytes:
    return f"{TOKEN_VERSION}|{master_key_id}|{key_id}|{algorithm}".encode()


def private_key_seal(key_id: str, algorithm: str, private_der: bytes) -> str:
    keys = _master_keys()
    master_key_id = next(iter(keys))
    nonce = os.urandom(NONCE_BYTES)
    sealed = _kek(keys[master_key_id]).encrypt(
        nonce, private_der, _associated(master_key_id, key_id, algorithm)
    )
    body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
    return f"{TOKEN_VERSION}.{master_key_id}.{body}"


def private_key_open(key_id: str, algorithm: str, token: str) -> bytes:
    version, _, rest = token.partition(".")
    master_key_id, separator, body = rest.partition(".")
    if version != TOKEN_VERSION or not separator:
        message = f"exchange key {key_id} is not stored as a {TOKEN_VERSION} token"
        raise ExchangeKeyError(message)
    master_key = _master_keys().get(master_key_id)
    if master_key is None:
        message = (
            f"exchange key {key_id} was sealed under master key {master_key_id!r}, which is not configured"
        )
        raise ExchangeKeyError(message)
    try:
        sealed = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
        return _kek(master_key).decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _associated(master_key_id, key_id, algorithm)
        )
    except (InvalidTag, ValueError, binascii.Error):
        message = f"exchange key {key_id} cannot be opened with master key {master_key_id!r}"
        raise ExchangeKeyError(message) from None


_signers: dict[str, Signer] = {}
_verifiers: dict[str, Verifier] = {}


def signer_for(key_id: str, algorithm: str, token: str) -> Signer:
    """The opened key (cached per process by key id; the caller checks the key's status first)."""
    signer = _signers.get(key_id)
    if signer is None:
        signer = load_signer(private_key_open(key_id, algorithm, token))
        _signers[key_id] = signer
    return signer


def verifier_for(key_id: str, public_key_der: bytes) -> Verifier:
    verifier = _verifiers.get(key_id)
    if verifier is None:
        verifier = load_verifier(public_key_der)
        _verifiers[key_id] = verifier
    return verifier


# --- Master key rotation ------------------------------------------------------------------------------


def exchange_keys_reseal(*, batch_size: int = 100) -> int:
    """Re-seal under the current master key every exchange private key (subsystem keys and the gateway's
    own) sealed under an older one; return how many. ``seals_rotate_master_key`` runs it after the seals'
    own pass (docs/signatures.md "Master key rotation"), so one command leaves no key under the old master
    key; drop that key only once both report 0. Each batch is one transaction with its rows locked; audited
    as ``exchange.keys_resealed``. Revoked keys are re-sealed too (they never sign again, but the old master
    key must be removable). The key id and algorithm stay the associated data: nothing else changes.
    """
    # Imported here: models and actions import this module.
    from django.db import transaction

    from onewindow.audit.actions import audit_append
    from onewindow.exchange.models import GatewayKey, SubsystemKey

    if batch_size < 1:
        message = "batch_size must be at least 1"
        raise ValueError(message)
    current = next(iter(_master_keys()))
    prefix = f"{TOKEN_VERSION}.{current}."
    changed = 0
    models: tuple[type[SubsystemKey] | type[GatewayKey], ...] = (SubsystemKey, GatewayKey)
    for model in models:
        last_pk = 0
        while True:
            with transaction.atomic():
                rows: list[SubsystemKey | GatewayKey] = list(
                    model.objects.select_for_update()
                    .filter(pk__gt=last_pk)
                    .exclude(private_key_token="")  # registered from a department's own request
                    .exclude(private_key_token__startswith=prefix)
                    .only("pk", "key_id", "algorithm", "private_key_token")
                    .order_by("pk")[:batch_size]
                )
                if not rows:
                    break
                for row in rows:
                    private_der = private_key_open(row.key_id, row.algorithm, row.private_key_token)
                    row.private_key_token = private_key_seal(row.key_id, row.algorithm, private_der)
                model.objects.bulk_update(rows, ["private_key_token"])  # type: ignore[arg-type]
            changed += len(rows)
            last_pk = rows[-1].pk
    with transaction.atomic():
        audit_append(
            action="exchange.keys_resealed",
            acting_user=None,
            actor_username="system",
            object_type="exchange_subsystem_key",
            details={"current_master_key_id": current, "resealed": changed},
        )
    return changed
