"""Playwright (Python, sync API) + axe-core in Debian's Chromium, against pytest-django's live server.

No browser is ever downloaded (no ``playwright install``): the session launches ``/usr/bin/chromium``.
Needs ``npm ci && npm run build`` (the built stylesheet and axe-core from node_modules).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Response, sync_playwright

from conftest import ALL_ROLES

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ONEWINDOW_CHROMIUM", "/usr/bin/chromium")
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BUILT_CSS = ROOT / "onewindow" / "web" / "static" / "dist" / "onewindow.css"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 375, "height": 812}
BLOCKING_IMPACTS = ("serious", "critical")
ANONYMOUS = "anonymous"
STAFF_OTP_PENDING = "staff_otp_pending"
STAFF_ENROLMENT_PENDING = "staff_enrolment_pending"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    missing = [str(path) for path in (Path(CHROMIUM), AXE_SCRIPT, BUILT_CSS) if not path.exists()]
    if missing:
        pytest.fail(
            f"browser tests need {', '.join(missing)}: install Debian's chromium and run "
            "`npm ci && npm run build` first (never `playwright install`)"
        )
    # Playwright's sync API runs an event loop in this thread; Django then refuses ORM calls from it
    # (SynchronousOnlyOperation) although they are synchronous. Allowed for the browser session only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield launched
            launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class PageProblems:
    """What went wrong in the browser besides axe findings: CSP violations, script errors, 4xx/5xx assets."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.console_errors.append(message.text)

        def on_response(response: Response) -> None:
            # The document itself may legitimately be an error page (the 404 test); assets may not.
            if response.status >= 400 and response.request.resource_type != "document":
                self.failed_requests.append(f"{response.status} {response.url}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("response", on_response)

    def clear(self) -> None:
        self.console_errors.clear()
        self.page_errors.clear()
        self.failed_requests.clear()

    def describe(self) -> str:
        """The problems, one a line; empty when there were none."""
        return "\n  ".join([*self.console_errors, *self.page_errors, *self.failed_requests])

    def assert_none(self) -> None:
        problems = self.describe()
        assert not problems, f"browser reported problems:\n  {problems}"


@dataclass
class BrowserSession:
    context: BrowserContext
    page: Page
    problems: PageProblems
    base_url: str

    def set_display(
        self, *, language: str = "zh-hans", large_text: bool = False, viewport: dict[str, int] | None = None
    ) -> None:
        """Switch language, large-text mode and viewport for the next page load (same session)."""
        self.context.add_cookies(
            [
                {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": self.base_url},
                {"name": "ow_large_text", "value": "1" if large_text else "0", "url": self.base_url},
            ]
        )
        self.page.set_viewport_size(viewport or DESKTOP)  # type: ignore[arg-type]


def session_cookie_for(user: Any, client_for: Callable[[object], Client]) -> str:
    """A signed-in session (staff: already past TOTP) made by the test client, for the browser to reuse."""
    client = client_for(user)
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)


@pytest.fixture
def open_browser(
    browser: Browser, live_server: Any, client_for: Callable[[object], Client]
) -> Iterator[Callable[..., BrowserSession]]:
    """Open a fresh browser context: ``open_browser(user=None, session=None, language="zh-hans",
    large_text=False, viewport=DESKTOP)``, signed in as ``user`` or continuing the session with cookie
    value ``session``. axe-core is loaded into every page of the context."""
    contexts: list[BrowserContext] = []

    def make(
        user: Any = None,
        *,
        session: str | None = None,
        language: str = "zh-hans",
        large_text: bool = False,
        viewport: dict[str, int] | None = None,
    ) -> BrowserSession:
        context = browser.new_context(
            base_url=live_server.url, locale="zh-CN" if language == "zh-hans" else "en-GB"
        )
        contexts.append(context)
        if user is not None:
            session = session_cookie_for(user, client_for)
        if session is not None:
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
            )
        # An init script, not page.add_script_tag: our CSP (script-src 'self') blocks injected inline
        # scripts, and the CSP must stay on so that the test also catches our own inline code.
        context.add_init_script(path=str(AXE_SCRIPT))
        page = context.new_page()
        problems = PageProblems()
        problems.watch(page)
        browser_session = BrowserSession(context, page, problems, live_server.url)
        browser_session.set_display(language=language, large_text=large_text, viewport=viewport)
        return browser_session

    yield make
    for context in contexts:
        context.close()


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})"
        )
        for node in violation["nodes"][:5]:
            lines.append(f"    at {json.dumps(node['target'], ensure_ascii=False)}")
            summary = node.get("failureSummary", "").replace("\n", "\n       ")
            lines.append(f"       {summary}")
        if len(violation["nodes"]) > 5:
            lines.append(f"    … and {len(violation['nodes']) - 5} more")
    return "\n".join(lines)


def blocking_axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page; return the violations with impact serious or critical."""
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [violation for violation in result["violations"] if violation["impact"] in BLOCKING_IMPACTS]


def assert_accessible(page: Page, label: str) -> None:
    violations = blocking_axe_violations(page)
    assert not violations, (
        f"axe-core found serious/critical problems on {label}:\n{format_violations(violations)}"
    )


class RoleClients(Mapping[str, Client]):
    """Django test clients by identity, in probing order, each signed in only when first used.

    Identities: each role in conftest.ALL_ROLES, anonymous, then the two half-signed-in staff states
    that the sign-in pages serve (password accepted with the TOTP step pending; no TOTP device yet).
    """

    def __init__(self, role_users: dict[str, Any], client_for: Callable[[object], Client]) -> None:
        self._role_users = role_users
        self._client_for = client_for
        self._clients: dict[str, Client] = {}
        self._names = [*ALL_ROLES, ANONYMOUS, STAFF_OTP_PENDING, STAFF_ENROLMENT_PENDING]

    def _make(self, name: str) -> Client:
        from onewindow.accounts.roles import Role
        from onewindow.accounts.tests.factories import staff_user

        if name in self._role_users:
            return self._client_for(self._role_users[name])
        client = Client()
        if name == STAFF_OTP_PENDING:
            client.force_login(self._role_users["window_clerk"])
        elif name == STAFF_ENROLMENT_PENDING:
            client.force_login(staff_user(Role.WINDOW_CLERK, username="t_enrolling_clerk"))
        return client

    def __getitem__(self, name: str) -> Client:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._clients:
            self._clients[name] = self._make(name)
        return self._clients[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@pytest.fixture
def role_clients(role_users: dict[str, Any], client_for: Callable[[object], Client]) -> RoleClients:
    return RoleClients(role_users, client_for)


def session_cookie(client: Client) -> str | None:
    """The client's session cookie, for a browser context to continue the same session."""
    morsel = client.cookies.get(settings.SESSION_COOKIE_NAME)
    return morsel.value if morsel is not None else None
