"""The resource catalog in a real browser (issue #7): a department handler browses and searches the
catalog and opens a resource; a department administrator requests another department's conditional
resource; the provider's administrator approves it. axe-core finds nothing serious or critical on any
page on the way, errors are linked to their fields, and the pages fit a 375 px phone.

WCAG 2.1 AA / GB/T 37668-2019; State Council 2016 No. 51 Art. 5 and 12.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from browser.conftest import MOBILE, BrowserSession, assert_accessible

pytestmark = pytest.mark.browser

OpenBrowser = Callable[..., BrowserSession]


def _check(session: BrowserSession, label: str) -> None:
    assert_accessible(session.page, label)
    session.problems.assert_none()


def _catalog(role_users: dict[str, Any]) -> dict[str, Any]:
    from onewindow.accounts.models import Membership
    from onewindow.accounts.roles import Kind, Role
    from onewindow.accounts.tests.factories import UserFactory
    from onewindow.catalog.sync import catalog_sync
    from onewindow.catalog.tests.conftest import create, metadata
    from onewindow.organisations.tests.factories import DepartmentFactory

    other = DepartmentFactory.create(code="OTHER", name="福州市教育局", name_en="Fuzhou Education Bureau")
    DepartmentFactory.create(code="PSB", name="福州市公安局", name_en="Fuzhou Public Security Bureau")
    DepartmentFactory.create(code="AMR", name="福州市市场监督管理局", name_en="Fuzhou AMR")
    catalog_sync()
    resource = create(
        "OTHER",
        **metadata(
            name="教师基本信息",
            data_items=[
                {"name": "姓名", "data_type": "C"},
                {"name": "身份证号", "data_type": "C", "sharing_type": "not_shared"},
            ],
        ),
    )
    provider = UserFactory.create(username="t_other_admin", kind=Kind.STAFF)
    Membership.objects.create(user=provider, role=Role.DEPARTMENT_ADMIN, department=other)
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=provider, name="default", confirmed=True, key="00" * 20)
    return {"resource": resource, "provider": provider}


def test_browse_request_and_approve(open_browser: OpenBrowser, role_users: dict[str, Any]) -> None:
    from onewindow.catalog.models import Grant, ShareRequest

    sample = _catalog(role_users)
    code = sample["resource"].code

    # A handler browses and searches the shared catalog, and opens the population resource
    session = open_browser(user=role_users["department_handler"])
    page = session.page
    page.goto("/catalog/")
    _check(session, "/catalog/")
    page.get_by_label("搜索").first.fill("人口")
    with page.expect_navigation():
        page.get_by_role("button", name="搜索").first.click()
    with page.expect_navigation():
        page.get_by_role("link", name="人口基础信息").first.click()
    assert "数据质量" in page.content()
    _check(session, "the population resource page")

    # A department administrator requests OTHER's conditional resource
    session = open_browser(user=role_users["department_admin"])
    page = session.page
    page.goto(f"/catalog/resources/{code}/")
    with page.expect_navigation():
        page.get_by_role("link", name="申请共享该资源").click()
    _check(session, "the request form")
    # The not-shared item is not offered, and the page says why
    assert page.get_by_label("身份证号").count() == 0
    assert "身份证号: 不予共享，不能申请。" in page.locator("main").inner_text()
    # Sending it empty: the errors are summarised and linked to their fields
    with page.expect_navigation():
        page.get_by_role("button", name="提交申请").click()
    summary = page.locator(".govuk-error-summary")
    assert summary.locator('a[href="#f-items"]').count() == 1
    assert "请填写使用用途。" in page.locator("#f-purpose-error").inner_text()
    assert_accessible(page, "the request form with errors")
    session.problems.clear()  # the 422 answer is the point
    page.get_by_label("姓名").check()
    page.get_by_label("使用用途").fill("核验教师资格申请人的任职学校。")
    page.get_by_label("法律依据").fill("《教师资格条例》第十四条")
    page.get_by_label("使用截止日期").fill("2030-06-30")
    with page.expect_navigation():
        page.get_by_role("button", name="提交申请").click()
    made = ShareRequest.objects.get()
    assert page.url.endswith(f"/catalog/share-requests/{made.pk}/")
    assert "待提供部门答复" in page.content()
    _check(session, "the sent request")

    # The provider's administrator sees it in the task inbox and approves it
    session = open_browser(user=sample["provider"])
    page = session.page
    page.goto("/tasks/")
    with page.expect_navigation():
        page.get_by_role("link", name="去答复").click()
    _check(session, "received requests")
    with page.expect_navigation():
        page.get_by_role("link", name="教师基本信息").click()
    with page.expect_navigation():
        page.locator("form:has(input[value=approve]) button").click()
    assert "已同意，授权已生效。" in page.locator(".govuk-notification-banner").inner_text()
    assert Grant.objects.get().item_names == ["姓名"]
    _check(session, "the approved request")

    # The grants page fits a phone
    session.set_display(viewport=MOBILE)
    page.goto("/catalog/grants/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= MOBILE["width"]
    _check(session, "/catalog/grants/ on a phone")
