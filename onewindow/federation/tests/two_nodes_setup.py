"""The minimal data of one node of the two-node federation test (``test_two_nodes.py``), run inside that
node's environment: ``python -m onewindow.federation.tests.two_nodes_setup province|city OUT.json``.

* province (``CN-35``): market regulation ``AMR`` (the legal-entity register's department) and public
  security, the catalog's built-in resources, a provider subsystem ``PROV-AMR-REG`` with the built-in
  ``entity-basic`` service, one registered company.
* city (``CN-3501``): a tax department with a consumer subsystem ``CITY-TAX-SYS`` and its key (the private
  key is written next to OUT for the test to sign with: test data only), and a pull subscription of the tax
  department to the province's ``entity.registered`` events (filtered on ``origin_instance``).

Writes OUT: the identifiers, this node's root certificate (PEM) and fingerprints, its node key id.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

PROVINCE_DIVISION = "350000"
CITY_DIVISION = "350100"


def _code(division: str, number: int) -> str:
    from onewindow.core.validators import make_credit_code

    return make_credit_code(
        authority="1", entity_type="1", division=division, organisation_base=f"MF{number:06d}"
    )


def _department(code: str, name: str, credit_code: str, division: str) -> Any:
    from onewindow.organisations.models import Department, Division

    department, _ = Department.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "name_en": code,
            "credit_code": credit_code,
            "division": Division.objects.get(code=division),
        },
    )
    return department


def _system(department: Any, code: str) -> Any:
    from django.utils import timezone

    from onewindow.catalog.models import InformationSystem

    now = timezone.now()
    system, _ = InformationSystem.objects.get_or_create(
        code=code,
        defaults={
            "department": department,
            "name": f"系统 {code}",
            "state": "built",
            "owner": "联邦测试",
            "created_at": now,
            "updated_at": now,
        },
    )
    return system


def province() -> dict[str, Any]:
    from onewindow.catalog.models import Resource
    from onewindow.catalog.sync import catalog_sync
    from onewindow.exchange import actions as exchange_actions
    from onewindow.exchange import protocol
    from onewindow.registry.entities import entity_register

    _department("PSB", "福建省公安厅", _code(PROVINCE_DIVISION, 1), PROVINCE_DIVISION)
    amr = _department("AMR", "福建省市场监督管理局", _code(PROVINCE_DIVISION, 2), PROVINCE_DIVISION)
    catalog_sync()
    provider = _system(amr, "PROV-AMR-REG")
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
    company = _entity_code(1)
    entity_register(
        acting_user=None,
        credit_code=company,
        name="福建海峡联邦科技有限公司",
        type="llc",
        division_code="350102",
        registered_capital="100",
        address="福州市鼓楼区五四路 1 号",
        business_scope="软件开发",
        established_on=dt.date(2024, 5, 6),
        case_tracking_no="ZW2024000001",
    )
    return {
        "service": protocol.service_path(amr.credit_code, provider.code, service.code),
        "provider": protocol.subsystem_path(amr.credit_code, provider.code),
        "company": company,
    }


def _entity_code(number: int) -> str:
    from onewindow.core.validators import make_credit_code

    return make_credit_code(
        authority="9", entity_type="1", division="350102", organisation_base=f"MA{number:06d}"
    )


def city(out: Path) -> dict[str, Any]:
    from onewindow.exchange import actions as exchange_actions
    from onewindow.exchange import protocol
    from onewindow.exchange.keystore import private_key_open
    from onewindow.pubsub.actions import subscription_create

    tax = _department("CTAX", "福州市税务局", _code(CITY_DIVISION, 3), CITY_DIVISION)
    consumer = _system(tax, "CITY-TAX-SYS")
    key = exchange_actions.subsystem_key_issue(acting_user=None, system=consumer)
    signer_file = out.with_suffix(".consumer.der")
    signer_file.write_bytes(private_key_open(key.key_id, key.algorithm, key.private_key_token))
    subscription_create(
        acting_user=None,
        department_code="CTAX",
        code="ctax-province-entities",
        name="省级新设立企业",
        topics=["entity.registered"],
        mode="pull",
        filters=[{"field": "origin_instance", "op": "eq", "value": "CN-35"}],
    )
    return {
        "consumer": protocol.subsystem_path(tax.credit_code, consumer.code),
        "consumer_member": f"CN/GOV/{tax.credit_code}",
        "consumer_key_file": str(signer_file),
        "subscription": "ctax-province-entities",
    }


def main(role: str, out: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from onewindow.federation.selectors import node_meta

    data = province() if role == "province" else city(out)
    meta = node_meta()
    if meta is None:
        raise SystemExit("ONEWINDOW_FEDERATION_INSTANCE is not set")
    root_file = out.with_suffix(".root.pem")
    root_file.write_text(meta.root_certificate_pem, encoding="ascii")
    data.update(
        {
            "instance": meta.instance,
            "root_file": str(root_file),
            "root_sha256": meta.root_sha256,
            "root_sm3": meta.root_sm3,
            "node_key_id": meta.keys[0].key_id,
        }
    )
    out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
