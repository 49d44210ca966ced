"""Master key rotation covers the exchange's subsystem keys too (docs/signatures.md "Master key rotation";
docs/exchange.md "Subsystem keys"): after ``seals_rotate_master_key`` no exchange key is sealed under the
old master key, and with the old key gone a signed exchange call still verifies and its answer is still
signed by the provider (GB/T 39786-2021 §8.3: keys stored encrypted, the key-encryption key rotatable).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError

from onewindow.audit.models import AuditRecord
from onewindow.exchange import keystore
from onewindow.exchange.models import GatewayKey, SubsystemKey
from onewindow.exchange.tests.conftest import (  # noqa: F401 - fixtures used by name
    World,
    _clean_process_state,
    key_signer,
    world,
)

pytestmark = pytest.mark.django_db

MASTER_2 = bytes(range(32, 64))
PURPOSE = "ZW2026000321"


def _tokens() -> list[str]:
    return list(SubsystemKey.objects.order_by("pk").values_list("private_key_token", flat=True))


def test_rotation_reseals_exchange_keys_and_calls_still_verify(
    world: World,  # noqa: F811 - the fixture imported above
    settings: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given the consumer's and the provider's keys sealed under the development master key, a revoked one
    # and a key of the gateway itself
    private_der = keystore.private_key_open(
        world.consumer_key.key_id, world.consumer_key.algorithm, world.consumer_key.private_key_token
    )
    old_id = next(iter(django_settings.SEAL_MASTER_KEYS))
    assert all(token.startswith(f"sm4gcm1.{old_id}.") for token in _tokens())
    extra = SubsystemKey.objects.create(
        system=world.consumer,
        key_id="f" * 64,
        algorithm=world.consumer_key.algorithm,
        public_key_der=world.consumer_key.public_key_der,
        private_key_token=keystore.private_key_seal("f" * 64, world.consumer_key.algorithm, private_der),
        status="revoked",
        created_at=world.consumer_key.created_at,
    )
    gateway = GatewayKey.objects.create(
        key_id="e" * 64,
        algorithm=world.consumer_key.algorithm,
        public_key_der=world.consumer_key.public_key_der,
        private_key_token=keystore.private_key_seal("e" * 64, world.consumer_key.algorithm, private_der),
        certificate_der=b"",
        certificate_serial="1",
        created_at=world.consumer_key.created_at,
    )

    # when a new master key is made current (the old one kept in the ring) and the rotation runs
    settings.SEAL_MASTER_KEYS = {"m2": MASTER_2, old_id: django_settings.SEAL_MASTER_KEYS[old_id]}
    call_command("seals_rotate_master_key", "--batch-size", "2")

    # then every exchange key, the revoked one too, is sealed under the new key, and the pass is audited
    assert all(token.startswith("sm4gcm1.m2.") for token in _tokens())
    gateway.refresh_from_db()
    assert gateway.private_key_token.startswith("sm4gcm1.m2.")
    assert "4 exchange keys re-encrypted" in capsys.readouterr().out
    record = AuditRecord.objects.get(action="exchange.keys_resealed")
    assert record.details == {"current_master_key_id": "m2", "resealed": 4}
    assert extra.key_id not in str(record.details)

    # when the old master key is dropped and nothing is left in the per-process caches
    settings.SEAL_MASTER_KEYS = {"m2": MASTER_2}
    keystore._signers.clear()
    keystore._verifiers.clear()
    consumer_key = SubsystemKey.objects.get(pk=world.consumer_key.pk)

    # then a request signed with the re-sealed consumer key is accepted and the provider signs the answer
    client = world.new_client(signer=key_signer(consumer_key))
    answer = client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE)
    assert answer.status == 200, answer.body
    assert answer.verified
    assert answer.data["名称"] == "福州闽江科技有限公司"

    # and a second run has nothing left to do
    call_command("seals_rotate_master_key")
    assert "0 exchange keys re-encrypted" in capsys.readouterr().out


def test_an_exchange_key_under_an_unknown_master_key_stops_the_rotation(
    world: World,  # noqa: F811 - the fixture imported above
    settings: Any,
) -> None:
    # given everything rotated to a new master key, then one exchange key sealed under a key not in the ring
    old_id = next(iter(django_settings.SEAL_MASTER_KEYS))
    settings.SEAL_MASTER_KEYS = {"m2": MASTER_2, old_id: django_settings.SEAL_MASTER_KEYS[old_id]}
    call_command("seals_rotate_master_key")
    settings.SEAL_MASTER_KEYS = {"gone": bytes(32), "m2": MASTER_2}
    key = SubsystemKey.objects.get(pk=world.consumer_key.pk)
    key.private_key_token = keystore.private_key_seal(key.key_id, key.algorithm, b"x")
    key.save(update_fields=["private_key_token"])
    settings.SEAL_MASTER_KEYS = {"m2": MASTER_2}
    before = _tokens()

    # when the rotation runs, then it stops with the reason and the exchange keys are unchanged
    with pytest.raises(CommandError, match="Rotation stopped"):
        call_command("seals_rotate_master_key")
    assert _tokens() == before
