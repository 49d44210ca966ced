"""The workbench links to the seal administration page (/seals/manage/) for exactly the roles that may use it:
department administrators and system administrators (docs/signatures.md, "Who may do what"). Least
privilege (GB/T 22239-2019 §8.1.4.2): no other role is offered the link, and the page itself still refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from conftest import ALL_ROLES
from onewindow.web import navigation
from onewindow.web.navigation import tiles_for

pytestmark = pytest.mark.django_db

SEAL_ADMINS = {"department_admin", "system_admin"}
MANAGE_URL = "/seals/manage/"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_the_seals_tile_is_for_seal_administrators_only(
    role: str, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    # Given a user in the role
    user = role_users[role]

    # When their workbench tiles are worked out and the page behind the tile is opened
    urls = [tile.url for tile in tiles_for(user, navigation.TILES["workbench"])]
    page = client_for(user).get(MANAGE_URL)

    # Then only department and system administrators get the tile, and exactly they may open the page
    assert (MANAGE_URL in urls) == (role in SEAL_ADMINS)
    assert (page.status_code == 200) == (role in SEAL_ADMINS), page.status_code


@pytest.mark.parametrize("role", sorted(SEAL_ADMINS))
def test_the_workbench_page_links_to_the_seals(
    role: str, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    html = client_for(role_users[role]).get("/workbench/").content.decode()

    assert f'href="{MANAGE_URL}"' in html
