"""Property tests (hypothesis): signatures verify; any change to message, signature or ID is refused."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature
from hypothesis import given, settings
from hypothesis import strategies as st

from onewindow.crypto.keys import Algorithm, generate_signer, load_verifier
from onewindow.crypto.sm2 import SM2PrivateKey, signature_from_raw, signature_to_raw

KEY = SM2PrivateKey.generate()
SIGNERS = {algorithm: generate_signer(algorithm) for algorithm in Algorithm}

messages = st.binary(max_size=2048)
signer_ids = st.binary(max_size=64)


@settings(max_examples=60, deadline=None)
@given(message=messages, signer_id=signer_ids)
def test_sm2_round_trip(message: bytes, signer_id: bytes) -> None:
    signature = KEY.sign(message, signer_id)
    KEY.public_key().verify(signature, message, signer_id)
    assert signature_from_raw(signature_to_raw(signature)) == signature


@settings(max_examples=60, deadline=None)
@given(message=messages, other=messages)
def test_sm2_altered_message_is_refused(message: bytes, other: bytes) -> None:
    signature = KEY.sign(message)
    if other != message:
        with pytest.raises(InvalidSignature):
            KEY.public_key().verify(signature, other)


@settings(max_examples=60, deadline=None)
@given(message=messages, position=st.integers(min_value=0), bit=st.integers(0, 7))
def test_sm2_altered_signature_is_refused(message: bytes, position: int, bit: int) -> None:
    signature = bytearray(KEY.sign(message))
    signature[position % len(signature)] ^= 1 << bit
    with pytest.raises(InvalidSignature):
        KEY.public_key().verify(bytes(signature), message)


@settings(max_examples=40, deadline=None)
@given(message=messages, signer_id=signer_ids, other_id=signer_ids)
def test_sm2_other_signer_id_is_refused(message: bytes, signer_id: bytes, other_id: bytes) -> None:
    signature = KEY.sign(message, signer_id)
    if other_id != signer_id:
        with pytest.raises(InvalidSignature):
            KEY.public_key().verify(signature, message, other_id)


@settings(max_examples=40, deadline=None)
@given(
    algorithm=st.sampled_from(list(Algorithm)),
    message=messages,
    position=st.integers(min_value=0),
    bit=st.integers(0, 7),
)
def test_every_algorithm_round_trips_and_refuses_changes(
    algorithm: Algorithm, message: bytes, position: int, bit: int
) -> None:
    signer = SIGNERS[algorithm]
    verifier = load_verifier(signer.public_key_der())
    signature = signer.sign(message)
    verifier.verify(signature, message)
    with pytest.raises(InvalidSignature):
        verifier.verify(signature, message + b"\0")
    altered = bytearray(signature)
    altered[position % len(altered)] ^= 1 << bit
    with pytest.raises(InvalidSignature):
        verifier.verify(bytes(altered), message)
