"""Private keys at rest (Electronic Signature Law Art. 13 (1)–(2): the signing data belongs to and is
controlled by the signer alone; GB/T 39786-2021 §8.3: keys stored encrypted): SM4-GCM under the master key,
bound to their row, a clear error with the wrong master key, the development default refused in production,
master key rotation.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from onewindow.audit.models import AuditRecord
from onewindow.crypto.sm2 import SM2PublicKey
from onewindow.seals.keystore import (
    KeyStoreError,
    SealKeyDecryptionError,
    keystore_default,
    keystore_for,
)
from onewindow.seals.models import KeyAlgorithm, Seal, StoredKey

pytestmark = pytest.mark.django_db

MASTER_1 = bytes(range(32))
MASTER_2 = bytes(range(32, 64))


def _raw_rows() -> list[tuple[str, str]]:
    """The stored tokens as the database holds them (no model field conversion)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT key_ref, private_key_token FROM seals_storedkey ORDER BY id")
        return [(str(ref), str(token)) for ref, token in cursor.fetchall()]


def test_private_keys_in_the_database_are_ciphertext(seal: Seal) -> None:
    rows = _raw_rows()
    assert len(rows) == 3  # the root's key, the seal's SM2 key and its ECDSA key

    store = keystore_default()
    private_ders = [_private_der_for_test(ref) for ref, _ in rows]
    for _ref, token in rows:
        assert token.startswith("sm4gcm1.dev.")
        assert "BEGIN" not in token
        assert "PRIVATE" not in token
        decoded = base64.urlsafe_b64decode(token.split(".")[2] + "==")
        assert not any(der in decoded or der[-64:] in decoded for der in private_ders)
    assert store.public_key_der(seal.sm2_key_ref) == bytes(seal.sm2_public_key_der)


def _private_der_for_test(key_ref: str) -> bytes:
    """Test-only: the decrypted PKCS#8 of a database key, to prove it is not what is stored."""
    from onewindow.seals import keystore

    row = StoredKey.objects.get(key_ref=key_ref)
    return keystore._open_private(key_ref, row.algorithm, row.private_key_token)


def test_the_sm2_scalar_is_nowhere_in_the_table(seal: Seal) -> None:
    from onewindow.crypto.sm2 import SM2PrivateKey

    scalar = SM2PrivateKey.from_der(_private_der_for_test(seal.sm2_key_ref)).to_bytes()
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key_token, public_key_der, label FROM seals_storedkey")
        stored = b"".join(
            bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
            for row in cursor.fetchall()
            for value in row
        )
    assert scalar not in stored
    assert scalar.hex().encode() not in stored
    assert base64.b64encode(scalar) not in stored


def test_a_wrong_master_key_is_a_clear_error(seal: Seal, settings: Any) -> None:
    settings.SEAL_MASTER_KEYS = {"dev": MASTER_2}

    with pytest.raises(SealKeyDecryptionError, match=r"master key 'dev'.*ONEWINDOW_SEAL_MASTER_KEY is not"):
        keystore_for(seal.sm2_key_ref).sign_sm2(seal.sm2_key_ref, b"x")


def test_a_missing_master_key_id_names_the_key_ring(seal: Seal, settings: Any) -> None:
    settings.SEAL_MASTER_KEYS = {"m2": MASTER_2}

    with pytest.raises(SealKeyDecryptionError, match=r"'dev', which is not configured.*key ring"):
        keystore_for(seal.ecdsa_key_ref).sign_ecdsa(seal.ecdsa_key_ref, b"x")


def test_a_token_moved_to_another_key_row_does_not_decrypt(seal: Seal) -> None:
    sm2_row = StoredKey.objects.get(key_ref=seal.sm2_key_ref)
    other = StoredKey.objects.exclude(pk=sm2_row.pk).filter(algorithm=KeyAlgorithm.SM2).first()
    assert other is None  # only one SM2 key so far: make a second one and swap the ciphertexts
    second = keystore_default().generate(KeyAlgorithm.SM2, label="second")
    StoredKey.objects.filter(key_ref=second).update(private_key_token=sm2_row.private_key_token)

    with pytest.raises(SealKeyDecryptionError, match="was changed"):
        keystore_for(second).sign_sm2(second, b"x")


def test_an_unknown_key_ref_is_refused(db: None) -> None:
    with pytest.raises(KeyStoreError, match="no key"):
        keystore_default().sign_sm2("db:0123", b"x")
    with pytest.raises(KeyStoreError, match="no key store"):
        keystore_for("pkcs11:token=x;object=y")


def test_the_development_default_is_refused_in_production(seal: Seal, settings: Any) -> None:
    settings.SEAL_MASTER_KEY_DEVELOPMENT_DEFAULT = True
    settings.ONEWINDOW_ENV = "production"

    with pytest.raises(ImproperlyConfigured, match="development default"):
        keystore_for(seal.sm2_key_ref).sign_sm2(seal.sm2_key_ref, b"x")
    with pytest.raises(ImproperlyConfigured, match="development default"):
        keystore_default().generate(KeyAlgorithm.SM2, label="x")
    assert [message.id for message in run_checks(include_deployment_checks=True)].count("seals.E001") == 1


def test_a_configured_master_key_passes_the_deployment_check(settings: Any) -> None:
    settings.SEAL_MASTER_KEY_DEVELOPMENT_DEFAULT = False
    settings.ONEWINDOW_ENV = "production"

    assert "seals.E001" not in [message.id for message in run_checks(include_deployment_checks=True)]


def test_master_key_rotation_reencrypts_every_key_and_they_still_sign(seal: Seal, settings: Any) -> None:
    settings.SEAL_MASTER_KEYS = {"m2": MASTER_2, "dev": django_settings.SEAL_MASTER_KEYS["dev"]}

    call_command("seals_rotate_master_key", "--batch-size", "2")

    assert all(token.startswith("sm4gcm1.m2.") for _, token in _raw_rows())
    settings.SEAL_MASTER_KEYS = {"m2": MASTER_2}  # the old key can go
    signature = keystore_for(seal.sm2_key_ref).sign_sm2(seal.sm2_key_ref, b"after rotation")
    SM2PublicKey.from_der(bytes(seal.sm2_public_key_der)).verify(signature, b"after rotation")
    record = AuditRecord.objects.get(action="seals.master_key_rotated")
    assert record.details == {"current_master_key_id": "m2", "reencrypted": 3}


# --- Settings -----------------------------------------------------------------------------------------


def _settings_in_child(tmp_path: Path, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ONEWINDOW_SEAL_") and key != "DATABASE_URL"
    }
    environment |= {"ONEWINDOW_VAR_DIR": str(tmp_path), "ONEWINDOW_SECRET_KEY": "s" * 50, **variables}
    script = (
        "import json, config.settings as s; print(json.dumps({'ids': list(s.SEAL_MASTER_KEYS), "
        "'default': s.SEAL_MASTER_KEY_DEVELOPMENT_DEFAULT}))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_settings_read_one_master_key_or_a_key_ring(tmp_path: Path) -> None:
    single = _settings_in_child(
        tmp_path,
        {
            "ONEWINDOW_SEAL_MASTER_KEY": base64.b64encode(MASTER_1).decode(),
            "ONEWINDOW_SEAL_MASTER_KEY_ID": "k7",
        },
    )
    ring_file = tmp_path / "ring.json"
    ring_file.write_text(
        json.dumps(
            {
                "current": "m2",
                "keys": {
                    "m1": base64.b64encode(MASTER_1).decode(),
                    "m2": base64.b64encode(MASTER_2).decode(),
                },
            }
        )
    )
    ring = _settings_in_child(tmp_path, {"ONEWINDOW_SEAL_MASTER_KEY_FILE": str(ring_file)})
    short = _settings_in_child(tmp_path, {"ONEWINDOW_SEAL_MASTER_KEY": base64.b64encode(b"x" * 16).decode()})
    unset = _settings_in_child(tmp_path, {})

    assert single.stdout.strip() == '{"ids": ["k7"], "default": false}'
    assert ring.stdout.strip() == '{"ids": ["m2", "m1"], "default": false}'
    assert short.returncode != 0
    assert "exactly 32 bytes" in short.stderr
    assert unset.stdout.strip() == '{"ids": ["dev"], "default": true}'
