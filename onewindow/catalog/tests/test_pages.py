"""Catalog pages: /catalog/ (search and browse) and /catalog/resources/<code>/ (metadata, items, versions)
for every role, and what they say in Chinese and English."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from conftest import ALL_ROLES
from onewindow.catalog.tests.test_api_and_search import PUBLIC, SEES

pytestmark = pytest.mark.django_db


def _client(role: str, role_users: Any, client_for: Any) -> Client:
    return Client() if role == "anonymous" else client_for(role_users[role])


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_catalogue_page_for_every_role(
    role: str, catalog: dict[str, Any], role_users: Any, client_for: Any
) -> None:
    client = _client(role, role_users, client_for)
    response = client.get("/catalog/", {"q": "人口"})
    assert response.status_code == 200
    html = response.content.decode()
    shared = role in {"department_handler", "department_admin", "system_admin"}
    assert ('href="/catalog/resources/101001/000001/"' in html) == shared
    # The search box is labelled and the results are announced
    assert '<label class="govuk-label govuk-label--s" for="ow-catalog-search">' in html
    assert 'role="status"' in html
    assert 'role="search"' in html
    # Browsing: the three catalogs with their items
    assert "基础信息资源目录" in html
    assert "主题信息资源目录" in html
    assert "部门信息资源目录" in html


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_resource_page_for_every_role(
    role: str, catalog: dict[str, Any], role_users: Any, client_for: Any
) -> None:
    client = _client(role, role_users, client_for)
    for name, resource in catalog.items():
        response = client.get(f"/catalog/resources/{resource.code}/")
        assert response.status_code == (200 if name in SEES.get(role, PUBLIC) else 404), name


def test_resource_page_shows_metadata_items_and_history(
    catalog: dict[str, Any], role_users: Any, client_for: Any
) -> None:
    from onewindow.catalog import actions

    resource = catalog["own_conditional"]
    actions.resource_publish_version(
        acting_user=None, resource=resource, change_note="增加学段", name="学校信息"
    )
    client = client_for(role_users["department_handler"])

    html = client.get(f"/catalog/resources/{resource.code}/").content.decode()
    assert '<h1 class="govuk-heading-l">学校信息</h1>' in html
    assert "有条件共享" in html
    assert "用于教育相关的行政审批。" in html
    assert "在校生人数" in html
    assert "整型 I" in html
    assert f'href="/catalog/resources/{resource.code}/?version=1"' in html
    assert "增加学段" in html

    old = client.get(f"/catalog/resources/{resource.code}/", {"version": "1"}).content.decode()
    assert "学校基本信息</h1>" in old
    assert "当前版本为 2" in old
    assert client.get(f"/catalog/resources/{resource.code}/", {"version": "7"}).status_code == 404


def test_pages_in_english(catalog: dict[str, Any], role_users: Any, client_for: Any) -> None:
    client = client_for(role_users["department_handler"])
    client.cookies["django_language"] = "en"
    html = client.get("/catalog/", {"q": "人口"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Information resource catalog" in html
    assert "1 resource found" in html
    page = client.get(
        f"/catalog/resources/{catalog['population'].code}/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Population base information</h1>" in page
    assert "Data items" in page
    assert "Citizen ID number" in page


def test_browse_links_filter_by_classification_and_theme(
    catalog: dict[str, Any], role_users: Any, client_for: Any
) -> None:
    client = client_for(role_users["system_admin"])
    html = client.get("/catalog/", {"classification": "102"}).content.decode()
    assert "法人单位基础信息" in html
    assert "找到 1 个资源" in html
    assert client.get("/catalog/", {"theme": "201"}).status_code == 200
    assert client.get("/catalog/", {"sharing": "bogus"}).status_code == 200
