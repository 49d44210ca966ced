"""Fixtures of the adapter-protocol tests: an external department (education) whose system registered its
own key from a certificate request, an HTTP service granted to the consumer, and the reference adapter
serving it on a real local port (a wsgiref thread).

The adapter thread never touches the database: it gets the gateway's certificate and the root up front."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from django.test import Client
from django.utils import timezone

from onewindow.catalog.models import InformationSystem
from onewindow.crypto.keys import Algorithm, Signer, Verifier, generate_signer
from onewindow.exchange import actions, adapter, protocol
from onewindow.exchange.adapter import Adapter
from onewindow.exchange.client import ExchangeClient
from onewindow.exchange.http_provider import gateway_verifier
from onewindow.exchange.models import Service, SubsystemKey
from onewindow.exchange.tests.conftest import World, django_transport, lookup, system

SCHOOLS = {
    "鼓楼一中": {"学校名称": "福州市鼓楼第一中学", "在校生人数": 1200, "办学类型": "公办"},
}
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def schools(query: dict[str, Any], items: list[str] | None) -> dict[str, Any] | None:
    name = query.get("name")
    if not isinstance(name, str) or not name:
        raise adapter.BadQuery("请求须包含学校名称（name）。", "The query needs the school's name (name).")
    return SCHOOLS.get(name)


class RunningServer:
    """A WSGI app on 127.0.0.1 on a free port, in a daemon thread; ``app`` can be swapped between requests."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.server = adapter.make_server(self._dispatch, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.app(environ, start_response)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def root_certificate_der() -> bytes:
    from onewindow.seals.actions import authority_certificate, authority_current

    return authority_certificate(authority_current()).public_bytes(Encoding.DER)


def gateway_certificates() -> list[bytes]:
    return [bytes(actions.gateway_key_current().certificate_der)]


def full_lookup(key_id: str) -> Verifier | None:
    """Subsystem keys (built-in providers) and the gateway's keys (HTTP services), as discovery offers."""
    return lookup(key_id) or gateway_verifier(key_id)


@dataclass
class AdapterWorld:
    world: World
    system: InformationSystem
    signer: Signer  # the department's own key: the platform never sees its private part
    key: SubsystemKey
    service: Service
    service_path: str
    server: RunningServer
    adapter: Adapter
    client: ExchangeClient
    resource_code: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.server.url

    def make_adapter(self, cls: type[Adapter] = Adapter, **overrides: Any) -> Adapter:
        settings: dict[str, Any] = {
            "subsystem": self.adapter.subsystem,
            "signer": self.signer,
            "handlers": {"schools": schools},
            "gateway_keys": adapter.GatewayKeys(
                root_certificate=root_certificate_der(), certificates=gateway_certificates()
            ),
            "title": "教育局学校信息系统",
            "examples": {"schools": {"name": "鼓楼一中"}},
        }
        settings.update(overrides)
        return cls(**settings)


def build_adapter_world(world: World, role_users: dict[str, Any]) -> Iterator[AdapterWorld]:
    from onewindow.catalog.actions_sharing import share_request_create
    from onewindow.catalog.tests.conftest import create, metadata
    from onewindow.organisations.tests.factories import DepartmentFactory

    edu = DepartmentFactory.create(code="EDU", name="福州市教育局")
    school_system = system(edu, "EDU-SCH")
    subsystem = protocol.subsystem_path(edu.credit_code, school_system.code)
    signer = generate_signer(Algorithm.SM2_SM3)
    key = actions.subsystem_key_register(
        acting_user=None,
        system=school_system,
        certificate_request=adapter.certificate_request_pem(signer, subsystem),
    )
    resource = create("EDU", **metadata(sharing_type="unconditional", sharing_condition=""))
    share_request_create(
        acting_user=role_users["department_admin"],
        resource=resource,
        consumer_department="TDEPT",
        items=["学校名称", "在校生人数"],
        purpose="入学资格核验",
        legal_basis="义务教育法",
        until=timezone.localdate() + dt.timedelta(days=30),
    )
    reference = adapter.Adapter(
        subsystem=subsystem,
        signer=signer,
        handlers={"schools": schools},
        gateway_keys=adapter.GatewayKeys(
            root_certificate=root_certificate_der(), certificates=gateway_certificates()
        ),
        title="教育局学校信息系统",
        examples={"schools": {"name": "鼓楼一中"}},
    )
    server = RunningServer(reference)
    service = actions.service_register(
        acting_user=None,
        provider=school_system,
        code="schools",
        name="学校信息查询",
        resource_code=resource.code,
        kind="http",
        endpoint_url=f"{server.url}{adapter.SERVICES_PATH}schools",
        timeout_seconds=5,
        retries=2,
    )
    client = ExchangeClient(
        base_url="http://testserver",
        subsystem=world.client.subsystem,
        signer=world.client.signer,
        verifier_lookup=full_lookup,
        transport=django_transport(Client()),
    )
    try:
        yield AdapterWorld(
            world=world,
            system=school_system,
            signer=signer,
            key=key,
            service=service,
            service_path=protocol.service_path(edu.credit_code, school_system.code, service.code),
            server=server,
            adapter=reference,
            client=client,
            resource_code=resource.code,
        )
    finally:
        server.stop()


@pytest.fixture
def adapter_world(world: World, role_users: dict[str, Any]) -> Iterator[AdapterWorld]:
    yield from build_adapter_world(world, role_users)
