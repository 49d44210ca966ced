"""Fixtures of the exchange tests: members, subsystems, keys, services, a grant, an entity, a client."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from onewindow.catalog.models import InformationSystem, Resource
from onewindow.crypto.keys import Signer, load_signer
from onewindow.exchange import actions, protocol
from onewindow.exchange.client import ExchangeClient
from onewindow.exchange.keystore import private_key_open, verifier_for
from onewindow.exchange.models import Service, SubsystemKey
from onewindow.exchange.providers import circuits_reset

ENTITY_ITEMS = ["统一社会信用代码", "名称", "登记状态"]


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


def key_signer(key: SubsystemKey) -> Signer:
    return load_signer(private_key_open(key.key_id, key.algorithm, key.private_key_token))


def django_transport(client: Client) -> Any:
    def send(
        method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        response = client.generic(method, path, data=body, content_type="application/json", headers=headers)
        return response.status_code, dict(response.items()), response.content

    return send


@dataclass
class World:
    consumer: InformationSystem
    provider: InformationSystem
    consumer_key: SubsystemKey
    provider_key: SubsystemKey
    service: Service
    service_path: str
    entity_code: str
    client: ExchangeClient
    grant: Any

    def new_client(self, signer: Signer | None = None, subsystem: str | None = None) -> ExchangeClient:
        return ExchangeClient(
            base_url="http://testserver",
            subsystem=subsystem or self.client.subsystem,
            signer=signer or self.client.signer,
            verifier_lookup=lookup,
            transport=django_transport(Client()),
        )


def lookup(key_id: str) -> Any:
    key = SubsystemKey.objects.filter(key_id=key_id).exclude(status="revoked").first()
    return verifier_for(key.key_id, bytes(key.public_key_der)) if key else None


@pytest.fixture(autouse=True)
def _clean_process_state() -> None:
    cache.clear()
    circuits_reset()


@pytest.fixture
def world(role_users: dict[str, Any]) -> World:
    from onewindow.catalog.actions_sharing import share_request_create
    from onewindow.catalog.sync import catalog_sync
    from onewindow.core.validators import make_credit_code
    from onewindow.organisations.models import Department
    from onewindow.organisations.tests.factories import DepartmentFactory
    from onewindow.registry.entities import entity_register
    from onewindow.registry.tests.test_population_support import GULOU

    DepartmentFactory.create(code="PSB", name="福州市公安局")
    amr = DepartmentFactory.create(code="AMR", name="福州市市场监督管理局")
    catalog_sync()
    tdept = Department.objects.get(code="TDEPT")
    consumer = system(tdept, "TDEPT-CASES")
    provider = system(amr, "AMR-REG")
    consumer_key = actions.subsystem_key_issue(acting_user=None, system=consumer)
    provider_key = actions.subsystem_key_issue(acting_user=None, system=provider)
    resource = Resource.objects.get(builtin_key="legal_entity")
    service = actions.service_register(
        acting_user=None,
        provider=provider,
        code="entity-basic",
        name="法人基础信息查询",
        resource_code=resource.code,
        kind="builtin",
        builtin="entity_basic",
    )
    request = share_request_create(
        acting_user=role_users["department_admin"],
        resource=resource,
        consumer_department="TDEPT",
        items=ENTITY_ITEMS,
        purpose="办理企业相关审批",
        legal_basis="行政许可法",
        until=timezone.localdate() + dt.timedelta(days=365),
    )
    code = make_credit_code(authority="9", entity_type="1", division="350100", organisation_base="MA000001")
    entity_register(
        acting_user=None,
        credit_code=code,
        name="福州闽江科技有限公司",
        type="llc",
        division_code=GULOU,
        registered_capital="100",
        address="福州市鼓楼区五四路 1 号",
        business_scope="软件开发",
        established_on=dt.date(2024, 5, 6),
        case_tracking_no="ZW2024000009",
    )
    subsystem = protocol.subsystem_path(tdept.credit_code, consumer.code)
    client = ExchangeClient(
        base_url="http://testserver",
        subsystem=subsystem,
        signer=key_signer(consumer_key),
        verifier_lookup=lookup,
        transport=django_transport(Client()),
    )
    return World(
        consumer=consumer,
        provider=provider,
        consumer_key=consumer_key,
        provider_key=provider_key,
        service=service,
        service_path=protocol.service_path(amr.credit_code, provider.code, service.code),
        entity_code=code,
        client=client,
        grant=request.grant,
    )
