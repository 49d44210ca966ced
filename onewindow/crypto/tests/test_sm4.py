"""SM4 (GB/T 32907-2016) block function and SM4-GCM (GB/T 36624-2018, RFC 8998)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given, settings
from hypothesis import strategies as st

from onewindow.crypto.sm4 import NONCE_SIZE, SM4GCM, TAG_SIZE, SM4Block, sm4_gcm_open, sm4_gcm_seal


def test_sm4_single_block_example(vectors: dict[str, Any]) -> None:
    # GB/T 32907-2016 Annex A example 1: one encryption of one block
    example = vectors["sm4"][0]
    block = SM4Block(bytes.fromhex(example["key"]))
    ciphertext = block.encrypt(bytes.fromhex(example["plaintext"]))
    assert ciphertext.hex() == example["ciphertext"]
    assert block.decrypt(ciphertext).hex() == example["plaintext"]


def test_sm4_one_million_encryptions_example(vectors: dict[str, Any]) -> None:
    # GB/T 32907-2016 Annex A example 2: the block encrypted 1,000,000 times with the same key (< 1 s here)
    example = vectors["sm4"][1]
    assert example["iterations"] == 1_000_000
    encrypt = SM4Block(bytes.fromhex(example["key"])).encrypt
    state = bytes.fromhex(example["plaintext"])
    for _ in range(example["iterations"]):
        state = encrypt(state)
    assert state.hex() == example["ciphertext"]


def test_sm4_gcm_rfc8998_example(vectors: dict[str, Any]) -> None:
    example = vectors["sm4_gcm"][0]
    cipher = SM4GCM(bytes.fromhex(example["key"]))
    nonce = bytes.fromhex(example["nonce"])
    associated_data = bytes.fromhex(example["associated_data"])
    plaintext = bytes.fromhex(example["plaintext"])
    expected = bytes.fromhex(example["ciphertext"] + example["tag"])
    assert cipher.encrypt(nonce, plaintext, associated_data) == expected
    assert cipher.decrypt(nonce, expected, associated_data) == plaintext


@settings(max_examples=50, deadline=None)
@given(plaintext=st.binary(max_size=500), associated_data=st.binary(max_size=50))
def test_seal_open_round_trip(plaintext: bytes, associated_data: bytes) -> None:
    key = SM4GCM.generate_key()
    sealed = sm4_gcm_seal(key, plaintext, associated_data)
    assert len(sealed) == NONCE_SIZE + len(plaintext) + TAG_SIZE
    assert sm4_gcm_open(key, sealed, associated_data) == plaintext


@settings(max_examples=50, deadline=None)
@given(plaintext=st.binary(max_size=200), position=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_changed_bit_is_refused(plaintext: bytes, position: int, bit: int) -> None:
    key = SM4GCM.generate_key()
    sealed = bytearray(sm4_gcm_seal(key, plaintext, b"context"))
    sealed[position % len(sealed)] ^= 1 << bit
    with pytest.raises(InvalidTag):
        sm4_gcm_open(key, bytes(sealed), b"context")


def test_wrong_key_associated_data_or_truncation_is_refused() -> None:
    key = SM4GCM.generate_key()
    sealed = sm4_gcm_seal(key, b"ID number 11010519491231002X", b"person:1")
    with pytest.raises(InvalidTag):
        sm4_gcm_open(SM4GCM.generate_key(), sealed, b"person:1")
    with pytest.raises(InvalidTag):
        sm4_gcm_open(key, sealed, b"person:2")
    with pytest.raises(InvalidTag):
        sm4_gcm_open(key, sealed[:-1], b"person:1")
    with pytest.raises(InvalidTag):
        sm4_gcm_open(key, sealed[: NONCE_SIZE + TAG_SIZE - 1], b"person:1")


def test_nonces_are_fresh() -> None:
    key = SM4GCM.generate_key()
    nonces = {sm4_gcm_seal(key, b"same")[:NONCE_SIZE] for _ in range(100)}
    assert len(nonces) == 100


@pytest.mark.parametrize("key", [b"", bytes(15), bytes(17), bytes(32)])
def test_key_size_is_checked(key: bytes) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        SM4GCM(key)
    with pytest.raises(ValueError, match="16 bytes"):
        SM4Block(key)


@pytest.mark.parametrize("nonce", [b"", bytes(8), bytes(16)])
def test_nonce_size_is_checked(nonce: bytes) -> None:
    with pytest.raises(ValueError, match="12 bytes"):
        SM4GCM(bytes(16)).encrypt(nonce, b"data")


def test_block_size_is_checked() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        SM4Block(bytes(16)).encrypt(b"short")


def test_keys_do_not_show_in_repr() -> None:
    assert repr(SM4GCM(bytes(range(16)))) == "<SM4GCM>"
    assert repr(SM4Block(bytes(range(16)))) == "<SM4Block>"
