"""Deactivating and reactivating an exchange service (docs/exchange.md "Pages"): the actions (audited with the
reason, row-locked, the same permission as changing the service), what the gateway and discovery do with an
inactive service, and the page, its buttons and the API endpoints for every role (a refusal changes nothing).

GB/T 22239-2019 §8.1.4.2 (access control on management functions), §8.1.4.3 (management actions audited).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.exchange import actions, protocol
from onewindow.exchange.models import Service
from onewindow.exchange.tests.conftest import World

pytestmark = pytest.mark.django_db

ALLOWED = {"department_admin", "system_admin"}
PURPOSE = "ZW2026000456"


def _call(world: World) -> Any:
    client = world.new_client()
    client.require_signed_response = False  # an unknown service's refusal is unsigned (no provider)
    return client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE)


def _discovered(world: World) -> list[str]:
    credit_code = world.provider.department.credit_code
    response = Client().get(f"/api/v1/exchange/meta/members/{credit_code}/services")
    assert response.status_code == 200
    return [row["service"] for row in response.json()]


@pytest.fixture
def tdept_service(world: World) -> Service:
    """A service of TDEPT's subsystem: TDEPT's administrator (department_admin) may change it."""
    from onewindow.catalog.tests.conftest import create, metadata

    resource = create("TDEPT", **metadata())
    return actions.service_register(
        acting_user=None,
        provider=world.consumer,
        code="school-basic",
        name="学校基本信息查询",
        resource_code=resource.code,
        kind="builtin",
        builtin="entity_basic",
    )


def _service_id(service: Service) -> str:
    return protocol.service_path(service.provider.department.credit_code, service.provider.code, service.code)


def _state() -> dict[str, Any]:
    return {
        "services": list(
            Service.objects.order_by("pk").values_list(
                "pk", "is_active", "deactivated_at", "deactivated_by", "deactivation_reason"
            )
        ),
        "audit": list(
            AuditRecord.objects.exclude(action="permission.denied")
            .order_by("seq")
            .values_list("seq", "action")
        ),
    }


# --- The actions, the gateway and discovery ----------------------------------------------------------------


def test_a_deactivated_service_is_refused_and_undiscoverable_until_reactivated(
    world: World, role_users: dict[str, Any]
) -> None:
    admin = role_users["system_admin"]
    assert _call(world).status == 200
    assert world.service_path in _discovered(world)

    # when the service is deactivated with a reason
    actions.service_deactivate(acting_user=admin, service=world.service, reason="接口升级，暂停服务")

    # then a correctly signed call is refused with the gateway's code for an unknown or inactive service
    refused = _call(world)
    assert (refused.status, refused.code) == (404, "unknown_service"), refused.body
    assert refused.data is None
    # and discovery lists it no more, nor serves its OpenAPI document
    assert world.service_path not in _discovered(world)
    assert Client().get(f"/api/v1/exchange/meta/services/{world.service_path}/openapi").status_code == 404
    # and the deactivation is audited with its reason
    record = AuditRecord.objects.get(action="exchange.service_deactivated")
    assert record.actor_username == admin.username
    assert record.details == {"service": world.service_path, "reason": "接口升级，暂停服务"}

    # when it is reactivated
    actions.service_reactivate(acting_user=admin, service=world.service)

    # then calls are answered and discovery lists it again
    answer = _call(world)
    assert answer.status == 200
    assert answer.data is not None
    assert world.service_path in _discovered(world)
    assert AuditRecord.objects.get(action="exchange.service_reactivated").details == {
        "service": world.service_path
    }


def test_deactivating_needs_a_reason_and_neither_action_repeats(world: World) -> None:
    before = _state()
    with pytest.raises(RuleViolation) as no_reason:
        actions.service_deactivate(acting_user=None, service=world.service, reason="  ")
    assert no_reason.value.code == "reason_required"
    with pytest.raises(RuleViolation) as active:
        actions.service_reactivate(acting_user=None, service=world.service)
    assert (active.value.code, active.value.status) == ("service_already_active", 409)
    assert _state() == before

    actions.service_deactivate(acting_user=None, service=world.service, reason="停用")
    with pytest.raises(RuleViolation) as inactive:
        actions.service_deactivate(acting_user=None, service=world.service, reason="再次停用")
    assert (inactive.value.code, inactive.value.status) == ("service_already_inactive", 409)
    assert AuditRecord.objects.filter(action="exchange.service_deactivated").count() == 1


def test_changing_a_deactivated_service_does_not_reactivate_it(world: World) -> None:
    actions.service_deactivate(acting_user=None, service=world.service, reason="停用")
    actions.service_register(
        acting_user=None,
        provider=world.provider,
        code=world.service.code,
        name="法人基础信息查询（新）",
        resource_code=world.service.resource_code,
        kind="builtin",
        builtin="entity_basic",
    )
    changed = Service.objects.get(pk=world.service.pk)
    assert (changed.name, changed.is_active) == ("法人基础信息查询（新）", False)


def test_another_departments_administrator_may_not_deactivate(
    world: World, role_users: dict[str, Any]
) -> None:
    from django.core.exceptions import PermissionDenied

    before = _state()
    with pytest.raises(PermissionDenied):  # AMR's service; the administrator is TDEPT's
        actions.service_deactivate(
            acting_user=role_users["department_admin"], service=world.service, reason="不应成功"
        )
    assert _state() == before
    assert AuditRecord.objects.filter(action="permission.denied").exists()


# --- The pages ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_deactivate_and_reactivate_pages_for_each_role(
    role: str,
    world: World,
    tdept_service: Service,
    role_users: dict[str, Any],
    client_for: Callable[[object], Client],
) -> None:
    client = Client() if role == "anonymous" else client_for(role_users[role])
    page = f"/exchange/services/{_service_id(tdept_service)}/"
    steps = [
        ("get", f"{page}deactivate/", {}),
        ("post", f"{page}deactivate/", {"reason": "系统迁移，暂停服务"}),
        ("post", f"{page}reactivate/", {}),
    ]
    for method, path, data in steps:
        before = _state()
        denied_before = AuditRecord.objects.filter(action="permission.denied").count()

        response = client.get(path) if method == "get" else client.post(path, data)

        if role in ALLOWED:
            assert response.status_code == (200 if method == "get" else 302), (path, response.content[:800])
            if method == "post":
                assert response["Location"] == page
            continue
        if role == "anonymous":
            assert response.status_code == 302, path
            assert response["Location"].startswith("/accounts/login/")
        else:
            assert response.status_code == 403, (path, role)
            assert AuditRecord.objects.filter(action="permission.denied").count() == denied_before + 1
        assert _state() == before, path
    if role in ALLOWED:
        assert Service.objects.get(pk=tdept_service.pk).is_active is True
        done = list(
            AuditRecord.objects.filter(action__startswith="exchange.service_").values_list(
                "action", flat=True
            )
        )
        assert done[-2:] == ["exchange.service_deactivated", "exchange.service_reactivated"]


def test_the_service_page_offers_the_right_button_and_marks_an_inactive_service(
    world: World, tdept_service: Service, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["department_admin"])
    page = f"/exchange/services/{_service_id(tdept_service)}/"

    active = client.get(page).content.decode()
    assert f'href="{page}deactivate/"' in active
    assert "reactivate/" not in active

    # the confirmation asks for a reason: without one nothing changes and the error is linked to the field
    empty = client.post(f"{page}deactivate/", {"reason": " "})
    assert empty.status_code == 422
    assert "请填写停用服务的理由。" in empty.content.decode()
    assert 'aria-describedby="id_reason-error"' in empty.content.decode()
    assert Service.objects.get(pk=tdept_service.pk).is_active is True

    assert client.post(f"{page}deactivate/", {"reason": "停用"}).status_code == 302
    inactive = client.get(page).content.decode()
    assert f'action="{page}reactivate/"' in inactive
    assert "csrfmiddlewaretoken" in inactive
    assert "该服务已停用" in inactive
    # the list still shows it, marked inactive (in words, not only by colour)
    listing = client.get("/exchange/services/").content.decode()
    assert _service_id(tdept_service) in listing
    assert "停用</strong>" in listing

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "This service is deactivated" in client.get(page).content.decode()
    # reactivating an active service again says so instead of failing
    assert client.post(f"{page}reactivate/").status_code == 302
    again = client.post(f"{page}reactivate/", follow=True).content.decode()
    assert "This service is already active." in again


def test_changes_are_csrf_protected_posts(
    world: World, tdept_service: Service, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["system_admin"])
    page = f"/exchange/services/{_service_id(tdept_service)}/"
    assert client.get(f"{page}reactivate/").status_code == 405
    client.handler.enforce_csrf_checks = True  # a form posted from elsewhere, without the page's token
    assert client.post(f"{page}deactivate/", {"reason": "x"}).status_code == 403
    assert client.post(f"{page}reactivate/").status_code == 403
    assert Service.objects.get(pk=tdept_service.pk).is_active is True


# --- The API -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_deactivate_and_reactivate_endpoints_for_each_role(
    role: str,
    world: World,
    tdept_service: Service,
    role_users: dict[str, Any],
    api_token_for: Callable[[object], str],
) -> None:
    client = (
        Client()
        if role == "anonymous"
        else Client(headers={"authorization": f"Bearer {api_token_for(role_users[role])}"})
    )
    base = f"/api/v1/exchange/services/{_service_id(tdept_service)}"
    before = _state()

    off = client.post(f"{base}/deactivate", {"reason": "系统迁移"}, content_type="application/json")

    if role in ALLOWED:
        assert off.status_code == 200, off.content
        body = off.json()
        assert body.pop("deactivated_at")
        assert body == {
            "service": _service_id(tdept_service),
            "code": "school-basic",
            "name": "学校基本信息查询",
            "is_active": False,
            "deactivated_by": role_users[role].username,
            "deactivation_reason": "系统迁移",
        }
        again = client.post(f"{base}/deactivate", {"reason": "再次"}, content_type="application/json")
        assert (again.status_code, again.json()["code"]) == (409, "service_already_inactive")
        on = client.post(f"{base}/reactivate")
        assert (on.status_code, on.json()["is_active"]) == (200, True)
        assert (
            on.json()["deactivated_at"],
            on.json()["deactivated_by"],
            on.json()["deactivation_reason"],
        ) == (
            None,
            None,
            "",
        )
        return
    assert off.status_code == (401 if role == "anonymous" else 403), off.content
    assert off.json()["message_zh"]
    assert off.json()["message_en"]
    on = client.post(f"{base}/reactivate")
    assert on.status_code == (401 if role == "anonymous" else 403)
    assert _state() == before


def test_the_api_needs_a_reason(
    world: World, tdept_service: Service, role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    client = Client(headers={"authorization": f"Bearer {api_token_for(role_users['system_admin'])}"})
    base = f"/api/v1/exchange/services/{_service_id(tdept_service)}"
    response = client.post(f"{base}/deactivate", {"reason": ""}, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (422, "reason_required")
    assert Service.objects.get(pk=tdept_service.pk).is_active is True


# --- Why a service was deactivated (stored on the service, cleared on reactivation) -------------------------


def test_the_reason_who_and_when_are_stored_and_cleared_on_reactivation(
    world: World, role_users: dict[str, Any]
) -> None:
    admin = role_users["system_admin"]
    actions.service_deactivate(acting_user=admin, service=world.service, reason="  接口升级，暂停服务 ")

    stored = Service.objects.get(pk=world.service.pk)
    assert (stored.is_active, stored.deactivated_by, stored.deactivation_reason) == (
        False,
        admin,
        "接口升级，暂停服务",
    )
    assert stored.deactivated_at is not None

    actions.service_reactivate(acting_user=admin, service=world.service)
    cleared = Service.objects.get(pk=world.service.pk)
    assert (
        cleared.is_active,
        cleared.deactivated_at,
        cleared.deactivated_by,
        cleared.deactivation_reason,
    ) == (
        True,
        None,
        None,
        "",
    )
    # the audit trail keeps the reason
    assert (
        AuditRecord.objects.get(action="exchange.service_deactivated").details["reason"]
        == "接口升级，暂停服务"
    )


def test_a_too_long_reason_is_refused(world: World) -> None:
    before = _state()
    with pytest.raises(RuleViolation) as refused:
        actions.service_deactivate(acting_user=None, service=world.service, reason="理" * 1001)
    assert (refused.value.code, refused.value.field) == ("reason_too_long", "reason")
    assert _state() == before


def test_the_service_page_and_the_list_say_why_who_and_when(
    world: World, tdept_service: Service, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    admin = role_users["department_admin"]
    admin.display_name = "部门管理员甲"
    admin.save(update_fields=["display_name"])
    actions.service_deactivate(acting_user=admin, service=tdept_service, reason="系统迁移 <b>暂停</b>")
    client = client_for(admin)
    page = f"/exchange/services/{_service_id(tdept_service)}/"

    shown = client.get(page).content.decode()
    assert "由 部门管理员甲 停用。" in shown
    assert "理由：" in shown
    assert "系统迁移 &lt;b&gt;暂停&lt;/b&gt;" in shown  # escaped, never markup
    assert 'aria-describedby="ow-deactivation"' in shown
    assert 'id="ow-deactivation"' in shown

    listing = client.get("/exchange/services/").content.decode()
    # the "inactive" tag is described by a visible sentence (and a tooltip): not colour alone
    assert 'aria-describedby="ow-deactivation-' in listing
    assert "停用</strong>" in listing
    assert listing.count("系统迁移 &lt;b&gt;暂停&lt;/b&gt;") == 2  # the sentence and the tooltip
    assert "<b>" not in listing

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(page).content.decode()
    assert "Deactivated on " in english
    assert "by 部门管理员甲." in english
    assert "Reason:" in english


def test_a_system_deactivation_is_attributed_to_the_system(
    world: World, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    actions.service_deactivate(acting_user=None, service=world.service, reason="夜间维护")
    client = client_for(role_users["system_admin"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    shown = client.get(f"/exchange/services/{world.service_path}/").content.decode()
    assert "by the system." in shown
    assert "夜间维护" in shown
