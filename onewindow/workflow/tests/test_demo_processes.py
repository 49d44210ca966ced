"""The demo processes: one valid model per demo service (Issue #4 §8)."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn.specs.defaults import ParallelGateway
from SpiffWorkflow.spiff.specs.defaults import ServiceTask, UserTask

from onewindow.demo import data
from onewindow.organisations.tests.factories import DepartmentFactory
from onewindow.services.demo import BUNDLES, ITEMS
from onewindow.workflow.processes import demo_process_files
from onewindow.workflow.validation import bpmn_parse, bpmn_validate, lane_parse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_departments() -> None:
    for department in data.DEPARTMENTS:
        DepartmentFactory.create(code=department.code)


def test_every_demo_service_has_a_process() -> None:
    keys = {service.fields["process_key"] for service in (*ITEMS, *BUNDLES)}
    assert set(demo_process_files()) == keys


@pytest.mark.parametrize("key", sorted(demo_process_files()))
def test_each_demo_process_is_valid(key: str) -> None:
    assert bpmn_validate(demo_process_files()[key]) == []


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: item.code)
def test_item_process_is_one_review_in_the_owning_department(item: object) -> None:
    spec, _ = bpmn_parse(demo_process_files()[item.code], item.code)  # type: ignore[attr-defined]
    user_tasks = [task for task in spec.task_specs.values() if isinstance(task, UserTask)]
    assert [(task.bpmn_name, lane_parse(task.lane)) for task in user_tasks] == [
        ("审查", (item.department_code, "department_handler"))  # type: ignore[attr-defined]
    ]
    assert spec.task_specs["review_reminder"].event_definition.expression.startswith("WD")


def test_qykb_runs_three_departments_in_parallel_after_market_regulation() -> None:
    spec, _ = bpmn_parse(demo_process_files()["QYKB"], "QYKB")
    tasks = spec.task_specs
    assert lane_parse(tasks["amr_review"].lane)[0] == "AMR"
    assert tasks["amr_review"].bpmn_name == "设立登记审查"
    assert isinstance(tasks["credit_code"], ServiceTask)
    assert tasks["credit_code"].operation_name == "enterprise_credit_code_assign"
    assert isinstance(tasks["split"], ParallelGateway)
    parallel = {task.name for task in tasks["split"].outputs}
    assert parallel == {"psb_seal", "tax_register", "hrss_register"}
    assert {lane_parse(tasks[name].lane)[0] for name in parallel} == {"PSB", "TAX", "HRSS"}
    assert tasks["licence"].operation_name == "licence_number_assign"
    assert tasks["amr_reminder"].event_definition.expression == "WD3"


def test_xsecs_runs_household_and_insurance_in_parallel_after_the_birth_certificate() -> None:
    spec, _ = bpmn_parse(demo_process_files()["XSECS"], "XSECS")
    tasks = spec.task_specs
    assert lane_parse(tasks["health_certificate"].lane)[0] == "HEALTH"
    parallel = {task.name for task in tasks["split"].outputs}
    assert {lane_parse(tasks[name].lane)[0] for name in parallel} == {"PSB", "HRSS"}
