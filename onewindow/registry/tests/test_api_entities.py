"""``GET /api/v1/registry/entities/{credit_code}``: the public basic information, for anyone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from conftest import ALL_ROLES
from onewindow.registry.tests.test_entities import CODE, OTHER_CODE, _register

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [*ALL_ROLES, None])
def test_anyone_reads_the_public_basic_information(
    role: str | None, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    _register(None)
    client = Client() if role is None else client_for(role_users[role])
    answer = client.get(f"/api/v1/registry/entities/{CODE}")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"credit_code", "name", "type", "status", "registration_authority", "established_on"}
    assert (body["credit_code"], body["status"]) == (CODE, "active")
    missing = client.get(f"/api/v1/registry/entities/{OTHER_CODE}")
    assert (missing.status_code, missing.json()["code"]) == (404, "entity_not_found")
    assert client.get("/api/v1/registry/entities/NOT-A-CODE").status_code == 404
