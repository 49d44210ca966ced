"""A case's live position on its process diagram in a real browser (issue #4 item 6: "staff see a case's
live position on the diagram"), on desktop and phone, with axe-core.

The active user task is highlighted (marker ``ow-active`` and a text badge, never colour alone), the done
one marked ``ow-done``; the drawing is aria-hidden and the same tasks are listed as text.
WCAG 2.1 AA / GB/T 37668-2019: no serious or critical axe finding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from browser.conftest import DESKTOP, MOBILE, BrowserSession, assert_accessible

pytestmark = pytest.mark.browser

OpenBrowser = Callable[..., BrowserSession]
VIEWPORTS = {"desktop": DESKTOP, "phone": MOBILE}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_handler_sees_the_active_task_highlighted(
    viewport: str, role_users: dict[str, Any], open_browser: OpenBrowser
) -> None:
    from onewindow.workflow.actions import task_complete
    from onewindow.workflow.models import HumanTask
    from onewindow.workflow.tests.test_diagram import review_case

    # Given a case whose first review (初审) TDEPT's handler approved; the second check (复核) is open
    handler = role_users["department_handler"]
    case = review_case(role_users["resident"])
    review = HumanTask.objects.get(application=case, task_spec="review")
    task_complete(acting_user=handler, task=review, outcome="approve", opinion="同意")

    # When the handler opens the case's diagram
    session = open_browser(user=handler, viewport=VIEWPORTS[viewport])
    page = session.page
    page.goto(f"/cases/{case.tracking_no}/diagram/")
    page.wait_for_selector("[data-ow-bpmn-viewer][data-ow-ready=true]")

    # Then 复核 is highlighted as active with a text badge, 初审 marked done
    assert page.locator('.djs-element.ow-active[data-element-id="check"]').count() == 1
    assert page.locator('.djs-element.ow-done[data-element-id="review"]').count() == 1
    assert page.locator(".ow-active").count() == 1
    badges = page.locator(".djs-overlay .ow-diagram-badge")
    assert sorted(badges.all_inner_texts()) == ["办理中", "已办结"]
    # And the drawing is hidden from screen readers, whose equivalent is the list below it
    assert page.locator(".djs-container > svg").get_attribute("aria-hidden") == "true"
    assert page.locator(".bjs-powered-by").count() == 1
    active = page.locator("[data-ow-active-tasks] tbody th")
    assert active.all_inner_texts() == ["复核"]
    assert page.locator("[data-ow-done-tasks] tbody th").all_inner_texts() == ["初审"]
    assert_accessible(page, f"case diagram ({viewport})")
    session.problems.assert_none()


def test_leader_sees_the_diagram_in_english(role_users: dict[str, Any], open_browser: OpenBrowser) -> None:
    from onewindow.workflow.tests.test_diagram import review_case

    # Given a case whose first review is open, and a leader reading in English
    case = review_case(role_users["resident"])
    session = open_browser(user=role_users["leader"], language="en")
    page = session.page
    page.goto(f"/cases/{case.tracking_no}/diagram/")
    page.wait_for_selector("[data-ow-bpmn-viewer][data-ow-ready=true]")
    # Then the open task is highlighted and listed in English
    assert page.locator('.djs-element.ow-active[data-element-id="review"]').count() == 1
    assert page.locator(".djs-overlay .ow-diagram-badge").all_inner_texts() == ["In progress"]
    assert page.locator("[data-ow-active-tasks] tbody th").all_inner_texts() == ["First review"]
    assert_accessible(page, "case diagram (leader, English)")
    session.problems.assert_none()
