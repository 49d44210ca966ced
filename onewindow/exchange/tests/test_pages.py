"""The exchange's admin pages and the statistics endpoint (issue #8 item 9: monitoring per service; pages for
services and keys): every page and endpoint for every role, a refusal changes nothing.

Department administrators (their departments' services and subsystems) and system administrators may use
them; everyone else is refused (403, audited ``permission.denied``), anonymous visitors are sent to sign in
(pages) or get 401 (API). GB/T 22239-2019 §8.1.4.2 (access control on management functions), §8.1.4.3
(key issue and revocation audited), §8.1.5.4 c (the running state is monitored centrally).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.catalog.models import InformationSystem
from onewindow.exchange import actions, protocol, selectors_admin
from onewindow.exchange.models import Service, SubsystemKey
from onewindow.exchange.tests.conftest import World, system
from onewindow.messagelog.actions import message_log_append

pytestmark = pytest.mark.django_db

ALLOWED = {"department_admin", "system_admin"}
PURPOSE = "ZW2026000777"


@dataclass
class Admin:
    world: World
    tdept_service: Service
    tdept_service_id: str
    resource_code: str


def log_call(
    service_id: str,
    *,
    consumer: InformationSystem,
    provider: InformationSystem,
    duration_ms: float,
    minutes_ago: float,
    error_code: str = "",
    status: int = 200,
    consumer_id: str = "",
) -> None:
    """One message log record, as the gateway writes it (metadata only matters here)."""
    started = timezone.now() - dt.timedelta(minutes=minutes_ago)
    message_log_append(
        exchange_id=f"x{timezone.now().timestamp()}{duration_ms}{minutes_ago}"[:64],
        service=service_id,
        consumer=consumer_id or protocol.subsystem_path(consumer.department.credit_code, consumer.code),
        provider=protocol.subsystem_path(provider.department.credit_code, provider.code),
        purpose=PURPOSE,
        request_digest="0" * 64,
        response_digest="0" * 64,
        request_signature="sig",
        response_signature="sig",
        status=status,
        error_code=error_code,
        started_at=started,
        duration_ms=duration_ms,
        request_body=b'{"query": {"id_number": "11010519491231002X"}}',
        response_body=b"{}",
        consumer_subsystem_code=consumer.code,
        provider_subsystem_code=provider.code,
    )


@pytest.fixture
def admin(world: World) -> Admin:
    """The world (TDEPT-CASES consumes AMR-REG's entity-basic) plus a service TDEPT-CASES provides."""
    from onewindow.catalog.tests.conftest import create, metadata

    resource = create("TDEPT", **metadata())
    service = actions.service_register(
        acting_user=None,
        provider=world.consumer,
        code="school-basic",
        name="学校基本信息查询",
        resource_code=resource.code,
        kind="builtin",
        builtin="entity_basic",
    )
    service_id = protocol.service_path(
        world.consumer.department.credit_code, world.consumer.code, service.code
    )
    return Admin(world=world, tdept_service=service, tdept_service_id=service_id, resource_code=resource.code)


def _state() -> dict[str, Any]:
    return {
        "services": list(Service.objects.order_by("pk").values_list("pk", "code", "name", "endpoint_url")),
        "keys": list(SubsystemKey.objects.order_by("pk").values_list("key_id", "status", "revoke_reason")),
        "audit": list(
            AuditRecord.objects.exclude(action="permission.denied")
            .order_by("seq")
            .values_list("seq", "action")
        ),
    }


def _pages(admin: Admin) -> list[tuple[str, str, dict[str, str]]]:
    """(method, path, data), reading pages first and changing things last (in an order that works)."""
    world = admin.world
    tdept = world.consumer
    detail = f"/exchange/services/{admin.tdept_service_id}/"
    return [
        ("get", "/exchange/services/", {}),
        ("get", detail, {}),
        ("get", f"/exchange/services/{world.service_path}/", {}),
        ("get", "/exchange/services/new/", {}),
        ("get", f"{detail}edit/", {}),
        ("get", "/exchange/systems/", {}),
        ("get", f"/exchange/systems/{tdept.code}/keys/", {}),
        ("get", f"/exchange/keys/{world.consumer_key.key_id}/revoke/", {}),
        (
            "post",
            "/exchange/services/new/",
            {
                "provider": tdept.code,
                "code": "school-count",
                "name": "在校生人数查询",
                "name_en": "Pupils",
                "resource_code": admin.resource_code,
                "kind": "http",
                "builtin": "",
                "endpoint_url": "https://school.example/exchange",
                "timeout_seconds": "3",
                "retries": "1",
            },
        ),
        (
            "post",
            f"{detail}edit/",
            {
                "name": "学校信息查询",
                "name_en": "Schools",
                "resource_code": admin.resource_code,
                "kind": "builtin",
                "builtin": "entity_basic",
                "endpoint_url": "",
                "timeout_seconds": "5",
                "retries": "2",
            },
        ),
        ("post", f"/exchange/systems/{tdept.code}/keys/issue/", {"algorithm": "Ed25519"}),
        ("post", f"/exchange/keys/{world.consumer_key.key_id}/revoke/", {"reason": "轮换后注销旧密钥"}),
    ]


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_each_page_for_each_role(
    role: str, admin: Admin, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = Client() if role == "anonymous" else client_for(role_users[role])
    for method, path, data in _pages(admin):
        before = _state()
        denied_before = AuditRecord.objects.filter(action="permission.denied").count()

        response = client.get(path) if method == "get" else client.post(path, data)

        if role in ALLOWED:
            expected = 200 if method == "get" else 302
            assert response.status_code == expected, (path, role, response.content[:2000])
            continue
        if role == "anonymous":
            assert response.status_code == 302, path
            assert response["Location"].startswith("/accounts/login/")
        else:
            assert response.status_code == 403, (path, role)
            assert AuditRecord.objects.filter(action="permission.denied").count() == denied_before + 1
        assert _state() == before, path
    if role in ALLOWED:
        # every change went through the audited actions
        assert Service.objects.get(code="school-count").endpoint_url == "https://school.example/exchange"
        assert Service.objects.get(code="school-basic").name == "学校信息查询"
        admin.world.consumer_key.refresh_from_db()
        assert admin.world.consumer_key.status == "revoked"
        assert admin.world.consumer_key.revoke_reason == "轮换后注销旧密钥"
        assert SubsystemKey.objects.filter(system=admin.world.consumer, status="active").get().algorithm == (
            "Ed25519"
        )
        actions_done = set(AuditRecord.objects.values_list("action", flat=True))
        assert {
            "exchange.service_registered",
            "exchange.service_changed",
            "exchange.key_issued",
            "exchange.key_revoked",
        } <= actions_done


def test_a_department_administrator_cannot_change_another_departments_service(
    admin: Admin, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    # given TDEPT's administrator and AMR's service (which TDEPT's subsystem calls)
    client = client_for(role_users["department_admin"])
    before = _state()

    # when they open its change page, post a change, or open the AMR subsystem's keys
    edit = client.get(f"/exchange/services/{admin.world.service_path}/edit/")
    post = client.post(
        f"/exchange/services/{admin.world.service_path}/edit/",
        {"name": "x", "resource_code": admin.resource_code, "kind": "builtin", "builtin": "entity_basic"},
        follow=False,
    )
    keys = client.get(f"/exchange/systems/{admin.world.provider.code}/keys/")
    revoke = client.post(f"/exchange/keys/{admin.world.provider_key.key_id}/revoke/", {"reason": "不应成功"})
    registered = client.post(
        "/exchange/services/new/",
        {
            "provider": admin.world.provider.code,
            "code": "sneaky",
            "name": "x",
            "resource_code": admin.resource_code,
            "kind": "builtin",
            "builtin": "entity_basic",
            "timeout_seconds": "5",
            "retries": "2",
        },
    )

    # then each is refused and nothing changed
    assert [edit.status_code, post.status_code, keys.status_code, revoke.status_code] == [403] * 4
    assert registered.status_code == 422  # AMR-REG is not among the subsystems they may choose
    assert _state() == before


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_stats_endpoint_for_each_role(
    role: str, admin: Admin, role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    log_call(
        admin.tdept_service_id,
        consumer=admin.world.provider,
        provider=admin.world.consumer,
        duration_ms=12.5,
        minutes_ago=5,
    )
    client = (
        Client()
        if role == "anonymous"
        else Client(headers={"authorization": f"Bearer {api_token_for(role_users[role])}"})
    )
    before = _state()

    response = client.get(f"/api/v1/exchange/services/{admin.tdept_service_id}/stats")

    if role == "anonymous":
        assert response.status_code == 401
    elif role not in ALLOWED:
        assert response.status_code == 403
        assert response.json()["code"]
        assert response.json()["message_zh"]
        assert response.json()["message_en"]
    else:
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["service"] == admin.tdept_service_id
        assert body["all_calls"] is True
        assert body["windows"]["hour"]["calls"] == 1
        assert body["windows"]["day"]["p95_ms"] == 12.5
    assert _state() == before


def test_an_unknown_service_has_no_stats(
    admin: Admin, role_users: dict[str, Any], api_token_for: Any
) -> None:
    client = Client(headers={"authorization": f"Bearer {api_token_for(role_users['system_admin'])}"})
    response = client.get("/api/v1/exchange/services/CN/GOV/000000000000000000/NOPE/none/stats")
    assert response.status_code == 404
    assert Client().get("/exchange/services/CN/GOV/000000000000000000/NOPE/none/").status_code == 302


# --- The figures ----------------------------------------------------------------------------------------


def _calls(admin: Admin) -> None:
    """TDEPT's service: 10 calls from AMR-REG in the last hour (1..10 ms, two refused), 10 earlier today
    (101..110 ms, one failed at the provider) and one two days ago (not counted). AMR's service: 2 calls
    from TDEPT-CASES and 3 from a third department's subsystem, all in the last hour."""
    world = admin.world
    for n in range(1, 11):
        code = "no_grant" if n in (3, 7) else ""
        log_call(
            admin.tdept_service_id,
            consumer=world.provider,
            provider=world.consumer,
            duration_ms=float(n),
            minutes_ago=n,
            error_code=code,
            status=403 if code else 200,
        )
    for n in range(1, 11):
        code = "provider_unavailable" if n == 4 else ""
        log_call(
            admin.tdept_service_id,
            consumer=world.provider,
            provider=world.consumer,
            duration_ms=100.0 + n,
            minutes_ago=60 * 3 + n,
            error_code=code,
            status=503 if code else 200,
        )
    log_call(
        admin.tdept_service_id,
        consumer=world.provider,
        provider=world.consumer,
        duration_ms=9999,
        minutes_ago=60 * 48,
    )
    from onewindow.organisations.models import Department

    other = system(Department.objects.get(code="PSB"), "PSB-NET")
    for n in range(2):
        log_call(
            world.service_path,
            consumer=world.consumer,
            provider=world.provider,
            duration_ms=20,
            minutes_ago=n,
        )
    for n in range(3):
        log_call(world.service_path, consumer=other, provider=world.provider, duration_ms=30, minutes_ago=n)


def test_a_services_figures_over_the_last_hour_and_day(
    admin: Admin, role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    # given calls in the last hour, earlier today and two days ago
    _calls(admin)
    client = Client(headers={"authorization": f"Bearer {api_token_for(role_users['system_admin'])}"})

    # when the system administrator asks for the service's figures
    body = client.get(f"/api/v1/exchange/services/{admin.tdept_service_id}/stats").json()

    # then the hour has 10 calls, 2 refused, p50 5 ms and p95 10 ms (nearest rank over 1..10 ms)
    hour, day = body["windows"]["hour"], body["windows"]["day"]
    assert (hour["calls"], hour["errors"], hour["errors_by_code"]) == (10, 2, {"no_grant": 2})
    assert (hour["p50_ms"], hour["p95_ms"]) == (5.0, 10.0)
    # and the day 20 calls (the older one is outside), p50 10 ms (rank 10 of 20) and p95 109 ms (rank 19)
    assert (day["calls"], day["errors"]) == (20, 3)
    assert day["errors_by_code"] == {"no_grant": 2, "provider_unavailable": 1}
    assert (day["p50_ms"], day["p95_ms"]) == (10.0, 109.0)
    last = dt.datetime.fromisoformat(day["last_call_at"])
    assert timezone.now() - dt.timedelta(minutes=2) < last < timezone.now()
    assert hour["last_call_at"] == day["last_call_at"]
    # and nothing of the calls themselves is in the answer
    assert PURPOSE not in str(body)
    assert "11010519491231002X" not in str(body)


def test_a_department_administrator_sees_only_their_departments_calls(
    admin: Admin, role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    # given AMR's service called twice by TDEPT's subsystem and three times by PSB's
    _calls(admin)
    tdept_admin = Client(headers={"authorization": f"Bearer {api_token_for(role_users['department_admin'])}"})
    system_admin = Client(headers={"authorization": f"Bearer {api_token_for(role_users['system_admin'])}"})
    path = f"/api/v1/exchange/services/{admin.world.service_path}/stats"

    # when TDEPT's administrator and the system administrator ask for its figures
    mine, everything = tdept_admin.get(path).json(), system_admin.get(path).json()

    # then TDEPT's administrator counts TDEPT's calls only; the system administrator all of them
    assert (mine["all_calls"], mine["windows"]["hour"]["calls"]) == (False, 2)
    assert (everything["all_calls"], everything["windows"]["hour"]["calls"]) == (True, 5)


def test_the_list_page_shows_each_service_in_a_constant_number_of_queries(
    admin: Admin, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    # given the calls above and a TDEPT administrator (provider of one service, consumer of the other)
    _calls(admin)
    client = client_for(role_users["department_admin"])

    # when they open the list
    with CaptureQueriesContext(connection) as few:
        response = client.get("/exchange/services/")

    # then both services are there with their day's figures, AMR's counted for TDEPT's calls only
    page = response.content.decode()
    assert response.status_code == 200
    assert admin.tdept_service_id in page
    assert admin.world.service_path in page
    assert "仅统计本部门子系统的调用" in page
    assert PURPOSE not in page
    assert "11010519491231002X" not in page
    log_queries = [q["sql"] for q in few.captured_queries if "messagelog_messagelogrecord" in q["sql"]]
    assert len(log_queries) == 2
    assert all("payload" not in sql and "purpose" not in sql for sql in log_queries)

    # when more services of TDEPT have calls, the number of queries stays the same
    for code in ("a", "b", "c"):
        more = actions.service_register(
            acting_user=None,
            provider=admin.world.consumer,
            code=f"more-{code}",
            name=code,
            resource_code=admin.resource_code,
            kind="builtin",
            builtin="entity_basic",
        )
        log_call(
            protocol.service_path(
                admin.world.consumer.department.credit_code, admin.world.consumer.code, more.code
            ),
            consumer=admin.world.provider,
            provider=admin.world.consumer,
            duration_ms=1,
            minutes_ago=1,
        )
    with CaptureQueriesContext(connection) as many:
        assert client.get("/exchange/services/").status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_service_page_shows_the_figures_and_errors_by_code(
    admin: Admin, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    _calls(admin)
    client = client_for(role_users["department_admin"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(f"/exchange/services/{admin.tdept_service_id}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "No active grant for this resource." in page  # no_grant's meaning, in the page's language
    assert "provider_unavailable" in page
    assert "109.0&nbsp;ms" in page
    assert PURPOSE not in page


def test_a_real_call_through_the_gateway_is_counted(
    admin: Admin, role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    # given one signed call and one call of a service that does not exist
    world = admin.world
    answer = world.client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE)
    assert answer.status == 200
    client = Client(headers={"authorization": f"Bearer {api_token_for(role_users['system_admin'])}"})

    body = client.get(f"/api/v1/exchange/services/{world.service_path}/stats").json()

    assert body["windows"]["hour"]["calls"] == 1
    assert body["windows"]["hour"]["errors"] == 0
    assert body["windows"]["hour"]["p50_ms"] > 0


def test_the_gateways_own_leg_to_an_http_provider_is_not_counted_again(
    admin: Admin, role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    # given one call of a service and the gateway's two attempts at its HTTP provider, logged by http_provider
    adapter = pytest.importorskip("onewindow.exchange.adapter")
    assert adapter.GATEWAY_IDENTITY == selectors_admin.GATEWAY_CONSUMER
    world = admin.world
    log_call(
        admin.tdept_service_id,
        consumer=world.provider,
        provider=world.consumer,
        duration_ms=40,
        minutes_ago=1,
    )
    for attempt, code in enumerate(["http_503", ""]):
        log_call(
            admin.tdept_service_id,
            consumer=world.provider,
            provider=world.consumer,
            duration_ms=10 + attempt,
            minutes_ago=1,
            error_code=code,
            status=503 if code else 200,
            consumer_id=selectors_admin.GATEWAY_CONSUMER,
        )
    client = Client(headers={"authorization": f"Bearer {api_token_for(role_users['system_admin'])}"})

    hour = client.get(f"/api/v1/exchange/services/{admin.tdept_service_id}/stats").json()["windows"]["hour"]

    # then the service had one call, without error, that took 40 ms
    assert (hour["calls"], hour["errors"], hour["p50_ms"]) == (1, 0, 40.0)


# --- Forms ------------------------------------------------------------------------------------------------


def test_the_service_form_shows_the_actions_refusal_next_to_the_field(
    admin: Admin, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["department_admin"])
    before = _state()
    data = {
        "provider": admin.world.consumer.code,
        "code": "school-http",
        "name": "学校",
        "resource_code": admin.resource_code,
        "kind": "http",
        "endpoint_url": "",
        "timeout_seconds": "5",
        "retries": "2",
    }

    response = client.post("/exchange/services/new/", data)

    page = response.content.decode()
    assert response.status_code == 422
    assert "外部服务须填写 HTTP 地址。" in page
    assert 'aria-describedby="id_endpoint_url-error"' in page
    assert _state() == before

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.post("/exchange/services/new/", {**data, "code": "bad code!"}).content.decode()
    assert "A service code has letters, digits and - _ . only." in english


def test_a_resource_of_another_department_is_refused(
    admin: Admin, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["system_admin"])
    amr_resource = admin.world.service.resource_code
    before = _state()

    response = client.post(
        "/exchange/services/new/",
        {
            "provider": admin.world.consumer.code,  # a TDEPT subsystem
            "code": "borrowed",
            "name": "借用",
            "resource_code": amr_resource,  # AMR's resource
            "kind": "builtin",
            "builtin": "entity_basic",
            "timeout_seconds": "5",
            "retries": "2",
        },
    )

    assert response.status_code == 422
    assert "该资源不属于服务提供子系统所在的部门。" in response.content.decode()
    assert _state() == before


def test_revoking_needs_a_reason_and_a_revoked_key_cannot_be_revoked_again(
    admin: Admin, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["department_admin"])
    key = admin.world.consumer_key
    path = f"/exchange/keys/{key.key_id}/revoke/"
    before = _state()

    empty = client.post(path, {"reason": "   "})

    assert empty.status_code == 422
    assert "请填写注销密钥的理由。" in empty.content.decode()
    assert _state() == before

    assert client.post(path, {"reason": "密钥泄露"}).status_code == 302
    again = client.get(path)
    assert "该密钥已注销。" in again.content.decode()
    repeated = client.post(path, {"reason": "再次注销"})
    assert repeated.status_code == 422
    assert SubsystemKey.objects.get(pk=key.pk).revoke_reason == "密钥泄露"
