"""Organisations API (/api/v1/organisations/): public divisions and service points, the department directory
for signed-in callers, and writes for system administrators (and department administrators for their own
handlers). Every endpoint is tried by every role and anonymously (MLPS 2.0 §8.1.4.2 access control)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.accounts.models import Membership, User
from onewindow.audit.models import AuditRecord
from onewindow.organisations.models import Department, Division, ServicePoint
from onewindow.organisations.tests.factories import DepartmentFactory, ServicePointFactory, agency_credit_code
from onewindow.organisations.tests.helpers import last_audit

pytestmark = pytest.mark.django_db

BASE = "/api/v1/organisations"
ROLES_AND_ANONYMOUS = [*ALL_ROLES, "anonymous"]


class Caller:
    """Calls the API as one role with a bearer token (or anonymously)."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"{BASE}{path}", params, headers=self.headers)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(f"{BASE}{path}", body, content_type="application/json", headers=self.headers)

    def delete(self, path: str) -> Any:
        return self.client.delete(f"{BASE}{path}", headers=self.headers)


@pytest.fixture
def callers(role_users: dict[str, Any], api_token_for: Callable[[object], str]) -> dict[str, Caller]:
    return {
        "anonymous": Caller(None),
        **{role: Caller(api_token_for(user)) for role, user in role_users.items()},
    }


# --- public reads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS)
def test_anyone_lists_divisions(role: str, callers: dict[str, Caller], village: Division) -> None:
    response = callers[role].get("/divisions", parent="350102")

    assert response.status_code == 200
    body = response.json()
    assert body[0] == {
        "code": "350102001000",
        "name": "鼓东街道",
        "level": "township",
        "parent_code": "350102",
        "children_count": 1,
    }


def test_divisions_without_parent_are_the_provinces(callers: dict[str, Caller], divisions: None) -> None:
    body = callers["anonymous"].get("/divisions").json()
    assert len(body) == 34
    assert body[0] == {
        "code": "110000",
        "name": "北京市",
        "level": "province",
        "parent_code": None,
        "children_count": 16,
    }


def test_an_unknown_parent_division_is_404(callers: dict[str, Caller], divisions: None) -> None:
    response = callers["anonymous"].get("/divisions", parent="999999")
    assert response.status_code == 404
    assert response.json() == {
        "code": "division_not_found",
        "message": "行政区划 999999 不存在。",
        "message_zh": "行政区划 999999 不存在。",
        "message_en": "Division 999999 does not exist.",
    }


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS)
def test_anyone_finds_open_service_points(
    role: str, callers: dict[str, Caller], hall: ServicePoint, village_point: ServicePoint
) -> None:
    ServicePointFactory.create(code="CLOSED", is_active=False)

    response = callers[role].get("/service-points", division="350102")

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "items": [
            {
                "code": "VP-1",
                "name": "南门社区服务站",
                "kind": "community",
                "division_code": "350102001001",
                "division_name": "南门社区",
                "address": "",
                "opening_hours": "",
                "phone": "",
            }
        ],
    }


# --- department directory -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS)
def test_the_department_directory_is_for_signed_in_callers(role: str, callers: dict[str, Caller]) -> None:
    listed = callers[role].get("/departments")
    single = callers[role].get("/departments/TDEPT")

    if role == "anonymous":
        assert (listed.status_code, single.status_code) == (401, 401)
        assert listed.json()["code"] == "not_authenticated"
        return
    assert (listed.status_code, single.status_code) == (200, 200)
    tdept = Department.objects.get(code="TDEPT")
    expected = {
        "code": "TDEPT",
        "name": "测试部门",
        "name_en": "Test department",
        "credit_code": tdept.credit_code,
        "division_code": "350100",
        "division_name": "福州市",
        "parent_code": None,
        "is_active": True,
    }
    assert listed.json() == {"count": 1, "items": [expected]}
    assert single.json() == expected


def test_an_unknown_department_is_404(callers: dict[str, Caller]) -> None:
    assert callers["resident"].get("/departments/NOPE").status_code == 404


# --- POST /departments --------------------------------------------------------------------------------


def department_body(**overrides: Any) -> dict[str, Any]:
    return {
        "code": "PSB",
        "name": "福州市公安局",
        "name_en": "Fuzhou Public Security Bureau",
        "credit_code": agency_credit_code(800_001),
        "division_code": "350100",
        **overrides,
    }


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS)
def test_only_system_admins_register_departments(role: str, callers: dict[str, Caller]) -> None:
    before = list(Department.objects.values_list("code", flat=True))

    response = callers[role].post("/departments", department_body())

    if role == "system_admin":
        assert response.status_code == 201
        assert response.json()["code"] == "PSB"
        assert last_audit().action == "department.created"
        return
    assert response.status_code == (401 if role == "anonymous" else 403)
    assert list(Department.objects.values_list("code", flat=True)) == before
    assert not AuditRecord.objects.filter(action="department.created").exists()


def test_a_refused_department_answers_with_the_rule(callers: dict[str, Caller]) -> None:
    response = callers["system_admin"].post("/departments", department_body(credit_code="91350100M000100Y43"))
    assert response.status_code == 422
    assert response.json() == {
        "code": "credit_code_not_government",
        "message": "91350100M000100Y43 不是机关的统一社会信用代码：机关的代码以 11 开头。",
        "message_zh": "91350100M000100Y43 不是机关的统一社会信用代码：机关的代码以 11 开头。",
        "message_en": "91350100M000100Y43 is not a government agency's code: agencies' codes start with 11.",
        "field": "credit_code",
    }
    taken = callers["system_admin"].post("/departments", department_body(code="TDEPT"))
    assert (taken.status_code, taken.json()["code"]) == (409, "department_code_taken")


# --- memberships ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS)
def test_who_may_grant_a_handler_role(
    role: str, callers: dict[str, Caller], new_staff: Callable[..., User]
) -> None:
    user = new_staff()

    response = callers[role].post(
        "/memberships", {"username": user.username, "role": "department_handler", "department_code": "TDEPT"}
    )

    if role in {"system_admin", "department_admin"}:
        assert response.status_code == 201
        body = response.json()
        assert {key: body[key] for key in ("username", "role", "department_code", "service_point_code")} == {
            "username": "newstaff",
            "role": "department_handler",
            "department_code": "TDEPT",
            "service_point_code": None,
        }
        assert last_audit().action == "membership.granted"
        return
    assert response.status_code == (401 if role == "anonymous" else 403)
    assert not Membership.objects.filter(user=user).exists()


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS)
def test_who_may_revoke_a_handler_role(
    role: str, callers: dict[str, Caller], handler_membership: Membership
) -> None:
    response = callers[role].delete(f"/memberships/{handler_membership.pk}")

    if role in {"system_admin", "department_admin"}:
        assert response.status_code == 204
        assert not Membership.objects.filter(pk=handler_membership.pk).exists()
        assert last_audit().action == "membership.revoked"
        return
    assert response.status_code == (401 if role == "anonymous" else 403)
    assert Membership.objects.filter(pk=handler_membership.pk).exists()
    assert not AuditRecord.objects.filter(action="membership.revoked").exists()


def test_a_department_admin_cannot_grant_department_admin(
    callers: dict[str, Caller], new_staff: Callable[..., User]
) -> None:
    user = new_staff()
    response = callers["department_admin"].post(
        "/memberships", {"username": user.username, "role": "department_admin", "department_code": "TDEPT"}
    )
    assert response.status_code == 403
    assert not Membership.objects.filter(user=user).exists()


def test_membership_rules_answer_with_their_code(
    callers: dict[str, Caller], new_staff: Callable[..., User], role_users: dict[str, Any]
) -> None:
    admin = callers["system_admin"]
    vendor = new_staff("vendor")
    until = (timezone.now() + timedelta(days=30)).isoformat()

    missing_scope = admin.post(
        "/memberships", {"username": "vendor", "role": "vendor_staff", "valid_until": until}
    )
    granted = admin.post(
        "/memberships",
        {"username": "vendor", "role": "vendor_staff", "valid_until": until, "system_codes": ["OW-PORTAL"]},
    )
    separated = admin.post("/memberships", {"username": "t_auditor", "role": "system_admin"})
    resident = admin.post("/memberships", {"username": "t_resident", "role": "leader"})
    unknown = admin.post("/memberships", {"username": "nobody", "role": "leader"})

    assert (missing_scope.status_code, missing_scope.json()["code"]) == (422, "membership_vendor_systems")
    assert granted.status_code == 201
    assert granted.json()["system_codes"] == ["OW-PORTAL"]
    assert Membership.objects.get(user=vendor).system_codes == ["OW-PORTAL"]
    assert (separated.status_code, separated.json()["code"]) == (409, "membership_separation_of_duties")
    assert (resident.status_code, resident.json()["code"]) == (422, "membership_not_staff")
    assert (unknown.status_code, unknown.json()["message_en"]) == (422, "There is no account nobody.")
    assert list(Membership.objects.filter(user=role_users["auditor"]).values_list("role", flat=True)) == [
        "auditor"
    ]


# --- query counts -------------------------------------------------------------------------------------


def test_list_endpoints_use_a_fixed_number_of_queries(
    callers: dict[str, Caller], django_assert_max_num_queries: Any, village_point: ServicePoint
) -> None:
    for number in range(30):
        DepartmentFactory.create(code=f"Q{number}")
        ServicePointFactory.create(code=f"SPQ{number}")

    # bearer lookup + last-used update + roles, then count + page
    with django_assert_max_num_queries(6):
        assert callers["resident"].get("/departments").json()["count"] == 31
    with django_assert_max_num_queries(2):
        assert callers["anonymous"].get("/service-points").json()["count"] == 31
    with django_assert_max_num_queries(2):
        assert len(callers["anonymous"].get("/divisions", parent="350100").json()) == 13
