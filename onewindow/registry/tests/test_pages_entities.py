"""The legal-entity register's pages (issue #5 item 2 "pages", item 3): the public lookup by unified social
credit code for anyone (企业信息公示暂行条例 第六条), and registration, change and cancellation forms with the
version history for market-regulation handlers (市场主体登记管理条例 第五条, 第二十四条, 第三十一条).

The forms are for handlers of ``AMR`` only: every role of conftest.ALL_ROLES gets 403 (``department_handler``
is in ``TDEPT``), anonymous visitors are sent to sign in, and a refused POST changes nothing (GB/T
22239-2019 §8.1.4.2). The public page shows the public items only; the rest is for market regulation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.audit.models import AuditRecord
from onewindow.core.validators import make_credit_code
from onewindow.outbox.models import OutboxEvent
from onewindow.registry.entities import entity_register
from onewindow.registry.models_entities import EntityStatus, LegalEntity, LegalEntityVersion
from onewindow.registry.tests.test_population_support import GULOU

pytestmark = pytest.mark.django_db

ClientFor = Callable[[object], Client]
CODE = make_credit_code(authority="9", entity_type="1", division="350100", organisation_base="MA000001")
NEW_CODE = make_credit_code(authority="9", entity_type="1", division="350100", organisation_base="MA000002")
NAME = "福州闽江科技有限公司"
SCOPE = "软件开发\n信息技术咨询"


@pytest.fixture
def handler() -> User:
    user = staff_user(Role.DEPARTMENT_HANDLER, department_code="AMR", username="amr_handler")
    TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    return user


@pytest.fixture
def entity(handler: User) -> LegalEntity:
    return entity_register(
        acting_user=handler,
        credit_code=CODE,
        name=NAME,
        type="llc",
        division_code=GULOU,
        registered_capital="100",
        address="福州市鼓楼区五四路 1 号",
        business_scope=SCOPE,
        established_on=dt.date(2024, 5, 6),
        case_tracking_no="ZW2024000009",
    )


@pytest.fixture
def client(handler: User, client_for: ClientFor) -> Client:
    return client_for(handler)


def state() -> dict[str, Any]:
    return {
        "entities": list(
            LegalEntity.objects.order_by("pk").values_list(
                "pk", "credit_code", "name", "status", "version", "address", "registered_capital"
            )
        ),
        "versions": list(LegalEntityVersion.objects.order_by("pk").values_list("pk", "entity_id", "version")),
        "events": list(OutboxEvent.objects.order_by("created_at").values_list("topic", "key")),
    }


def _register_form(**overrides: str) -> dict[str, str]:
    return {
        "credit_code": NEW_CODE,
        "name": "福州台江贸易有限公司",
        "type": "llc",
        "division_code": "350103",
        "address": "福州市台江区八一七中路 1 号",
        "registered_capital": "50",
        "legal_rep_id_number": "",
        "business_scope": "日用百货销售",
        "established_on": "2024-06-01",
        "case_tracking_no": "ZW2024000010",
        **overrides,
    }


# --- The public lookup ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_anyone_looks_up_the_public_information_and_nothing_more(
    role: str, role_users: dict[str, Any], client_for: ClientFor, entity: LegalEntity
) -> None:
    # Given a user in the role (none of them in market regulation), or an anonymous visitor
    visitor = Client() if role == "anonymous" else client_for(role_users[role])

    # When they look the entity up by its credit code, and open its page
    lookup = visitor.get("/registry/entities/", {"credit_code": CODE})
    detail = visitor.get(f"/registry/entities/{CODE}/")

    # Then they see the public basic information only
    for response in (lookup, detail):
        assert response.status_code == 200
        body = response.content.decode()
        assert NAME in body
        assert CODE in body
        assert "2024-05-06" in body
        assert "五四路" not in body  # the address, the scope and the history are for market regulation
        assert "软件开发" not in body
        assert "ZW2024000009" not in body
        assert f"/registry/entities/{CODE}/change" not in body


def test_market_regulation_sees_the_whole_registration_history_and_changes(
    client: Client, entity: LegalEntity
) -> None:
    response = client.get(f"/registry/entities/{CODE}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "福州市鼓楼区五四路 1 号" in body
    assert "软件开发<br>信息技术咨询" in body
    assert "ZW2024000009" in body  # the history: the case of the registration
    assert f'href="/registry/entities/{CODE}/change"' in body
    assert f'href="/registry/entities/{CODE}/cancel"' in body
    assert 'href="/registry/entities/new"' in body


def test_an_unknown_or_invalid_code_is_a_404_with_the_reason_at_the_field(client: Client) -> None:
    anonymous = Client()

    unknown = anonymous.get("/registry/entities/", {"credit_code": NEW_CODE})
    invalid = anonymous.get("/registry/entities/", {"credit_code": "not-a-code"})

    for response in (unknown, invalid):
        assert response.status_code == 404
        assert '<a href="#id_credit_code">' in response.content.decode()
        assert "市场主体库中没有该统一社会信用代码。" in response.content.decode()
    assert anonymous.get(f"/registry/entities/{NEW_CODE}/").status_code == 404


def test_the_lookup_page_without_a_code_is_the_empty_form(entity: LegalEntity) -> None:
    response = Client().get("/registry/entities/")

    assert response.status_code == 200
    assert NAME not in response.content.decode()
    assert 'hx-get="/registry/entities/"' in response.content.decode()


def test_htmx_gets_a_not_found_as_200_so_that_it_is_swapped_in() -> None:
    response = Client().get("/registry/entities/", {"credit_code": NEW_CODE}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "市场主体库中没有该统一社会信用代码。" in response.content.decode()


# --- Who may register, change and cancel ------------------------------------------------------------------

FORMS: list[tuple[str, str, dict[str, str] | None]] = [
    ("get", "/registry/entities/new", None),
    ("post", "/registry/entities/new", _register_form()),
    ("get", f"/registry/entities/{CODE}/change", None),
    ("post", f"/registry/entities/{CODE}/change", {"name": NAME, "address": "新地址 2 号"}),
    ("get", f"/registry/entities/{CODE}/cancel", None),
    ("post", f"/registry/entities/{CODE}/cancel", {"reason": "决议解散"}),
]
FORM_IDS = [f"{method} {path}" for method, path, _form in FORMS]


@pytest.mark.parametrize(("method", "path", "form"), FORMS, ids=FORM_IDS)
@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_but_market_regulation_is_refused_and_nothing_changes(
    role: str,
    method: str,
    path: str,
    form: dict[str, str] | None,
    role_users: dict[str, Any],
    client_for: ClientFor,
    entity: LegalEntity,
) -> None:
    before = state()
    denials = AuditRecord.objects.filter(action="permission.denied").count()

    response = getattr(client_for(role_users[role]), method)(path, form or {})

    assert response.status_code == 403
    assert AuditRecord.objects.filter(action="permission.denied").count() == denials + 1
    assert state() == before


@pytest.mark.parametrize(("method", "path", "form"), FORMS, ids=FORM_IDS)
def test_anonymous_visitors_are_sent_to_sign_in(
    method: str, path: str, form: dict[str, str] | None, entity: LegalEntity
) -> None:
    before = state()

    response = getattr(Client(), method)(path, form or {})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert state() == before


@pytest.mark.parametrize("path", [path for method, path, _form in FORMS if method == "get"])
def test_market_regulation_opens_the_forms(path: str, client: Client, entity: LegalEntity) -> None:
    assert client.get(path).status_code == 200


def test_changing_an_entity_not_in_the_register_is_a_404(client: Client) -> None:
    assert client.get(f"/registry/entities/{NEW_CODE}/change").status_code == 404
    assert client.post(f"/registry/entities/{NEW_CODE}/cancel", {"reason": "x"}).status_code == 404


# --- Register, change, cancel -----------------------------------------------------------------------------


def test_register_then_the_entity_page_with_a_success_message(client: Client) -> None:
    response = client.post("/registry/entities/new", _register_form())

    assert response.status_code == 302
    assert response["Location"] == f"/registry/entities/{NEW_CODE}/"
    registered = LegalEntity.objects.get(credit_code=NEW_CODE)
    assert registered.registered_capital == Decimal("50")
    assert OutboxEvent.objects.filter(topic="entity.registered", key=NEW_CODE).count() == 1
    assert "设立登记已办理。" in client.get(response["Location"]).content.decode()


def test_register_refusals_next_to_their_fields_in_both_languages(
    client: Client, entity: LegalEntity
) -> None:
    form = _register_form(credit_code="91350100MA0000000X", type="", registered_capital="-1")

    chinese = client.post("/registry/entities/new", form)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.post("/registry/entities/new", form)

    assert chinese.status_code == 422
    body = chinese.content.decode()
    for field in ("credit_code", "type", "registered_capital"):
        assert f'<a href="#id_{field}">' in body, field
    assert "注册资本应为大于 0 的金额（万元）。" in body
    assert "The registered capital is an amount above 0 (in 10,000 yuan)." in english.content.decode()
    assert LegalEntity.objects.count() == 1


def test_register_a_name_an_active_entity_has_is_a_409(client: Client, entity: LegalEntity) -> None:
    before = state()

    response = client.post("/registry/entities/new", _register_form(name=NAME))

    assert response.status_code == 409
    assert '<a href="#id_name">' in response.content.decode()
    assert state() == before


def test_change_starts_from_the_current_values_and_changes_only_what_differs(
    client: Client, entity: LegalEntity
) -> None:
    # Given the change form, prefilled with the current registration
    page = client.get(f"/registry/entities/{CODE}/change").content.decode()
    assert f'value="{NAME}"' in page
    assert 'value="100"' in page

    # When the handler changes the address only (the browser sends the scope's lines with CRLF)
    response = client.post(
        f"/registry/entities/{CODE}/change",
        {
            "name": NAME,
            "address": "福州市鼓楼区五四路 9 号",
            "registered_capital": "100",
            "business_scope": SCOPE.replace("\n", "\r\n"),
            "legal_rep_id_number": "",
            "case_tracking_no": "ZW2024000011",
        },
    )

    # Then only the address changed, in version 2
    assert response.status_code == 302
    version = LegalEntityVersion.objects.get(entity=entity, version=2)
    assert version.changed == ["address"]
    assert version.case_tracking_no == "ZW2024000011"


def test_change_with_nothing_different_is_refused_at_the_top(client: Client, entity: LegalEntity) -> None:
    before = state()

    response = client.post(
        f"/registry/entities/{CODE}/change",
        {
            "name": NAME,
            "address": "福州市鼓楼区五四路 1 号",
            "registered_capital": "100",
            "business_scope": SCOPE,
        },
    )

    assert response.status_code == 422
    assert "变更后的内容与现登记内容相同。" in response.content.decode()
    assert state() == before


def test_cancel_needs_a_reason_and_a_cancelled_entity_cannot_be_cancelled_again(
    client: Client, entity: LegalEntity
) -> None:
    no_reason = client.post(f"/registry/entities/{CODE}/cancel", {"reason": ""})
    cancelled = client.post(f"/registry/entities/{CODE}/cancel", {"reason": "股东会决议解散"})
    again = client.post(f"/registry/entities/{CODE}/cancel", {"reason": "再次注销"})

    assert no_reason.status_code == 422
    assert '<a href="#id_reason">' in no_reason.content.decode()
    assert cancelled.status_code == 302
    entity.refresh_from_db()
    assert entity.status == EntityStatus.CANCELLED
    assert again.status_code == 409
    assert "该市场主体已注销，不能办理注销登记。" in again.content.decode()
    # The public page shows it cancelled, and the handler is offered no more changes
    page = client.get(f"/registry/entities/{CODE}/").content.decode()
    assert "注销" in page
    assert f"/registry/entities/{CODE}/change" not in page


# --- Navigation -------------------------------------------------------------------------------------------


def test_the_register_is_on_the_workbench_of_market_regulation_only(
    client: Client, role_users: dict[str, Any], client_for: ClientFor
) -> None:
    assert 'href="/registry/entities/"' in client.get("/workbench/").content.decode()
    for role in ("department_handler", "department_admin", "window_clerk", "system_admin"):
        assert (
            'href="/registry/entities/"'
            not in client_for(role_users[role]).get("/workbench/").content.decode()
        )


@pytest.mark.parametrize(
    ("role", "home"), [("resident", "/resident/"), ("enterprise_representative", "/enterprise/")]
)
def test_residents_and_enterprises_find_the_public_lookup(
    role: str, home: str, role_users: dict[str, Any], client_for: ClientFor
) -> None:
    assert 'href="/registry/entities/"' in client_for(role_users[role]).get(home).content.decode()
