"""Links shown to each role: only what the role may use, and only pages that exist.

Least privilege (MLPS 2.0 / GB/T 22239-2019 §8.1.4.2): the interface offers a user only the functions of
their roles; the pages themselves still check (test_pages_access.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from conftest import ALL_ROLES
from onewindow.accounts.roles import ROLE_PERMISSIONS, Permission, Role
from onewindow.web import navigation
from onewindow.web.navigation import Tile, existing_url, tiles_for

pytestmark = pytest.mark.django_db

ClientFor = Callable[[object], Client]
TILE_LINK = re.compile(r'<h2 class="ow-tile__title"><a class="govuk-link" href="([^"]+)">')
NAV_LINK = re.compile(r'class="govuk-service-navigation__link" href="([^"]+)"')

# Stand-in tiles whose targets exist in the web app itself, so the test does not depend on other apps.
SAMPLE_TILES = (
    Tile("system", "", ("web:accessibility",), frozenset({Permission.MANAGE_SYSTEM})),
    Tile("tasks", "", ("/",), frozenset({Permission.HANDLE_TASKS})),
    Tile(
        "security or audit", "", ("web:home",), frozenset({Permission.MANAGE_SECURITY, Permission.VIEW_AUDIT})
    ),
    Tile("missing page", "", ("nowhere:index", "/no/such/page/"), frozenset({Permission.VIEW_WORKBENCH})),
)
EXPECTED_SAMPLE_LINKS = {
    "window_clerk": [],
    "village_agent": [],
    "department_handler": ["/"],
    "department_admin": ["/"],
    "leader": [],
    "security_officer": ["/"],
    "system_admin": ["/accessibility/"],
    "vendor_staff": [],
}


def test_expected_sample_links_cover_every_workbench_role() -> None:
    workbench_roles = sorted(role for role in Role if Permission.VIEW_WORKBENCH in ROLE_PERMISSIONS[role])
    assert sorted(EXPECTED_SAMPLE_LINKS) == workbench_roles


@pytest.mark.parametrize("role", sorted(EXPECTED_SAMPLE_LINKS))
def test_workbench_shows_only_permitted_links_to_pages_that_exist(
    role: str, role_users: dict[str, Any], client_for: ClientFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given workbench tiles for several permissions, one pointing at a page no app serves
    monkeypatch.setitem(navigation.TILES, "workbench", SAMPLE_TILES)

    # When a staff member opens the workbench
    response = client_for(role_users[role]).get("/workbench/")

    # Then they see exactly the tiles their permissions allow, and never the missing page
    assert response.status_code == 200
    assert TILE_LINK.findall(response.content.decode()) == EXPECTED_SAMPLE_LINKS[role]


def test_existing_url_takes_the_first_target_that_exists() -> None:
    assert existing_url(["nowhere:index", "/no/such/page/", "web:accessibility", "/"]) == "/accessibility/"
    assert existing_url(["/accessibility/"]) == "/accessibility/"
    assert existing_url(["nowhere:index", "/no/such/page/"]) is None


def test_every_tile_names_at_least_one_permission_and_target() -> None:
    for audience, tiles in navigation.TILES.items():
        for tile in tiles:
            assert tile.permissions, (audience, tile.title)
            assert tile.targets, (audience, tile.title)


def test_the_calendar_tile_is_for_system_administrators_only(role_users: dict[str, Any]) -> None:
    # Given the real workbench tiles and the calendar pages (/admin/calendar/) installed
    calendar_url = existing_url(["/admin/calendar/"])
    if calendar_url is None:
        pytest.skip("the working-day calendar app is not installed")

    # When each role's tiles are worked out, then only the system administrator gets the calendar
    for role in ALL_ROLES:
        urls = [tile.url for tile in tiles_for(role_users[role], navigation.TILES["workbench"])]
        assert (calendar_url in urls) == (role == "system_admin"), role


NAV_EXPECTED = {
    "resident": ["/", "/resident/"],
    "enterprise_representative": ["/", "/enterprise/"],
    "window_clerk": ["/", "/workbench/"],
    "village_agent": ["/", "/workbench/"],
    "department_handler": ["/", "/workbench/"],
    "department_admin": ["/", "/workbench/"],
    "leader": ["/", "/leader/", "/workbench/"],
    "security_officer": ["/", "/workbench/"],
    "auditor": ["/", "/auditor/"],
    "system_admin": ["/", "/workbench/"],
    "vendor_staff": ["/", "/workbench/"],
    "supervisor": ["/", "/supervisor/"],
    "anonymous": ["/"],
}


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_header_navigation_lists_the_home_pages_the_user_may_open(
    role: str, role_users: dict[str, Any], client_for: ClientFor
) -> None:
    # Given a user in the role (or an anonymous visitor)
    client = Client() if role == "anonymous" else client_for(role_users[role])

    # When they open the accessibility statement, a page everyone may see
    response = client.get("/accessibility/")

    # Then the header navigation links to exactly the home pages their roles open
    assert NAV_LINK.findall(response.content.decode()) == NAV_EXPECTED[role]


def test_current_page_is_marked_in_the_navigation(role_users: dict[str, Any], client_for: ClientFor) -> None:
    response = client_for(role_users["resident"]).get("/resident/")

    assert '<a class="govuk-service-navigation__link" href="/resident/" aria-current="page">' in (
        response.content.decode()
    )


def test_landing_page_offers_each_audience_and_the_service_point_list() -> None:
    # Given an anonymous visitor
    # When they open the landing page
    body = Client().get("/").content.decode()

    # Then it leads residents, enterprises and staff to their pages
    for path in ("/resident/", "/enterprise/", "/workbench/"):
        assert f'<a class="govuk-link" href="{path}">' in body
    # and to the public list of service points where one exists
    api_url = existing_url(["/api/v1/organisations/service-points"])
    if api_url is None:
        pytest.skip("the organisations API is not installed")
    assert f'<a class="govuk-link" href="{api_url}">服务网点名录（JSON）</a>' in body
