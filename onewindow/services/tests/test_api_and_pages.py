"""Catalog API and pages: exact shapes, query counts, and who may do what (every role + anonymous)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from conftest import ALL_ROLES
from onewindow.services.models import Service, ServiceVersion
from onewindow.services.tests.conftest import item_fields, published_item

pytestmark = pytest.mark.django_db

LIST_KEYS = {"code", "name", "department_code", "audience", "kind", "stage", "promised_days"}
DETAIL_KEYS = LIST_KEYS | {
    "name_en",
    "form_schema",
    "materials",
    "statutory_days",
    "legal_basis",
    "version",
    "category",
    "fee",
    "fee_en",
    "on_site_trips",
    "channels",
    "case_type",
    "department_codes",
    "summary",
    "summary_en",
    "auto_accept",
    "components",
}


def _counts() -> tuple[int, int]:
    return Service.objects.count(), ServiceVersion.objects.count()


def test_public_list_shape(client: Client, demo_catalog: Any) -> None:
    response = client.get("/api/v1/services", {"q": "开办"})
    assert response.status_code == 200
    body = response.json()
    assert body[0] == {
        "code": "QYKB",
        "name": "企业开办",
        "department_code": "AMR",
        "audience": ["enterprise", "resident"],
        "kind": "bundle",
        "stage": "seamless",
        "promised_days": 3,
    }
    assert all(set(entry) == LIST_KEYS for entry in body)
    assert [e["code"] for e in client.get("/api/v1/services", {"department": "HEALTH"}).json()] == [
        "HEALTH-CSYXZM",
        "XSECS",
    ]
    enterprise = client.get("/api/v1/services", {"audience": "enterprise"}).json()
    assert all("enterprise" in entry["audience"] for entry in enterprise)


def test_public_list_query_count_is_constant(
    client: Client, demo_catalog: Any, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(2):
        assert len(client.get("/api/v1/services").json()) == 14
    with django_assert_max_num_queries(2):
        client.get("/api/v1/services", {"q": "登记", "audience": "resident"})


def test_public_detail_shape(client: Client, demo_catalog: Any) -> None:
    body = client.get("/api/v1/services/XSECS").json()
    assert set(body) == DETAIL_KEYS
    assert body["department_codes"] == ["HEALTH", "PSB", "HRSS"]
    assert body["components"] == ["HEALTH-CSYXZM", "PSB-CSDJ", "HRSS-JMYB"]
    assert body["version"] == 1
    assert body["form_schema"]["type"] == "object"
    assert all(material["no_need_to_submit"] is False for material in body["materials"])
    assert client.get("/api/v1/services/NOPE").status_code == 404


class HoldsPopulation:
    """A pre-fill source that says the government holds residents' ID cards (免提交)."""

    keys: frozenset[str] = frozenset()

    def values(self, identity: Any, keys: set[str]) -> dict[str, Any]:
        return {}

    def held_resources(self, identity: Any, resources: set[str]) -> set[str]:
        return resources & {"population.id_card"}


def test_signed_in_applicant_sees_no_need_to_submit(
    client: Client,
    demo_catalog: Any,
    role_users: dict[str, Any],
    api_token_for: Callable[[Any], str],
    settings: Any,
) -> None:
    from onewindow.forms.prefill import _load_sources

    settings.PREFILL_SOURCES = [f"{__name__}.HoldsPopulation"]
    _load_sources.cache_clear()
    try:
        token = api_token_for(role_users["resident"])
        body = client.get("/api/v1/services/PSB-JZZ", HTTP_AUTHORIZATION=f"Bearer {token}").json()
        anonymous = client.get("/api/v1/services/PSB-JZZ").json()
    finally:
        _load_sources.cache_clear()
    held = {m["code"]: m["no_need_to_submit"] for m in body["materials"]}
    assert held == {"id_card": True, "residence_proof": False, "photo": False}
    assert not any(m["no_need_to_submit"] for m in anonymous["materials"])


# --- Admin API: every role -----------------------------------------------------------------------------


def _client(role: str | None, role_users: dict[str, Any], api_token_for: Callable[[Any], str]) -> Client:
    if role is None:
        return Client()
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_token_for(role_users[role])}")


@pytest.mark.parametrize("role", [*ALL_ROLES, None])
def test_admin_api_is_for_the_owning_departments_admins(
    role: str | None, role_users: dict[str, Any], api_token_for: Callable[[Any], str]
) -> None:
    published_item("T-API")
    client = _client(role, role_users, api_token_for)
    allowed = role == "department_admin"
    expected = 200 if allowed else 401 if role is None else 403
    before = _counts()
    assert client.get("/api/v1/admin/services").status_code == expected
    assert client.get("/api/v1/admin/services/T-API").status_code == expected
    created = client.post(
        "/api/v1/admin/services",
        {"code": "T-NEW", "kind": "item", "department_code": "TDEPT", **item_fields()},
        content_type="application/json",
    )
    assert created.status_code == (201 if allowed else expected)
    put = client.put("/api/v1/admin/services/T-API/draft", {"name": "改"}, content_type="application/json")
    assert put.status_code == expected
    published = client.post("/api/v1/admin/services/T-API/draft/publish")
    assert published.status_code == expected
    if not allowed:
        assert _counts() == before
        assert Service.objects.get(code="T-API").current_version.name == "测试事项"  # type: ignore[union-attr]


def test_admin_api_refuses_another_departments_admin(
    role_users: dict[str, Any], api_token_for: Callable[[Any], str], demo_departments: Any
) -> None:
    published_item("AMR-X", department_code="AMR")
    client = _client("department_admin", role_users, api_token_for)
    before = _counts()
    assert client.get("/api/v1/admin/services/AMR-X").status_code == 403
    assert (
        client.put(
            "/api/v1/admin/services/AMR-X/draft", {"name": "改"}, content_type="application/json"
        ).status_code
        == 403
    )
    created = client.post(
        "/api/v1/admin/services",
        {"code": "AMR-Y", "kind": "item", "department_code": "AMR", **item_fields()},
        content_type="application/json",
    )
    assert created.status_code == 403
    assert _counts() == before
    assert [s["code"] for s in client.get("/api/v1/admin/services").json()] == []


def test_admin_api_flow(role_users: dict[str, Any], api_token_for: Callable[[Any], str]) -> None:
    client = _client("department_admin", role_users, api_token_for)
    created = client.post(
        "/api/v1/admin/services",
        {"code": "T-FLOW", "kind": "item", "department_code": "TDEPT", **item_fields()},
        content_type="application/json",
    )
    assert created.status_code == 201
    assert created.json()["versions"][0]["status"] == "draft"
    bad = client.put(
        "/api/v1/admin/services/T-FLOW/draft", {"promised_days": 99}, content_type="application/json"
    )
    assert bad.status_code == 200
    refused = client.post("/api/v1/admin/services/T-FLOW/draft/publish")
    assert refused.status_code == 422
    assert refused.json()["code"] == "version_not_publishable"
    assert refused.json()["errors"][0]["field"] == "promised_days"
    client.put("/api/v1/admin/services/T-FLOW/draft", {"promised_days": 5}, content_type="application/json")
    published = client.post("/api/v1/admin/services/T-FLOW/draft/publish")
    assert (published.status_code, published.json()["status"]) == (200, "published")
    assert client.post("/api/v1/admin/services/T-FLOW/draft/publish").status_code == 404
    # Editing after publication goes to a new draft; the published version is untouched.
    second = client.put(
        "/api/v1/admin/services/T-FLOW/draft", {"name": "第二版"}, content_type="application/json"
    )
    assert (second.json()["number"], second.json()["status"]) == (2, "draft")
    assert Client().get("/api/v1/services/T-FLOW").json()["name"] == "测试事项"
    summary = client.get("/api/v1/admin/services").json()
    assert summary == [
        {
            "code": "T-FLOW",
            "kind": "item",
            "department_code": "TDEPT",
            "name": "第二版",
            "current_version": 1,
            "draft_version": 2,
        }
    ]


# --- Pages ------------------------------------------------------------------------------------------------


def test_public_pages_render_for_anonymous(client: Client, demo_catalog: Any) -> None:
    page = client.get("/services/")
    assert page.status_code == 200
    assert 'type="search"' in page.content.decode()
    results = client.get("/services/", {"q": "开办"}).content.decode()
    assert "/services/QYKB/" in results
    assert "/services/XSECS/" in client.get("/services/", {"life_event": "BIRTH"}).content.decode()
    assert "/services/QI-TZSB/" in client.get("/services/", {"department": "QI"}).content.decode()
    guide = client.get("/services/QYKB/").content.decode()
    assert "/applications/new/QYKB/" in guide
    assert "公司设立登记" in guide  # a component
    assert client.get("/services/NOPE/").status_code == 404


ADMIN_PAGES = [
    "/admin/services/",
    "/admin/services/new/",
    "/admin/services/T-PG/",
    "/admin/services/T-PG/versions/1/",
]


@pytest.mark.parametrize("role", [*ALL_ROLES, None])
def test_admin_pages_are_for_department_admins(
    role: str | None, role_users: dict[str, Any], client_for: Callable[[Any], Client]
) -> None:
    published_item("T-PG")
    client = client_for(role_users[role]) if role else Client()
    before = _counts()
    for path in ADMIN_PAGES:
        response = client.get(path)
        if role == "department_admin":
            assert response.status_code == 200, path
        elif role is None:
            assert response.status_code == 302, path
        else:
            assert response.status_code == 403, path
    response = client.post("/admin/services/T-PG/draft/new/")
    assert response.status_code in {302, 403}
    if role != "department_admin":
        assert _counts() == before


def test_admin_pages_create_edit_and_publish(
    role_users: dict[str, Any], client_for: Callable[[Any], Client]
) -> None:
    client = client_for(role_users["department_admin"])
    response = client.post(
        "/admin/services/new/",
        {"code": "T-WEB", "kind": "item", "department_code": "TDEPT", "name": "网页事项"},
    )
    assert response.status_code == 302
    form = {
        "name": "网页事项",
        "category": "public_service",
        "audience": ["resident"],
        "channels": ["web"],
        "statutory_days": "10",
        "promised_days": "5",
        "on_site_trips": "0",
        "stage": "transactional",
        "case_type": "2",
        "materials": "[]",
        "form_schema": '{"type": "array", "x-order": ["ghost"]}',
        "publish": "1",
    }
    page = client.post("/admin/services/T-WEB/draft/", form)
    assert page.status_code == 200
    text = page.content.decode()
    assert "govuk-error-summary" in text
    assert "ghost" in text
    form["form_schema"] = '{"type": "object", "properties": {"a": {"type": "string", "title": "甲"}}}'
    assert client.post("/admin/services/T-WEB/draft/", form).status_code == 302
    assert Service.objects.get(code="T-WEB").current_version.number == 1  # type: ignore[union-attr]
    assert client.get("/admin/services/T-WEB/versions/1/").status_code == 200
