"""Protection of registry data at rest (issue #5 item 5; docs/registry.md, "Protection — 数据保护").

- :func:`encrypt` / :func:`decrypt`: AES-256-GCM (PIPL Art. 51: encryption of personal information; GB/T
  39786-2021 allows AES where SM4 is not required). A token is ``v1.<key id>.<base64url(nonce ‖ ciphertext ‖
  tag)>`` with the key id as associated data, so a token cannot be moved under another key id unnoticed.
  Keys come from ``settings.REGISTRY_KEYS`` (id -> 32 bytes, the first one current); older keys stay
  readable until :func:`keys_rotate` has re-encrypted everything under the current one.
- :func:`blind_index`: HMAC-SM3 (GB/T 32905-2016) of ``kind:normalised value`` with its own key, for exact
  lookups (by ID number) without a plaintext index; the same value gives the same index only under the same
  key and kind.
- :class:`EncryptedTextField`: a text column holding tokens; Python code sees plaintext. It cannot be
  filtered on (every encryption differs): filter on a blind-index column instead.
- :func:`mask_id_number` (first 6, last 4) and :func:`mask_mobile` (first 3, last 4) for display.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.functions import Cast

from onewindow.audit.actions import audit_append
from onewindow.core.validators import mask_id_number

__all__ = [
    "EncryptedTextField",
    "RegistryDecryptionError",
    "blind_index",
    "decrypt",
    "encrypt",
    "keys_rotate",
    "mask_id_number",
    "mask_mobile",
]

TOKEN_VERSION = "v1"  # noqa: S105 - the token format version, not a secret
NONCE_BYTES = 12  # 96-bit nonces, random per value (NIST SP 800-38D §8.2.2)
TAG_BYTES = 16
KEY_BYTES = 32
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")


class RegistryDecryptionError(ValueError):
    """A stored token could not be decrypted: not a token, an unknown key id, or it was changed."""

    def __init__(self, reason: str, *, key_id: str = "") -> None:
        self.key_id = key_id
        super().__init__(f"registry value cannot be decrypted: {reason}")


# --- Keys -------------------------------------------------------------------------------------------


def _refuse_development_default() -> None:
    if (
        getattr(settings, "REGISTRY_KEYS_DEVELOPMENT_DEFAULT", False)
        and settings.ONEWINDOW_ENV == "production"
    ):
        message = (
            "the registry keys are the development default derived from the secret key: set "
            "ONEWINDOW_REGISTRY_KEY (or ONEWINDOW_REGISTRY_KEY_FILE) and ONEWINDOW_REGISTRY_INDEX_KEY"
        )
        raise ImproperlyConfigured(message)


@functools.lru_cache(maxsize=8)
def _ciphers(keys: tuple[tuple[str, bytes], ...]) -> dict[str, AESGCM]:
    for key_id, key in keys:
        if len(key) != KEY_BYTES:
            message = f"registry key {key_id!r} must be {KEY_BYTES} bytes (AES-256), got {len(key)}"
            raise ImproperlyConfigured(message)
    return {key_id: AESGCM(key) for key_id, key in keys}


def _keyring() -> tuple[str, dict[str, AESGCM]]:
    """The current key id and a cipher per key id (cached per key set, so settings overrides apply)."""
    _refuse_development_default()
    keys: dict[str, bytes] = settings.REGISTRY_KEYS
    if not keys:
        message = "settings.REGISTRY_KEYS is empty"
        raise ImproperlyConfigured(message)
    ciphers = _ciphers(tuple(keys.items()))
    return next(iter(keys)), ciphers


def current_key_id() -> str:
    """The id of the key new values are encrypted under."""
    return _keyring()[0]


# --- Encryption -------------------------------------------------------------------------------------


def encrypt(plaintext: str) -> str:
    """Encrypt ``plaintext`` under the current key: ``v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>``."""
    key_id, ciphers = _keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ciphers[key_id].encrypt(nonce, plaintext.encode(), key_id.encode())
    body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
    return f"{TOKEN_VERSION}.{key_id}.{body}"


def token_key_id(token: str) -> str:
    """The key id a token was encrypted under (no decryption; "" when it is not a token)."""
    version, _, rest = token.partition(".")
    key_id, separator, _ = rest.partition(".")
    return key_id if version == TOKEN_VERSION and separator else ""


def decrypt(token: str) -> str:
    """The plaintext of ``token``; :class:`RegistryDecryptionError` if it was changed or its key is wrong."""
    version, _, rest = token.partition(".")
    key_id, separator, body = rest.partition(".")
    if version != TOKEN_VERSION or not separator or not key_id:
        reason = f"not a {TOKEN_VERSION} token"
        raise RegistryDecryptionError(reason)
    _, ciphers = _keyring()
    cipher = ciphers.get(key_id)
    if cipher is None:
        reason = (
            f"it was encrypted under key {key_id!r}, which is not configured "
            "(ONEWINDOW_REGISTRY_KEY_FILE must keep old keys until registry_rotate_keys has run)"
        )
        raise RegistryDecryptionError(reason, key_id=key_id)
    try:
        sealed = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        reason = "the token is not valid base64url: it was changed"
        raise RegistryDecryptionError(reason, key_id=key_id) from None
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        reason = "the token is too short: it was truncated"
        raise RegistryDecryptionError(reason, key_id=key_id)
    try:
        plaintext = cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], key_id.encode())
    except InvalidTag:
        reason = f"authentication failed: the value was changed, or it was not sealed with key {key_id!r}"
        raise RegistryDecryptionError(reason, key_id=key_id) from None
    return plaintext.decode()


# --- Blind index ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _index_mac(key: bytes) -> hmac.HMAC:
    if len(key) < KEY_BYTES:
        message = f"settings.REGISTRY_INDEX_KEY must be at least {KEY_BYTES} bytes, got {len(key)}"
        raise ImproperlyConfigured(message)
    return hmac.HMAC(key, hashes.SM3())


def normalise(value: str) -> str:
    """NFKC (full-width digits and letters become ASCII), no surrounding space, upper case (x -> X)."""
    return unicodedata.normalize("NFKC", value).strip().upper()


def blind_index(value: str, *, kind: str) -> str:
    """HMAC-SM3 hex (64 characters) of ``kind + ":" + normalise(value)`` under the index key.

    ``kind`` ("id_number", "credit_code", ...) keeps equal strings of different kinds apart.
    """
    if not _KIND.fullmatch(kind):
        message = f"kind must be lower-case letters, digits and '_', got {kind!r}"
        raise ValueError(message)
    _refuse_development_default()
    mac = _index_mac(settings.REGISTRY_INDEX_KEY).copy()
    mac.update(f"{kind}:{normalise(value)}".encode())
    return mac.finalize().hex()


# --- Masking ----------------------------------------------------------------------------------------


def mask_mobile(value: str) -> str:
    """The first 3 and last 4 digits, the rest hidden: ``138****5678`` (PIPL: show no more than needed)."""
    if len(value) <= 7:  # too short to show anything safely
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


# --- The field --------------------------------------------------------------------------------------


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Text stored encrypted (:func:`encrypt`); Python sees the plaintext; ``""`` and NULL are stored as is.

    Not searchable: filtering on it is refused (``isnull`` excepted); keep a :func:`blind_index` column
    next to it for exact lookups.
    """

    description = "Text encrypted at rest (AES-256-GCM)"

    def from_db_value(
        self, value: str | None, expression: Any, connection: BaseDatabaseWrapper
    ) -> str | None:
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            message = (
                f"{self.model.__name__}.{self.name} is encrypted and cannot be filtered with "
                f"'{lookup_name}': filter on its blind index"
            )
            raise FieldError(message)
        return super().get_lookup(lookup_name)


# --- Rotation ---------------------------------------------------------------------------------------


def _encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    return [field for field in model._meta.concrete_fields if isinstance(field, EncryptedTextField)]


def _field_rotate(
    model: type[models.Model], field: EncryptedTextField, *, current: str, batch_size: int
) -> int:
    """Re-encrypt, batch by batch in primary-key order, the values of ``field`` not under ``current``."""
    prefix = f"{TOKEN_VERSION}.{current}."
    # Cast to a plain text column: the stored token, not the field's decrypted value, and filterable.
    stale = (
        model._default_manager.annotate(stored_token=Cast(field.name, output_field=models.TextField()))
        .exclude(stored_token__isnull=True)
        .exclude(stored_token="")
        .exclude(stored_token__startswith=prefix)
        .order_by("pk")
    )
    changed = 0
    last_pk: Any = None
    while True:
        with transaction.atomic():
            batch = stale if last_pk is None else stale.filter(pk__gt=last_pk)
            # Locked until the batch commits, so a concurrent change of the row is not overwritten.
            rows = list(batch.select_for_update().values_list("pk", "stored_token")[:batch_size])
            if not rows:
                return changed
            model._default_manager.bulk_update(
                [model(pk=pk, **{field.attname: decrypt(token)}) for pk, token in rows], [field.name]
            )
        changed += len(rows)
        last_pk = rows[-1][0]


def keys_rotate(
    *, batch_size: int = 1000, models_to_rotate: Iterable[type[models.Model]] | None = None
) -> int:
    """Re-encrypt under the current key every :class:`EncryptedTextField` value that is under an older key
    (the registry's models, and any other model using the field, such as a case's verified extracts);
    returns how many values changed.

    Each batch of ``batch_size`` rows is one transaction, so the rotation can be interrupted and run again
    (it picks up what is left). Run it after putting a new current key in the key file, then remove the old
    key once it reports 0 (docs/registry.md, "Key rotation"). ``models_to_rotate`` defaults to every
    installed model with an encrypted field. Audited as ``registry.keys_rotated``.
    """
    if batch_size < 1:
        message = "batch_size must be at least 1"
        raise ValueError(message)
    current = current_key_id()
    targets = (
        [model for model in apps.get_models() if _encrypted_fields(model)]
        if models_to_rotate is None
        else models_to_rotate
    )
    changed = 0
    for model in targets:
        for field in _encrypted_fields(model):
            changed += _field_rotate(model, field, current=current, batch_size=batch_size)
    with transaction.atomic():
        audit_append(
            action="registry.keys_rotated",
            acting_user=None,
            actor_username="system",
            details={"current_key_id": current, "reencrypted": changed},
        )
    return changed
