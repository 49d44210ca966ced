"""Webhook secrets encrypted at rest and the guard on webhook addresses (docs/pubsub.md "Webhooks").

GB/T 22239-2019 §8.1.4.8 (confidentiality of important data in storage: the secrets that sign the
deliveries) and OWASP SSRF prevention (a subscriber must not make the platform call its own network).
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from django.apps import apps
from django.test import override_settings

from onewindow.core.errors import FieldErrors
from onewindow.organisations.models import Department
from onewindow.pubsub.actions import subscription_create, subscription_secret_rotate
from onewindow.pubsub.backends.database import DatabaseBackend
from onewindow.pubsub.models import Delivery, Subscription
from onewindow.pubsub.protection import SecretDecryptionError, secret_open
from onewindow.pubsub.tests.conftest import Receiver, dispatch_until_idle, entity_event

pytestmark = pytest.mark.django_db


def _push(code: str, url: str) -> tuple[Subscription, str]:
    return subscription_create(
        acting_user=None,
        department_code="TAX",
        code=code,
        name=code,
        topics=["entity.*"],
        mode="push",
        webhook_url=url,
        max_attempts=1,
    )


def test_the_secret_is_stored_encrypted_and_bound_to_its_subscription(
    departments: dict[str, Department],
) -> None:
    # Given a push subscription: the secret is shown once
    subscription, secret = _push("tax-hook", "https://hooks.tax.example/in")
    stored = Subscription.objects.get(pk=subscription.pk).secret
    # Then the database holds it sealed, never in plaintext, and only this subscription opens it
    assert stored.startswith("enc1:")
    assert secret not in stored
    assert secret_open(stored, subscription_code="tax-hook") == secret
    with pytest.raises(SecretDecryptionError):
        secret_open(stored, subscription_code="qi-hook")
    # And a rotated secret is sealed too
    rotated = subscription_secret_rotate(acting_user=None, subscription=subscription)
    stored = Subscription.objects.get(pk=subscription.pk).secret
    assert rotated not in stored
    assert secret_open(stored, subscription_code="tax-hook") == rotated


def test_the_migration_seals_secrets_stored_in_plaintext(departments: dict[str, Department]) -> None:
    import importlib

    migration = importlib.import_module("onewindow.pubsub.migrations.0003_webhook_secret_sealed")
    subscription, _ = _push("tax-hook", "https://hooks.tax.example/in")
    Subscription.objects.filter(pk=subscription.pk).update(secret="ab" * 32)
    migration.secrets_seal(apps, None)
    stored = Subscription.objects.get(pk=subscription.pk).secret
    assert stored.startswith("enc1:")
    assert secret_open(stored, subscription_code="tax-hook") == "ab" * 32


@override_settings(PUBSUB_ALLOW_PRIVATE_WEBHOOKS=False)
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.20.30.40/hook",
        "http://192.168.1.5/hook",
        "http://172.16.0.9/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/hook",
        "http://[::1]/hook",
        "http://[fd00::5]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_a_webhook_on_an_internal_address_is_refused(departments: dict[str, Department], url: str) -> None:
    with pytest.raises(FieldErrors) as refused:
        _push("tax-hook", url)
    (error,) = refused.value.errors
    assert (error.field, error.code) == ("webhook_url", "webhook_url_not_public")
    assert "公网" in error.message_zh
    assert "public address" in error.message_en
    assert not Subscription.objects.exists()


@override_settings(PUBSUB_ALLOW_PRIVATE_WEBHOOKS=False)
def test_a_name_is_refused_when_it_resolves_to_an_internal_address(
    departments: dict[str, Department], monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = {"hooks.tax.example": "10.0.0.5", "hooks.qi.example": "8.8.8.8"}

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(FieldErrors):
        _push("tax-hook", "https://hooks.tax.example/in")
    subscription, _ = _push("qi-hook", "https://hooks.qi.example/in")
    assert subscription.webhook_url == "https://hooks.qi.example/in"


@override_settings(PUBSUB_ALLOW_PRIVATE_WEBHOOKS=False)
def test_a_public_address_is_accepted(departments: dict[str, Department]) -> None:
    subscription, _ = _push("tax-hook", "https://8.8.8.8/in")
    assert subscription.webhook_url == "https://8.8.8.8/in"


def test_every_connection_is_checked_again(departments: dict[str, Department], receiver: Receiver) -> None:
    # Given a subscription made while internal addresses were allowed (the receiver is on 127.0.0.1)
    _push("tax-hook", receiver.url)
    entity_event()
    # When the guard is on at delivery time
    with override_settings(PUBSUB_ALLOW_PRIVATE_WEBHOOKS=False):
        dispatch_until_idle(DatabaseBackend())
    # Then nothing was sent; the attempt failed (its only one: a dead letter with the reason)
    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("dead", "WebhookAddressRefusedError")
