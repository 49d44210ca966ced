"""Administration pages under /admin/organisations/: who may open and submit each one (least privilege,
MLPS 2.0 §8.1.4.2), errors shown per field in Chinese and English with the input kept, and the writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse

from conftest import ALL_ROLES
from onewindow.accounts.models import Membership, User
from onewindow.audit.models import AuditRecord
from onewindow.organisations.models import Department, Division, ServicePoint
from onewindow.organisations.tests.factories import DepartmentFactory, agency_credit_code
from onewindow.organisations.tests.helpers import last_audit

pytestmark = pytest.mark.django_db

ClientFor = Callable[[object], Client]

ADMINS = frozenset({"system_admin"})
ADMINS_AND_DEPARTMENT_ADMINS = frozenset({"system_admin", "department_admin"})

PAGES: list[tuple[str, dict[str, str], frozenset[str]]] = [
    ("organisations:admin_index", {}, ADMINS_AND_DEPARTMENT_ADMINS),
    ("organisations:department_list", {}, ADMINS),
    ("organisations:department_create", {}, ADMINS),
    ("organisations:department_edit", {"code": "TDEPT"}, ADMINS),
    ("organisations:department_memberships", {"code": "TDEPT"}, ADMINS_AND_DEPARTMENT_ADMINS),
    ("organisations:membership_revoke", {"pk": "handler"}, ADMINS_AND_DEPARTMENT_ADMINS),
    ("organisations:service_point_list", {}, ADMINS),
    ("organisations:service_point_create", {}, ADMINS),
    ("organisations:service_point_edit", {"code": "HALL-1"}, ADMINS),
    ("organisations:division_list", {}, ADMINS),
    ("organisations:division_detail", {"code": "350102"}, ADMINS),
    ("organisations:division_create", {"code": "350102"}, ADMINS),
]


def page_url(name: str, kwargs: dict[str, str], handler_membership: Membership) -> str:
    resolved = {
        key: str(handler_membership.pk) if value == "handler" else value for key, value in kwargs.items()
    }
    return reverse(name, kwargs=resolved)


class Clients(dict[str, Client]):
    """A signed-in client per role, made when first asked for (signing in twelve users is slow)."""

    def __init__(self, role_users: dict[str, Any], client_for: ClientFor) -> None:
        super().__init__()
        self.role_users = role_users
        self.client_for = client_for

    def __missing__(self, role: str) -> Client:
        client = Client() if role == "anonymous" else self.client_for(self.role_users[role])
        self[role] = client
        return client


@pytest.fixture
def clients(role_users: dict[str, Any], client_for: ClientFor) -> dict[str, Client]:
    return Clients(role_users, client_for)


@pytest.mark.parametrize(("name", "kwargs", "allowed"), PAGES, ids=[page[0] for page in PAGES])
def test_who_may_open_each_page(
    name: str,
    kwargs: dict[str, str],
    allowed: frozenset[str],
    clients: dict[str, Client],
    handler_membership: Membership,
    hall: ServicePoint,
) -> None:
    url = page_url(name, kwargs, handler_membership)

    statuses = {role: clients[role].get(url).status_code for role in [*ALL_ROLES, "anonymous"]}

    assert statuses == {
        **{role: 200 if role in allowed else 403 for role in ALL_ROLES},
        "anonymous": 302,
    }
    login = clients["anonymous"].get(url)
    assert login["Location"] == f"{resolve_url(settings.LOGIN_URL)}?next={url}"
    # every refusal is audited
    refused = len(ALL_ROLES) - len(allowed)
    assert AuditRecord.objects.filter(action="permission.denied").count() == refused


def department_post(**overrides: str) -> dict[str, str]:
    return {
        "code": "PSB",
        "name": "福州市公安局",
        "name_en": "Fuzhou Public Security Bureau",
        "credit_code": agency_credit_code(700_001),
        "division_code": "350100",
        "parent_code": "",
        **overrides,
    }


def service_point_post(**overrides: str) -> dict[str, str]:
    return {
        "code": "SP-NEW",
        "name": "新的服务大厅",
        "kind": "hall",
        "division_code": "350102",
        "address": "",
        "opening_hours": "",
        "phone": "",
        **overrides,
    }


def snapshot() -> tuple[list[Any], ...]:
    return (
        list(Department.objects.order_by("code").values_list("code", "name", "is_active")),
        list(ServicePoint.objects.order_by("code").values_list("code", "name", "is_active")),
        list(Division.objects.filter(code__regex=r"^\d{12}$").values_list("code", flat=True)),
        list(Membership.objects.order_by("pk").values_list("pk", "user_id", "role")),
    )


POSTS: list[tuple[str, str, dict[str, str], frozenset[str]]] = [
    ("department_create", "organisations:department_create", {}, ADMINS),
    ("department_edit", "organisations:department_edit", {"code": "TDEPT"}, ADMINS),
    ("service_point_create", "organisations:service_point_create", {}, ADMINS),
    ("service_point_edit", "organisations:service_point_edit", {"code": "HALL-1"}, ADMINS),
    ("division_create", "organisations:division_create", {"code": "350102"}, ADMINS),
    ("grant", "organisations:department_memberships", {"code": "TDEPT"}, ADMINS_AND_DEPARTMENT_ADMINS),
    ("revoke", "organisations:membership_revoke", {"pk": "handler"}, ADMINS_AND_DEPARTMENT_ADMINS),
]


def post_data(kind: str, new_staff: User) -> dict[str, str]:
    department = Department.objects.get(code="TDEPT")
    return {
        "department_create": department_post(),
        "department_edit": department_post(
            code="TDEPT", name="改名", credit_code=department.credit_code, is_active="on"
        ),
        "service_point_create": service_point_post(),
        "service_point_edit": service_point_post(code="HALL-1", name="改名", division_code="350100"),
        "division_create": {"code": "350102001000", "name": "鼓东街道"},
        "grant": {"username": new_staff.username, "role": "department_handler"},
        "revoke": {},
    }[kind]


@pytest.mark.parametrize(("kind", "name", "kwargs", "allowed"), POSTS, ids=[post[0] for post in POSTS])
@pytest.mark.parametrize(
    "role", [*[role for role in ALL_ROLES if role not in ADMINS_AND_DEPARTMENT_ADMINS], "anonymous"]
)
def test_refused_submissions_change_nothing(
    kind: str,
    name: str,
    kwargs: dict[str, str],
    allowed: frozenset[str],
    role: str,
    clients: dict[str, Client],
    handler_membership: Membership,
    hall: ServicePoint,
    new_staff: Callable[..., User],
) -> None:
    url = page_url(name, kwargs, handler_membership)
    data = post_data(kind, new_staff())
    client = clients[role]  # signing in is audited: do it before counting
    before = snapshot()
    records = AuditRecord.objects.exclude(action="permission.denied").count()

    response = client.post(url, data)

    assert response.status_code == (302 if role == "anonymous" else 403)
    if role == "anonymous":
        assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))
    assert snapshot() == before
    assert AuditRecord.objects.exclude(action="permission.denied").count() == records


@pytest.mark.parametrize(("kind", "name", "kwargs", "allowed"), POSTS, ids=[post[0] for post in POSTS])
def test_department_admins_may_submit_only_their_staff_pages(
    kind: str,
    name: str,
    kwargs: dict[str, str],
    allowed: frozenset[str],
    clients: dict[str, Client],
    handler_membership: Membership,
    hall: ServicePoint,
    new_staff: Callable[..., User],
) -> None:
    url = page_url(name, kwargs, handler_membership)
    client = clients["department_admin"]
    before = snapshot()

    response = client.post(url, post_data(kind, new_staff()))

    if "department_admin" in allowed:
        assert response.status_code == 302
        assert snapshot() != before
    else:
        assert response.status_code == 403
        assert snapshot() == before


@pytest.mark.parametrize(("kind", "name", "kwargs", "allowed"), POSTS, ids=[post[0] for post in POSTS])
def test_system_admins_submit_every_page(
    kind: str,
    name: str,
    kwargs: dict[str, str],
    allowed: frozenset[str],
    clients: dict[str, Client],
    handler_membership: Membership,
    hall: ServicePoint,
    new_staff: Callable[..., User],
) -> None:
    url = page_url(name, kwargs, handler_membership)
    client = clients["system_admin"]
    records = AuditRecord.objects.count()

    response = client.post(url, post_data(kind, new_staff()))

    assert response.status_code == 302, response.content.decode()[:2000]
    expected_action = {
        "department_create": "department.created",
        "department_edit": "department.updated",
        "service_point_create": "service_point.created",
        "service_point_edit": "service_point.updated",
        "division_create": "division.created",
        "grant": "membership.granted",
        "revoke": "membership.revoked",
    }[kind]
    assert AuditRecord.objects.count() == records + 1
    assert (last_audit().action, last_audit().actor_username) == (expected_action, "t_system_admin")


# --- errors per field, in both languages, with the input kept ---------------------------------------


def test_form_errors_are_shown_per_field_in_chinese_with_the_input_kept(
    clients: dict[str, Client],
) -> None:
    data = department_post(name="", credit_code="91350100M000100Y43", division_code="35010")

    response = clients["system_admin"].post(reverse("organisations:department_create"), data)

    body = response.content.decode()
    assert response.status_code == 200
    assert "govuk-error-summary" in body
    assert "91350100M000100Y43 不是机关的统一社会信用代码：机关的代码以 11 开头。" in body
    assert "行政区划代码应为 6 位或 12 位，实际为 5 位。" in body
    assert 'value="91350100M000100Y43"' in body  # the input is kept
    assert 'value="PSB"' in body
    assert 'id="id_credit_code-error"' in body
    assert "govuk-input--error" in body
    assert not Department.objects.filter(code="PSB").exists()


def test_form_errors_are_shown_in_english(clients: dict[str, Client]) -> None:
    data = department_post(credit_code="91350100M000100Y43")

    response = clients["system_admin"].post(
        reverse("organisations:department_create"), data, HTTP_ACCEPT_LANGUAGE="en"
    )

    body = response.content.decode()
    assert (
        "91350100M000100Y43 is not a government agency&#x27;s code: agencies&#x27; codes start with 11."
        in body
    )


def test_a_rule_broken_in_the_action_is_shown_next_to_its_field(clients: dict[str, Client]) -> None:
    taken = Department.objects.get(code="TDEPT").credit_code

    response = clients["system_admin"].post(
        reverse("organisations:department_create"), department_post(code="TDEPT", credit_code=taken)
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert '<p id="id_code-error" class="govuk-error-message">' in body
    assert "部门代码 TDEPT 已被使用。" in body


def test_granting_a_role_to_an_unknown_account_says_so(clients: dict[str, Client]) -> None:
    response = clients["department_admin"].post(
        reverse("organisations:department_memberships", kwargs={"code": "TDEPT"}),
        {"username": "nobody", "role": "department_handler"},
    )
    assert "账户 nobody 不存在。" in response.content.decode()


def test_department_admins_are_offered_only_the_handler_role(clients: dict[str, Client]) -> None:
    url = reverse("organisations:department_memberships", kwargs={"code": "TDEPT"})
    admin_page = clients["system_admin"].get(url).content.decode()
    department_admin_page = clients["department_admin"].get(url).content.decode()
    assert 'value="department_admin"' in admin_page
    assert 'value="department_admin"' not in department_admin_page
    assert 'value="department_handler"' in department_admin_page


def test_the_last_system_admin_is_not_revoked_from_the_page(
    clients: dict[str, Client], role_users: dict[str, Any]
) -> None:
    only = Membership.objects.get(user=role_users["system_admin"])
    response = clients["system_admin"].post(
        reverse("organisations:membership_revoke", kwargs={"pk": only.pk})
    )
    assert response.status_code == 409
    assert "不能撤销最后一个系统管理员。" in response.content.decode()
    assert Membership.objects.filter(pk=only.pk).exists()


def test_division_browse_shows_children_counts(clients: dict[str, Client], village: Division) -> None:
    body = (
        clients["system_admin"]
        .get(reverse("organisations:division_detail", kwargs={"code": "350102"}))
        .content
    )
    text = body.decode()
    assert "350102001000" in text
    assert reverse("organisations:division_create", kwargs={"code": "350102"}) in text
    provinces = clients["system_admin"].get(reverse("organisations:division_list")).content.decode()
    assert "福建省" in provinces
    # cities are not given townships by hand when they have counties
    city = clients["system_admin"].get(reverse("organisations:division_detail", kwargs={"code": "350100"}))
    assert reverse("organisations:division_create", kwargs={"code": "350100"}) not in city.content.decode()


def test_list_pages_use_a_fixed_number_of_queries(
    clients: dict[str, Client], django_assert_max_num_queries: Any, hall: ServicePoint
) -> None:
    for number in range(25):
        DepartmentFactory.create(code=f"Q{number}")
    client = clients["system_admin"]
    for name in (
        "organisations:department_list",
        "organisations:service_point_list",
        "organisations:division_list",
    ):
        with django_assert_max_num_queries(12):
            assert client.get(reverse(name)).status_code == 200


def test_pages_are_in_chinese_by_default_and_in_english_on_request(clients: dict[str, Client]) -> None:
    url = reverse("organisations:department_list")
    chinese = clients["system_admin"].get(url).content.decode()
    english = clients["system_admin"].get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<h1 class="govuk-heading-l">部门</h1>' in chinese
    assert '<h1 class="govuk-heading-l">Departments</h1>' in english
    assert " style=" not in chinese  # strict CSP: no inline styles
