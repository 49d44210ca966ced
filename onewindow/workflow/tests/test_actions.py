"""The engine's actions: the QYKB-shaped flow end to end, rejection, timers, refusals, concurrency.

Administrative Licensing Law Art. 42 (joint handling: one case, several departments in parallel) and
Art. 82 (time limits in working days, here the boundary timer ``WD2``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.applications.models import Application, Status
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.workflow.actions import process_start, task_claim, task_complete, task_release, timers_fire_due
from onewindow.workflow.engine import ready_user_tasks, workflow_load
from onewindow.workflow.models import (
    CaseEvent,
    CaseEventKind,
    HumanTask,
    InstanceStatus,
    ProcessDefinition,
    TaskStatus,
    WorkflowInstance,
    WorkflowTimer,
)
from onewindow.workflow.tests.factories import case_process

pytestmark = pytest.mark.django_db(transaction=False)


def _open(application: Application) -> list[HumanTask]:
    return list(
        HumanTask.objects.filter(
            application=application, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED]
        ).order_by("department_code")
    )


def _started(
    accepted_application: Callable[[], Application], definition: ProcessDefinition
) -> tuple[Application, WorkflowInstance]:
    application = accepted_application()
    instance = case_process(application, definition)
    application.refresh_from_db()
    return application, instance


def _approve_review(application: Application, handlers: dict[str, User]) -> None:
    (review,) = _open(application)
    task_complete(acting_user=handlers["TDEPT"], task=review, outcome="approve", opinion="材料齐全")


def test_start_creates_the_first_task_with_its_due_date(
    accepted_application: Callable[[], Application], qykb_definition: ProcessDefinition
) -> None:
    # Given an accepted application of a service whose process_key names a published process
    application = accepted_application()
    # When its process starts (the latest published version of its process_key)
    instance = case_process(application)
    # Then the market-regulation review waits in TDEPT's pool, due in 5 working days (``due`` = WD5)
    (review,) = _open(application)
    assert (review.task_spec, review.department_code, review.role, review.status) == (
        "review",
        "TDEPT",
        "",
        TaskStatus.OPEN,
    )
    assert review.name == "市场监管审查"
    assert review.name_en == "Market regulation review"
    assert review.due_date is not None
    assert review.due_date > timezone.localdate()
    application.refresh_from_db()
    assert application.pending_department_codes == ["TDEPT"]
    assert instance.status == InstanceStatus.RUNNING
    assert list(CaseEvent.objects.filter(application=application).values_list("kind", flat=True)) == [
        CaseEventKind.STARTED,
        CaseEventKind.TASK_CREATED,
    ]
    assert (
        AuditRecord.objects.filter(action="workflow.started", object_id=application.tracking_no).count() == 1
    )


def test_qykb_flow_end_to_end(
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    handlers: dict[str, User],
) -> None:
    # Given a started QYKB-shaped case
    application, instance = _started(accepted_application, qykb_definition)
    # When market regulation approves its review
    _approve_review(application, handlers)
    # Then the credit code is assigned and the three parallel tasks are open at the same time
    parallel = _open(application)
    assert [(task.department_code, task.task_spec) for task in parallel] == [
        ("HRSS", "hrss"),
        ("PSB", "seal"),
        ("TAX", "tax"),
    ]
    application.refresh_from_db()
    assert application.pending_department_codes == ["HRSS", "PSB", "TAX"]
    assert application.status == Status.IN_PROGRESS
    # When two of them are completed, the case is still waiting for the third
    for task in parallel[:2]:
        task_complete(
            acting_user=handlers[task.department_code], task=task, outcome="approve", opinion="同意"
        )
    application.refresh_from_db()
    assert application.status == Status.IN_PROGRESS
    assert application.pending_department_codes == ["TAX"]
    # When the last one is completed
    task_complete(acting_user=handlers["TAX"], task=parallel[2], outcome="approve", opinion="同意")
    # Then the process is completed and the application approved with the process's results
    application.refresh_from_db()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert application.status == Status.APPROVED
    assert application.pending_department_codes == []
    assert application.decision is not None
    assert application.decision["outcome"] == "approved"
    results = application.decision["results"]
    assert sorted(results) == ["credit_code", "license_number"]
    assert len(results["credit_code"]) == 18
    assert results["license_number"].startswith("TDEPT-")
    kinds = list(CaseEvent.objects.filter(application=application).values_list("kind", flat=True))
    assert kinds.count(CaseEventKind.TASK_COMPLETED) == 4
    assert kinds.count(CaseEventKind.SERVICE_ACTION) == 2
    assert kinds.count(CaseEventKind.COMPLETED) == 1
    assert kinds[-1] == CaseEventKind.COMPLETED


def test_reject_ends_the_case_rejected_with_the_reasons(
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    handlers: dict[str, User],
) -> None:
    application, _ = _started(accepted_application, qykb_definition)
    (review,) = _open(application)
    task_complete(acting_user=handlers["TDEPT"], task=review, outcome="reject", opinion="经营范围不符合规定")
    application.refresh_from_db()
    assert application.status == Status.REJECTED
    assert application.decision is not None
    assert application.decision["reason"] == "经营范围不符合规定"
    assert application.decision["results"] == {}
    assert HumanTask.objects.filter(application=application).count() == 1


def test_reject_needs_reasons_and_outcome_must_be_known(
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    handlers: dict[str, User],
) -> None:
    application, _ = _started(accepted_application, qykb_definition)
    (review,) = _open(application)
    for outcome, opinion in (("reject", " "), ("maybe", "x")):
        with pytest.raises(FieldErrors):
            task_complete(acting_user=handlers["TDEPT"], task=review, outcome=outcome, opinion=opinion)
    review.refresh_from_db()
    assert review.status == TaskStatus.OPEN


def test_claim_release_and_conflicts(
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    role_users: dict[str, Any],
) -> None:
    application, _ = _started(accepted_application, qykb_definition)
    (review,) = _open(application)
    handler, admin = role_users["department_handler"], role_users["department_admin"]
    claimed = task_claim(acting_user=handler, task=review)
    assert (claimed.status, claimed.assignee_id) == (TaskStatus.CLAIMED, handler.pk)
    # Someone else can neither claim, release nor complete it: 409 task_not_yours.
    attempts: tuple[Callable[[], object], ...] = (
        lambda: task_claim(acting_user=admin, task=review),
        lambda: task_release(acting_user=admin, task=review),
        lambda: task_complete(acting_user=admin, task=review, outcome="approve", opinion="ok"),
    )
    for attempt in attempts:
        with pytest.raises(RuleViolation) as caught:
            attempt()
        assert (caught.value.code, caught.value.status) == ("task_not_yours", 409)
    released = task_release(acting_user=handler, task=review)
    assert (released.status, released.assignee_id) == (TaskStatus.OPEN, None)
    task_complete(acting_user=admin, task=review, outcome="reject", opinion="不符合条件")
    # A done task: 409 task_not_open.
    attempts = (
        lambda: task_claim(acting_user=handler, task=review),
        lambda: task_complete(acting_user=handler, task=review, outcome="approve", opinion="ok"),
    )
    for attempt in attempts:
        with pytest.raises(RuleViolation) as caught:
            attempt()
        assert (caught.value.code, caught.value.status) == ("task_not_open", 409)
    kinds = list(CaseEvent.objects.filter(application=application).values_list("kind", flat=True))
    assert kinds.count(CaseEventKind.TASK_CLAIMED) == 1
    assert kinds.count(CaseEventKind.TASK_RELEASED) == 1


ALLOWED_IN_TDEPT = {"department_handler", "department_admin"}


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_task_actions_refused_for_everyone_outside_the_department(
    role: str,
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    role_users: dict[str, Any],
    handlers: dict[str, User],
) -> None:
    """Only handlers with HANDLE_TASKS in the task's department; refusals change nothing (MLPS least
    privilege)."""
    application, instance = _started(accepted_application, qykb_definition)
    _approve_review(application, handlers)
    tax = HumanTask.objects.get(application=application, department_code="TAX")
    user = cast(User, AnonymousUser()) if role == "anonymous" else role_users[role]
    before = (
        list(HumanTask.objects.values_list("pk", "status", "assignee_id").order_by("pk")),
        CaseEvent.objects.count(),
        WorkflowInstance.objects.get(pk=instance.pk).row_version,
    )
    # Every role in ALL_ROLES is refused a TAX task (TDEPT roles included: wrong department).
    attempts: tuple[Callable[[], object], ...] = (
        lambda: task_claim(acting_user=user, task=tax),
        lambda: task_release(acting_user=user, task=tax),
        lambda: task_complete(acting_user=user, task=tax, outcome="approve", opinion="ok"),
    )
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    after = (
        list(HumanTask.objects.values_list("pk", "status", "assignee_id").order_by("pk")),
        CaseEvent.objects.count(),
        WorkflowInstance.objects.get(pk=instance.pk).row_version,
    )
    assert after == before


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_claim_in_own_department_by_role(
    role: str,
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    role_users: dict[str, Any],
) -> None:
    application, _ = _started(accepted_application, qykb_definition)
    (review,) = _open(application)
    user = cast(User, AnonymousUser()) if role == "anonymous" else role_users[role]
    if role in ALLOWED_IN_TDEPT:
        assert task_claim(acting_user=user, task=review).status == TaskStatus.CLAIMED
        return
    events = CaseEvent.objects.count()
    with pytest.raises(PermissionDenied):
        task_claim(acting_user=user, task=review)
    review.refresh_from_db()
    assert (review.status, review.assignee_id, CaseEvent.objects.count()) == (TaskStatus.OPEN, None, events)


def _timer_case(
    accepted_application: Callable[[], Application], timer_definition: ProcessDefinition
) -> tuple[Application, WorkflowInstance]:
    return _started(accepted_application, timer_definition)


def test_boundary_timer_sets_the_due_date_and_fires_from_the_scheduler(
    accepted_application: Callable[[], Application],
    timer_definition: ProcessDefinition,
    role_users: dict[str, Any],
) -> None:
    # Given a task with an interrupting boundary timer of 2 working days (Art. 82)
    application, instance = _timer_case(accepted_application, timer_definition)
    (check,) = _open(application)
    (timer,) = WorkflowTimer.objects.filter(instance=instance)
    assert timer.fired_at is None
    assert check.due_date == timer.fire_at.astimezone(timezone.get_fixed_timezone(480)).date()
    # Nothing is due yet
    assert timers_fire_due() == 0
    # When the scheduler runs after the fire time
    assert timers_fire_due(now=timer.fire_at + timedelta(minutes=1)) == 1
    # Then the task is cancelled and the escalation task (admins only: lane TDEPT:department_admin) opens
    check.refresh_from_db()
    assert check.status == TaskStatus.CANCELLED
    (escalated,) = _open(application)
    assert (escalated.task_spec, escalated.role) == ("escalated", "department_admin")
    timer.refresh_from_db()
    assert timer.fired_at is not None
    assert CaseEvent.objects.filter(application=application, kind=CaseEventKind.TIMER_FIRED).count() == 1
    # Firing again does nothing
    assert timers_fire_due(now=timer.fire_at + timedelta(days=1)) == 0
    # The role-restricted lane: the handler is refused, the admin completes it
    with pytest.raises(PermissionDenied):
        task_claim(acting_user=role_users["department_handler"], task=escalated)
    task_complete(acting_user=role_users["department_admin"], task=escalated, outcome="approve", opinion="ok")
    application.refresh_from_db()
    assert application.status == Status.APPROVED


def test_a_broken_case_does_not_hold_up_the_other_timers(
    accepted_application: Callable[[], Application], timer_definition: ProcessDefinition
) -> None:
    broken_application, broken = _timer_case(accepted_application, timer_definition)
    _, instance = _timer_case(accepted_application, timer_definition)
    WorkflowInstance.objects.filter(pk=broken.pk).update(state={"format": "unknown"})
    later = timezone.now() + timedelta(days=30)
    assert timers_fire_due(now=later) == 1
    assert WorkflowTimer.objects.get(instance=instance).fired_at == later
    assert WorkflowTimer.objects.get(instance=broken).fired_at is None
    assert [task.task_spec for task in _open(broken_application)] == ["check"]


def test_completing_before_the_timer_removes_it(
    accepted_application: Callable[[], Application],
    timer_definition: ProcessDefinition,
    role_users: dict[str, Any],
) -> None:
    application, instance = _timer_case(accepted_application, timer_definition)
    (check,) = _open(application)
    task_complete(acting_user=role_users["department_handler"], task=check, outcome="approve", opinion="ok")
    assert WorkflowTimer.objects.filter(instance=instance, fired_at__isnull=True).count() == 0
    assert timers_fire_due(now=timezone.now() + timedelta(days=30)) == 0
    application.refresh_from_db()
    assert application.status == Status.APPROVED


def test_state_survives_a_reload_between_steps(
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    handlers: dict[str, User],
) -> None:
    application, instance = _started(accepted_application, qykb_definition)
    _approve_review(application, handlers)
    stored = WorkflowInstance.objects.get(pk=instance.pk)
    # Started (1 -> 2), one task completed (2 -> 3)
    assert stored.row_version == 3
    # The stored state, deserialised, waits exactly on the open inbox rows
    workflow = workflow_load(stored.state)
    ready = {task.spiff_task_id for task in ready_user_tasks(workflow)}
    assert ready == {task.spiff_task_id for task in _open(application)}
    assert len(ready) == 3


def test_stale_state_is_refused(
    accepted_application: Callable[[], Application],
    qykb_definition: ProcessDefinition,
    handlers: dict[str, User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The row_version guard: a save over a newer state fails with 409 and nothing is written."""
    from onewindow.workflow import actions

    application, instance = _started(accepted_application, qykb_definition)
    (review,) = _open(application)
    original = actions._synchronise

    def stale(*args: Any, **kwargs: Any) -> Any:
        # Another writer saved in between (what the lock prevents): bump the version under our feet.
        WorkflowInstance.objects.filter(pk=instance.pk).update(row_version=99)
        return original(*args, **kwargs)

    monkeypatch.setattr(actions, "_synchronise", stale)
    with pytest.raises(RuleViolation) as caught:
        task_complete(acting_user=handlers["TDEPT"], task=review, outcome="approve", opinion="ok")
    assert (caught.value.code, caught.value.status) == ("workflow_changed", 409)
    review.refresh_from_db()
    assert review.status == TaskStatus.OPEN
    assert WorkflowInstance.objects.get(pk=instance.pk).row_version == 2
    assert HumanTask.objects.filter(application=application).count() == 1


def test_a_case_has_one_process(
    accepted_application: Callable[[], Application], qykb_definition: ProcessDefinition
) -> None:
    application, _ = _started(accepted_application, qykb_definition)
    with pytest.raises(RuleViolation) as caught:
        process_start(application=application, definition=qykb_definition)
    assert (caught.value.code, caught.value.status) == ("process_already_started", 409)
    assert HumanTask.objects.filter(application=application).count() == 1


def test_start_without_a_published_process_is_refused(
    accepted_application: Callable[[], Application], role_users: dict[str, Any]
) -> None:
    application = accepted_application()
    with pytest.raises(RuleViolation) as caught:
        process_start(application=application)
    assert caught.value.code == "process_missing"
    assert WorkflowInstance.objects.count() == 0
