from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from onewindow.accounts.permissions import user_roles


@pytest.mark.django_db
def test_role_users_hold_their_roles(
    role_users: dict[str, object], client_for: Callable[[object], Client]
) -> None:
    for role, user in role_users.items():
        assert [grant.role for grant in user_roles(user)] == [role]  # type: ignore[arg-type]
    client = client_for(role_users["auditor"])
    assert client.get("/").status_code == 200
