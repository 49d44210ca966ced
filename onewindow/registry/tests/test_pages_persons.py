"""The population register's front-desk pages (issue #5 item 2 "pages"): lookup by ID number, masked unless a
full view is asked for with a case the department is working on; birth, transfer, death, change of name and
correction forms with the actions' bilingual errors next to their fields.

Only public-security handlers (``HANDLE_TASKS`` in ``PSB``) may open them: every role of conftest.ALL_ROLES
is refused with 403 (``department_handler`` is a handler of ``TDEPT``: the right role in the wrong
department), anonymous visitors are sent to sign in, and a refused POST changes nothing but the audit record
of the refusal (户口登记条例 第三条; PIPL Art. 51; GB/T 22239-2019 §8.1.4.2). ID numbers never appear in a
URL, and a masked page never carries the full number or name (PIPL Art. 51: de-identification).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.audit.models import AuditRecord
from onewindow.registry.models import Household, Person, PersonStatus, PersonVersion
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

ClientFor = Callable[[object], Client]
MOTHER_NAME = "林美华"
CASE = "ZW2024000001"


def psb_handler(username: str = "psb_handler") -> User:
    """A public-security handler who has passed two-step verification setup (pages need TOTP for staff)."""
    user = registrar(username)
    TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    return user


@pytest.fixture
def handler() -> User:
    return psb_handler()


@pytest.fixture
def mother(handler: User) -> Person:
    return register(handler)


@pytest.fixture
def client(handler: User, client_for: ClientFor) -> Client:
    return client_for(handler)


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _birth_form(**overrides: str) -> dict[str, str]:
    return {
        "id_number": BABY_ID,
        "name": "林小宝",
        "gender": "male",
        "ethnicity": "01",
        "birth_date": BIRTH_DATE.isoformat(),
        "birthplace_code": GULOU,
        "household_no": "350102000001",
        "relation_to_head": "child",
        "division_code": "",
        "address": "",
        "case_tracking_no": "",
        **overrides,
    }


# --- Who may open the pages -------------------------------------------------------------------------------

# (method, path template, form); {person} is the mother's internal id.
PAGES: list[tuple[str, str, dict[str, str] | None]] = [
    ("get", "/registry/persons/", None),
    ("post", "/registry/persons/", {"id_number": MOTHER_ID, "purpose": CASE, "full": "on"}),
    ("get", "/registry/persons/births/new", None),
    ("post", "/registry/persons/births/new", _birth_form()),
    ("get", "/registry/persons/{person}/", None),
    ("post", "/registry/persons/{person}/", {"purpose": CASE}),
    ("get", "/registry/persons/{person}/transfer", None),
    (
        "post",
        "/registry/persons/{person}/transfer",
        {
            "household_no": "350103000009",
            "relation_to_head": "head",
            "division_code": TAIJIANG,
            "address": "台江路 1 号",
        },
    ),
    ("get", "/registry/persons/{person}/death", None),
    ("post", "/registry/persons/{person}/death", {"died_on": "2024-01-02"}),
    ("get", "/registry/persons/{person}/rename", None),
    ("post", "/registry/persons/{person}/rename", {"new_name": "林美丽"}),
    ("get", "/registry/persons/{person}/correct", None),
    ("post", "/registry/persons/{person}/correct", {"ethnicity": "02", "reason": "民族登记有误"}),
]
PAGE_IDS = [f"{method} {path}" for method, path, _form in PAGES]


@pytest.mark.parametrize(("method", "path", "form"), PAGES, ids=PAGE_IDS)
@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_but_public_security_is_refused_and_nothing_changes(
    role: str,
    method: str,
    path: str,
    form: dict[str, str] | None,
    role_users: dict[str, Any],
    client_for: ClientFor,
    mother: Person,
) -> None:
    # Given the register holding the mother, a case of the department, and a user in the role
    psb_case(CASE)
    user = role_users[role]
    before = state()
    denials = AuditRecord.objects.filter(action="permission.denied").count()

    # When they open or post the page
    response = getattr(client_for(user), method)(path.format(person=mother.pk), form or {})

    # Then they are refused (audited), see nothing of the person, and the register is unchanged
    assert response.status_code == 403
    body = response.content.decode()
    assert MOTHER_ID not in body
    assert MOTHER_NAME not in body
    assert AuditRecord.objects.filter(action="permission.denied").count() == denials + 1
    assert not AuditRecord.objects.filter(
        action__in=["registry.person_viewed", "registry.person_history_viewed"]
    ).exists()
    assert state() == before


@pytest.mark.parametrize(("method", "path", "form"), PAGES, ids=PAGE_IDS)
def test_anonymous_visitors_are_sent_to_sign_in_and_nothing_changes(
    method: str, path: str, form: dict[str, str] | None, mother: Person
) -> None:
    before = state()

    response = getattr(Client(), method)(path.format(person=mother.pk), form or {})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert state() == before


@pytest.mark.parametrize(("method", "path", "form"), [page for page in PAGES if page[0] == "get"])
def test_public_security_handlers_open_every_page_uncached(
    method: str, path: str, form: None, client: Client, mother: Person
) -> None:
    response = client.get(path.format(person=mother.pk))

    assert response.status_code == 200
    # Personal data: never kept by the browser or a proxy.
    assert "no-store" in response["Cache-Control"]
    assert response.context["form"] is not None


def test_an_unknown_person_is_404(client: Client) -> None:
    assert client.get("/registry/persons/999999/").status_code == 404
    assert client.get("/registry/persons/999999/rename").status_code == 404


# --- Lookup -----------------------------------------------------------------------------------------------


def test_lookup_shows_the_masked_record_and_history_without_the_number_in_any_url(
    client: Client, mother: Person
) -> None:
    # Given a person with two versions (born, renamed)
    client.post(
        f"/registry/persons/{mother.pk}/rename", {"new_name": "林美丽", "case_tracking_no": "ZW2024000002"}
    )

    # When the handler looks her up by ID number (a POST: the page has no GET form with the number)
    page = client.get("/registry/persons/").content.decode()
    assert re.search(r'<form id="ow-person-lookup" method="post"', page)
    response = client.post("/registry/persons/", {"id_number": MOTHER_ID})

    # Then the masked record shows, with its history, and nothing unmasks her
    assert response.status_code == 200
    body = response.content.decode()
    assert "350102********0226" in body
    assert "林**" in body
    assert MOTHER_ID not in body
    assert "林美丽" not in body
    assert MOTHER_NAME not in body
    # The birth date would unmask the number: not even as the effective date of the birth version
    assert "1990-06-01" not in body
    assert "东街" not in body  # nor the address
    assert "第 2 版" in body
    assert "第 1 版" in body
    assert "ZW2024000002" in body
    assert f'href="/registry/persons/{mother.pk}/rename"' in body
    # Every link names the person by internal id only
    assert all(MOTHER_ID not in link for link in re.findall(r'href="([^"]+)"', body))
    assert list(
        AuditRecord.objects.filter(action="registry.person_viewed").values_list("details__full", flat=True)
    ) == [False]
    assert AuditRecord.objects.filter(
        action="registry.person_history_viewed", object_id=str(mother.pk)
    ).exists()


def test_lookup_in_full_with_a_case_of_the_department_shows_everything_and_is_audited(
    client: Client, mother: Person
) -> None:
    # Given a case public security is working on
    psb_case(CASE)

    # When the handler asks for the full view with its tracking number
    response = client.post("/registry/persons/", {"id_number": MOTHER_ID, "purpose": CASE, "full": "on"})

    # Then the full record shows and the view is audited with the purpose
    body = response.content.decode()
    assert response.status_code == 200
    assert MOTHER_ID in body
    assert MOTHER_NAME in body
    assert "1990-06-01" in body
    assert "福州市鼓楼区东街 1 号" in body
    viewed = AuditRecord.objects.get(action="registry.person_viewed")
    assert viewed.details == {"purpose": CASE, "full": True}
    history = AuditRecord.objects.get(action="registry.person_history_viewed")
    assert history.details == {"purpose": CASE, "full": True, "versions": 1}


def test_full_view_needs_a_purpose_shown_next_to_its_field(client: Client, mother: Person) -> None:
    response = client.post("/registry/persons/", {"id_number": MOTHER_ID, "full": "on"})

    assert response.status_code == 422
    body = response.content.decode()
    assert '<a href="#id_purpose">' in body
    assert "查看完整信息须说明用途（办件编号）。" in body
    assert 'aria-describedby="id_purpose_helptext id_purpose-error"' in body
    # Nothing from the register; the number typed stays in its field, to be sent again
    assert MOTHER_NAME not in body
    assert body.count(MOTHER_ID) == 1
    assert f'value="{MOTHER_ID}"' in body


def test_full_view_for_a_case_the_department_is_not_working_on_is_refused_in_english(
    client: Client, mother: Person
) -> None:
    response = english(client).post(
        "/registry/persons/", {"id_number": MOTHER_ID, "purpose": "ZW2099999999", "full": "on"}
    )

    assert response.status_code == 403
    body = response.content.decode()
    assert "A full view is only for a case your department is working on" in body
    assert MOTHER_NAME not in body
    assert body.count(MOTHER_ID) == 1
    assert AuditRecord.objects.filter(action="registry.person_view_refused").count() == 1


def test_an_id_number_not_in_the_register_is_a_field_error(client: Client) -> None:
    response = client.post("/registry/persons/", {"id_number": BABY_ID})

    assert response.status_code == 404
    assert "户籍登记中没有该身份证号码的人员。" in response.content.decode()
    assert '<a href="#id_id_number">' in response.content.decode()


def test_htmx_gets_errors_as_200_so_that_they_are_swapped_in(client: Client) -> None:
    response = client.post("/registry/persons/", {"id_number": BABY_ID}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert 'id="ow-error-summary"' in response.content.decode()


def test_person_page_full_view_by_post_and_back_to_masked(client: Client, mother: Person) -> None:
    psb_case(CASE)

    full = client.post(f"/registry/persons/{mother.pk}/", {"purpose": CASE})
    masked = client.get(f"/registry/persons/{mother.pk}/")

    assert full.status_code == 200
    assert MOTHER_ID in full.content.decode()
    assert "变更后的" in full.content.decode()  # the history shows the values in full
    assert masked.status_code == 200
    assert MOTHER_ID not in masked.content.decode()
    assert "变更后的" not in masked.content.decode()


# --- Operations -------------------------------------------------------------------------------------------


def test_birth_into_the_mothers_household(client: Client, mother: Person) -> None:
    # When the handler registers the baby into the mother's household
    response = client.post("/registry/persons/births/new", _birth_form(case_tracking_no="ZW2024000003"))

    # Then the baby is registered and the page goes to the baby's record, with a success message
    baby = Person.objects.exclude(pk=mother.pk).get()
    assert response.status_code == 302
    assert response["Location"] == f"/registry/persons/{baby.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "出生登记已办理。" in page
    assert baby.household_id == mother.household_id
    assert PersonVersion.objects.get(person=baby).case_tracking_no == "ZW2024000003"


def test_birth_refusals_are_listed_next_to_their_fields_in_both_languages(
    client: Client, mother: Person
) -> None:
    form = _birth_form(id_number="110105194912310021", name="", gender="female", birthplace_code="999999")

    chinese = client.post("/registry/persons/births/new", form)
    english_page = english(client).post("/registry/persons/births/new", form)

    assert chinese.status_code == 422
    body = chinese.content.decode()
    for field in ("id_number", "name", "birthplace_code"):
        assert f'<a href="#id_{field}">' in body, field
    assert "请填写姓名。" in body
    assert "Enter the name." in english_page.content.decode()
    assert Person.objects.count() == 1


def test_birth_with_an_id_number_already_active_is_a_409(client: Client, mother: Person) -> None:
    parts_form = _birth_form(
        id_number=MOTHER_ID,
        name="林美华",
        gender="female",
        birth_date="1990-06-01",
        household_no="350102000777",
        relation_to_head="head",
        division_code=GULOU,
        address="鼓楼区 2 号",
    )

    response = client.post("/registry/persons/births/new", parts_form)

    assert response.status_code == 409
    assert "已有在册人员使用该身份证号码" in response.content.decode()


def test_birth_date_must_be_a_date(client: Client) -> None:
    response = client.post("/registry/persons/births/new", _birth_form(birth_date="2020-02-31"))

    assert response.status_code == 422
    assert '<a href="#id_birth_date">' in response.content.decode()
    assert Person.objects.count() == 0


def test_transfer_to_a_new_household(client: Client, mother: Person) -> None:
    response = client.post(
        f"/registry/persons/{mother.pk}/transfer",
        {
            "household_no": "350103000009",
            "relation_to_head": "head",
            "division_code": TAIJIANG,
            "address": "台江路 1 号",
        },
    )

    assert response.status_code == 302
    mother.refresh_from_db()
    assert mother.household.household_no == "350103000009"
    assert "迁移已办理。" in client.get(response["Location"]).content.decode()


def test_transfer_into_the_same_household_is_a_409_and_changes_nothing(
    client: Client, mother: Person
) -> None:
    before = state()

    response = english(client).post(
        f"/registry/persons/{mother.pk}/transfer",
        {"household_no": "350102000001", "relation_to_head": "head"},
    )

    assert response.status_code == 409
    assert "This person is already in household 350102000001." in response.content.decode()
    assert '<a href="#id_household_no">' in response.content.decode()
    assert state() == before


def test_death_then_no_rename_and_no_transfer(client: Client, mother: Person) -> None:
    # When the death is registered
    response = client.post(f"/registry/persons/{mother.pk}/death", {"died_on": "2024-01-02"})

    # Then she is deceased, and the person page offers only a correction
    assert response.status_code == 302
    mother.refresh_from_db()
    assert mother.status == PersonStatus.DECEASED
    assert mother.died_on == dt.date(2024, 1, 2)
    page = client.get(f"/registry/persons/{mother.pk}/").content.decode()
    assert f"/registry/persons/{mother.pk}/correct" in page
    assert f"/registry/persons/{mother.pk}/rename" not in page
    assert f"/registry/persons/{mother.pk}/transfer" not in page

    # And a rename posted anyway is refused with the reason at the top of the form
    refused = client.post(f"/registry/persons/{mother.pk}/rename", {"new_name": "林美丽"})
    assert refused.status_code == 409
    assert "该人员已死亡注销，不能办理姓名变更。" in refused.content.decode()


def test_death_needs_a_date(client: Client, mother: Person) -> None:
    response = client.post(f"/registry/persons/{mother.pk}/death", {"died_on": ""})

    assert response.status_code == 422
    assert '<a href="#id_died_on">' in response.content.decode()
    mother.refresh_from_db()
    assert mother.status == PersonStatus.ACTIVE


def test_rename_and_the_same_name_refused(client: Client, mother: Person) -> None:
    same = client.post(f"/registry/persons/{mother.pk}/rename", {"new_name": MOTHER_NAME})
    renamed = client.post(f"/registry/persons/{mother.pk}/rename", {"new_name": "林美丽"})

    assert same.status_code == 422
    assert '<a href="#id_new_name">' in same.content.decode()
    assert "新姓名与现姓名相同。" in same.content.decode()
    assert renamed.status_code == 302
    mother.refresh_from_db()
    assert mother.name == "林美丽"
    assert mother.former_names == [MOTHER_NAME]


def test_correct_only_the_fields_filled_in(client: Client, mother: Person) -> None:
    response = client.post(
        f"/registry/persons/{mother.pk}/correct", {"ethnicity": "02", "name": "", "reason": "民族登记有误"}
    )

    assert response.status_code == 302
    mother.refresh_from_db()
    assert mother.ethnicity == "02"
    assert mother.name == MOTHER_NAME
    version = PersonVersion.objects.get(person=mother, version=2)
    assert version.changed == ["ethnicity"]
    assert version.reason == "民族登记有误"


def test_correct_needs_a_reason_and_something_to_correct(client: Client, mother: Person) -> None:
    before = state()

    response = client.post(f"/registry/persons/{mother.pk}/correct", {"reason": ""})

    assert response.status_code == 422
    body = response.content.decode()
    assert '<a href="#id_reason">' in body
    assert "请填写要更正的项目。" in body  # about the whole form: at the top, without a field
    assert state() == before


def test_a_refused_operation_does_not_leak_the_typed_values_of_another_person(
    client: Client, mother: Person
) -> None:
    # The operation pages carry the masked record only: the ID number goes to the action from the server.
    page = client.get(f"/registry/persons/{mother.pk}/transfer").content.decode()

    assert MOTHER_ID not in page
    assert MOTHER_NAME not in page
    assert 'name="id_number"' not in page


# --- Navigation -------------------------------------------------------------------------------------------


def test_the_workbench_offers_the_register_to_public_security_handlers_only(
    client: Client, role_users: dict[str, Any], client_for: ClientFor
) -> None:
    assert 'href="/registry/persons/"' in client.get("/workbench/").content.decode()
    for role in ("department_handler", "department_admin", "window_clerk", "system_admin"):
        page = client_for(role_users[role]).get("/workbench/").content.decode()
        assert 'href="/registry/persons/"' not in page, role


def test_households_are_not_created_by_a_refused_birth(client: Client, mother: Person) -> None:
    form = _birth_form(
        household_no="350102000888", relation_to_head="child", division_code=GULOU, address="x"
    )

    response = client.post("/registry/persons/births/new", form)

    assert response.status_code == 422
    assert "新立户的第一人须为户主。" in response.content.decode()
    assert Household.objects.count() == 1
