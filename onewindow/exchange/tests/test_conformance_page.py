"""The "run the conformance check" button on the catalog's information-system page (docs/exchange.md,
"Conformance check"): system administrators run the same action as ``POST
/api/v1/catalog/systems/{id}/conformance/run`` against the reference adapter on a real local port; the result
is recorded and the page shows each check, pass or fail, with its reason in Chinese and English. Every other
role is refused and nothing changes; an unreachable endpoint or none at all gives a clear message, not a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.catalog.models import InformationSystem
from onewindow.exchange.tests.support_adapter import AdapterWorld, adapter_world

pytestmark = pytest.mark.django_db

__all__ = ["adapter_world"]

CHECKS = [
    "openapi",
    "health",
    "signed_request",
    "unsigned",
    "wrong_key",
    "altered_body",
    "replayed_nonce",
    "stale_timestamp",
    "malformed_body",
]


def _registered(adapter_world: AdapterWorld, endpoint: str | None = None) -> InformationSystem:
    system = adapter_world.system
    InformationSystem.objects.filter(pk=system.pk).update(
        endpoint=adapter_world.base if endpoint is None else endpoint
    )
    system.refresh_from_db()
    return system


def _state(system: InformationSystem) -> dict[str, Any]:
    row = InformationSystem.objects.get(pk=system.pk)
    return {
        "conformance": (
            row.conformance_passed,
            row.conformance_checked_at,
            row.conformance_endpoint,
            row.conformance_report,
        ),
        "audit": list(
            AuditRecord.objects.exclude(action="permission.denied")
            .order_by("seq")
            .values_list("seq", "action")
        ),
    }


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_run_the_check_from_the_system_page_for_each_role(
    adapter_world: AdapterWorld, role_users: dict[str, Any], client_for: Callable[[object], Client], role: str
) -> None:
    system = _registered(adapter_world)
    client = Client() if role == "anonymous" else client_for(role_users[role])
    before = _state(system)
    denied_before = AuditRecord.objects.filter(action="permission.denied").count()

    response = client.post(f"/catalog/systems/{system.pk}/conformance/")

    if role == "system_admin":
        assert response.status_code == 302, response.content[:800]
        assert response["Location"] == f"/catalog/systems/{system.pk}/"
        recorded = InformationSystem.objects.get(pk=system.pk)
        assert recorded.conformance_passed is True
        assert recorded.conformance_endpoint == adapter_world.base
        assert [check["name"] for check in recorded.conformance_report["checks"]] == CHECKS
        record = AuditRecord.objects.filter(action="catalog.system_conformance_recorded").latest("seq")
        assert record.actor_username == role_users["system_admin"].username
        return
    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == 403, (role, response.content[:400])
        assert AuditRecord.objects.filter(action="permission.denied").count() == denied_before + 1
    assert _state(system) == before


def test_the_page_shows_each_check_with_its_reason_in_both_languages(
    adapter_world: AdapterWorld, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    system = _registered(adapter_world)
    client = client_for(role_users["system_admin"])

    before = client.get(f"/catalog/systems/{system.pk}/").content.decode()
    assert f'action="/catalog/systems/{system.pk}/conformance/"' in before
    assert "运行符合性检测" in before

    page = client.post(f"/catalog/systems/{system.pk}/conformance/", follow=True).content.decode()

    report = InformationSystem.objects.get(pk=system.pk).conformance_report
    assert "符合性检测通过" in page  # the success message
    for check in report["checks"]:
        assert f"<code>{check['name']}</code>" in page
        assert check["reason_zh"] in page
        assert check["reason_en"] in page
    assert page.count("通过</strong>") >= len(CHECKS)  # pass/fail in words, not only by colour

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(f"/catalog/systems/{system.pk}/").content.decode()
    assert "Pass</strong>" in english
    assert report["checks"][0]["reason_en"] in english


def test_a_broken_adapter_shows_the_failed_check(
    adapter_world: AdapterWorld, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    class _AcceptsReplays:
        def use(self, client: str, nonce: str, expires_at: float) -> bool:
            return True

    system = _registered(adapter_world)
    adapter_world.server.app = adapter_world.make_adapter(nonce_store=_AcceptsReplays())
    client = client_for(role_users["system_admin"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = client.post(f"/catalog/systems/{system.pk}/conformance/", follow=True).content.decode()

    assert "Conformance check failed: 1 of 9 checks failed." in page
    assert "Fail</strong>" in page
    assert "expected 409 replayed_nonce" in page
    assert InformationSystem.objects.get(pk=system.pk).conformance_passed is False


def test_an_unreachable_endpoint_gives_a_clear_message(
    adapter_world: AdapterWorld, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    system = _registered(adapter_world)
    adapter_world.server.stop()  # nothing listens on the port any more
    client = client_for(role_users["system_admin"])

    response = client.post(f"/catalog/systems/{system.pk}/conformance/", follow=True)

    page = response.content.decode()
    assert response.status_code == 200
    assert "无法连接" in page
    assert adapter_world.base in page
    recorded = InformationSystem.objects.get(pk=system.pk)
    assert recorded.conformance_passed is False
    assert recorded.conformance_report["reached"] is False
    assert [check["name"] for check in recorded.conformance_report["checks"]] == CHECKS


def test_a_malformed_endpoint_is_not_a_server_error(
    adapter_world: AdapterWorld, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    system = _registered(adapter_world, endpoint="ftp://example.invalid/exchange")
    client = client_for(role_users["system_admin"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.post(f"/catalog/systems/{system.pk}/conformance/", follow=True)

    assert response.status_code == 200
    assert "could not be reached" in response.content.decode()


def test_a_system_without_an_endpoint_is_told_so(
    adapter_world: AdapterWorld, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    system = _registered(adapter_world, endpoint="")
    client = client_for(role_users["system_admin"])
    before = _state(system)

    response = client.post(f"/catalog/systems/{system.pk}/conformance/")

    assert response.status_code == 422
    assert "系统尚未登记共享交换接口地址。" in response.content.decode()
    assert _state(system) == before


@pytest.mark.parametrize("role", ["department_admin", "auditor"])
def test_only_system_administrators_see_the_button(
    adapter_world: AdapterWorld, role_users: dict[str, Any], client_for: Callable[[object], Client], role: str
) -> None:
    system = _registered(adapter_world)
    response = client_for(role_users[role]).get(f"/catalog/systems/{system.pk}/")
    if response.status_code == 200:
        assert "/conformance/" not in response.content.decode()
    assert (
        client_for(role_users["system_admin"]).get(f"/catalog/systems/{system.pk}/conformance/").status_code
        == 405
    )
