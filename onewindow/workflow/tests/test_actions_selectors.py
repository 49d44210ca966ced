"""The inbox reads: a handler sees only the tasks of their own departments (the pool) and their own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.applications.models import Application
from onewindow.core.errors import RuleViolation
from onewindow.workflow.actions import task_claim, task_complete
from onewindow.workflow.models import HumanTask, ProcessDefinition
from onewindow.workflow.selectors import case_events_for_user, task_for_user, tasks_for_user
from onewindow.workflow.tests.factories import case_process

pytestmark = pytest.mark.django_db


def test_pool_mine_and_single_task(
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    handlers: dict[str, User],
) -> None:
    application = accepted_application()
    case_process(application, qykb_definition)
    review = HumanTask.objects.get(application=application)
    task_complete(acting_user=handlers["TDEPT"], task=review, outcome="approve", opinion="同意")
    tax = HumanTask.objects.get(application=application, department_code="TAX")
    assert [task.department_code for task in tasks_for_user(handlers["TAX"])] == ["TAX"]
    assert list(tasks_for_user(handlers["TAX"], scope="mine")) == []
    task_claim(acting_user=handlers["TAX"], task=tax)
    assert [task.pk for task in tasks_for_user(handlers["TAX"], scope="mine", status="claimed")] == [tax.pk]
    assert [task.pk for task in tasks_for_user(handlers["TDEPT"], scope="mine", status="done")] == [review.pk]
    assert list(tasks_for_user(handlers["TDEPT"])) == []
    assert task_for_user(handlers["TAX"], tax.pk) == tax
    with pytest.raises(RuleViolation) as caught:
        task_for_user(handlers["PSB"], tax.pk)
    assert caught.value.status == 404
    assert case_events_for_user(handlers["PSB"], application).count() > 0


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_tdept_handlers_see_its_pool(
    role: str,
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    role_users: dict[str, Any],
) -> None:
    application = accepted_application()
    case_process(application, qykb_definition)
    visible = list(tasks_for_user(role_users[role]))
    events = case_events_for_user(role_users[role], application).count()
    if role in {"department_handler", "department_admin"}:
        assert len(visible) == 1
        assert events > 0
    else:
        assert (visible, events) == ([], 0)
