"""SM2 interoperability: signatures made here verify in independent implementations and the other way round.

* gmalg: a pure-Python implementation (issue #6 acceptance: "an SM2 signature made by the platform verifies
  with gmalg, and a signature from that implementation verifies in the platform");
* the OpenSSL command line, when it has SM2 (OpenSSL 3): keys in PKCS#8/SubjectPublicKeyInfo and DER
  signatures with the default signer ID.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import gmalg
import pytest
from cryptography.exceptions import InvalidSignature

from onewindow.crypto.sm2 import DEFAULT_SIGNER_ID, SM2PrivateKey, SM2PublicKey, signature_to_raw

MESSAGES = [b"", b"message digest", "电子证照 营业执照".encode(), bytes(range(256)) * 40]
# gmalg needs a non-empty ID (an empty one is checked against gmalglib in test_sm2.py).
SIGNER_IDS = [DEFAULT_SIGNER_ID, b"ALICE123@YAHOO.COM", "张三@公安局".encode()]


def _gmalg(key: SM2PrivateKey | None, public_key: SM2PublicKey, signer_id: bytes) -> gmalg.SM2:
    return gmalg.SM2(key.to_bytes() if key else None, signer_id, public_key.to_bytes())


@pytest.mark.parametrize("signer_id", SIGNER_IDS)
def test_platform_signatures_verify_in_gmalg(signer_id: bytes) -> None:
    key = SM2PrivateKey.generate()
    verifier = _gmalg(None, key.public_key(), signer_id)
    for message in MESSAGES:
        raw = signature_to_raw(key.sign(message, signer_id))
        assert verifier.verify(message, raw[:32], raw[32:])
        assert not verifier.verify(message + b"!", raw[:32], raw[32:])


@pytest.mark.parametrize("signer_id", SIGNER_IDS)
def test_gmalg_signatures_verify_in_the_platform(signer_id: bytes) -> None:
    key = SM2PrivateKey.generate()
    signer = _gmalg(key, key.public_key(), signer_id)
    for message in MESSAGES:
        r, s = signer.sign(message)
        raw = r.rjust(32, b"\0") + s.rjust(32, b"\0")
        key.public_key().verify_raw(raw, message, signer_id)
        with pytest.raises(InvalidSignature):
            key.public_key().verify_raw(raw, message + b"!", signer_id)


def test_gmalg_reproduces_the_annex_a_signature_with_fixed_k(vectors: dict[str, Any]) -> None:
    # The standard's (r, s) computed independently of gmalglib, then checked by the platform.
    example = vectors["sm2_signature_annex_a"]
    key = SM2PrivateKey(bytes.fromhex(example["private_key"]))
    k = int(example["k"], 16)
    signer = gmalg.SM2(
        key.to_bytes(), example["user_id_ascii"].encode(), key.public_key().to_bytes(), rnd_fn=lambda bits: k
    )
    r, s = signer.sign(example["message_ascii"].encode())
    assert (r.hex().upper(), s.hex().upper()) == (example["r"], example["s"])
    key.public_key().verify_raw(r + s, example["message_ascii"].encode())


def test_gmalg_public_key_and_z_agree(vectors: dict[str, Any]) -> None:
    key = SM2PrivateKey.generate()
    assert (
        gmalg.SM2(key.to_bytes(), DEFAULT_SIGNER_ID).generate_pk(key.to_bytes())
        == key.public_key().to_bytes()
    )


# --- OpenSSL command line ----------------------------------------------------------------------------------


def _openssl_with_sm2() -> str:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command")
    listed = subprocess.run(
        [openssl, "list", "-public-key-algorithms"], capture_output=True, text=True, check=False, timeout=30
    )
    if "SM2" not in listed.stdout:
        pytest.skip("this OpenSSL has no SM2")
    return openssl


def _run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(arguments), capture_output=True, text=True, check=False, timeout=30)


def test_openssl_reads_platform_keys_and_verifies_platform_signatures(tmp_path: Path) -> None:
    openssl = _openssl_with_sm2()
    key = SM2PrivateKey.generate()
    (tmp_path / "key.pem").write_bytes(key.to_pem())
    (tmp_path / "public.pem").write_bytes(key.public_key().to_pem())
    (tmp_path / "message").write_bytes(b"receipt 2024-000123")
    (tmp_path / "signature").write_bytes(key.sign(b"receipt 2024-000123"))
    # OpenSSL derives the same public key from the platform's PKCS#8
    derived = _run(openssl, "pkey", "-in", str(tmp_path / "key.pem"), "-pubout")
    assert derived.returncode == 0, derived.stderr
    assert derived.stdout.encode() == key.public_key().to_pem()
    verify = [openssl, "dgst", "-sm3", "-verify", str(tmp_path / "public.pem")]
    verify += ["-sigopt", "distid:1234567812345678", "-signature", str(tmp_path / "signature")]
    verified = _run(*verify, str(tmp_path / "message"))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Verified OK" in verified.stdout
    (tmp_path / "message").write_bytes(b"receipt 2024-000124")
    assert _run(*verify, str(tmp_path / "message")).returncode != 0


def test_openssl_keys_and_signatures_work_in_the_platform(tmp_path: Path) -> None:
    openssl = _openssl_with_sm2()
    generated = _run(openssl, "genpkey", "-algorithm", "SM2", "-out", str(tmp_path / "key.pem"))
    assert generated.returncode == 0, generated.stderr
    exported = _run(
        openssl, "pkey", "-in", str(tmp_path / "key.pem"), "-pubout", "-out", str(tmp_path / "pub.pem")
    )
    assert exported.returncode == 0, exported.stderr
    (tmp_path / "message").write_bytes("决定书".encode())
    signed = _run(
        openssl, "dgst", "-sm3", "-sign", str(tmp_path / "key.pem"), "-sigopt", "distid:1234567812345678",
        "-out", str(tmp_path / "signature"), str(tmp_path / "message"),
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    key = SM2PrivateKey.from_pem((tmp_path / "key.pem").read_bytes())
    public_key = SM2PublicKey.from_pem((tmp_path / "pub.pem").read_bytes())
    assert key.public_key() == public_key
    # The platform writes PKCS#8 byte for byte as OpenSSL does.
    assert key.to_pem() == (tmp_path / "key.pem").read_bytes()
    public_key.verify((tmp_path / "signature").read_bytes(), "决定书".encode())
    with pytest.raises(InvalidSignature):
        public_key.verify((tmp_path / "signature").read_bytes(), "决定书!".encode())
