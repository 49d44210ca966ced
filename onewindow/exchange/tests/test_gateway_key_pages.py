"""The gateway's key pages (docs/exchange.md "Pages"): system administrators list the gateway's keys, issue or
rotate one (``gateway_key_issue``) and revoke one with a reason (``gateway_key_revoke``); every other role is
refused (403, audited) and changes nothing, anonymous visitors are sent to sign in.

GB/T 22239-2019 §8.1.4.2 (access control on management functions), §8.1.4.3 (key issue and revocation
audited).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.test import Client

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.exchange import actions
from onewindow.exchange.models import GatewayKey

pytestmark = pytest.mark.django_db


def _state() -> dict[str, Any]:
    return {
        "keys": list(GatewayKey.objects.order_by("pk").values_list("key_id", "status", "revoke_reason")),
        "audit": list(
            AuditRecord.objects.exclude(action="permission.denied")
            .order_by("seq")
            .values_list("seq", "action")
        ),
    }


def _fingerprint(key: GatewayKey) -> str:
    digest = x509.load_der_x509_certificate(bytes(key.certificate_der)).fingerprint(hashes.SHA256()).hex()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2)).upper()


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_gateway_key_pages_for_each_role(
    role: str, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    first = actions.gateway_key_issue(acting_user=None)
    client = Client() if role == "anonymous" else client_for(role_users[role])
    steps = [
        ("get", "/exchange/gateway-keys/", {}),
        ("get", f"/exchange/gateway-keys/{first.key_id}/revoke/", {}),
        ("post", "/exchange/gateway-keys/issue/", {}),
        ("post", f"/exchange/gateway-keys/{first.key_id}/revoke/", {"reason": "轮换后注销旧网关密钥"}),
    ]
    for method, path, data in steps:
        before = _state()
        denied_before = AuditRecord.objects.filter(action="permission.denied").count()

        response = client.get(path) if method == "get" else client.post(path, data)

        if role == "system_admin":
            assert response.status_code == (200 if method == "get" else 302), (path, response.content[:800])
            continue
        if role == "anonymous":
            assert response.status_code == 302, path
            assert response["Location"].startswith("/accounts/login/")
        else:
            assert response.status_code == 403, (path, role)
            assert AuditRecord.objects.filter(action="permission.denied").count() == denied_before + 1
        assert _state() == before, path
    if role == "system_admin":
        first.refresh_from_db()
        assert (first.status, first.revoke_reason) == ("revoked", "轮换后注销旧网关密钥")
        active = GatewayKey.objects.get(status="active")
        assert active.created_by == role_users["system_admin"]
        issued = AuditRecord.objects.get(action="exchange.gateway_key_issued", object_id=active.key_id)
        assert issued.details["retired"] == [first.key_id]
        assert AuditRecord.objects.filter(
            action="exchange.gateway_key_revoked", object_id=first.key_id
        ).exists()


def test_the_list_shows_each_keys_facts(
    role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    # given a retired key, revoked, and an active one
    old = actions.gateway_key_issue(acting_user=None)
    current = actions.gateway_key_issue(acting_user=None)
    actions.gateway_key_revoke(acting_user=None, key_id=old.key_id, reason="泄露")
    client = client_for(role_users["system_admin"])

    page = client.get("/exchange/gateway-keys/").content.decode()

    # then both are listed with id, algorithm, status in words, certificate fingerprint and their times
    for key in (old, current):
        assert key.key_id in page
        assert _fingerprint(GatewayKey.objects.get(pk=key.pk)) in page
    assert "SM2-SM3" in page
    assert "已注销" in page
    assert "在用" in page
    assert "泄露" in page
    assert page.count("<time") >= 4  # two issued, one retired, one revoked
    # and only the keys still in use can be revoked
    assert f"/exchange/gateway-keys/{current.key_id}/revoke/" in page
    assert f"/exchange/gateway-keys/{old.key_id}/revoke/" not in page


def test_revoking_needs_a_reason_and_happens_once(
    role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    key = actions.gateway_key_issue(acting_user=None)
    client = client_for(role_users["system_admin"])
    path = f"/exchange/gateway-keys/{key.key_id}/revoke/"
    before = _state()

    empty = client.post(path, {"reason": "  "})

    assert empty.status_code == 422
    assert "请填写注销密钥的理由。" in empty.content.decode()
    assert 'aria-describedby="id_reason-error"' in empty.content.decode()
    assert _state() == before

    assert client.post(path, {"reason": "密钥泄露"}).status_code == 302
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "This key is already revoked." in client.get(path).content.decode()
    assert client.post(path, {"reason": "再次注销"}).status_code == 422
    assert GatewayKey.objects.get(pk=key.pk).revoke_reason == "密钥泄露"


def test_an_unknown_key_is_404_for_a_system_administrator(
    role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["system_admin"])
    assert client.get(f"/exchange/gateway-keys/{'0' * 64}/revoke/").status_code == 404
    assert client.get("/exchange/gateway-keys/issue/").status_code == 405


@pytest.mark.parametrize(("role", "linked"), [("system_admin", True), ("department_admin", False)])
def test_linked_from_the_services_and_systems_pages_for_system_administrators(
    role: str, linked: bool, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users[role])
    for path in ("/exchange/services/", "/exchange/systems/"):
        page = client.get(path).content.decode()
        assert ('href="/exchange/gateway-keys/"' in page) is linked, path
