"""SM3 (GB/T 32905-2016) and HMAC-SM3: the standard's examples; agreement with independent implementations."""

from __future__ import annotations

import hashlib
from typing import Any

import gmalg
import pytest
from cryptography.exceptions import InvalidSignature
from hypothesis import given, settings
from hypothesis import strategies as st

from onewindow.crypto.mac import hmac_sm3, hmac_sm3_verify
from onewindow.crypto.sm3 import sm3, sm3_hasher, sm3_hex


def _gmalg_sm3(data: bytes) -> bytes:
    hasher = gmalg.SM3()
    hasher.update(data)
    return bytes(hasher.value())


def _reference_hmac(key: bytes, data: bytes) -> bytes:
    """HMAC (RFC 2104 / GB/T 15852.2) over gmalg's pure-Python SM3: independent of OpenSSL."""
    block = 64
    if len(key) > block:
        key = _gmalg_sm3(key)
    key = key.ljust(block, b"\0")
    inner = _gmalg_sm3(bytes(byte ^ 0x36 for byte in key) + data)
    return _gmalg_sm3(bytes(byte ^ 0x5C for byte in key) + inner)


def test_sm3_standard_examples(vectors: dict[str, Any]) -> None:
    # Given GB/T 32905-2016 Annex A examples 1 ("abc") and 2 ("abcd" x 16, 512 bits)
    assert [example["message_ascii"] for example in vectors["sm3"]] == ["abc", "abcd" * 16]
    for example in vectors["sm3"]:
        # Then the digest is the standard's
        assert sm3_hex(example["message_ascii"].encode()) == example["digest"]
        assert sm3(example["message_ascii"].encode()) == bytes.fromhex(example["digest"])


def test_incremental_sm3_equals_one_shot() -> None:
    hasher = sm3_hasher()
    for _ in range(16):
        hasher.update(b"abcd")
    assert hasher.finalize() == sm3(b"abcd" * 16)


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=300))
def test_sm3_agrees_with_gmalg(data: bytes) -> None:
    assert sm3(data) == _gmalg_sm3(data)


@settings(max_examples=50, deadline=None)
@given(key=st.binary(min_size=16, max_size=100), data=st.binary(max_size=200))
def test_hmac_sm3_agrees_with_a_reference_implementation(key: bytes, data: bytes) -> None:
    assert hmac_sm3(key, data) == _reference_hmac(key, data)


def test_hmac_sm3_agrees_with_the_system_openssl() -> None:
    if "sm3" not in hashlib.algorithms_available:
        pytest.skip("the system OpenSSL has no SM3")
    import hmac

    key = bytes(range(32))
    assert hmac_sm3(key, b"message digest") == hmac.new(key, b"message digest", "sm3").digest()


def test_hmac_sm3_verify_accepts_the_tag_and_refuses_any_change() -> None:
    key = bytes(range(32))
    tag = hmac_sm3(key, b"licence 001")
    hmac_sm3_verify(key, b"licence 001", tag)
    with pytest.raises(InvalidSignature):
        hmac_sm3_verify(key, b"licence 002", tag)
    with pytest.raises(InvalidSignature):
        hmac_sm3_verify(key, b"licence 001", tag[:-1] + bytes([tag[-1] ^ 1]))
    with pytest.raises(InvalidSignature):
        hmac_sm3_verify(bytes(32), b"licence 001", tag)


def test_hmac_sm3_refuses_short_keys() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        hmac_sm3(b"short", b"data")
