"""Revoking a subsystem key in a real browser (issue #8 items 1 and 9): a department administrator goes from
the keys list to a subsystem, asks to revoke its retired key, is stopped until they give a reason, then
confirms; the key shows as revoked. The monitoring page lists the subsystem's service. axe-core finds
nothing serious or critical on these pages and none scrolls sideways on a 375 px phone.

WCAG 2.1 AA / GB/T 37668-2019 (3.3.1 error identification, 3.3.2 labels, 1.4.10 reflow); GB/T 22239-2019
§8.1.4.3 (the revocation is audited).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from browser.conftest import MOBILE, BrowserSession, assert_accessible
from browser.extra_urls import _exchange_sample

pytestmark = pytest.mark.browser

OpenBrowser = Callable[..., BrowserSession]


def _check(session: BrowserSession, label: str) -> None:
    assert_accessible(session.page, label)
    session.problems.assert_none()


def test_department_administrator_revokes_a_key_with_a_reason(
    open_browser: OpenBrowser, role_users: dict[str, Any]
) -> None:
    from onewindow.audit.models import AuditRecord
    from onewindow.exchange.models import SubsystemKey

    # Given a TDEPT subsystem with a retired key, and TDEPT's administrator signed in
    sample = _exchange_sample(role_users)
    retired = sample["key"]
    session = open_browser(user=role_users["department_admin"])
    page = session.page

    # When they open the subsystem keys and choose the subsystem
    page.goto("/exchange/systems/")
    assert page.get_by_role("heading", name="子系统密钥", level=1).is_visible()
    _check(session, "/exchange/systems/")
    with page.expect_navigation():
        page.get_by_role("link", name="无障碍测试交换系统").click()
    _check(session, "the subsystem's keys")

    # And ask to revoke the retired key
    with page.expect_navigation():
        page.get_by_role("link", name=f"注销 密钥 {retired.key_id[:16]}").click()
    assert page.get_by_role("heading", name="注销子系统密钥", level=1).is_visible()
    _check(session, "the revocation form")

    # Then without a reason nothing happens but an error linked to the field
    with page.expect_navigation():
        page.get_by_role("button", name="注销密钥").click()
    summary = page.locator(".govuk-error-summary")
    assert "请填写注销密钥的理由。" in summary.inner_text()
    assert page.get_by_label("理由").get_attribute("aria-describedby") == "id_reason-error"
    assert SubsystemKey.objects.get(pk=retired.pk).status == "retired"
    # Chromium reports the form's own 422 on the console; that answer is the point here.
    session.problems.console_errors.remove(
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    )
    _check(session, "the revocation form with an error")

    # When they give a reason and confirm
    page.get_by_label("理由").fill("旧密钥所在服务器已下线")
    with page.expect_navigation():
        page.get_by_role("button", name="注销密钥").click()

    # Then they are back on the keys page, the key is revoked with the reason, and it is audited
    assert "已注销" in page.locator(".govuk-notification-banner").inner_text()
    assert "旧密钥所在服务器已下线" in page.locator("main").inner_text()
    key = SubsystemKey.objects.get(pk=retired.pk)
    assert (key.status, key.revoke_reason) == ("revoked", "旧密钥所在服务器已下线")
    assert AuditRecord.objects.filter(action="exchange.key_revoked", object_id=key.key_id).exists()
    _check(session, "the subsystem's keys after revocation")

    # And the monitoring list shows the subsystem's service with its calls, on a phone too
    session.set_display(viewport=MOBILE)
    page.goto("/exchange/services/")
    assert "无障碍测试查询" in page.locator("main").inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= MOBILE["width"], f"/exchange/services/ is {width} px wide"
    _check(session, "/exchange/services/ at 375 px")
