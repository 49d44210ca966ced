"""The Signer/Verifier key interface and the ECDSA P-256 / Ed25519 wrappers."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from onewindow.crypto import sm3_hex
from onewindow.crypto.ecdsa import ecdsa_p256_sign, ecdsa_p256_verify
from onewindow.crypto.ed25519 import ed25519_verify
from onewindow.crypto.keys import (
    Algorithm,
    ECDSAP256Signer,
    ECDSAP256Verifier,
    Ed25519Signer,
    Signer,
    SM2Signer,
    SM2Verifier,
    Verifier,
    generate_signer,
    load_signer,
    load_verifier,
    signature_is_valid,
)
from onewindow.crypto.sm2 import DEFAULT_SIGNER_ID, SM2PrivateKey, SM2PublicKey


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_each_algorithm_signs_verifies_and_reloads(algorithm: Algorithm) -> None:
    signer = generate_signer(algorithm)
    assert isinstance(signer, Signer)
    assert signer.algorithm is algorithm
    verifier = signer.verifier()
    assert isinstance(verifier, Verifier)
    assert verifier.key_id == signer.key_id == sm3_hex(signer.public_key_der())
    signature = signer.sign(b"licence")
    verifier.verify(signature, b"licence")
    assert signature_is_valid(verifier, signature, b"licence")
    assert not signature_is_valid(verifier, signature, b"licencf")
    # From the stored forms: PKCS#8 for the signer, SubjectPublicKeyInfo for the verifier
    reloaded = load_signer(signer.private_key_der())
    assert type(reloaded) is type(signer)
    assert reloaded.key_id == signer.key_id
    loaded_verifier = load_verifier(signer.public_key_der())
    assert loaded_verifier.algorithm is algorithm
    loaded_verifier.verify(reloaded.sign(b"again"), b"again")
    assert signer.key_id[:16] in repr(signer)


def test_sm2_signer_carries_its_signer_id() -> None:
    signer = generate_signer(Algorithm.SM2_SM3, signer_id=b"D01")
    assert isinstance(signer, SM2Signer)
    assert signer.signer_id == b"D01"
    signature = signer.sign(b"m")
    signer.verifier().verify(signature, b"m")
    with pytest.raises(InvalidSignature):
        load_verifier(signer.public_key_der()).verify(signature, b"m")  # default ID
    load_verifier(signer.public_key_der(), signer_id=b"D01").verify(signature, b"m")
    reloaded = load_signer(signer.private_key_der(), signer_id=b"D01")
    assert isinstance(reloaded, SM2Signer)
    assert reloaded.signer_id == b"D01"


def test_sm2_signer_and_the_sm2_module_agree() -> None:
    key = SM2PrivateKey.generate()
    signer = SM2Signer(key)
    key.public_key().verify(signer.sign(b"m"), b"m", DEFAULT_SIGNER_ID)
    assert signer.public_key_der() == key.public_key().to_der()
    verifier = SM2Verifier(SM2PublicKey.from_der(signer.public_key_der()))
    verifier.verify(key.sign(b"m"), b"m")


def test_ecdsa_signature_is_der_p256_sha256() -> None:
    signer = generate_signer(Algorithm.ECDSA_P256_SHA256)
    assert isinstance(signer, ECDSAP256Signer)
    signature = signer.sign(b"pdf bytes")
    decode_dss_signature(signature)  # DER
    # Independent check straight with cryptography
    signer.private_key.public_key().verify(signature, b"pdf bytes", ec.ECDSA(hashes.SHA256()))


def test_ecdsa_refuses_other_curves_and_non_canonical_der() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(ValueError, match="P-256"):
        ecdsa_p256_sign(p384, b"m")
    with pytest.raises(ValueError, match="P-256"):
        ECDSAP256Signer(p384)
    with pytest.raises(ValueError, match="P-256"):
        load_signer(
            p384.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    key = ec.generate_private_key(ec.SECP256R1())
    signature = ecdsa_p256_sign(key, b"m")
    ecdsa_p256_verify(key.public_key(), signature, b"m")
    long_form = b"\x30\x81" + signature[1:]  # same content, a non-minimal length
    with pytest.raises(InvalidSignature):
        ecdsa_p256_verify(key.public_key(), long_form, b"m")
    with pytest.raises(InvalidSignature):
        ecdsa_p256_verify(key.public_key(), b"not der", b"m")


def test_ed25519_signature_is_64_bytes() -> None:
    signer = generate_signer(Algorithm.ED25519)
    assert isinstance(signer, Ed25519Signer)
    signature = signer.sign(b"m")
    assert len(signature) == 64
    with pytest.raises(InvalidSignature):
        ed25519_verify(signer.private_key.public_key(), signature[:-1], b"m")


def test_unsupported_keys_are_refused() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ValueError, match="unsupported private key type"):
        load_signer(
            rsa_key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    with pytest.raises(ValueError, match="unsupported public key type"):
        load_verifier(
            rsa_key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    with pytest.raises(ValueError, match="not a PKCS#8 key"):
        load_signer(b"garbage")
    with pytest.raises(ValueError, match="not a SubjectPublicKeyInfo"):
        load_verifier(b"garbage")


def test_verifiers_of_different_algorithms_refuse_each_others_signatures() -> None:
    signers = [generate_signer(algorithm) for algorithm in Algorithm]
    for signer in signers:
        signature = signer.sign(b"m")
        for other in signers:
            if other is not signer:
                assert not signature_is_valid(other.verifier(), signature, b"m")


def test_an_hsm_style_signer_fits_the_interface() -> None:
    """A signer with only a "device" handle (no key bytes) satisfies the protocol: the HSM plan's shape."""

    class DeviceSigner:
        algorithm = Algorithm.ECDSA_P256_SHA256

        def __init__(self) -> None:
            self._device_key = ec.generate_private_key(ec.SECP256R1())  # stands in for a PKCS#11 key handle
            self._verifier = ECDSAP256Verifier(self._device_key.public_key())

        @property
        def key_id(self) -> str:
            return self._verifier.key_id

        def public_key_der(self) -> bytes:
            return self._verifier.public_key_der()

        def sign(self, message: bytes) -> bytes:
            return self._device_key.sign(message, ec.ECDSA(hashes.SHA256()))

        def verifier(self) -> Verifier:
            return self._verifier

    def seal(signer: Signer, document: bytes) -> tuple[str, bytes]:
        return signer.key_id, signer.sign(document)

    device = DeviceSigner()
    assert isinstance(device, Signer)
    key_id, signature = seal(device, b"document")
    verifier = load_verifier(device.public_key_der())
    assert verifier.key_id == key_id
    verifier.verify(signature, b"document")


def test_ed25519_keys_load_from_pkcs8() -> None:
    key = Ed25519PrivateKey.generate()
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert load_signer(der).algorithm is Algorithm.ED25519
