"""The other built-in providers (person by ID number, licence verification) and external HTTP services with
timeouts, retries with backoff and a circuit breaker (issue #8 item 2), against a local HTTP server thread."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from onewindow.audit.models import AuditRecord
from onewindow.catalog.models import Resource
from onewindow.exchange import actions, protocol
from onewindow.exchange.providers import LICENCE_ITEMS
from onewindow.exchange.tests.conftest import World, system

pytestmark = pytest.mark.django_db

PURPOSE = "ZW2026000123"


def _grant_unconditional(resource: Resource, items: list[str], admin: Any) -> Any:
    from onewindow.catalog.actions_sharing import share_request_create

    return share_request_create(
        acting_user=admin,
        resource=resource,
        consumer_department="TDEPT",
        items=items,
        purpose="核验",
        legal_basis="行政许可法",
        until=timezone.localdate() + dt.timedelta(days=30),
    )


def _open_resource(department: str, name: str, items: list[str]) -> Resource:
    from onewindow.catalog.tests.conftest import create, open_metadata

    resource: Resource = create(
        department,
        **open_metadata(name=name, data_items=[{"name": item, "data_type": "C"} for item in items]),
    )
    return resource


def test_person_basic_by_id_number(world: World, role_users: dict[str, Any]) -> None:
    from onewindow.accounts.roles import Role
    from onewindow.accounts.tests.factories import staff_user
    from onewindow.catalog.actions_sharing import share_request_decide
    from onewindow.registry.tests.test_population_support import MOTHER_ID, register, registrar

    register(registrar())
    psb = system(world.provider.department.__class__.objects.get(code="PSB"), "PSB-POP")
    resource = Resource.objects.get(builtin_key="population")
    service = actions.service_register(
        acting_user=None,
        provider=psb,
        code="person-basic",
        name="人口基础信息查询",
        resource_code=resource.code,
        kind="builtin",
        builtin="person_basic",
    )
    request = _grant_unconditional(resource, ["姓名", "性别"], role_users["department_admin"])
    share_request_decide(
        acting_user=staff_user(Role.DEPARTMENT_ADMIN, department_code="PSB", username="psb_admin"),
        request=request,
        approve=True,
    )
    path = protocol.service_path(psb.department.credit_code, psb.code, service.code)
    answer = world.client.call(path, {"id_number": MOTHER_ID}, purpose=PURPOSE)
    assert answer.status == 200, answer.body
    assert answer.verified
    assert set(answer.data) == {"姓名", "性别"}
    assert answer.data["姓名"] == "林美华"
    audit = AuditRecord.objects.get(action="registry.person_provided")
    assert audit.details["purpose"] == PURPOSE
    assert MOTHER_ID not in json.dumps(audit.details, ensure_ascii=False)
    # Items outside the grant (the birth date) are refused.
    refused = world.client.call(path, {"id_number": MOTHER_ID}, purpose=PURPOSE, items=["出生日期"])
    assert refused.status == 403
    assert refused.code == "items_not_granted"


def test_licence_verification(world: World, role_users: dict[str, Any]) -> None:
    from onewindow.licences.models import Licence

    Licence.objects.create(
        number="L-2026-0001",
        name="食品经营许可证",
        type_code="SPJY",
        issuer_department_code="AMR",
        holder_name="福州闽江科技有限公司",
        holder_code=world.entity_code,
        issued_on=dt.date(2026, 1, 5),
        created_at=timezone.now(),
    )
    resource = _open_resource("AMR", "电子证照核验", list(LICENCE_ITEMS))
    service = actions.service_register(
        acting_user=None,
        provider=world.provider,
        code="licence-verify",
        name="电子证照核验",
        resource_code=resource.code,
        kind="builtin",
        builtin="licence_verify",
    )
    _grant_unconditional(resource, ["证照编号", "证照状态", "证照名称"], role_users["department_admin"])
    path = protocol.service_path(world.provider.department.credit_code, world.provider.code, service.code)
    answer = world.client.call(path, {"number": "L-2026-0001"}, purpose=PURPOSE)
    assert answer.status == 200, answer.body
    assert answer.data == {"证照名称": "食品经营许可证", "证照状态": "valid", "证照编号": "L-2026-0001"}


# --- External HTTP services -------------------------------------------------------------------------------


class _Upstream:
    """A local HTTP server answering scripted statuses (then 200 with data)."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.calls = 0
        self.seen: list[dict[str, Any]] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                upstream.calls += 1
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                upstream.seen.append(body)
                status = upstream.script.pop(0) if upstream.script else 200
                payload = json.dumps(
                    {"data": {"学校名称": "鼓楼一中", "在校生人数": 1200, "秘密": "x"}}
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/lookup"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()


@pytest.fixture
def upstream() -> Iterator[_Upstream]:
    server = _Upstream()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def http_service(world: World, upstream: _Upstream, role_users: dict[str, Any]) -> str:
    from onewindow.catalog.tests.conftest import create, metadata

    resource = create("AMR", **metadata(sharing_type="unconditional", sharing_condition=""))
    service = actions.service_register(
        acting_user=None,
        provider=world.provider,
        code="schools",
        name="学校查询",
        resource_code=resource.code,
        kind="http",
        endpoint_url=upstream.url,
        timeout_seconds=2,
        retries=2,
    )
    _grant_unconditional(resource, ["学校名称", "在校生人数"], role_users["department_admin"])
    return protocol.service_path(world.provider.department.credit_code, world.provider.code, service.code)


@override_settings(EXCHANGE_RETRY_BACKOFF_SECONDS=0.01)
def test_http_service_is_called_and_filtered(world: World, upstream: _Upstream, http_service: str) -> None:
    answer = world.client.call(http_service, {"name": "鼓楼"}, purpose=PURPOSE, items=["学校名称"])
    assert answer.status == 200, answer.body
    assert answer.data == {"学校名称": "鼓楼一中"}  # "秘密" and the other item filtered out
    assert upstream.seen == [{"query": {"name": "鼓楼"}, "items": ["学校名称"]}]


@override_settings(EXCHANGE_RETRY_BACKOFF_SECONDS=0.01)
def test_http_service_retries_passing_failures(world: World, upstream: _Upstream, http_service: str) -> None:
    upstream.script = [503, 502]
    answer = world.client.call(http_service, {"name": "鼓楼"}, purpose=PURPOSE)
    assert answer.status == 200
    assert upstream.calls == 3


@override_settings(
    EXCHANGE_RETRY_BACKOFF_SECONDS=0.01, EXCHANGE_CIRCUIT_FAILURES=2, EXCHANGE_CIRCUIT_COOLDOWN_SECONDS=1
)
def test_circuit_breaker_opens_and_half_opens(
    world: World, upstream: _Upstream, http_service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    upstream.script = [503] * 6  # two calls of three attempts each fail
    for _ in range(2):
        answer = world.client.call(http_service, {"name": "鼓楼"}, purpose=PURPOSE)
        assert answer.status == 503
        assert answer.code == "provider_unavailable"
    assert upstream.calls == 6
    # Open: refused without calling the provider.
    answer = world.client.call(http_service, {"name": "鼓楼"}, purpose=PURPOSE)
    assert answer.code == "provider_unavailable"
    assert upstream.calls == 6
    # After the cool-down one trial call goes through; it succeeds and closes the circuit.
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + 2)
    assert world.client.call(http_service, {"name": "鼓楼"}, purpose=PURPOSE).status == 200
    assert upstream.calls == 7
    assert world.client.call(http_service, {"name": "鼓楼"}, purpose=PURPOSE).status == 200


@override_settings(EXCHANGE_RETRY_BACKOFF_SECONDS=0.01)
def test_unreachable_provider_is_unavailable(world: World, http_service: str, upstream: _Upstream) -> None:
    upstream.server.shutdown()
    upstream.server.server_close()
    answer = world.client.call(http_service, {"name": "鼓楼"}, purpose=PURPOSE)
    assert answer.status == 503
    assert answer.code == "provider_unavailable"
