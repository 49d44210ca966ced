"""The other built-in providers (person by ID number, licence verification) (issue #8 item 2). External HTTP
services with timeouts, retries and a circuit breaker are in test_http_provider.py."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
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


# External HTTP services (signed both ways, retries, circuit breaker): test_http_provider.py.
