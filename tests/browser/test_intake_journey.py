"""The applicant's journey in a real browser, on desktop and phone, with axe-core on every step.

(a) A resident finds 企业开办 (QYKB) by searching 开办, opens its guide, applies with the legal
representative pre-filled from their verified identity (once-only), submits, sees the receipt and then the
timeline. (b) A window clerk applies for a walk-in after checking the applicant's ID document.
WCAG 2.1 AA / GB/T 37668-2019 (no serious or critical axe finding); Administrative Licensing Law Art. 32.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from browser.conftest import DESKTOP, MOBILE, BrowserSession, assert_accessible

pytestmark = pytest.mark.browser

OpenBrowser = Callable[..., BrowserSession]
RESIDENT_ID = "11010519491231002X"
VIEWPORTS = {"desktop": DESKTOP, "phone": MOBILE}


def demo_catalog_load() -> None:
    """The demo departments and services. Browser tests flush the database (the divisions the data
    migration loaded go too), so the divisions the departments and the QYKB form need come first."""
    from onewindow.demo import data
    from onewindow.organisations.models import DivisionLevel
    from onewindow.organisations.tests.factories import DepartmentFactory, DivisionFactory
    from onewindow.services.demo import demo_services_load

    province = DivisionFactory.create(code="350000", name="福建省", level=DivisionLevel.PROVINCE)
    city = DivisionFactory.create(code="350100", name="福州市", level=DivisionLevel.CITY, parent=province)
    DivisionFactory.create(code="350102", name="鼓楼区", level=DivisionLevel.COUNTY, parent=city)
    for department in data.DEPARTMENTS:
        DepartmentFactory.create(
            code=department.code,
            name=department.name,
            name_en=department.name_en,
            credit_code=department.credit_code,
            division=city,
        )
    demo_services_load()


def _check(session: BrowserSession, label: str) -> None:
    assert_accessible(session.page, label)
    session.problems.assert_none()


def _fill_company(page: Page) -> None:
    page.fill("#f-company_name", "福州一窗示范有限公司")
    page.check("input[name=company_type][value=llc]")
    page.fill("#f-registered_capital", "100")
    page.fill("#f-division_code", "350102")
    page.fill("#f-address", "福州市鼓楼区示范路 1 号")
    page.fill("#f-business_scope", "软件开发；信息技术咨询服务")
    page.fill("#f-legal_rep_mobile", "13800138000")
    page.fill("#f-employees", "5")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_resident_finds_qykb_applies_and_follows_it(
    viewport: str, role_users: dict[str, Any], open_browser: OpenBrowser
) -> None:
    # Given the demo catalog and a signed-in resident
    demo_catalog_load()
    resident = role_users["resident"]
    session = open_browser(user=resident, viewport=VIEWPORTS[viewport])
    page = session.page

    # When they search the service guides for 开办 and open 企业开办
    page.goto("/services/")
    page.fill("#ow-service-search", "开办")
    page.locator("#ow-service-search").press("Enter")
    page.wait_for_load_state()
    page.get_by_role("link", name="企业开办").first.click()
    assert "/services/QYKB/" in page.url
    # And apply online
    page.get_by_role("button", name="在线办理").click()
    page.wait_for_url("**/applications/new/QYKB/")

    # Then the legal representative is pre-filled from their verified identity, and the page is accessible
    assert page.input_value("#f-legal_rep_id_number") == RESIDENT_ID
    assert page.input_value("#f-legal_rep_name") != ""
    assert page.get_by_text("已预填").first.is_visible()
    _check(session, f"QYKB apply page ({viewport})")

    # When they submit with a required field missing, the error summary links to it
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_load_state()
    assert page.locator(".govuk-error-summary a[href='#f-company_name']").count() == 1
    _check(session, f"QYKB apply page with errors ({viewport})")

    # When they fill in the rest and submit
    _fill_company(page)
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/receipt/")

    # Then the receipt shows the tracking number and the masked ID number
    from onewindow.applications.models import Application

    application = Application.objects.get()
    assert page.get_by_text(application.tracking_no).first.is_visible()
    assert page.get_by_text("110105********002X").first.is_visible()
    _check(session, f"receipt ({viewport})")

    # And the detail page shows the timeline
    page.get_by_role("link", name="查看办理进度").click()
    page.wait_for_url(f"**/applications/{application.tracking_no}/")
    assert page.locator("ol.ow-timeline li").count() >= 1
    _check(session, f"application detail ({viewport})")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_window_clerk_applies_for_a_walk_in(
    viewport: str, role_users: dict[str, Any], open_browser: OpenBrowser
) -> None:
    # Given the demo catalog and a signed-in window clerk
    demo_catalog_load()
    session = open_browser(user=role_users["window_clerk"], viewport=VIEWPORTS[viewport])
    page = session.page
    page.goto("/window/apply/")
    _check(session, f"walk-in step 1 ({viewport})")

    # When they choose 企业开办, enter the applicant and confirm the ID check
    page.select_option("#f-service_code", "QYKB")
    page.fill("#f-obo_name", "张三")
    page.fill("#f-obo_identifier", RESIDENT_ID)
    page.check("#f-obo_id_checked")
    page.get_by_role("button", name="继续").click()
    page.wait_for_load_state()

    # Then the service form is pre-filled from that identity
    assert page.input_value("#f-legal_rep_id_number") == RESIDENT_ID
    assert page.input_value("#f-legal_rep_name") == "张三"
    _check(session, f"walk-in step 2 ({viewport})")

    # When they fill in the rest and submit
    _fill_company(page)
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/receipt/")

    # Then the receipt is shown for printing, for an application made at the window
    from onewindow.applications.models import Application

    application = Application.objects.get()
    assert application.channel == "window"
    assert page.get_by_text(application.tracking_no).first.is_visible()
    _check(session, f"walk-in receipt ({viewport})")
