"""The back office in a real browser: a handler claims and completes a task from the inbox; a leader opens
the supervision view and drills down to the cases. axe-core finds nothing serious or critical on the
inbox, the task page and the supervision pages, and none of them scrolls sideways on a 375 px phone.

WCAG 2.1 AA / GB/T 37668-2019 (1.4.10 reflow); issue #4 items 3–4 (inbox, handling, electronic supervision).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from browser.conftest import MOBILE, BrowserSession, assert_accessible

pytestmark = pytest.mark.browser

OpenBrowser = Callable[..., BrowserSession]


def _case(role_users: dict[str, Any]) -> Any:
    """An accepted QYKB-shaped case whose first task (the market-regulation review) waits in TDEPT.

    Browser tests flush the database between tests, so the service, the process and the departments of
    its parallel lanes are made here.
    """
    from onewindow.accounts.roles import Role
    from onewindow.accounts.tests.factories import staff_user
    from onewindow.applications.actions import application_submit
    from onewindow.applications.tests.factories import VALID_FORM, published_service, uploaded_material
    from onewindow.services.models import Channel
    from onewindow.workflow.models import HumanTask
    from onewindow.workflow.tests.factories import QYKB_BPMN, published_definition

    for code in ("PSB", "TAX", "HRSS"):
        staff_user(Role.DEPARTMENT_HANDLER, department_code=code, username=f"h_{code.lower()}")
    service = published_service("QYKBT", auto_accept=True)
    assert service.current_version is not None
    service.current_version.process_key = "QYKB_T"
    service.current_version.save(update_fields=["process_key"])
    published_definition("QYKB_T", QYKB_BPMN, process_id="qykb_test")
    resident = role_users["resident"]
    materials = [str(uploaded_material(resident, code).pk) for code in ("LEASE", "CHARTER")]
    application, _created = application_submit(
        acting_user=resident,
        service_code=service.code,
        form=dict(VALID_FORM),
        material_ids=materials,
        channel=Channel.WEB,
    )
    return HumanTask.objects.get(application=application, task_spec="review")


def _check(session: BrowserSession, label: str) -> None:
    assert_accessible(session.page, label)
    session.problems.assert_none()


def _fits_a_phone(session: BrowserSession, path: str) -> None:
    session.set_display(viewport=MOBILE)
    session.page.goto(path)
    width = session.page.evaluate("document.documentElement.scrollWidth")
    assert width <= MOBILE["width"], f"{path} is {width} px wide at {MOBILE['width']} px"
    _check(session, f"{path} at {MOBILE['width']} px")


def test_handler_claims_and_approves_a_task_from_the_inbox(
    role_users: dict[str, Any], open_browser: OpenBrowser
) -> None:
    from onewindow.workflow.models import HumanTask, TaskStatus

    # Given the review waiting in the handler's department, and the handler signed in (TOTP passed)
    review = _case(role_users)
    session = open_browser(user=role_users["department_handler"])
    page = session.page

    # When they open the inbox
    page.goto("/tasks/")
    row = page.locator(f'tr[data-task="{review.pk}"]')
    # Then the review is there, its light in words and marked as changed (never opened)
    assert "绿" in row.inner_text()
    assert "有更新" in row.inner_text()
    _check(session, "/tasks/")

    # When they claim it, then they are on its page and it is theirs
    with page.expect_navigation():
        row.get_by_role("button", name="签收").click()
    assert page.url.endswith(f"/tasks/{review.pk}/")
    assert page.locator("h1").inner_text() == "市场监管审查"
    _check(session, f"/tasks/{review.pk}/")

    # When they approve it with an opinion
    page.get_by_label("同意", exact=True).check()
    page.get_by_label("办理意见").fill("材料齐全，符合条件")
    with page.expect_navigation():
        page.get_by_role("button", name="提交办理结果").click()

    # Then they are back in the inbox with a confirmation, and the process went on
    assert page.url.endswith("/tasks/")
    assert "任务已办结：同意" in page.locator(".govuk-notification-banner").inner_text()
    review.refresh_from_db()
    assert (review.status, review.outcome) == (TaskStatus.DONE, "approve")
    assert HumanTask.objects.filter(application=review.application, status=TaskStatus.OPEN).count() == 3
    session.problems.assert_none()


def test_errors_on_the_task_page_are_accessible(
    role_users: dict[str, Any], open_browser: OpenBrowser
) -> None:
    # Given the review, when the handler submits the form without choosing an outcome
    review = _case(role_users)
    session = open_browser(user=role_users["department_handler"])
    page = session.page
    page.goto(f"/tasks/{review.pk}/")
    with page.expect_navigation():
        page.get_by_role("button", name="提交办理结果").click()
    # (the page answers 422, which the browser reports as a failed load: expected here)
    session.problems.clear()
    # Then the error summary links to the outcome and the page is still accessible
    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible()
    assert summary.locator('a[href="#f-outcome"]').count() == 1
    _check(session, f"/tasks/{review.pk}/ with errors")


def test_leader_opens_supervision_and_drills_down(
    role_users: dict[str, Any], open_browser: OpenBrowser
) -> None:
    from onewindow.workflow.models import HumanTask, Light

    # Given an overdue task in TDEPT
    review = _case(role_users)
    HumanTask.objects.filter(pk=review.pk).update(light=Light.RED)
    session = open_browser(user=role_users["leader"])
    page = session.page

    # When the leader opens the supervision view
    page.goto("/supervision/")
    assert page.locator("h1").inner_text() == "电子监察"
    _check(session, "/supervision/")

    # And follows the red count of the department
    with page.expect_navigation():
        page.locator('a[href="/supervision/tasks/?department=TDEPT&light=red"]').click()

    # Then the case is listed with its light in words
    table = page.locator("table")
    assert review.application.tracking_no in table.inner_text()
    assert "红" in table.inner_text()
    _check(session, "/supervision/tasks/")


def test_back_office_pages_fit_a_phone(role_users: dict[str, Any], open_browser: OpenBrowser) -> None:
    review = _case(role_users)
    handler = open_browser(user=role_users["department_handler"])
    for path in ("/tasks/", f"/tasks/{review.pk}/"):
        _fits_a_phone(handler, path)
    admin = open_browser(user=role_users["department_admin"])
    for path in (f"/tasks/{review.pk}/", "/delegations/", "/extensions/"):
        _fits_a_phone(admin, path)
    leader = open_browser(user=role_users["leader"])
    for path in ("/supervision/", "/supervision/tasks/?department=TDEPT"):
        _fits_a_phone(leader, path)
