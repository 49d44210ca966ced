"""A case's live position on its process diagram (/cases/<tracking_no>/diagram/, issue #4 item 6).

Staff handling tasks in a department that has (or had) a task on the case, leaders and supervisors may see
it; everyone else gets a 404, so a tracking number reveals nothing (applicants follow their case on the
application's own page).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.applications.actions import application_submit
from onewindow.applications.models import Application
from onewindow.applications.tests.factories import VALID_FORM, published_service, uploaded_material
from onewindow.core.errors import RuleViolation
from onewindow.services.models import Channel
from onewindow.workflow.actions import process_start, task_complete
from onewindow.workflow.diagram import case_diagram_for_user, case_diagram_visible
from onewindow.workflow.models import HumanTask, TaskStatus, WorkflowInstance
from onewindow.workflow.tests.factories import published_definition
from onewindow.workflow.tests.test_views_processes import REVIEW_BPMN, signed_in_staff

pytestmark = pytest.mark.django_db

SEES_THE_CASE = {"department_handler", "department_admin", "leader", "supervisor"}


def review_case(resident: User, *, key: str = "REVIEW_T", code: str = "REVW") -> Application:
    """A resident's application on a TDEPT service whose process (REVIEW_BPMN) has started: 初审 is open."""
    service = published_service(code, auto_accept=True)
    assert service.current_version is not None
    service.current_version.process_key = key
    service.current_version.save(update_fields=["process_key"])
    published_definition(key, REVIEW_BPMN, process_id="review_process")
    application, _ = application_submit(
        acting_user=resident,
        service_code=code,
        form=dict(VALID_FORM),
        material_ids=[str(uploaded_material(resident, name).pk) for name in ("LEASE", "CHARTER")],
        channel=Channel.WEB,
    )
    if not WorkflowInstance.objects.filter(application=application).exists():
        # Until acceptance starts the engine by itself, start it as acceptance would.
        process_start(application=Application.objects.get(pk=application.pk))
    return Application.objects.select_related("version", "service").get(pk=application.pk)


@pytest.fixture
def case(role_users: dict[str, Any]) -> Application:
    """初审 done (approved) by TDEPT's handler; 复核 now open."""
    application = review_case(role_users["resident"])
    review = HumanTask.objects.get(application=application, task_spec="review")
    task_complete(
        acting_user=role_users["department_handler"], task=review, outcome="approve", opinion="同意"
    )
    return application


def _tasks() -> list[tuple[str, str]]:
    return list(HumanTask.objects.order_by("id").values_list("task_spec", "status"))


# --- The selector ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_selector_by_role(role: str, case: Application, role_users: dict[str, Any]) -> None:
    # When each role asks for the case's diagram
    user = role_users[role]
    if role in SEES_THE_CASE:
        diagram = case_diagram_for_user(user, case.tracking_no)
        # Then TDEPT's staff, leaders and supervisors get the model with the active and done tasks
        assert (diagram.definition.key, diagram.definition.version) == ("REVIEW_T", 1)
        assert [(t.task_spec, t.status) for t in diagram.active] == [("check", TaskStatus.OPEN)]
        assert [(t.task_spec, t.outcome) for t in diagram.done] == [("review", "approve")]
        assert case_diagram_visible(user, case)
        return
    # And everyone else gets the same 404 as for a case that does not exist
    with pytest.raises(RuleViolation) as caught:
        case_diagram_for_user(user, case.tracking_no)
    assert (caught.value.code, caught.value.status) == ("case_not_found", 404)
    assert not case_diagram_visible(user, case)


def test_staff_of_a_department_without_a_task_on_the_case_are_refused(case: Application) -> None:
    psb_handler = signed_in_staff(Role.DEPARTMENT_HANDLER, "PSB", "h_psb_other")
    with pytest.raises(RuleViolation) as caught:
        case_diagram_for_user(psb_handler, case.tracking_no)
    assert caught.value.code == "case_not_found"


def test_unknown_case_and_case_without_a_process_are_not_found(role_users: dict[str, Any]) -> None:
    leader = role_users["leader"]
    with pytest.raises(RuleViolation) as caught:
        case_diagram_for_user(leader, "NOSUCH")
    assert (caught.value.code, caught.value.status) == ("case_not_found", 404)
    # An application submitted but not accepted has no process yet
    published_service("NOPROC")
    application, _ = application_submit(
        acting_user=role_users["resident"], service_code="NOPROC", form=dict(VALID_FORM), channel=Channel.WEB
    )
    with pytest.raises(RuleViolation):
        case_diagram_for_user(leader, application.tracking_no)


def test_a_task_done_and_open_again_shows_once_in_each_list(
    case: Application, role_users: dict[str, Any]
) -> None:
    # Given 复核 returned for supplements (waiting) — still active
    check = HumanTask.objects.get(application=case, task_spec="check")
    HumanTask.objects.filter(pk=check.pk).update(status=TaskStatus.WAITING)
    diagram = case_diagram_for_user(role_users["leader"], case.tracking_no)
    assert [(t.task_spec, t.status) for t in diagram.active] == [("check", TaskStatus.WAITING)]
    # And a cancelled task is in neither list
    HumanTask.objects.filter(pk=check.pk).update(status=TaskStatus.CANCELLED)
    diagram = case_diagram_for_user(role_users["leader"], case.tracking_no)
    assert (diagram.active, [t.task_spec for t in diagram.done]) == ([], ["review"])


# --- The page and its JSON ------------------------------------------------------------------------------


def _client(role: str, role_users: dict[str, Any], client_for: Any) -> Client:
    return Client() if role == "anonymous" else client_for(role_users[role])


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_page_by_role(role: str, case: Application, role_users: dict[str, Any], client_for: Any) -> None:
    before = _tasks()
    response = _client(role, role_users, client_for).get(f"/cases/{case.tracking_no}/diagram/")
    if role in SEES_THE_CASE:
        assert response.status_code == 200
        page = response.content.decode()
        # The viewer fetches the JSON; the same tasks are listed as text for screen readers
        assert f'data-diagram-url="/cases/{case.tracking_no}/diagram.json"' in page
        assert "/static/workflow/dist/case_diagram.js" in page
        active = page.split("data-ow-active-tasks", 1)[1].split("</table>", 1)[0]
        done = page.split("data-ow-done-tasks", 1)[1].split("</table>", 1)[0]
        assert "复核" in active
        assert "初审" not in active
        assert "初审" in done
        assert "同意" in done
        assert "REVIEW_T" in page
    elif role == "anonymous":
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]
    else:
        assert response.status_code == 404
    assert _tasks() == before


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_json_by_role(role: str, case: Application, role_users: dict[str, Any], client_for: Any) -> None:
    before = _tasks()
    response = _client(role, role_users, client_for).get(f"/cases/{case.tracking_no}/diagram.json")
    if role in SEES_THE_CASE:
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"tracking_no", "process_key", "version", "bpmn_xml", "active", "done"}
        assert (body["process_key"], body["version"], body["bpmn_xml"]) == ("REVIEW_T", 1, REVIEW_BPMN)
        assert body["active"] == [
            {
                "task_spec": "check",
                "name": "复核",
                "name_en": "Second check",
                "department_code": "TDEPT",
                "status": "open",
            }
        ]
        (done,) = body["done"]
        assert (done["task_spec"], done["name"], done["department_code"], done["outcome"]) == (
            "review",
            "初审",
            "TDEPT",
            "approve",
        )
        assert done["completed_at"].startswith(str(case.submitted_at.year))
    elif role == "anonymous":
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
    else:
        assert response.status_code == 404
        assert response.json()["code"] == "case_not_found"
        assert response.json()["message_zh"]
        assert response.json()["message_en"]
    assert _tasks() == before


def test_unknown_case_json_is_404(role_users: dict[str, Any], client_for: Any) -> None:
    response = client_for(role_users["leader"]).get("/cases/NOSUCH/diagram.json")
    assert response.status_code == 404
    assert response.json()["code"] == "case_not_found"


def test_page_in_english_names_tasks_in_english(
    case: Application, role_users: dict[str, Any], client_for: Any
) -> None:
    client = client_for(role_users["leader"])
    client.cookies["django_language"] = "en"
    page = client.get(f"/cases/{case.tracking_no}/diagram/").content.decode()
    assert "Second check" in page
    assert "First review" in page


def test_diagram_link_partial(case: Application) -> None:
    # A page that may show the diagram includes the partial with the application
    link = render_to_string("workflow/_diagram_link.html", {"application": case})
    assert f'href="/cases/{case.tracking_no}/diagram/"' in link
    assert "data-ow-bpmn-viewer" not in link
    embedded = render_to_string("workflow/_diagram_link.html", {"application": case, "embed": True})
    assert f'data-diagram-url="/cases/{case.tracking_no}/diagram.json"' in embedded
    assert "case_diagram.js" in embedded


def test_diagram_query_count(
    case: Application, role_users: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    leader = role_users["leader"]
    leader.refresh_from_db()
    with django_assert_max_num_queries(4):
        case_diagram_for_user(leader, case.tracking_no)
