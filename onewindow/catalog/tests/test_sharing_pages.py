"""Pages of sharing, grants, the systems register and catalog supervision for every role, the three
sharing paths through the pages, data quality and the systems register's approval rule (issue #7
items 4–6)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.catalog import actions_sharing, quality, systems
from onewindow.catalog.models import Grant, GrantStatus, InformationSystem, ShareRequest, ShareRequestStatus
from onewindow.catalog.tests.test_sharing import UNTIL, other_admin, request  # noqa: F401 - fixture
from onewindow.core.errors import FieldErrors, RuleViolation

pytestmark = pytest.mark.django_db

STAFF_OF_TDEPT = {"department_handler", "department_admin"}


def _client(role: str, role_users: Any, client_for: Any) -> Client:
    client: Client = client_for(role_users[role])
    return client


@pytest.fixture
def requests_both_ways(catalog: dict[str, Any], role_users: Any, other_admin: Any) -> dict[str, Any]:  # noqa: F811
    """TDEPT asks OTHER (sent) and OTHER asks TDEPT (received), both pending."""
    sent = request(role_users["department_admin"], catalog["other_conditional"], ["姓名"])
    received = actions_sharing.share_request_create(
        acting_user=other_admin,
        resource=catalog["own_conditional"],
        consumer_department="OTHER",
        items=["学校名称"],
        purpose="核验",
        legal_basis="《教育法》",
        until=UNTIL,
    )
    return {"sent": sent, "received": received}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_sharing_pages_for_every_role(
    role: str, catalog: dict[str, Any], requests_both_ways: Any, role_users: Any, client_for: Any
) -> None:
    client = _client(role, role_users, client_for)
    received = requests_both_ways["received"]
    sees = role in STAFF_OF_TDEPT or role == "system_admin"
    assert client.get("/catalog/share-requests/").status_code == (200 if sees else 403)
    assert client.get(f"/catalog/share-requests/{received.pk}/").status_code == (200 if sees else 403)
    assert client.get("/catalog/grants/").status_code == (200 if sees else 403)
    form = client.get(f"/catalog/resources/{catalog['other_conditional'].code}/share/")
    assert form.status_code == (200 if role == "department_admin" else 404 if not sees else 403), role
    registers = sees or role in ("leader", "supervisor")
    assert client.get("/catalog/systems/").status_code == (200 if registers else 403)
    supervises = role in ("department_admin", "leader", "supervisor")
    assert client.get("/catalog/supervision/").status_code == (200 if supervises else 403)

    # Deciding through the page: only TDEPT's administrators (the provider); refused ones change nothing
    answered = client.post(f"/catalog/share-requests/{received.pk}/", {"decision": "approve"})
    received.refresh_from_db()
    if role == "department_admin":
        assert answered.status_code == 302
        assert received.status == ShareRequestStatus.APPROVED
    else:
        assert answered.status_code == 403
        assert received.status == ShareRequestStatus.PENDING
        assert not Grant.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(catalog: dict[str, Any], requests_both_ways: Any) -> None:
    for url in ("/catalog/share-requests/", "/catalog/grants/", "/catalog/systems/", "/catalog/supervision/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert "login" in response["Location"]


def test_requesting_through_the_page(
    catalog: dict[str, Any],
    role_users: Any,
    client_for: Any,
    other_admin: Any,  # noqa: F811
) -> None:
    client = client_for(role_users["department_admin"])
    code = catalog["other_conditional"].code

    # The resource page offers the request
    page = client.get(f"/catalog/resources/{code}/").content.decode()
    assert f'href="/catalog/resources/{code}/share/"' in page
    assert "数据质量" in page

    # Missing fields are shown next to each field, bilingual messages from the action
    refused = client.post(f"/catalog/resources/{code}/share/", {"items": [], "until": ""})
    assert refused.status_code == 422
    html = refused.content.decode()
    assert "请选择需要的信息项。" in html
    assert 'id="f-purpose-error"' in html
    assert not ShareRequest.objects.exists()

    sent = client.post(
        f"/catalog/resources/{code}/share/",
        {"items": ["姓名"], "purpose": "核验", "legal_basis": "《教师法》", "until": UNTIL.isoformat()},
    )
    made = ShareRequest.objects.get()
    assert sent.status_code == 302
    assert sent["Location"] == f"/catalog/share-requests/{made.pk}/"
    assert made.status == ShareRequestStatus.PENDING

    # The provider's administrator refuses without a reason, then approves
    provider = client_for(other_admin)
    inbox = provider.get("/tasks/").content.decode()
    assert "/catalog/share-requests/?box=received&amp;status=pending" in inbox
    missing = provider.post(f"/catalog/share-requests/{made.pk}/", {"decision": "refuse"})
    assert missing.status_code == 422
    assert "不予同意须说明理由。" in missing.content.decode()
    provider.post(f"/catalog/share-requests/{made.pk}/", {"decision": "approve"})
    made.refresh_from_db()
    assert made.status == ShareRequestStatus.APPROVED

    # The provider revokes through the grants page
    grant = Grant.objects.get()
    assert provider.post(f"/catalog/grants/{grant.pk}/revoke/", {"reason": ""}).status_code == 422
    assert provider.post(f"/catalog/grants/{grant.pk}/revoke/", {"reason": "停止"}).status_code == 302
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED


def test_the_resource_page_says_why_a_resource_cannot_be_requested(
    catalog: dict[str, Any], role_users: Any, client_for: Any
) -> None:
    client = client_for(role_users["system_admin"])
    html = client.get(f"/catalog/resources/{catalog['other_not_shared'].code}/").content.decode()
    assert "不予共享，不能申请" in html
    assert "《审计法》第十六条" in html
    # English
    client.cookies["django_language"] = "en"
    english = client.get(
        f"/catalog/resources/{catalog['other_not_shared'].code}/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "is not shared and cannot be requested" in english


# --- Data quality ------------------------------------------------------------------------------------------


def test_freshness_against_the_update_cycle() -> None:
    last = datetime(2026, 1, 31, 12, 0, tzinfo=timezone.get_current_timezone())
    # monthly: 31 days; due from 3 days before (a tenth of the cycle)
    assert quality.freshness_of("monthly", last, today=last.date() + timedelta(days=27)).status == "fresh"
    assert quality.freshness_of("monthly", last, today=last.date() + timedelta(days=28)).status == "due"
    assert quality.freshness_of("monthly", last, today=last.date() + timedelta(days=31)).status == "due"
    assert quality.freshness_of("monthly", last, today=last.date() + timedelta(days=32)).status == "overdue"
    assert quality.freshness_of("irregular", last).status == "not_applicable"
    assert quality.freshness_of("real_time", last, builtin=True).status == "fresh"


def test_overdue_updates_appear_in_supervision(
    catalog: dict[str, Any], role_users: Any, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a month and more after the catalog was published, TDEPT's monthly resource was never updated
    later = timezone.now() + timedelta(days=40)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    overdue = {resource.code for resource in quality.overdue_resources(None)}
    assert catalog["own_open"].code in overdue  # monthly
    assert catalog["own_conditional"].code not in overdue  # yearly
    assert catalog["population"].code not in overdue  # built-in: kept in real time

    # When the provider records an update, it is fresh again
    quality.resource_data_updated(acting_user=role_users["department_admin"], resource=catalog["own_open"])
    assert catalog["own_open"].code not in {r.code for r in quality.overdue_resources(None)}
    assert catalog["other_open"].code in {r.code for r in quality.overdue_resources(None)}

    # The supervision pages list them (a department admin: own department only)
    page = client_for(role_users["leader"]).get("/catalog/supervision/").content.decode()
    assert "学校开放日安排" in page
    assert client_for(role_users["leader"]).get("/supervision/").status_code == 200
    own = client_for(role_users["department_admin"]).get("/catalog/supervision/").content.decode()
    assert "学校开放日安排" not in own


def test_validity_is_measured_on_the_registers(
    catalog: dict[str, Any], departments: Any, role_users: Any, client_for: Any
) -> None:
    """GB 11643-1999 ID numbers (decrypted in batches) and GB 32100-2015 credit codes; counts only."""
    import datetime as dt

    from onewindow.registry.models import Household, Person
    from onewindow.registry.models_entities import LegalEntity

    household = Household.objects.create(household_no="350102000001", division=departments["OTHER"].division)
    for number, id_number in enumerate(["11010519491231002X", "110105194912310021", "11010519491231002X"]):
        Person.objects.create(
            id_number=id_number,
            id_number_index=f"index-{number}",
            province_code="11",
            name="张三",
            gender="female",
            ethnicity="01",
            birth_date=dt.date(1949, 12, 31),
            birthplace_code="110105",
            household=household,
            relation_to_head="head",
            status="active" if number == 0 else "moved_out",
        )
    for number, code in enumerate(["91350100M000100Y43", "91350100M000100Y44"]):
        LegalEntity.objects.create(
            credit_code=code,
            name=f"企业{number}",
            type="company",
            division_code="350102",
            established_on=dt.date(2020, 1, 1),
            registration_authority="AMR",
        )

    measured = quality.quality_measure(batch_size=2)

    assert (measured["population"].checked, measured["population"].valid) == (3, 2)
    assert (measured["legal_entity"].checked, measured["legal_entity"].valid) == (2, 1)
    page = client_for(role_users["department_handler"]).get(
        f"/catalog/resources/{catalog['population'].code}/"
    )
    html = page.content.decode()
    assert "有效的公民身份号码占比" in html
    assert "66.7%" in html
    api = Client().get(f"/api/v1/catalog/resources/{catalog['legal_entity'].code}/quality").json()
    assert api["freshness"] == "fresh"
    assert api["validity"]["share"] == 0.5


# --- Systems register --------------------------------------------------------------------------------------


def test_a_planned_system_is_approved_only_when_catalogued_and_conformant(
    catalog: dict[str, Any], role_users: Any
) -> None:
    admin, sysadmin = role_users["department_admin"], role_users["system_admin"]
    system = systems.system_register(
        acting_user=admin,
        department="TDEPT",
        code="TDEPT-NEW",
        name="学校管理系统",
        state="planned",
        owner="信息中心",
        endpoint="https://tdept.example.gov.cn/exchange",
        provides=[catalog["own_conditional"].code, catalog["other_open"].code],
    )
    assert system.approval == "pending"

    # Refused with every reason: a provided resource of another department, no conformance result
    with pytest.raises(FieldErrors) as refused:
        systems.system_approve(acting_user=sysadmin, system=system)
    assert [e.code for e in refused.value.errors] == ["resources_not_catalogued", "conformance_not_passed"]
    assert "符合性检测" in refused.value.errors[1].message_zh

    system.provides.remove(catalog["other_open"])
    # A pass on another endpoint does not count; a department admin cannot record one
    with pytest.raises(Exception) as denied:
        systems.system_conformance_record(
            acting_user=admin, system=system, passed=True, endpoint=system.endpoint
        )
    assert type(denied.value).__name__ == "PermissionDenied"
    systems.system_conformance_record(acting_user=None, system=system, passed=True, endpoint="https://old")
    with pytest.raises(FieldErrors):
        systems.system_approve(acting_user=sysadmin, system=system)

    # The exchange (issue #8) records a pass on the registered endpoint: approvable
    systems.system_conformance_record(acting_user=None, system=system, passed=True, endpoint=system.endpoint)
    with pytest.raises(Exception) as not_sysadmin:
        systems.system_approve(acting_user=admin, system=system)
    assert type(not_sysadmin.value).__name__ == "PermissionDenied"
    approved = systems.system_approve(acting_user=sysadmin, system=system)
    assert approved.approval == "approved"
    assert approved.interconnection == "connecting"
    with pytest.raises(RuleViolation):
        systems.system_approve(acting_user=sysadmin, system=approved)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_registering_a_system_for_every_role(role: str, catalog: dict[str, Any], role_users: Any) -> None:
    user = role_users[role]
    if role in ("department_admin", "system_admin"):
        systems.system_register(
            acting_user=user, department="TDEPT", code="TDEPT-X", name="系统", state="built", owner="某人"
        )
        assert InformationSystem.objects.count() == 1
        return
    with pytest.raises(Exception) as denied:
        systems.system_register(
            acting_user=user, department="TDEPT", code="TDEPT-X", name="系统", state="built", owner="某人"
        )
    assert type(denied.value).__name__ == "PermissionDenied"
    assert not InformationSystem.objects.exists()
