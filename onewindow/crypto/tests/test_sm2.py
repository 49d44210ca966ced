"""SM2 signatures (GB/T 32918.2/.5): the standard's example with its fixed k, the Z value, the encodings."""

from __future__ import annotations

import base64
import copy
import pickle
import sys
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from gmalglib import sm2 as gmalglib_sm2

from onewindow.crypto import sm2
from onewindow.crypto.sm2 import (
    DEFAULT_SIGNER_ID,
    SM2PrivateKey,
    SM2PublicKey,
    signature_from_raw,
    signature_to_raw,
)


def _annex_a(vectors: dict[str, Any]) -> dict[str, Any]:
    example: dict[str, Any] = vectors["sm2_signature_annex_a"]
    return example


def _fixed_k_engine(scalar: bytes, signer_id: bytes, k_hex: str) -> object:
    """A gmalglib engine whose random source returns the standard's k: a test-only path, never in the product.

    gmalglib copies the random bytes straight into its 256-bit integer's memory, which is little-endian on the
    machines the project runs on, so k goes in byte-reversed.
    """
    k = bytes.fromhex(k_hex)[::-1]
    return gmalglib_sm2.SM2(sk=scalar, uid=signer_id, rnd_fn=lambda size: k[:size])


def test_curve_parameters_are_the_standards(vectors: dict[str, Any]) -> None:
    curve = vectors["sm2_curve"]
    assert int(curve["p"], 16) == sm2.CURVE_P
    assert int(curve["a"], 16) == sm2.CURVE_A
    assert int(curve["b"], 16) == sm2.CURVE_B
    assert int(curve["gx"], 16) == sm2.CURVE_GX
    assert int(curve["gy"], 16) == sm2.CURVE_GY
    assert int(curve["n"], 16) == sm2.CURVE_N
    assert bytes.fromhex(curve["n"]) == gmalglib_sm2.SM2_PARAMS_N
    assert bytes.fromhex(curve["p"]) == gmalglib_sm2.SM2_PARAMS_P


def test_annex_a_public_key_z_value_and_digest(vectors: dict[str, Any]) -> None:
    # GB/T 32918.5-2017 Annex A: private key d_A, ID_A "1234567812345678", M "message digest"
    example = _annex_a(vectors)
    key = SM2PrivateKey(bytes.fromhex(example["private_key"]))
    public_key = key.public_key()
    assert public_key.to_bytes() == bytes.fromhex("04" + example["public_key_x"] + example["public_key_y"])
    signer_id = example["user_id_ascii"].encode()
    assert signer_id == DEFAULT_SIGNER_ID
    assert public_key.z_value(signer_id).hex().upper() == example["z_a"]
    assert public_key.message_digest(example["message_ascii"].encode()).hex().upper() == example["e"]


@pytest.mark.skipif(sys.byteorder != "little", reason="the fixed-k path feeds gmalglib little-endian bytes")
def test_annex_a_signature_with_the_standards_k(vectors: dict[str, Any]) -> None:
    # Given the standard's key and fixed k, signing "message digest" through the platform's signing code
    example = _annex_a(vectors)
    scalar = bytes.fromhex(example["private_key"])
    signer_id = example["user_id_ascii"].encode()
    key = SM2PrivateKey(scalar)
    key._engines[signer_id] = _fixed_k_engine(scalar, signer_id, example["k"])  # type: ignore[assignment]
    # Then (r, s) are the standard's, in raw and DER form
    raw = key.sign_raw(example["message_ascii"].encode(), signer_id)
    assert raw.hex().upper() == example["r"] + example["s"]
    der = key.sign(example["message_ascii"].encode(), signer_id)
    assert der == encode_dss_signature(int(example["r"], 16), int(example["s"], 16))


def test_annex_a_signature_verifies(vectors: dict[str, Any]) -> None:
    example = _annex_a(vectors)
    public_key = SM2PrivateKey(bytes.fromhex(example["private_key"])).public_key()
    raw = bytes.fromhex(example["r"] + example["s"])
    message = example["message_ascii"].encode()
    public_key.verify_raw(raw, message)
    public_key.verify(signature_from_raw(raw), message)
    public_key.verify_digest(signature_from_raw(raw), bytes.fromhex(example["e"]))
    with pytest.raises(InvalidSignature):
        public_key.verify_raw(raw, b"message digesT")
    with pytest.raises(InvalidSignature):
        public_key.verify_raw(raw, message, b"1234567812345679")


def test_sign_and_verify_with_the_default_and_other_signer_ids() -> None:
    key = SM2PrivateKey.generate()
    public_key = key.public_key()
    message = "营业执照 91350100M000100Y43".encode()
    public_key.verify(key.sign(message), message)
    public_key.verify(key.sign(message, DEFAULT_SIGNER_ID), message, DEFAULT_SIGNER_ID)
    department_id = b"D01@onewindow"
    signature = key.sign(message, department_id)
    public_key.verify(signature, message, department_id)
    # A signature is bound to its signer ID through Z_A.
    with pytest.raises(InvalidSignature):
        public_key.verify(signature, message)


def test_sign_digest_equals_signing_the_message() -> None:
    key = SM2PrivateKey.generate()
    digest = key.public_key().message_digest(b"receipt")
    signature = key.sign_digest(digest)
    key.public_key().verify(signature, b"receipt")
    key.public_key().verify_digest(key.sign(b"receipt"), digest)
    with pytest.raises(ValueError, match="32 bytes"):
        key.sign_digest(digest[:-1])
    with pytest.raises(InvalidSignature):
        key.public_key().verify_digest(signature, digest[:-1])


def test_z_value_matches_gmalglib_for_any_id() -> None:
    key = SM2PrivateKey.generate()
    for signer_id in (b"", b"a", DEFAULT_SIGNER_ID, bytes(range(256)) * 4):
        engine = gmalglib_sm2.SM2(pk=key.public_key().to_bytes(), uid=signer_id)
        assert key.public_key().z_value(signer_id) == engine.get_entity_info()


def test_signer_id_length_is_limited() -> None:
    key = SM2PrivateKey.generate()
    key.sign(b"m", bytes(8191))
    with pytest.raises(ValueError, match="at most 8191 bytes"):
        key.sign(b"m", bytes(8192))
    with pytest.raises(TypeError):
        key.sign(b"m", "1234567812345678")  # type: ignore[arg-type]


def test_signatures_are_randomised() -> None:
    key = SM2PrivateKey.generate()
    assert len({key.sign(b"same message") for _ in range(20)}) == 20


# --- Signature encodings -----------------------------------------------------------------------------------


def test_raw_and_der_convert_both_ways() -> None:
    key = SM2PrivateKey.generate()
    der = key.sign(b"m")
    raw = signature_to_raw(der)
    assert len(raw) == 64
    assert signature_from_raw(raw) == der
    key.public_key().verify_raw(raw, b"m")


@pytest.mark.parametrize(
    "signature",
    [
        b"",
        b"\x30\x00",
        # r = 0 and s = n are out of range
        encode_dss_signature(0, 1),
        encode_dss_signature(1, sm2.CURVE_N),
        # a long-form length where the short form is required (not DER)
        b"\x30\x81\x06\x02\x01\x01\x02\x01\x01",
        # an INTEGER with a superfluous leading zero
        b"\x30\x07\x02\x02\x00\x01\x02\x01\x01",
        # trailing bytes
        encode_dss_signature(1, 1) + b"\x00",
    ],
)
def test_non_canonical_or_out_of_range_signatures_are_refused(signature: bytes) -> None:
    with pytest.raises(ValueError, match="signature"):
        signature_to_raw(signature)
    with pytest.raises(InvalidSignature):
        SM2PrivateKey.generate().public_key().verify(signature, b"m")


def test_raw_signature_checks() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        signature_from_raw(bytes(63))
    with pytest.raises(ValueError, match="out of range"):
        signature_from_raw(bytes(64))
    with pytest.raises(InvalidSignature):
        SM2PrivateKey.generate().public_key().verify_raw(bytes(63), b"m")


# --- Key encodings -----------------------------------------------------------------------------------------


def test_pkcs8_and_spki_round_trips_carry_the_sm2_oid() -> None:
    key = SM2PrivateKey.generate()
    public_key = key.public_key()
    oid_der = bytes.fromhex("06082a811ccf5501822d")  # OBJECT IDENTIFIER 1.2.156.10197.1.301
    assert oid_der in key.to_der()
    assert oid_der in public_key.to_der()
    assert SM2PrivateKey.from_der(key.to_der()) == key
    assert SM2PrivateKey.from_pem(key.to_pem()) == key
    assert SM2PublicKey.from_der(public_key.to_der()) == public_key
    assert SM2PublicKey.from_pem(b"comment\n" + public_key.to_pem() + b"trailer\n") == public_key
    assert key.to_pem().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert public_key.to_pem().startswith(b"-----BEGIN PUBLIC KEY-----\n")
    assert len(public_key.to_der()) == 91


def test_pkcs8_without_the_optional_public_key_loads() -> None:
    key = SM2PrivateKey.generate()
    ec_private_key = bytes.fromhex("30250201010420") + key.to_bytes()
    algorithm = bytes.fromhex("301306072a8648ce3d020106082a811ccf5501822d")
    body = b"\x02\x01\x00" + algorithm + b"\x04" + bytes([len(ec_private_key)]) + ec_private_key
    assert SM2PrivateKey.from_der(b"\x30" + bytes([len(body)]) + body) == key


def test_compressed_points_load() -> None:
    public_key = SM2PrivateKey.generate().public_key()
    compressed = gmalglib_sm2.SM2.convert_pk(public_key.to_bytes(), gmalglib_sm2.SM2_PCMODE_COMPRESS)
    assert len(compressed) == 33
    assert SM2PublicKey.from_bytes(compressed) == public_key


def test_pkcs8_whose_public_key_belongs_to_another_key_is_refused() -> None:
    key, other = SM2PrivateKey.generate(), SM2PrivateKey.generate()
    der = key.to_der().replace(key.public_key().to_bytes(), other.public_key().to_bytes())
    with pytest.raises(ValueError, match="does not belong"):
        SM2PrivateKey.from_der(der)


def test_keys_of_other_curves_and_garbage_are_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    p256 = ec.generate_private_key(ec.SECP256R1())
    p256_pkcs8 = p256.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    p256_spki = p256.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError, match="PKCS#8"):
        SM2PrivateKey.from_der(p256_pkcs8)
    with pytest.raises(ValueError, match="SubjectPublicKeyInfo"):
        SM2PublicKey.from_der(p256_spki)
    valid = SM2PrivateKey.generate().public_key().to_der()
    for broken in (b"", valid[:-1], valid + b"\x00", b"\x30\x80" + valid[2:]):
        with pytest.raises(ValueError, match="SubjectPublicKeyInfo"):
            SM2PublicKey.from_der(broken)
    with pytest.raises(ValueError, match="no PEM block"):
        SM2PublicKey.from_pem(b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")
    with pytest.raises(ValueError, match="base64"):
        SM2PublicKey.from_pem(b"-----BEGIN PUBLIC KEY-----\nA===\n-----END PUBLIC KEY-----\n")


@pytest.mark.parametrize(
    "scalar",
    [bytes(32), (sm2.CURVE_N - 1).to_bytes(32, "big"), sm2.CURVE_N.to_bytes(32, "big"), bytes(31)],
)
def test_invalid_private_scalars_are_refused(scalar: bytes) -> None:
    with pytest.raises(ValueError, match="scalar"):
        SM2PrivateKey(scalar)


def test_points_off_the_curve_are_refused() -> None:
    point = bytearray(SM2PrivateKey.generate().public_key().to_bytes())
    point[-1] ^= 1
    with pytest.raises(ValueError, match="not on the SM2 curve"):
        SM2PublicKey(bytes(point))
    with pytest.raises(ValueError, match="65 bytes"):
        SM2PublicKey(bytes(point[1:]))
    # x >= p: the same point written with a non-canonical coordinate
    with pytest.raises(ValueError, match="not on the SM2 curve"):
        SM2PublicKey(b"\x04" + (sm2.CURVE_P + 1).to_bytes(32, "big") + bytes(32))
    # an x for which x^3 + ax + b is not a square mod p: no point has it
    x = next(
        x
        for x in range(1, 100)
        if pow(x**3 + sm2.CURVE_A * x + sm2.CURVE_B, (sm2.CURVE_P - 1) // 2, sm2.CURVE_P) != 1
    )
    with pytest.raises(ValueError, match="not on the SM2 curve"):
        SM2PublicKey.from_bytes(b"\x02" + x.to_bytes(32, "big"))


def test_private_key_is_not_revealed_by_repr_or_pickle() -> None:
    key = SM2PrivateKey.generate()
    secret = key.to_bytes()
    assert secret.hex() not in repr(key)
    assert base64.b64encode(secret).decode() not in repr(key)
    assert repr(key).startswith("<SM2PrivateKey of ")
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(key)
    assert copy.deepcopy(key) is key


def test_fingerprint_is_sm3_of_the_spki() -> None:
    from onewindow.crypto.sm3 import sm3_hex

    public_key = SM2PrivateKey.generate().public_key()
    assert public_key.fingerprint() == sm3_hex(public_key.to_der())
    assert public_key.fingerprint()[:16] in repr(public_key)


def test_per_id_engine_cache_is_bounded() -> None:
    # A verifier may be handed many signer IDs from outside; only a few engines are kept.
    key = SM2PrivateKey.generate()
    public_key = key.public_key()
    for number in range(20):
        signer_id = f"ID{number}".encode()
        public_key.verify(key.sign(b"m", signer_id), b"m", signer_id)
    assert len(public_key._engines) <= 8
    assert len(key._engines) <= 8
