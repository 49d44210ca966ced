"""Fixtures of the federation tests: this node (``CN-35``, the test database), a remote node played by the
test (``CN-3501``, :class:`~onewindow.federation.tests.support.FakeNode`), a provider with a service, a
peer's address (:class:`~onewindow.federation.tests.support.PeerServer`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from onewindow.catalog.models import InformationSystem
from onewindow.federation import actions
from onewindow.federation.models import Peer
from onewindow.federation.tests.support import FakeNode, PeerServer

LOCAL = "CN-35"
REMOTE = "CN-3501"
PURPOSE = "ZW2026000123"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing answers


def system(department: Any, code: str) -> InformationSystem:
    now = timezone.now()
    return InformationSystem.objects.create(
        department=department,
        code=code,
        name=f"系统 {code}",
        state="built",
        owner="测试",
        created_at=now,
        updated_at=now,
    )


@pytest.fixture
def local_node(settings: Any) -> str:
    settings.FEDERATION_INSTANCE = LOCAL
    settings.FEDERATION_NATS_URL = ""
    cache.clear()
    return LOCAL


@pytest.fixture
def remote() -> FakeNode:
    return FakeNode(REMOTE)


@dataclass
class Provider:
    service: Any
    service_path: str
    provider_path: str
    entity_code: str
    department: Any


def provider_world(department_code: str = "AMR", system_code: str = "PROV-REG") -> Provider:
    """Market regulation's register behind a built-in service, one registered company."""
    from onewindow.catalog.models import Resource
    from onewindow.catalog.sync import catalog_sync
    from onewindow.core.validators import make_credit_code
    from onewindow.exchange import actions as exchange_actions
    from onewindow.exchange import protocol as xp
    from onewindow.organisations.models import Department
    from onewindow.organisations.tests.factories import DepartmentFactory
    from onewindow.registry.entities import entity_register

    DepartmentFactory.create(code="PSB", name="公安厅")
    DepartmentFactory.create(code="AMR", name="市场监督管理局")
    catalog_sync()
    department = Department.objects.get(code=department_code)
    provider = system(department, system_code)
    resource = Resource.objects.get(builtin_key="legal_entity")
    service = exchange_actions.service_register(
        acting_user=None,
        provider=provider,
        code="entity-basic",
        name="法人基础信息查询",
        resource_code=resource.code,
        kind="builtin",
        builtin="entity_basic",
    )
    code = make_credit_code(authority="9", entity_type="1", division="350100", organisation_base="MA000001")
    if Department.objects.filter(code=department_code).exists() and system_code != "PROV-REG":
        return Provider(
            service=service,
            service_path=xp.service_path(department.credit_code, provider.code, service.code),
            provider_path=xp.subsystem_path(department.credit_code, provider.code),
            entity_code=code,
            department=department,
        )
    entity_register(
        acting_user=None,
        credit_code=code,
        name="福州闽江科技有限公司",
        type="llc",
        division_code="350102",
        registered_capital="100",
        address="福州市鼓楼区五四路 1 号",
        business_scope="软件开发",
        established_on=dt.date(2024, 5, 6),
    )
    return Provider(
        service=service,
        service_path=xp.service_path(department.credit_code, provider.code, service.code),
        provider_path=xp.subsystem_path(department.credit_code, provider.code),
        entity_code=code,
        department=department,
    )


@pytest.fixture
def provider(db: None, local_node: str) -> Provider:
    return provider_world()


def peer_register(
    remote: FakeNode,
    *,
    directions: Sequence[str],
    base_url: str = UNREACHABLE,
    export_topics: Sequence[str] = (),
    import_topics: Sequence[str] = (),
    events_transport: str = "",
) -> Peer:
    return actions.peer_register(
        acting_user=None,
        instance=remote.instance,
        name=f"节点 {remote.instance}",
        base_url=base_url,
        root_certificate=remote.root_pem,
        fingerprint=remote.root_sha256,
        directions=directions,
        export_topics=export_topics,
        import_topics=import_topics,
        events_transport=events_transport,
    )


@pytest.fixture
def peer_server() -> Iterator[PeerServer]:
    server = PeerServer()
    try:
        yield server
    finally:
        server.close()
