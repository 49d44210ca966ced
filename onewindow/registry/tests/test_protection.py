"""Protection of registry data at rest (issue #5 item 5): AES-256-GCM tokens (PIPL Art. 51; GB/T
39786-2021 §8.3 confidentiality of stored important data), HMAC-SM3 blind index (GB/T 32905-2016, GB/T
15852.2), key rotation, masking (first 6 and last 4 of an ID number; first 3 and last 4 of a mobile), and
the refusal of the development default key in production.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, models
from django.test.utils import isolate_apps

from onewindow.audit.models import AuditRecord
from onewindow.registry.protection import (
    EncryptedTextField,
    RegistryDecryptionError,
    blind_index,
    decrypt,
    encrypt,
    keys_rotate,
    mask_id_number,
    mask_mobile,
)

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))
INDEX_KEY = bytes(range(64, 96))
ID_NUMBER = "11010519491231002X"
NAME = "欧阳娜娜"


@pytest.fixture
def key_a(settings: Any) -> Any:
    """One configured key, ``k1`` (not the development default)."""
    settings.REGISTRY_KEYS = {"k1": KEY_A}
    settings.REGISTRY_INDEX_KEY = INDEX_KEY
    settings.REGISTRY_KEYS_DEVELOPMENT_DEFAULT = False
    return settings


def _body(token: str) -> bytes:
    body = token.split(".", 2)[2]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def _with_body(token: str, body: bytes) -> str:
    version, key_id, _ = token.split(".", 2)
    return f"{version}.{key_id}.{base64.urlsafe_b64encode(body).rstrip(b'=').decode()}"


# --- Encryption -------------------------------------------------------------------------------------


def test_a_value_round_trips_and_the_token_hides_it(key_a: Any) -> None:
    # when an ID number and a Chinese name are encrypted
    id_token, name_token = encrypt(ID_NUMBER), encrypt(NAME)

    # then the tokens say version and key id, hold neither plaintext, and decrypt to what went in
    assert id_token.startswith("v1.k1.")
    assert ID_NUMBER not in id_token
    assert NAME not in name_token
    assert len(_body(id_token)) == 12 + len(ID_NUMBER.encode()) + 16  # nonce, ciphertext, tag
    assert (decrypt(id_token), decrypt(name_token)) == (ID_NUMBER, NAME)


def test_the_same_value_encrypts_differently_each_time(key_a: Any) -> None:
    # a fresh nonce per value: equal plaintexts cannot be spotted in the column
    tokens = {encrypt(ID_NUMBER) for _ in range(20)}

    assert len(tokens) == 20
    assert {decrypt(token) for token in tokens} == {ID_NUMBER}


@pytest.mark.parametrize(
    ("position", "part"), [(0, "nonce"), (12, "ciphertext"), (12 + 17, "ciphertext end"), (-1, "tag")]
)
def test_a_changed_byte_is_detected(key_a: Any, position: int, part: str) -> None:
    # given a token with one bit flipped in the nonce, the ciphertext or the tag
    token = encrypt(ID_NUMBER)
    body = bytearray(_body(token))
    body[position] ^= 0x01
    tampered = _with_body(token, bytes(body))

    # then decryption refuses it, naming the cause, instead of returning altered data
    with pytest.raises(RegistryDecryptionError, match="authentication failed: the value was changed"):
        decrypt(tampered)


def test_a_token_moved_under_another_key_id_is_detected(key_a: Any) -> None:
    # given two keys of which k2 is the same bytes, and a k1 token relabelled k2 (the key id is bound in)
    key_a.REGISTRY_KEYS = {"k1": KEY_A, "k2": KEY_A}
    token = encrypt(ID_NUMBER)

    with pytest.raises(RegistryDecryptionError, match="authentication failed") as raised:
        decrypt(token.replace("v1.k1.", "v1.k2.", 1))

    assert raised.value.key_id == "k2"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (ID_NUMBER, "not a v1 token"),
        ("v2.k1.AAAA", "not a v1 token"),
        ("v1.k1.", "too short"),
        ("v1.k1.AAAAAAAAAAAAAAAA", "too short"),
        ("v1.k1.!!!!", "not valid base64url"),
    ],
)
def test_something_that_is_not_a_whole_token_is_refused(key_a: Any, token: str, reason: str) -> None:
    with pytest.raises(RegistryDecryptionError, match=reason):
        decrypt(token)


def test_the_wrong_key_fails_with_a_clear_error(key_a: Any) -> None:
    # given a token sealed with key A, and then a configuration where "k1" is key B
    token = encrypt(NAME)
    key_a.REGISTRY_KEYS = {"k1": KEY_B}

    # then it cannot be opened, and the error says why
    with pytest.raises(RegistryDecryptionError, match="not sealed with key 'k1'"):
        decrypt(token)


def test_a_token_under_a_key_no_longer_configured_names_the_key(key_a: Any) -> None:
    token = encrypt(NAME)
    key_a.REGISTRY_KEYS = {"k2": KEY_B}

    with pytest.raises(RegistryDecryptionError, match="encrypted under key 'k1', which is not configured"):
        decrypt(token)


def test_a_key_of_the_wrong_length_is_a_configuration_error(key_a: Any) -> None:
    key_a.REGISTRY_KEYS = {"k1": KEY_A[:16]}

    with pytest.raises(ImproperlyConfigured, match="must be 32 bytes"):
        encrypt(NAME)


def test_after_a_new_key_becomes_current_old_tokens_still_decrypt(key_a: Any) -> None:
    # given a token under k1, then k2 made current with k1 kept in the ring
    old = encrypt(ID_NUMBER)
    key_a.REGISTRY_KEYS = {"k2": KEY_B, "k1": KEY_A}

    # then the old token still opens and new values are sealed under k2
    assert decrypt(old) == ID_NUMBER
    new = encrypt(ID_NUMBER)
    assert new.startswith("v1.k2.")
    assert decrypt(new) == ID_NUMBER


# --- Blind index ------------------------------------------------------------------------------------


def test_the_blind_index_is_hmac_sm3_of_kind_and_normalised_value(key_a: Any) -> None:
    # then it equals HMAC-SM3 computed independently (Python's hmac over OpenSSL's SM3)
    expected = hmac.new(INDEX_KEY, f"id_number:{ID_NUMBER}".encode(), lambda: hashlib.new("sm3")).hexdigest()

    assert blind_index(ID_NUMBER, kind="id_number") == expected
    assert len(expected) == 64


def test_the_blind_index_is_deterministic_over_spellings_of_one_value(key_a: Any) -> None:
    # lower-case x, full-width digits and stray spaces are the same ID number
    spellings = [ID_NUMBER, ID_NUMBER.lower(), f" {ID_NUMBER} ", "１１０１０５１９４９１２３１００２Ｘ"]

    assert {blind_index(value, kind="id_number") for value in spellings} == {
        blind_index(ID_NUMBER, kind="id_number")
    }


def test_the_blind_index_depends_on_the_key_and_the_kind(key_a: Any) -> None:
    under_a = blind_index(ID_NUMBER, kind="id_number")
    other_kind = blind_index(ID_NUMBER, kind="mobile")
    key_a.REGISTRY_INDEX_KEY = KEY_B
    under_b = blind_index(ID_NUMBER, kind="id_number")

    assert len({under_a, other_kind, under_b}) == 3
    assert ID_NUMBER.lower() not in under_a


@pytest.mark.parametrize("kind", ["", "ID", "id:number", "a" * 33])
def test_a_malformed_kind_is_refused(key_a: Any, kind: str) -> None:
    with pytest.raises(ValueError, match="kind must be"):
        blind_index(ID_NUMBER, kind=kind)


# --- Masking ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mobile", "masked"),
    [("13812345678", "138****5678"), ("+8613812345678", "+86*******5678"), ("1234567", "*******"), ("", "")],
)
def test_mobiles_show_the_first_3_and_last_4(mobile: str, masked: str) -> None:
    assert mask_mobile(mobile) == masked


def test_id_numbers_show_the_first_6_and_last_4() -> None:
    assert mask_id_number(ID_NUMBER) == "110105********002X"


# --- Production refuses the development default -----------------------------------------------------


def test_the_development_default_is_refused_in_production(settings: Any) -> None:
    # given the keys derived from the secret key, in a production environment
    settings.REGISTRY_KEYS_DEVELOPMENT_DEFAULT = True
    settings.ONEWINDOW_ENV = "production"

    # then nothing is encrypted, decrypted or indexed with them
    with pytest.raises(ImproperlyConfigured, match="development default"):
        encrypt(NAME)
    with pytest.raises(ImproperlyConfigured, match="development default"):
        decrypt("v1.dev.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(ImproperlyConfigured, match="development default"):
        blind_index(ID_NUMBER, kind="id_number")


def test_outside_production_the_default_is_derived_from_the_secret_key(settings: Any) -> None:
    settings.REGISTRY_KEYS_DEVELOPMENT_DEFAULT = True
    settings.ONEWINDOW_ENV = "development"
    settings.REGISTRY_KEYS = {"dev": hashlib.sha256(b"x").digest()}

    assert decrypt(encrypt(NAME)) == NAME
    assert encrypt(NAME).startswith("v1.dev.")


def _settings_in_child(tmp_path: Path, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import config/settings.py in a fresh interpreter with only ``variables`` set among the registry's."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ONEWINDOW_REGISTRY_") and key != "DATABASE_URL"
    }
    environment |= {"ONEWINDOW_VAR_DIR": str(tmp_path), "ONEWINDOW_SECRET_KEY": "s" * 50, **variables}
    script = (
        "import json, config.settings as s; print(json.dumps({'ids': list(s.REGISTRY_KEYS), "
        "'default': s.REGISTRY_KEYS_DEVELOPMENT_DEFAULT, 'index_bytes': len(s.REGISTRY_INDEX_KEY)}))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_production_without_registry_keys_does_not_start(tmp_path: Path) -> None:
    completed = _settings_in_child(tmp_path, {"ONEWINDOW_ENV": "production"})

    assert completed.returncode != 0
    assert "ONEWINDOW_REGISTRY_KEY" in completed.stderr
    assert "development default" in completed.stderr


def test_a_key_file_holds_the_key_ring_current_first(tmp_path: Path) -> None:
    # given a key file naming k2 current, k1 listed first, and an index key given as a file too
    key_file = tmp_path / "registry-keys.json"
    key_file.write_text(json.dumps({"current": "k2", "keys": {"k1": _b64(KEY_A), "k2": _b64(KEY_B)}}))
    index_file = tmp_path / "registry-index-key"
    index_file.write_text(_b64(INDEX_KEY))

    completed = _settings_in_child(
        tmp_path,
        {
            "ONEWINDOW_ENV": "production",
            "ONEWINDOW_REGISTRY_KEY_FILE": str(key_file),
            "ONEWINDOW_REGISTRY_INDEX_KEY_FILE": str(index_file),
        },
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {"ids": ["k2", "k1"], "default": False, "index_bytes": 32}


def test_one_key_from_the_environment_takes_its_id_from_key_id(tmp_path: Path) -> None:
    completed = _settings_in_child(
        tmp_path,
        {
            "ONEWINDOW_ENV": "production",
            "ONEWINDOW_REGISTRY_KEY": _b64(KEY_A),
            "ONEWINDOW_REGISTRY_KEY_ID": "2026a",
            "ONEWINDOW_REGISTRY_INDEX_KEY": _b64(INDEX_KEY),
        },
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {"ids": ["2026a"], "default": False, "index_bytes": 32}


@pytest.mark.parametrize(
    ("variables", "error"),
    [
        ({"ONEWINDOW_REGISTRY_KEY": _b64(KEY_A)}, "or neither"),
        (
            {"ONEWINDOW_REGISTRY_KEY": _b64(KEY_A[:16]), "ONEWINDOW_REGISTRY_INDEX_KEY": _b64(INDEX_KEY)},
            "exactly 32",
        ),
        (
            {"ONEWINDOW_REGISTRY_KEY": "not base64!", "ONEWINDOW_REGISTRY_INDEX_KEY": _b64(INDEX_KEY)},
            "base64",
        ),
        (
            {"ONEWINDOW_REGISTRY_KEY": '{"current": "k9", "keys": {"k1": "' + _b64(KEY_A) + '"}}'},
            "or neither",
        ),
        (
            {
                "ONEWINDOW_REGISTRY_KEY": '{"current": "k9", "keys": {"k1": "' + _b64(KEY_A) + '"}}',
                "ONEWINDOW_REGISTRY_INDEX_KEY": _b64(INDEX_KEY),
            },
            "no such key",
        ),
        (
            {
                "ONEWINDOW_REGISTRY_KEY": _b64(KEY_A),
                "ONEWINDOW_REGISTRY_KEY_ID": "k.1",
                "ONEWINDOW_REGISTRY_INDEX_KEY": _b64(INDEX_KEY),
            },
            "key ids are",
        ),
    ],
)
def test_a_bad_key_configuration_stops_start_up(
    tmp_path: Path, variables: dict[str, str], error: str
) -> None:
    completed = _settings_in_child(tmp_path, {"ONEWINDOW_ENV": "development", **variables})

    assert completed.returncode != 0
    assert error in completed.stderr


# --- The field and rotation ------------------------------------------------------------------------


@pytest.fixture
def sealed_model() -> Iterator[type[models.Model]]:
    """A throw-away model with two encrypted columns, its table created for the test and dropped after."""
    with isolate_apps("onewindow.registry"):

        class Sealed(models.Model):
            name = EncryptedTextField(blank=True)
            address = EncryptedTextField(null=True, blank=True)

            class Meta:
                app_label = "registry"

            def __str__(self) -> str:
                return f"Sealed {self.pk}"

        with connection.schema_editor() as editor:
            editor.create_model(Sealed)
        try:
            yield Sealed
        finally:
            with connection.schema_editor() as editor:
                editor.delete_model(Sealed)


def _stored(model: type[models.Model], column: str) -> list[str | None]:
    with connection.cursor() as cursor:
        quote = connection.ops.quote_name
        cursor.execute(f"SELECT {quote(column)} FROM {quote(model._meta.db_table)} ORDER BY {quote('id')}")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_the_column_holds_tokens_and_python_sees_plaintext(key_a: Any, sealed_model: Any) -> None:
    # when rows are saved through the field
    sealed_model.objects.create(name=NAME, address="福建省福州市鼓楼区八一七北路1号")
    sealed_model.objects.create(name="", address=None)

    # then the raw column holds no plaintext ("" and NULL stay as they are) and reads give plaintext back
    stored = _stored(sealed_model, "name")
    assert stored[0] is not None
    assert stored[0].startswith("v1.k1.")
    assert NAME not in stored[0]
    assert stored[1] == ""
    assert _stored(sealed_model, "address")[1] is None
    assert list(sealed_model.objects.order_by("id").values_list("name", "address")) == [
        (NAME, "福建省福州市鼓楼区八一七北路1号"),
        ("", None),
    ]
    assert sealed_model.objects.filter(address__isnull=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_filtering_on_an_encrypted_column_is_refused(key_a: Any, sealed_model: Any) -> None:
    with pytest.raises(FieldError, match=r"Sealed\.name is encrypted and cannot be filtered with 'exact'"):
        sealed_model.objects.filter(name=NAME).count()


@pytest.mark.django_db(transaction=True)
def test_keys_rotate_reencrypts_old_values_under_the_current_key(key_a: Any, sealed_model: Any) -> None:
    # given five rows under k1 (one with an empty name and no address), then k2 made current
    for number in range(5):
        sealed_model.objects.create(
            name=f"{NAME}{number}" if number else "", address=f"地址{number}" if number else None
        )
    key_a.REGISTRY_KEYS = {"k2": KEY_B, "k1": KEY_A}
    sealed_model.objects.create(name="新值", address="新地址")  # already under k2
    audit_before = AuditRecord.objects.count()

    # when the rotation runs in batches of two
    changed = keys_rotate(batch_size=2, models_to_rotate=[sealed_model])

    # then the 8 non-empty old values were re-encrypted, nothing else changed, and it was audited
    assert changed == 8
    tokens = [token for column in ("name", "address") for token in _stored(sealed_model, column) if token]
    assert len(tokens) == 10
    assert all(token.startswith("v1.k2.") for token in tokens)
    assert _stored(sealed_model, "name")[0] == ""
    assert _stored(sealed_model, "address")[0] is None
    assert list(sealed_model.objects.order_by("id").values_list("name", flat=True)) == [
        "",
        *(f"{NAME}{number}" for number in range(1, 5)),
        "新值",
    ]
    record = AuditRecord.objects.order_by("seq").last()
    assert AuditRecord.objects.count() == audit_before + 1
    assert record is not None
    assert (record.action, record.details) == (
        "registry.keys_rotated",
        {"current_key_id": "k2", "reencrypted": 8},
    )

    # and once k1 is removed, everything still reads; a second run has nothing to do
    key_a.REGISTRY_KEYS = {"k2": KEY_B}
    assert sealed_model.objects.filter(address__isnull=False).count() == 5
    assert len(list(sealed_model.objects.values_list("name", "address"))) == 6
    assert keys_rotate(models_to_rotate=[sealed_model]) == 0


@pytest.mark.django_db(transaction=True)
def test_keys_rotate_stops_on_a_value_it_cannot_open(key_a: Any, sealed_model: Any) -> None:
    # given a value under k1 and a configuration that no longer has k1
    sealed_model.objects.create(name=NAME)
    key_a.REGISTRY_KEYS = {"k2": KEY_B}

    # then the rotation refuses to guess and the stored value is left as it was
    before = _stored(sealed_model, "name")
    with pytest.raises(RegistryDecryptionError, match="'k1', which is not configured"):
        keys_rotate(models_to_rotate=[sealed_model])
    assert _stored(sealed_model, "name") == before


@pytest.mark.django_db
def test_the_command_rotates_the_registry_models(key_a: Any) -> None:
    # with no registry model holding old values, the command reports 0 under the current key
    output = io.StringIO()
    call_command("registry_rotate_keys", "--batch-size", "10", stdout=output)

    assert "Re-encrypted 0 values under key k1." in output.getvalue()
    assert AuditRecord.objects.filter(action="registry.keys_rotated").count() == 1
