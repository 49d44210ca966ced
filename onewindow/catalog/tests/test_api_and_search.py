"""Finding resources: jieba full-text search, browsing filters, who sees what, and the API's shapes
(issue #7 items 3 and the API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from conftest import ALL_ROLES
from onewindow.catalog import selectors
from onewindow.catalog.models import Resource, ResourceVersion
from onewindow.catalog.tests.conftest import metadata

pytestmark = pytest.mark.django_db

SUMMARY_KEYS = {"code", "name", "provider_code", "sharing_type", "open_type", "update_cycle", "version"}

# What each role sees of the catalog fixture (TDEPT is the role users' department).
PUBLIC = {"legal_entity", "own_open", "other_open"}
SHARED = PUBLIC | {"population", "own_conditional", "other_conditional", "own_not_shared"}
EVERYTHING = SHARED | {"other_not_shared"}
SEES = dict.fromkeys(ALL_ROLES, PUBLIC) | {
    "department_handler": SHARED,
    "department_admin": SHARED,
    "system_admin": EVERYTHING,
}


def _codes(catalog: dict[str, Any], names: set[str]) -> list[str]:
    return sorted(catalog[name].code for name in names)


def _get(client: Client, url: str, token: str | None = None, **params: Any) -> Any:
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(url, params, **headers)


def test_searching_population_finds_the_population_resource(catalog: dict[str, Any], role_users: Any) -> None:
    # Given a department's handler (the shared catalog)
    handler = role_users["department_handler"]

    # When they search for 人口 (population)
    found = list(selectors.resources_for_user(handler, selectors.ResourceFilters(query="人口")))

    # Then the population base information comes first
    assert found[0].code == catalog["population"].code
    # and words inside longer words and data items are found too (jieba search mode), every word must match
    assert catalog["population"] in selectors.resources_for_user(
        handler, selectors.ResourceFilters(query="人口 出生日期")
    )
    assert list(selectors.resources_for_user(handler, selectors.ResourceFilters(query="人口 图书馆"))) == []
    assert [
        r.code for r in selectors.resources_for_user(handler, selectors.ResourceFilters(query="图书馆"))
    ] == [
        catalog["own_open"].code,  # in the name (weighted)
        catalog["other_open"].code,  # in a data item only
    ]
    assert [
        r.code for r in selectors.resources_for_user(handler, selectors.ResourceFilters(query="legal-entity"))
    ] == [catalog["legal_entity"].code]


def test_a_new_version_is_found_by_its_new_words(catalog: dict[str, Any], role_users: Any) -> None:
    from onewindow.catalog import actions

    admin = role_users["department_admin"]
    filters = selectors.ResourceFilters(query="幼儿园")
    assert not selectors.resources_for_user(admin, filters).exists()
    actions.resource_publish_version(
        acting_user=admin, resource=catalog["own_conditional"], name="学校和幼儿园基本信息"
    )
    assert [r.code for r in selectors.resources_for_user(admin, filters)] == [catalog["own_conditional"].code]


def test_browsing_by_classification_department_theme_and_sharing(
    catalog: dict[str, Any], role_users: Any
) -> None:
    from onewindow.catalog import actions

    admin = role_users["system_admin"]
    actions.resource_publish_version(acting_user=None, resource=catalog["other_open"], theme_codes=["201"])

    def codes(**filters: str) -> list[str]:
        return [r.code for r in selectors.resources_for_user(admin, selectors.ResourceFilters(**filters))]

    assert codes(classification="1") == _codes(catalog, {"population", "legal_entity"})
    assert codes(classification="101") == [catalog["population"].code]
    assert codes(classification="101001") == [catalog["population"].code]
    assert codes(classification="x1") == []
    assert codes(department="OTHER") == _codes(
        catalog, {"other_conditional", "other_not_shared", "other_open"}
    )
    assert codes(department=catalog["population"].provider.credit_code) == [catalog["population"].code]
    assert codes(sharing="not_shared") == _codes(catalog, {"own_not_shared", "other_not_shared"})
    assert codes(theme="201") == [catalog["other_open"].code]
    assert codes(theme="201", query="开放日") == [catalog["other_open"].code]


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_list_shows_each_role_its_part_of_the_catalog(
    role: str, catalog: dict[str, Any], role_users: Any, client: Client, api_token_for: Callable[[Any], str]
) -> None:
    token = None if role == "anonymous" else api_token_for(role_users[role])
    body = _get(client, "/api/v1/catalog/resources", token).json()
    assert [entry["code"] for entry in body["items"]] == _codes(catalog, SEES.get(role, PUBLIC))
    assert body["count"] == len(SEES.get(role, PUBLIC))
    searched = _get(client, "/api/v1/catalog/resources", token, q="人口").json()["items"]
    assert bool(searched) == (role in {"department_handler", "department_admin", "system_admin"})


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_detail_answers_404_for_what_a_role_may_not_see(
    role: str, catalog: dict[str, Any], role_users: Any, client: Client, api_token_for: Callable[[Any], str]
) -> None:
    token = None if role == "anonymous" else api_token_for(role_users[role])
    for name, resource in catalog.items():
        response = _get(client, f"/api/v1/catalog/resources/{resource.code}", token)
        expected = 200 if name in SEES.get(role, PUBLIC) else 404
        assert response.status_code == expected, (name, response.content)


def test_list_shape_and_pagination(
    catalog: dict[str, Any], role_users: Any, client: Client, api_token_for: Any
) -> None:
    token = api_token_for(role_users["system_admin"])
    body = _get(client, "/api/v1/catalog/resources", token, limit=2, offset=1).json()
    assert body["count"] == len(EVERYTHING)
    assert len(body["items"]) == 2
    assert all(set(entry) == SUMMARY_KEYS for entry in body["items"])
    population = _get(client, "/api/v1/catalog/resources", token, q="人口").json()["items"][0]
    assert population == {
        "code": "101001/000001",
        "name": "人口基础信息",
        "provider_code": catalog["population"].provider.credit_code,
        "sharing_type": "conditional",
        "open_type": "not_open",
        "update_cycle": "real_time",
        "version": 1,
    }
    assert _get(client, "/api/v1/catalog/resources", token, limit=0).status_code == 422


def test_list_costs_a_fixed_number_of_queries(
    catalog: dict[str, Any], client: Client, django_assert_max_num_queries: Any
) -> None:
    for number in range(5):
        from onewindow.catalog.tests.conftest import create, open_metadata

        create("OTHER", **open_metadata(name=f"公共数据集 {number}"))
    with django_assert_max_num_queries(2):
        assert client.get("/api/v1/catalog/resources").json()["count"] == 8
    # A search: the department's id, the two tiers' counts, the two tiers' ids, the page's rows
    with django_assert_max_num_queries(6):
        body = client.get("/api/v1/catalog/resources", {"q": "公共", "department": "OTHER"}).json()
    assert body["count"] == 6  # the five, and one whose abstract says 公共


def test_detail_has_the_full_metadata_and_the_history(
    catalog: dict[str, Any], role_users: Any, client: Client, api_token_for: Any
) -> None:
    from onewindow.catalog import actions

    resource = catalog["own_conditional"]
    actions.resource_publish_version(
        acting_user=None, resource=resource, change_note="改为每季度更新", update_cycle="quarterly"
    )
    token = api_token_for(role_users["department_handler"])
    body = _get(client, f"/api/v1/catalog/resources/{resource.code}", token).json()
    assert body["version"] == 2
    assert body["current_version"] == 2
    assert body["update_cycle"] == "quarterly"
    assert body["change_note"] == "改为每季度更新"
    assert body["provider_department"] == "TDEPT"
    assert body["catalog"] == "3"
    assert body["classification"]["department_code"] == "TDEPT"
    assert body["data_items"] == [
        {
            "name": "学校名称",
            "name_en": "School name",
            "data_type": "C",
            "length": 100,
            "sharing_type": "conditional",
        },
        {
            "name": "在校生人数",
            "name_en": "Pupils",
            "data_type": "I",
            "length": None,
            "sharing_type": "conditional",
        },
    ]
    assert [v["number"] for v in body["versions"]] == [2, 1]
    old = _get(client, f"/api/v1/catalog/resources/{resource.code}", token, version=1).json()
    assert old["version"] == 1
    assert old["update_cycle"] == "yearly"
    assert old["current_version"] == 2
    missing = _get(client, f"/api/v1/catalog/resources/{resource.code}", token, version=9)
    assert missing.status_code == 404
    assert missing.json()["code"] == "version_not_found"


def test_not_found_is_bilingual(client: Client, db: None) -> None:
    response = client.get("/api/v1/catalog/resources/101001/999999")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "resource_not_found"
    assert body["message_zh"] == "目录中没有资源 101001/999999，或您无权查看。"
    assert body["message_en"] == "There is no resource 101001/999999 in the catalog, or you may not see it."
    assert client.get("/api/v1/catalog/resources/not-a-code").status_code == 404


def test_classifications_are_public(client: Client, db: None) -> None:
    body = client.get("/api/v1/catalog/classifications").json()
    assert body[0] == {
        "code": "1",
        "kind": "1",
        "name": "基础信息资源目录",
        "name_en": "Base information resources",
        "department_code": None,
    }
    assert {"101", "201", "212", "3"} <= {node["code"] for node in body}


# --- Writes through the API ---------------------------------------------------------------------------------


def _create_body(**overrides: Any) -> dict[str, Any]:
    return {"provider_department": "TDEPT", "classification_code": "101002", **metadata(), **overrides}


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_create_through_the_api_for_every_role(
    role: str, role_users: Any, departments: Any, client: Client, api_token_for: Any
) -> None:
    headers: dict[str, Any] = (
        {} if role == "anonymous" else {"HTTP_AUTHORIZATION": f"Bearer {api_token_for(role_users[role])}"}
    )
    response = client.post(
        "/api/v1/catalog/resources", _create_body(), content_type="application/json", **headers
    )
    if role in {"department_admin", "system_admin"}:
        assert response.status_code == 201, response.content
        assert response.json()["code"] == "101002/000001"
        assert response.json()["versions"] == [
            {"number": 1, "published_on": response.json()["published_on"], "change_note": ""}
        ]
        return
    assert response.status_code == (401 if role == "anonymous" else 403)
    assert not Resource.objects.exists()


def test_api_refuses_missing_fields_one_by_one(
    role_users: Any, departments: Any, client: Client, api_token_for: Any
) -> None:
    token = api_token_for(role_users["department_admin"])
    response = client.post(
        "/api/v1/catalog/resources",
        {
            "provider_department": "TDEPT",
            "classification_code": "101002",
            "name": "学校",
            "data_items": [{"name": "名称"}],
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "metadata_invalid"
    assert [error["field"] for error in body["errors"]] == [
        "abstract",
        "format",
        "sharing_type",
        "open_type",
        "update_cycle",
        "data_items.1.data_type",
    ]
    assert body["errors"][0]["message_zh"] == "请填写资源摘要。"
    assert body["errors"][0]["message_en"] == "Enter the abstract."


@pytest.mark.parametrize("role", ALL_ROLES)
def test_versions_and_withdrawal_through_the_api(
    role: str, catalog: dict[str, Any], role_users: Any, client: Client, api_token_for: Any
) -> None:
    """A department's administrator changes its own department's resources only (another department's
    are 403 when it can see them, 404 when it cannot); the system administrator any."""
    token = api_token_for(role_users[role])
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    own, other = catalog["own_conditional"], catalog["other_conditional"]
    versions = ResourceVersion.objects.count()
    for resource in (own, other):
        response = client.post(
            f"/api/v1/catalog/resources/{resource.code}/versions",
            {"update_cycle": "monthly", "change_note": "按月更新"},
            content_type="application/json",
            **headers,
        )
        allowed = role == "system_admin" or (role == "department_admin" and resource is own)
        visible = role in {"department_handler", "department_admin", "system_admin"}
        assert response.status_code == (201 if allowed else 403 if visible else 404), (
            resource,
            response.content,
        )
        if allowed:
            assert response.json()["version"] == 2
            assert response.json()["update_cycle"] == "monthly"
    expected_new = {"system_admin": 2, "department_admin": 1}.get(role, 0)
    assert ResourceVersion.objects.count() == versions + expected_new
    response = client.post(
        f"/api/v1/catalog/resources/{other.code}/withdraw",
        {"reason": "合并"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == (
        200 if role == "system_admin" else 403 if role.startswith("department_") else 404
    )
    assert Resource.objects.get(pk=other.pk).status == ("withdrawn" if role == "system_admin" else "active")


def test_search_follows_withdrawal_and_the_filters(catalog: dict[str, Any], role_users: Any) -> None:
    from onewindow.catalog import actions

    admin = role_users["system_admin"]

    def found(**filters: str) -> list[str]:
        return [r.code for r in selectors.resources_for_user(admin, selectors.ResourceFilters(**filters))]

    # 学校 in the name first (学校开放日安排), then elsewhere (教师基本信息's abstract)
    assert found(query="学校", department="OTHER") == [
        catalog["other_open"].code,
        catalog["other_conditional"].code,
    ]
    assert found(query="学校", classification=catalog["own_conditional"].classification_code) == [
        catalog["own_conditional"].code
    ]
    conditional = [catalog["own_conditional"].code, catalog["other_conditional"].code]
    assert found(query="学校", sharing="conditional") == conditional
    assert found(query="学校", department="NOPE") == []
    actions.resource_withdraw(acting_user=admin, resource=catalog["own_conditional"], reason="停用")
    assert found(query="学校", sharing="conditional") == conditional[1:]
    # Paging across the two tiers: names first, then the rest, each in catalogue order
    everything = found(query="图书馆")
    results = selectors.resources_for_user(admin, selectors.ResourceFilters(query="图书馆"))
    assert [r.code for r in results[1:2]] == everything[1:2]
    assert len(results) == len(everything) == 2
