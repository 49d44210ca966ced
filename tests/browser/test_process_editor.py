"""The process editor in a real browser (issue #4 item 6 and its acceptance: "an admin opens the process
editor and publishes a changed model"), with axe-core on every page.

A department admin opens a published version, sees its diagram (bpmn-js, with the bpmn.io watermark), edits
it as a new draft: a wrong lane name is caught by "validate", listed with a link to the element; the task
renamed in the properties panel is saved as version 2 and published, all without reloading the page.
WCAG 2.1 AA / GB/T 37668-2019: no serious or critical axe finding; the CSP (scripts and styles from 'self')
holds: a violation is a console error and fails the test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from browser.conftest import MOBILE, BrowserSession, assert_accessible

pytestmark = pytest.mark.browser

OpenBrowser = Callable[..., BrowserSession]
KEY = "REVIEW_T"


def _review_process(admin: Any) -> None:
    from onewindow.workflow.tests.factories import published_definition
    from onewindow.workflow.tests.test_views_processes import REVIEW_BPMN

    published_definition(KEY, REVIEW_BPMN, process_id="review_process", created_by=admin)


def _check(session: BrowserSession, label: str) -> None:
    assert_accessible(session.page, label)
    session.problems.assert_none()


def test_admin_edits_validates_saves_and_publishes_a_model(
    role_users: dict[str, Any], open_browser: OpenBrowser
) -> None:
    from onewindow.workflow.models import DefinitionStatus, ProcessDefinition

    # Given TDEPT's admin and the published version 1 of a TDEPT process
    admin = role_users["department_admin"]
    _review_process(admin)
    session = open_browser(user=admin)
    page = session.page

    # When they open the list of process models and the published version
    page.goto("/admin/processes/")
    _check(session, "process list")
    page.get_by_role("link", name="第 1 版").click()
    page.wait_for_url(f"**/admin/processes/{KEY}/versions/1/")
    # Then the diagram is drawn, with the bpmn.io watermark, and hidden from screen readers
    page.wait_for_selector("[data-ow-bpmn-viewer][data-ow-ready=true]")
    assert page.locator('[data-element-id="review"]').count() == 1
    assert page.locator(".bjs-powered-by").count() == 1
    assert page.locator(".djs-container > svg").get_attribute("aria-hidden") == "true"
    _check(session, "process version page")

    # When they edit it as a new draft
    page.get_by_role("link", name="编辑为新草稿").click()
    page.wait_for_url(f"**/admin/processes/{KEY}/editor/?version=1")
    page.wait_for_selector("[data-ow-process-editor][data-ow-ready=true]")
    assert page.locator(".bjs-powered-by").count() == 1
    assert page.locator(".bio-properties-panel").count() == 1
    _check(session, "process editor")

    # And give the lane a department that does not exist, and validate
    page.evaluate(
        """() => {
            const registry = window.owModeler.get("elementRegistry");
            window.owModeler.get("modeling").updateLabel(registry.get("lane_tdept"), "NOSUCH");
        }"""
    )
    page.get_by_role("button", name="校验").click()
    page.wait_for_selector("[data-ow-process-editor][data-ow-validated=invalid]")
    # Then the problem is listed next to the diagram with a button showing the element
    summary = page.locator("[data-ow-problems] .govuk-error-summary")
    assert "NOSUCH" in summary.inner_text()
    summary.get_by_role("button", name="在流程图中显示: lane_tdept").click()
    assert page.evaluate("() => window.owModeler.get('selection').get().map((e) => e.id)") == ["lane_tdept"]
    _check(session, "process editor with a problem")

    # When they undo it, rename the first task in the properties panel and validate again
    page.evaluate("() => window.owModeler.get('commandStack').undo()")
    page.evaluate(
        """() => {
            const registry = window.owModeler.get("elementRegistry");
            window.owModeler.get("selection").select(registry.get("review"));
        }"""
    )
    page.locator('[data-group-id="group-general"] .bio-properties-panel-group-header').click()
    page.locator(".bio-properties-panel #bio-properties-panel-name").fill("初审（改）")
    page.wait_for_function(
        """() => window.owModeler.get("elementRegistry").get("review").businessObject.name
            === "初审（改）" """
    )
    page.get_by_role("button", name="校验").click()
    page.wait_for_selector("[data-ow-process-editor][data-ow-validated=valid]")
    assert page.locator("[data-ow-problems] .govuk-error-summary").count() == 0
    assert "未发现问题" in page.locator("[data-ow-status]").inner_text()

    # And save it as a new draft
    page.get_by_role("button", name="保存为新草稿").click()
    page.wait_for_selector("[data-ow-process-editor][data-ow-saved-version='2']")
    draft = ProcessDefinition.objects.get(key=KEY, version=2)
    assert draft.status == DefinitionStatus.DRAFT
    assert 'name="初审（改）"' in draft.bpmn_xml
    assert "spiffworkflow:property" in draft.bpmn_xml  # the engine's extension properties survive editing

    # And publish it
    page.get_by_role("button", name="发布第 2 版").click()
    page.wait_for_selector("[data-ow-process-editor][data-ow-published-version='2']")
    assert "已发布" in page.locator("[data-ow-status]").inner_text()
    _check(session, "process editor after publishing")

    # Then version 2 is the published one and version 1 is retired
    assert dict(ProcessDefinition.objects.filter(key=KEY).values_list("version", "status")) == {
        1: DefinitionStatus.RETIRED,
        2: DefinitionStatus.PUBLISHED,
    }
    assert ProcessDefinition.objects.get(key=KEY, version=2).published_by == admin


def test_editor_and_upload_on_a_phone_in_english(
    role_users: dict[str, Any], open_browser: OpenBrowser
) -> None:
    # Given TDEPT's admin on a 375 px screen, in English
    admin = role_users["department_admin"]
    _review_process(admin)
    session = open_browser(user=admin, language="en", viewport=MOBILE)
    page = session.page
    # When they open the editor and the upload page
    page.goto(f"/admin/processes/{KEY}/editor/")
    page.wait_for_selector("[data-ow-process-editor][data-ow-ready=true]")
    # Then both are accessible and the CSP holds
    _check(session, "process editor (phone, English)")
    page.goto(f"/admin/processes/upload/?key={KEY}")
    with page.expect_response(lambda response: response.request.resource_type == "document") as answer:
        page.get_by_role("button", name="Upload as a new draft").click()
    page.wait_for_load_state()
    # The form answers 422 with the error summary; Chromium logs a 4xx document as a console error
    assert answer.value.status == 422
    session.problems.console_errors.remove(
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    )
    assert page.locator(".govuk-error-summary a[href='#f-bpmn_file']").count() == 1
    _check(session, "process upload with an error (phone, English)")


def test_a_handler_views_the_published_model(role_users: dict[str, Any], open_browser: OpenBrowser) -> None:
    # Given a TDEPT handler (their department is a lane of the model)
    _review_process(role_users["department_admin"])
    session = open_browser(user=role_users["department_handler"])
    page = session.page
    # When they open the published version
    page.goto(f"/admin/processes/{KEY}/versions/1/")
    page.wait_for_selector("[data-ow-bpmn-viewer][data-ow-ready=true]")
    # Then they see the diagram but no publish or edit button
    assert page.get_by_role("link", name="编辑为新草稿").count() == 0
    assert page.get_by_role("button", name="发布第 1 版").count() == 0
    _check(session, "process version page (handler)")
