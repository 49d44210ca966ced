"""Every page passes axe-core with no serious or critical finding (WCAG 2.1 AA; GB/T 37668-2019).

Pages are discovered from the URL resolver (pages.py) plus tests/browser/extra_urls.py. Each is opened as
the first identity that gets HTTP 200 (the roles of conftest.ALL_ROLES, anonymous, then the half-signed-in
staff states), in Chinese, in English, in large-text mode (适老化) and at a 375 px phone width. CSP
violations, script errors and failed asset requests fail the test too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from browser.conftest import (
    MOBILE,
    BrowserSession,
    RoleClients,
    blocking_axe_violations,
    format_violations,
    session_cookie,
)
from browser.extra_urls import AXE_EXTRA_URLS, ExtraUrl
from browser.pages import discover_paths, probe

VARIANTS: dict[str, dict[str, Any]] = {
    "zh-CN": {"language": "zh-hans"},
    "en": {"language": "en"},
    "zh-CN large text": {"language": "zh-hans", "large_text": True},
    "zh-CN 375px": {"language": "zh-hans", "viewport": MOBILE},
}


def _page_id(page: ExtraUrl) -> str:
    return page if isinstance(page, str) else getattr(page, "__name__", repr(page))


PAGES: list[ExtraUrl] = [*discover_paths(), *AXE_EXTRA_URLS]


def test_every_page_answers_200_to_some_identity(role_clients: RoleClients) -> None:
    """A page nobody can open would be skipped by the sweep below without anyone noticing."""
    # Given every discovered page without URL arguments
    unreachable = []
    for path in discover_paths():
        # When each role, anonymous and each sign-in state asks for it
        access = probe(path, role_clients)
        # Then at least one gets it, unless the route is a POST-only action
        if access.first_allowed_role is None and not access.is_post_only:
            unreachable.append(f"{path}: {access.statuses}")
    assert unreachable == [], (
        "pages nobody can open (give them a role, add them to SKIPPED_PREFIXES in tests/browser/pages.py "
        "with a reason, or register a sample URL in tests/browser/extra_urls.py):\n  "
        + "\n  ".join(unreachable)
    )


@pytest.mark.browser
@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_page_has_no_serious_accessibility_problems(
    page: ExtraUrl,
    role_users: dict[str, Any],
    role_clients: RoleClients,
    open_browser: Callable[..., BrowserSession],
) -> None:
    # Given the page, and the first identity that may open it
    path = page if isinstance(page, str) else page(role_users)
    access = probe(path, role_clients)
    if access.is_post_only:
        pytest.skip(f"{path} is a POST-only action, not a page")
    role = access.first_allowed_role
    assert role is not None, f"nobody gets HTTP 200 from {path}: {access.statuses}"
    if not access.is_html:
        pytest.skip(f"{path} answers {access.content_types[role]}, not a page")

    failures: list[str] = []
    session = open_browser(session=session_cookie(role_clients[role]))
    for variant, options in VARIANTS.items():
        # When it is opened in Chromium, continuing the very session that got the 200
        session.set_display(**options)
        response = session.page.goto(path)

        # Then it loads, axe-core finds nothing serious or critical and the browser reports no problem
        label = f"{path} as {role}, {variant}"
        if response is None or response.status != 200:
            failures.append(f"{label}: HTTP {response.status if response else 'no response'}")
            continue
        violations = blocking_axe_violations(session.page)
        if violations:
            failures.append(f"{label}:\n{format_violations(violations)}")
        problems = session.problems.describe()
        if problems:
            failures.append(f"{label}: browser reported\n  {problems}")
        session.problems.clear()
    assert not failures, "\n\n".join(failures)
