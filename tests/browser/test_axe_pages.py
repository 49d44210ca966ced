"""Every page passes axe-core with no serious or critical finding (WCAG 2.1 AA; GB/T 37668-2019 §5–§7).

Pages are discovered from the URL resolver (see pages.py) plus tests/browser/extra_urls.py; each is opened
as the first role that may see it, in Chinese and English, in large-text mode (适老化) and at a 375 px
phone width.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from browser.conftest import MOBILE, BrowserSession, assert_accessible, session_cookie
from browser.extra_urls import AXE_EXTRA_URLS, ExtraUrl
from browser.pages import discover_paths, probe

VARIANTS: dict[str, dict[str, Any]] = {
    "zh": {"language": "zh-hans"},
    "en": {"language": "en"},
    "zh-large-text": {"language": "zh-hans", "large_text": True},
    "zh-375px": {"language": "zh-hans", "viewport": MOBILE},
}


def _page_id(page: ExtraUrl) -> str:
    return page if isinstance(page, str) else getattr(page, "__name__", repr(page))


PAGES: list[ExtraUrl] = [*discover_paths(), *AXE_EXTRA_URLS]


def test_every_page_answers_200_to_some_role(role_clients: dict[str, Client]) -> None:
    """A page no role can open would be skipped by the sweep below without anyone noticing."""
    # Given every discovered page without URL arguments
    unreachable = []
    for path in discover_paths():
        # When each role (and anonymous) asks for it
        access = probe(path, role_clients, stop_at_first=False)
        # Then at least one gets it, unless the route is a POST-only action
        if access.first_allowed_role is None and not access.is_post_only:
            unreachable.append(f"{path}: {access.statuses}")
    assert unreachable == [], (
        "pages no role can open (give them a role, add them to SKIPPED_PREFIXES in tests/browser/pages.py "
        "with a reason, or register a sample URL in tests/browser/extra_urls.py):\n  " + "\n  ".join(unreachable)
    )


@pytest.mark.browser
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_page_has_no_serious_accessibility_problems(
    page: ExtraUrl,
    variant: str,
    role_users: dict[str, Any],
    role_clients: dict[str, Client],
    open_browser: Callable[..., BrowserSession],
) -> None:
    # Given the page, and the first role that may open it
    path = page if isinstance(page, str) else page(role_users)
    access = probe(path, role_clients)
    if access.is_post_only:
        pytest.skip(f"{path} is a POST-only action, not a page")
    role = access.first_allowed_role
    assert role is not None, f"no role gets HTTP 200 from {path}: {access.statuses}"
    if not access.is_html:
        pytest.skip(f"{path} answers {access.content_types[role]}, not a page")
    # The browser continues the very session that got the 200 (anonymous: no session cookie).
    session = open_browser(session=session_cookie(role_clients[role]), **VARIANTS[variant])

    # When it is opened in Chromium
    response = session.page.goto(path)

    # Then it loads, and axe-core finds nothing serious or critical, and the browser reports no problem
    assert response is not None
    assert response.status == 200, f"{path} as {role} in the browser: HTTP {response.status}"
    assert_accessible(session.page, f"{path} as {role} ({variant})")
    session.problems.assert_none()
