"""Every population-register API endpoint for every role, anonymously and for a public-security handler:
only the handler of department ``PSB`` may read or change the register; everyone else gets 403 (401
without a caller), and a refused call changes nothing but the audit record of the refusal (户口登记条例
第三条; PIPL Art. 51; GB/T 22239-2019 §8.1.4.2: access control by role and object).

``department_handler`` is a handler of ``TDEPT``: the right role in the wrong department, refused too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.audit.models import AuditRecord
from onewindow.registry.tests.test_population_support import (
    BABY_ID,
    BIRTH_DATE,
    GULOU,
    MOTHER_ID,
    TAIJIANG,
    psb_case,
    register,
    registrar,
    state,
)

pytestmark = pytest.mark.django_db

PSB = "psb_handler"
MOTHER_PATH = f"/api/v1/registry/persons/{MOTHER_ID}"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    body: dict[str, Any] | None = None
    success: int = 200
    # Values the answer must not contain in the clear (the ID numbers, the full names).
    secrets: tuple[str, ...] = field(default=(MOTHER_ID, "林美华"))

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path.removeprefix('/api/v1/registry')}"


ENDPOINTS = [
    Endpoint("get", MOTHER_PATH + "?purpose=ZW2024000001"),
    Endpoint(
        "post",
        "/api/v1/registry/persons/births",
        {
            "id_number": BABY_ID,
            "name": "林小宝",
            "gender": "male",
            "ethnicity": "01",
            "birth_date": BIRTH_DATE.isoformat(),
            "birthplace_code": GULOU,
            "household_no": "350102000001",
            "relation_to_head": "child",
        },
        success=201,
        secrets=(BABY_ID, "林小宝"),
    ),
    Endpoint(
        "post",
        MOTHER_PATH + "/transfer",
        {
            "household_no": "350103000007",
            "relation_to_head": "head",
            "division_code": TAIJIANG,
            "address": "福州市台江区中亭街 8 号",
        },
    ),
    Endpoint("post", MOTHER_PATH + "/death", {"died_on": timezone.localdate().isoformat()}),
    Endpoint("post", MOTHER_PATH + "/rename", {"new_name": "林美丽"}, secrets=(MOTHER_ID, "林美丽")),
    Endpoint(
        "post",
        MOTHER_PATH + "/correct",
        {"corrections": {"ethnicity": "02"}, "reason": "登记时民族填错"},
    ),
]


@pytest.fixture
def users(role_users: dict[str, Any]) -> dict[str, User]:
    handler = registrar(PSB)
    register(handler)
    return {**role_users, PSB: handler}


def _client(role: str, users: dict[str, User], api_token_for: Callable[[object], str]) -> Client:
    if role == "anonymous":
        return Client()
    return Client(headers={"authorization": f"Bearer {api_token_for(users[role])}"})


def _state() -> dict[str, Any]:
    """What a registry endpoint may write: the register, its events and audit records (refusals excepted)."""
    return {
        **state(),
        "audit": list(
            AuditRecord.objects.exclude(action="permission.denied")
            .order_by("seq")
            .values_list("action", "object_id", "details")
        ),
    }


def _call(client: Client, endpoint: Endpoint) -> Any:
    if endpoint.method == "get":
        return client.get(endpoint.path)
    return client.post(endpoint.path, endpoint.body or {}, content_type="application/json")


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous", PSB])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_registry_endpoint_access(
    users: dict[str, User], api_token_for: Callable[[object], str], role: str, endpoint: Endpoint
) -> None:
    client = _client(role, users, api_token_for)
    before = _state()

    response = _call(client, endpoint)

    body = response.content.decode()
    for secret in endpoint.secrets:
        assert secret not in body
    if role == PSB:
        assert response.status_code == endpoint.success, body
        assert response.json()["masked"] is True
        return
    assert response.status_code == (401 if role == "anonymous" else 403), body
    error = response.json()
    assert error["code"] == ("not_authenticated" if role == "anonymous" else "permission_denied")
    assert error["message_zh"]
    assert error["message_en"]
    assert _state() == before
    if role != "anonymous":
        refusal = AuditRecord.objects.filter(action="permission.denied").latest("seq")
        assert refusal.actor_id == users[role].pk


@pytest.mark.parametrize("role", [*ALL_ROLES, PSB])
def test_a_refused_full_view_shows_nothing(
    users: dict[str, User], api_token_for: Callable[[object], str], role: str
) -> None:
    """Asking for the full record with a purpose does not open it to anyone but the register's keepers."""
    client = _client(role, users, api_token_for)
    psb_case("ZW2024000001")

    response = client.get(MOTHER_PATH + "?purpose=ZW2024000001&full=true")

    if role == PSB:
        assert (response.status_code, response.json()["id_number"]) == (200, MOTHER_ID)
    else:
        assert response.status_code == 403
        assert MOTHER_ID not in response.content.decode()
        assert "林美华" not in response.content.decode()
