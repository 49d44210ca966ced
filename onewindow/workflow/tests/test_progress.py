"""The applicant's simplified progress: 提交 → 受理 → 部门办理 (which departments work on it now) → 办结.

Joint handling (issue #4 item 5): a case worked on by several departments in parallel is one case for the
applicant, whose progress shows each department working or finished, without internal task or handler
names (PIPL Art. 6, no more than needed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from onewindow.accounts.models import User
from onewindow.applications.actions import application_submit
from onewindow.applications.models import Application, Status
from onewindow.applications.tests.factories import VALID_FORM
from onewindow.organisations.models import Department
from onewindow.services.models import Channel, Service, ServiceKind
from onewindow.workflow.actions import task_complete
from onewindow.workflow.models import HumanTask, ProcessDefinition, TaskStatus
from onewindow.workflow.progress import DepartmentProgress, application_progress

pytestmark = pytest.mark.django_db


def _states(application: Application) -> list[tuple[str, str]]:
    return [(step.key, step.state) for step in application_progress(application)]


def _departments(application: Application) -> list[tuple[str, str]]:
    step = next(step for step in application_progress(application) if step.key == "departments")
    return [(department.name, department.state) for department in step.departments]


@pytest.fixture
def named_departments(handlers: dict[str, User]) -> None:
    names = {"TDEPT": "市场监管局", "PSB": "公安局", "TAX": "税务局", "HRSS": "人社局"}
    for code, name in names.items():
        Department.objects.filter(code=code).update(name=name, name_en=f"{code} bureau")


def test_a_submitted_application_waits_for_acceptance(
    qykb_service: Service, role_users: dict[str, Any]
) -> None:
    # Given an incomplete application (no materials), so it is not accepted automatically
    application, _created = application_submit(
        acting_user=role_users["resident"],
        service_code=qykb_service.code,
        form=dict(VALID_FORM),
        channel=Channel.WEB,
    )
    assert application.status == Status.SUBMITTED
    # Then it is submitted and acceptance is the current step
    assert _states(application) == [
        ("submitted", "done"),
        ("accepted", "current"),
        ("departments", "upcoming"),
        ("decided", "upcoming"),
    ]
    assert _departments(application) == []


def test_parallel_departments_work_on_one_bundle_case(
    qykb_service: Service,
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    named_departments: None,
    handlers: dict[str, User],
) -> None:
    # Given an accepted bundle case (开办企业一件事) whose review waits in the market regulator
    Service.objects.filter(code="QYKBT").update(kind=ServiceKind.BUNDLE)
    application = accepted_application()
    assert application.service.kind == ServiceKind.BUNDLE
    assert _states(application) == [
        ("submitted", "done"),
        ("accepted", "done"),
        ("departments", "current"),
        ("decided", "upcoming"),
    ]
    assert _departments(application) == [("市场监管局", "working")]

    # When the review is approved, then three departments work on it at once
    review = HumanTask.objects.get(application=application, task_spec="review")
    task_complete(acting_user=handlers["TDEPT"], task=review, outcome="approve", opinion="同意")
    assert sorted(_departments(application)) == sorted(
        [("市场监管局", "finished"), ("公安局", "working"), ("税务局", "working"), ("人社局", "working")]
    )

    # When one of them finishes, it says so while the others still work
    tax = HumanTask.objects.get(application=application, department_code="TAX")
    task_complete(acting_user=handlers["TAX"], task=tax, outcome="approve", opinion="已登记")
    assert dict(_departments(application)) == {
        "市场监管局": "finished",
        "公安局": "working",
        "税务局": "finished",
        "人社局": "working",
    }

    # When all are done, the case is decided and every step is done
    for code in ("PSB", "HRSS"):
        task = HumanTask.objects.get(application=application, department_code=code, status=TaskStatus.OPEN)
        task_complete(acting_user=handlers[code], task=task, outcome="approve", opinion="同意")
    application.refresh_from_db()
    assert application.status == Status.APPROVED
    assert [state for _key, state in _states(application)] == ["done"] * 4
    assert {state for _name, state in _departments(application)} == {"finished"}


def test_the_partial_is_an_accessible_list_without_internal_names(
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    named_departments: None,
    handlers: dict[str, User],
) -> None:
    application = accepted_application()
    review = HumanTask.objects.get(application=application, task_spec="review")
    task_complete(acting_user=handlers["TDEPT"], task=review, outcome="approve", opinion="同意")
    with translation.override("zh-hans"):
        html = render_to_string("workflow/_progress.html", {"progress": application_progress(application)})
    # An ordered list, the current step marked for assistive technology, states in words
    assert '<ol class="govuk-task-list' in html
    assert html.count('aria-current="step"') == 1
    assert "部门办理" in html
    assert "公安局" in html
    assert "办理中" in html
    assert "已办完" in html
    # No task names, no handler names
    for internal in ("市场监管审查", "税务登记", "公章刻制备案", handlers["TAX"].username):
        assert internal not in html
    with translation.override("en"):
        html = render_to_string("workflow/_progress.html", {"progress": application_progress(application)})
    assert "Departments working" in html
    assert "PSB bureau" in html


def test_department_progress_is_a_plain_triple() -> None:
    assert tuple(DepartmentProgress("公安局", "Police", "working")) == ("公安局", "Police", "working")
