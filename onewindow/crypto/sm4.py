"""SM4, the national block cipher (GB/T 32907-2016), in GCM mode (GB/T 36624-2018, RFC 8998) for data.

Everything goes through ``cryptography``'s ``algorithms.SM4`` with ``modes.GCM`` (OpenSSL's SM4-GCM, one
pass, authenticated), never a hand-made CTR + GHASH. Keys are 16 bytes, nonces 12 bytes, tags 16 bytes.

* :class:`SM4GCM` mirrors ``cryptography``'s ``AESGCM``: ``encrypt(nonce, data, associated_data)`` returns
  ciphertext + tag. The caller must never reuse a nonce under one key.
* :func:`sm4_gcm_seal` / :func:`sm4_gcm_open` pick a random nonce and carry it in front of the ciphertext
  (``nonce || ciphertext || tag``): the form to use unless a protocol fixes another.
* :class:`SM4Block` is the bare block function (one 16-byte block, no mode), for the standard's
  known-answer tests and for building other standard modes; do not use it to encrypt data.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KEY_SIZE = 16
BLOCK_SIZE = 16
NONCE_SIZE = 12
TAG_SIZE = 16

__all__ = [
    "BLOCK_SIZE",
    "KEY_SIZE",
    "NONCE_SIZE",
    "SM4GCM",
    "TAG_SIZE",
    "InvalidTag",
    "SM4Block",
    "sm4_gcm_open",
    "sm4_gcm_seal",
]


def _check_key(key: bytes) -> None:
    if len(key) != KEY_SIZE:
        message = f"SM4 key must be {KEY_SIZE} bytes, got {len(key)}"
        raise ValueError(message)


def _check_nonce(nonce: bytes) -> None:
    if len(nonce) != NONCE_SIZE:
        message = f"SM4-GCM nonce must be {NONCE_SIZE} bytes, got {len(nonce)}"
        raise ValueError(message)


class SM4GCM:
    """SM4-GCM with a caller-chosen 12-byte nonce; output and input are ``ciphertext || tag``."""

    __slots__ = ("_algorithm",)

    def __init__(self, key: bytes) -> None:
        _check_key(key)
        self._algorithm = algorithms.SM4(key)

    @staticmethod
    def generate_key() -> bytes:
        return os.urandom(KEY_SIZE)

    def __repr__(self) -> str:
        return "<SM4GCM>"

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None = None) -> bytes:
        """Encrypt and authenticate ``data``; ``associated_data`` is authenticated but not encrypted."""
        _check_nonce(nonce)
        encryptor = Cipher(self._algorithm, modes.GCM(nonce)).encryptor()
        if associated_data:
            encryptor.authenticate_additional_data(associated_data)
        ciphertext = encryptor.update(data) + encryptor.finalize()
        return ciphertext + encryptor.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None = None) -> bytes:
        """The plaintext, or ``cryptography.exceptions.InvalidTag`` if anything was changed."""
        _check_nonce(nonce)
        if len(data) < TAG_SIZE:
            raise InvalidTag
        ciphertext, tag = data[:-TAG_SIZE], data[-TAG_SIZE:]
        decryptor = Cipher(self._algorithm, modes.GCM(nonce, tag)).decryptor()
        if associated_data:
            decryptor.authenticate_additional_data(associated_data)
        return decryptor.update(ciphertext) + decryptor.finalize()


def sm4_gcm_seal(key: bytes, plaintext: bytes, associated_data: bytes | None = None) -> bytes:
    """``nonce || ciphertext || tag`` with a fresh random nonce (safe for up to 2^32 messages per key)."""
    nonce = os.urandom(NONCE_SIZE)
    return nonce + SM4GCM(key).encrypt(nonce, plaintext, associated_data)


def sm4_gcm_open(key: bytes, sealed: bytes, associated_data: bytes | None = None) -> bytes:
    """The plaintext of :func:`sm4_gcm_seal`'s output; ``InvalidTag`` if changed or under another key."""
    if len(sealed) < NONCE_SIZE + TAG_SIZE:
        raise InvalidTag
    return SM4GCM(key).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], associated_data)


class SM4Block:
    """The SM4 block function on single 16-byte blocks (known-answer tests, building standard modes)."""

    __slots__ = ("_decrypt", "_encrypt")

    def __init__(self, key: bytes) -> None:
        _check_key(key)
        # ECB over exactly one block is the bare block function; the contexts keep no state between blocks.
        cipher = Cipher(algorithms.SM4(key), modes.ECB())  # noqa: S305 - one block at a time, see docstring
        self._encrypt = cipher.encryptor().update
        self._decrypt = cipher.decryptor().update

    def __repr__(self) -> str:
        return "<SM4Block>"

    def encrypt(self, block: bytes) -> bytes:
        if len(block) != BLOCK_SIZE:
            message = f"SM4 block must be {BLOCK_SIZE} bytes, got {len(block)}"
            raise ValueError(message)
        return self._encrypt(block)

    def decrypt(self, block: bytes) -> bytes:
        if len(block) != BLOCK_SIZE:
            message = f"SM4 block must be {BLOCK_SIZE} bytes, got {len(block)}"
            raise ValueError(message)
        return self._decrypt(block)
