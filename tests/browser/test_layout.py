"""The layout in a real browser: keyboard use, language switch, large text, reflow, error pages.

WCAG 2.1: 2.4.1 bypass blocks (skip link), 2.4.7 focus visible, 2.1.1 keyboard, 3.1.1 language of page,
1.4.4 resize text, 1.4.10 reflow (320 CSS px); GB/T 37668-2019 covers the same success criteria. Large-text
mode answers the MIIT 2020 适老化 action plan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from browser.conftest import BrowserSession, assert_accessible, blocking_axe_violations

pytestmark = pytest.mark.browser

OpenBrowser = Callable[..., BrowserSession]
FOCUS_YELLOW = "rgb(255, 221, 0)"


def _root_font_size(page: Page) -> str:
    return str(page.evaluate("getComputedStyle(document.documentElement).fontSize"))


def test_axe_harness_reports_a_broken_page(open_browser: OpenBrowser) -> None:
    """The sweep is worth something only if axe-core really runs and its findings reach the assertion."""
    # Given a page with an image without a text alternative and a button without a name
    session = open_browser()
    session.page.goto("/accessibility/")
    session.page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend',"
        " '<img src=\"/static/images/favicon.svg\"><button></button>')"
    )

    # When axe-core checks it
    violations = blocking_axe_violations(session.page)

    # Then both problems are reported as blocking
    assert sorted(violation["id"] for violation in violations) == ["button-name", "image-alt"]


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_the_content(open_browser: OpenBrowser) -> None:
    # Given the landing page
    session = open_browser()
    page = session.page
    page.goto("/")

    # When the user presses Tab once
    page.keyboard.press("Tab")

    # Then the skip link has focus, is visible and shows the focus colour
    focused = page.locator(":focus")
    assert focused.inner_text() == "跳到主要内容"
    assert focused.is_visible()
    assert focused.evaluate("el => getComputedStyle(el).backgroundColor") == FOCUS_YELLOW

    # When they follow it, then focus lands on the main content
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main-content"
    session.problems.assert_none()


def test_keyboard_focus_is_visible_on_links_and_buttons(open_browser: OpenBrowser) -> None:
    # Given the landing page
    session = open_browser()
    page = session.page
    page.goto("/")

    # When the user tabs through the first stops of the page
    seen = []
    for _ in range(6):
        page.keyboard.press("Tab")
        seen.append(
            page.evaluate(
                "() => { const el = document.activeElement; const style = getComputedStyle(el);"
                " return [el.tagName, style.backgroundColor, style.outlineStyle]; }"
            )
        )

    # Then every focused control is highlighted in the focus colour or outlined
    for tag, background, outline in seen:
        assert background == FOCUS_YELLOW or outline != "none", (tag, background, outline)


def test_language_switch_changes_the_page_language(open_browser: OpenBrowser) -> None:
    # Given the accessibility statement in the default language, Chinese
    session = open_browser()
    page = session.page
    page.goto("/accessibility/")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.locator("h1").inner_text() == "无障碍声明"

    # When the user chooses English with the keyboard
    page.get_by_role("button", name="English").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # Then the same page comes back in English
    assert page.url.endswith("/accessibility/")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("h1").inner_text() == "Accessibility statement"

    # When they switch back, then it is Chinese again
    with page.expect_navigation():
        page.get_by_role("button", name="简体中文").click()
    assert page.get_attribute("html", "lang") == "zh-CN"
    session.problems.assert_none()


def test_large_text_toggle_scales_the_text_and_is_remembered(open_browser: OpenBrowser) -> None:
    # Given the accessibility statement at the normal size
    session = open_browser()
    page = session.page
    page.goto("/accessibility/")
    assert _root_font_size(page) == "16px"

    # When the user turns large text on
    with page.expect_navigation():
        page.get_by_role("button", name="大字模式").click()

    # Then they are back on the same page with the root font at 125 % and the choice remembered
    assert page.url.endswith("/accessibility/")
    assert "ow-large-text" in (page.get_attribute("html", "class") or "")
    assert _root_font_size(page) == "20px"
    page.goto("/")
    assert _root_font_size(page) == "20px"
    assert_accessible(page, "/ in large-text mode")

    # When they turn it off again, then the normal size is back
    with page.expect_navigation():
        page.get_by_role("button", name="关闭大字模式").click()
    assert _root_font_size(page) == "16px"
    session.problems.assert_none()


@pytest.mark.parametrize("path", ["/", "/accessibility/", "/workbench/"])
def test_pages_reflow_at_320_css_pixels(
    path: str, open_browser: OpenBrowser, role_users: dict[str, Any]
) -> None:
    # Given a phone-sized window, 320 CSS px wide (WCAG 1.4.10)
    session = open_browser(role_users["system_admin"], viewport={"width": 320, "height": 640})
    page = session.page

    # When the page is shown
    page.goto(path)

    # Then nothing needs horizontal scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_not_found_page_is_accessible_and_bilingual(language: str, open_browser: OpenBrowser) -> None:
    # Given a visitor in either language
    session = open_browser(language=language)

    # When they open an address that does not exist
    response = session.page.goto("/no-such-page/")

    # Then they get the 404 page, in both languages, with no serious accessibility problem
    assert response is not None
    assert response.status == 404
    heading = session.page.locator("h1").inner_text()
    assert "找不到页面" in heading
    assert "Page not found" in heading
    assert_accessible(session.page, f"the 404 page ({language})")


def test_forbidden_page_is_accessible(open_browser: OpenBrowser, role_users: dict[str, Any]) -> None:
    # Given a resident
    session = open_browser(role_users["resident"])

    # When they open the staff workbench
    response = session.page.goto("/workbench/")

    # Then they are refused with an accessible, bilingual page
    assert response is not None
    assert response.status == 403
    assert "You do not have permission" in session.page.locator("h1").inner_text()
    assert_accessible(session.page, "the 403 page")


def test_language_switch_works_without_javascript(browser: Any, live_server: Any) -> None:
    # Given a Chinese-language browser with JavaScript turned off
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    page.goto("/")

    # When the user switches to English
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()

    # Then the page is in English: the forms are plain HTML, no script needed
    assert page.get_attribute("html", "lang") == "en"
    assert page.get_by_role("button", name="Turn on large text").is_visible()
    context.close()
