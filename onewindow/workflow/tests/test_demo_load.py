"""The demo processes are published for the demo services by ``demo_load`` (idempotently)."""

from __future__ import annotations

import pytest

from onewindow.organisations.tests.factories import DepartmentFactory
from onewindow.services.demo import demo_services_load
from onewindow.services.models import ServiceVersion
from onewindow.workflow.demo import demo_processes_load
from onewindow.workflow.models import DefinitionStatus, ProcessDefinition
from onewindow.workflow.processes import demo_process_files

pytestmark = pytest.mark.django_db


def test_every_demo_service_gets_its_published_process_once() -> None:
    for code in ("PSB", "AMR", "QI", "TAX", "HRSS", "HEALTH", "CIVIL"):
        DepartmentFactory.create(code=code)
    demo_services_load(acting_user=None)
    keys = set(ServiceVersion.objects.exclude(process_key="").values_list("process_key", flat=True))
    assert keys <= set(demo_process_files())
    assert demo_processes_load() == len(keys)
    published = ProcessDefinition.objects.filter(status=DefinitionStatus.PUBLISHED)
    assert set(published.values_list("key", flat=True)) == keys
    qykb = published.get(key="QYKB")
    assert (qykb.department_code, qykb.result_keys) == ("AMR", ["credit_code", "license_number"])
    # A second load changes nothing
    assert demo_processes_load() == 0
    assert ProcessDefinition.objects.count() == len(keys)
