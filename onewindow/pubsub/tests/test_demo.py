"""The seed's example in the demo (issue #8 item 4 acceptance): the QYKB approval's ``entity.registered``
event reaches the tax and quality-inspection subscriptions, on both backends."""

from __future__ import annotations

from typing import Any

import pytest

from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.applications.models import Application
from onewindow.organisations.tests.factories import DepartmentFactory
from onewindow.pubsub.actions import (
    DEMO_SUBSCRIPTIONS,
    deliveries_acknowledge,
    deliveries_pull,
    subscriptions_demo_load,
)
from onewindow.pubsub.backends import Backend
from onewindow.pubsub.models import Subscription
from onewindow.pubsub.tests.conftest import dispatch_until_idle
from onewindow.workflow.actions import task_complete
from onewindow.workflow.models import HumanTask, TaskStatus
from onewindow.workflow.tests.factories import case_process
from onewindow.workflow.tests.test_actions_demo import demo_handlers, qykb_application  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def test_the_demo_subscriptions_are_loaded_once(role_users: dict[str, Any]) -> None:
    for code in ("TAX", "QI"):
        DepartmentFactory.create(code=code)
    assert subscriptions_demo_load() == 2
    assert subscriptions_demo_load() == 0
    assert sorted(Subscription.objects.values_list("code", "department__code", "mode")) == [
        ("qi-entities", "QI", "pull"),
        ("tax-entities", "TAX", "pull"),
    ]


def test_qykb_approval_reaches_tax_and_quality_inspection(
    backend: Backend,
    qykb_application: Application,  # noqa: F811
    demo_handlers: dict[str, User],  # noqa: F811
) -> None:
    # Given the demo's subscriptions of tax and quality inspection
    DepartmentFactory.create(code="QI")
    subscriptions_demo_load()
    # When the QYKB case is approved by market regulation, then by public security, tax and HRSS
    case_process(qykb_application)
    (review,) = HumanTask.objects.filter(application=qykb_application, status=TaskStatus.OPEN)
    task_complete(acting_user=demo_handlers["AMR"], task=review, outcome="approve", opinion="同意")
    for task in HumanTask.objects.filter(application=qykb_application, status=TaskStatus.OPEN):
        task_complete(
            acting_user=demo_handlers[task.department_code], task=task, outcome="approve", opinion="ok"
        )
    qykb_application.refresh_from_db()
    credit_code = qykb_application.decision["results"]["credit_code"]  # type: ignore[index]
    # And the dispatcher runs
    dispatch_until_idle(backend)
    # Then each department's administrator pulls the new company once and acknowledges it
    for code, department, _ in DEMO_SUBSCRIPTIONS:
        subscription = Subscription.objects.select_related("department").get(code=code)
        admin = staff_user(Role.DEPARTMENT_ADMIN, department_code=department, username=f"admin_{code}")
        (delivery,) = deliveries_pull(acting_user=admin, subscription=subscription)
        assert (delivery.topic, delivery.key) == ("entity.registered", credit_code)
        assert delivery.event.payload["registration_authority"] == "AMR"
        assert (
            deliveries_acknowledge(
                acting_user=admin, subscription=subscription, event_ids=[str(delivery.event_id)]
            )
            == 1
        )
        assert subscription.deliveries.get().status == "delivered"
