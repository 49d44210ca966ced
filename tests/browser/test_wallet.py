"""The licence wallet in a real browser (issue #6 item 5): a resident opens their wallet, creates a share
link for a permit, and an anonymous visitor opens the link, sees the verification and downloads the PDF;
once the resident revokes the link it answers 410. axe-core finds nothing serious or critical on any of
these pages, and none scrolls sideways on a 375 px phone.

WCAG 2.1 AA / GB/T 37668-2019 (1.3.1 info and relationships: status in words, radios in a fieldset; 1.4.10
reflow); Electronic Signature Law Art. 13; PIPL Art. 6 (the viewer sees the holder masked).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from browser.conftest import MOBILE, BrowserSession, assert_accessible

pytestmark = pytest.mark.browser

OpenBrowser = Callable[..., BrowserSession]


def _check(session: BrowserSession, label: str) -> None:
    assert_accessible(session.page, label)
    session.problems.assert_none()


def _fits_a_phone(session: BrowserSession, path: str) -> None:
    session.set_display(viewport=MOBILE)
    session.page.goto(path)
    width = session.page.evaluate("document.documentElement.scrollWidth")
    assert width <= MOBILE["width"], f"{path} is {width} px wide at {MOBILE['width']} px"
    _check(session, f"{path} at {MOBILE['width']} px")


def _resident_permit(resident: Any) -> Any:
    """A permit held by the resident (a person): a TDEPT service outside the licence type catalogue issues
    a licence named after the service, held by the applicant."""
    from django.utils import timezone

    from onewindow.applications.actions import application_submit
    from onewindow.applications.tests.factories import VALID_FORM, published_service
    from onewindow.licences.actions import licence_record

    published_service("AXEPERMIT")
    application, _created = application_submit(
        acting_user=resident, service_code="AXEPERMIT", form=dict(VALID_FORM), channel="web"
    )
    return licence_record(
        application_id=application.pk,
        number="TDEPT-2026-000777",
        department_code="TDEPT",
        data={},
        now=timezone.now(),
    )


def test_resident_shares_a_licence_and_a_visitor_opens_the_link(
    open_browser: OpenBrowser, role_users: dict[str, Any]
) -> None:
    from onewindow.licences.models import LicenceShare

    # Given a resident holding a permit, signed in
    resident = role_users["resident"]
    permit = _resident_permit(resident)
    assert permit.holder_kind == "person"
    session = open_browser(user=resident)
    page = session.page

    # When they open their wallet: the permit is listed with its status in words
    page.goto("/licences/mine/")
    assert page.get_by_role("heading", name="我的证照", level=1).is_visible()
    card = page.locator(".govuk-summary-card", has_text=permit.number)
    assert "有效" in card.inner_text()
    _check(session, "/licences/mine/")

    # And open the permit and create a 7-day link for their bank
    with page.expect_navigation():
        card.get_by_role("link", name=permit.number).click()
    assert page.url.endswith(f"/licences/mine/{permit.number}/")
    _check(session, "the wallet's licence page")
    page.get_by_role("group", name="链接有效时长").get_by_label("7 天").check()
    page.get_by_label("分享给谁（选填）").fill("招商银行开户")
    with page.expect_navigation():
        page.get_by_role("button", name="生成分享链接").click()

    # Then the link is shown once, in a labelled field, and the link is listed as active
    url = page.get_by_label("要提供的链接").input_value()
    assert "/licences/shared/" in url
    assert "招商银行开户" in page.get_by_test_id("active-shares").inner_text()
    _check(session, "the wallet's licence page with a new link")
    share = LicenceShare.objects.get(licence=permit)
    assert (share.expires_at - share.created_at).days == 7

    # When an anonymous visitor opens the link
    visitor = open_browser()
    visitor.page.goto(urlsplit(url).path)

    # Then they see that the permit is valid, the holder masked, and can download the signed PDF
    assert visitor.page.get_by_test_id("verification-valid").is_visible()
    text = visitor.page.locator("main").inner_text()
    assert permit.number in text
    assert resident.id_number not in text
    _check(visitor, "the shared licence page")
    with visitor.page.expect_download() as download:
        visitor.page.get_by_role("link", name="下载带签名的 PDF").click()
    assert download.value.suggested_filename.endswith(f"{permit.number}.pdf")
    _fits_a_phone(visitor, urlsplit(url).path)

    # When the resident revokes the link, the visitor's next visit answers 410 with the reason
    with page.expect_navigation():
        page.get_by_role("button", name="撤销").click()
    assert "分享链接已撤销" in page.locator(".govuk-notification-banner").inner_text()
    response = visitor.page.goto(urlsplit(url).path)
    assert response is not None
    assert response.status == 410
    assert visitor.page.get_by_role("heading", name="该分享链接已失效").is_visible()
    assert "持证人已撤销此链接。" in visitor.page.locator("main").inner_text()
    # Chromium reports the document's own 410 on the console; that answer is the point here.
    visitor.problems.console_errors.remove(
        "Failed to load resource: the server responded with a status of 410 (Gone)"
    )
    _check(visitor, "the revoked link's page")

    # And every wallet page works on a phone
    _fits_a_phone(session, "/licences/mine/")
    _fits_a_phone(session, f"/licences/mine/{permit.number}/")
