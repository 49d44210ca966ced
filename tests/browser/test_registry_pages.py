"""The registries' pages in a real browser: a public-security handler looks a person up by ID number (htmx
swaps the result into a live region; the number never reaches the address bar), opens the person and
registers a change of name; a visitor looks an enterprise up by credit code. axe-core finds nothing serious
or critical, errors are announced and linked to their fields, and no page scrolls sideways on a 375 px
phone.

WCAG 2.1 AA / GB/T 37668-2019 (1.4.10 reflow, 3.3.1 error identification, 4.1.3 status messages); issue #5
item 2 (front-desk pages); PIPL Art. 51 (ID numbers kept out of URLs and masked on screen).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from browser.conftest import MOBILE, BrowserSession, assert_accessible

pytestmark = pytest.mark.browser

OpenBrowser = Callable[..., BrowserSession]


def _divisions() -> None:
    """Browser tests flush the database between tests, which removes the divisions the migration loaded."""
    from onewindow.organisations.models import DivisionLevel
    from onewindow.organisations.tests.factories import DivisionFactory

    city = DivisionFactory.create(code="350100", name="福州市", level=DivisionLevel.CITY)
    DivisionFactory.create(code="350102", name="鼓楼区", level=DivisionLevel.COUNTY, parent=city)


def _check(session: BrowserSession, label: str) -> None:
    assert_accessible(session.page, label)
    session.problems.assert_none()


def _fits_a_phone(session: BrowserSession, path: str) -> None:
    session.set_display(viewport=MOBILE)
    session.page.goto(path)
    width = session.page.evaluate("document.documentElement.scrollWidth")
    assert width <= MOBILE["width"], f"{path} is {width} px wide at {MOBILE['width']} px"
    _check(session, f"{path} at {MOBILE['width']} px")


def test_handler_looks_a_person_up_and_changes_the_name(open_browser: OpenBrowser) -> None:
    from onewindow.registry.models import Person
    from onewindow.registry.tests.test_pages_persons import psb_handler
    from onewindow.registry.tests.test_population_support import MOTHER_ID, register

    # Given a person in the register and a public-security handler signed in
    _divisions()
    handler = psb_handler()
    mother = register(handler)
    session = open_browser(user=handler)
    page = session.page
    page.goto("/registry/persons/")
    _check(session, "/registry/persons/")
    page.evaluate("window.owNoReload = true")

    # When they look her up by ID number
    page.get_by_label("公民身份号码").fill(MOTHER_ID)
    page.get_by_role("button", name="查询").click()

    # Then htmx swaps the masked record into the live region: no reload, no number in the address bar
    result = page.locator("#ow-person-result")
    result.get_by_role("heading", name="查询结果: 林**").wait_for()
    assert result.get_attribute("aria-live") == "polite"
    assert page.evaluate("window.owNoReload") is True
    assert MOTHER_ID not in page.url
    assert "350102********0226" in result.inner_text()
    assert MOTHER_ID not in page.content()
    assert page.get_by_label("公民身份号码").input_value() == ""
    _check(session, "/registry/persons/ with a result")

    # When they open her page and change her name
    with page.expect_navigation():
        result.get_by_role("link", name="变更姓名").click()
    assert page.url.endswith(f"/registry/persons/{mother.pk}/rename")
    _check(session, "the rename page")
    page.get_by_label("新姓名").fill("林美丽")
    with page.expect_navigation():
        page.get_by_role("button", name="变更姓名").click()

    # Then they are on her page with a confirmation and the history's new version
    assert page.url.endswith(f"/registry/persons/{mother.pk}/")
    assert "姓名变更已办理。" in page.locator(".govuk-notification-banner").inner_text()
    assert page.get_by_role("heading", name="第 2 版: 变更姓名").is_visible()
    mother.refresh_from_db()
    assert mother.name == "林美丽"
    assert Person.objects.count() == 1
    _check(session, "the person page after a change")
    _fits_a_phone(session, f"/registry/persons/{mother.pk}/")


def test_lookup_errors_are_announced_and_linked_to_their_fields(open_browser: OpenBrowser) -> None:
    from onewindow.registry.tests.test_pages_persons import psb_handler
    from onewindow.registry.tests.test_population_support import BABY_ID

    # Given a handler on the lookup page, when they look up a number that is not in the register
    _divisions()
    session = open_browser(user=psb_handler())
    page = session.page
    page.goto("/registry/persons/")
    page.get_by_label("公民身份号码").fill(BABY_ID)
    page.get_by_role("button", name="查询").click()

    # Then the error summary (an alert) links to the field, which says what is wrong
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert summary.locator('[role="alert"]').count() == 1
    assert summary.locator('a[href="#id_id_number"]').count() == 1
    assert "户籍登记中没有该身份证号码的人员。" in page.locator("#id_id_number-error").inner_text()
    _check(session, "/registry/persons/ with an error")
    _fits_a_phone(session, "/registry/persons/births/new")


def test_visitor_looks_an_enterprise_up_by_credit_code(open_browser: OpenBrowser) -> None:
    from onewindow.core.validators import make_credit_code
    from onewindow.registry.entities import entity_register

    # Given an entity in the register, and an anonymous visitor on the lookup page
    _divisions()
    code = make_credit_code(authority="9", entity_type="1", division="350100", organisation_base="MA0AXE02")
    entity_register(
        acting_user=None, credit_code=code, name="福州闽江科技有限公司", type="llc", division_code="350102"
    )
    session = open_browser()
    page = session.page
    page.goto("/registry/entities/")
    page.evaluate("window.owNoReload = true")

    # When they look it up
    page.get_by_label("统一社会信用代码").fill(code)
    page.get_by_role("button", name="查询").click()

    # Then the public information is swapped in, and the address bar holds the (public) code to share
    page.locator("#ow-entity-result").get_by_role("heading", name="福州闽江科技有限公司").wait_for()
    assert page.evaluate("window.owNoReload") is True
    assert page.url.endswith(f"/registry/entities/?credit_code={code}")
    assert "存续" in page.locator("#ow-entity-result").inner_text()
    _check(session, "/registry/entities/ with a result")
    _fits_a_phone(session, f"/registry/entities/{code}/")
