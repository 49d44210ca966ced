"""Helpers shared by the deadline and supervision tests (no tests here).

Cases come from the shared fixtures (``accepted_application`` + ``qykb_definition``): acceptance starts the
published process, so the review task waits in ``TDEPT``. Extra inbox rows are made directly where a test
needs tasks with chosen due dates, lights or departments (the engine is tested on its own).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from uuid import uuid4

from django.core.cache import cache
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.applications.models import Application, ApplicationEvent
from onewindow.applications.tracking import CHINA
from onewindow.audit.models import AuditRecord
from onewindow.notifications.models import Notification
from onewindow.workcalendar.calendar import CACHE_VERSION_KEY, clear_process_cache
from onewindow.workflow.actions import process_start
from onewindow.workflow.models import (
    CaseEvent,
    ClockStop,
    DefinitionStatus,
    EscalationRule,
    Extension,
    HumanTask,
    Light,
    ProcessDefinition,
    SupervisionSnapshot,
    TaskEscalation,
    TaskStatus,
    WorkflowInstance,
)


def calendar_reset() -> None:
    """Drop any calendar snapshot another test left in this process: read the seeded table afresh."""
    clear_process_cache()
    cache.delete(CACHE_VERSION_KEY)


def beijing(day: date, hour: int = 10) -> datetime:
    """``hour`` o'clock on ``day`` in Beijing time (an aware datetime)."""
    return datetime.combine(day, time(hour), tzinfo=CHINA)


def case_started(make: Callable[[], Application]) -> Application:
    """An accepted case with its process running (started here if acceptance did not start it)."""
    application = make()
    if not WorkflowInstance.objects.filter(application=application).exists():
        definition = ProcessDefinition.objects.get(key="QYKB_T", status=DefinitionStatus.PUBLISHED)
        process_start(application=application, definition=definition)
    return Application.objects.select_related("applicant", "service", "version").get(pk=application.pk)


def review_task(application: Application) -> HumanTask:
    return HumanTask.objects.get(application=application, task_spec="review")


def task_add(
    application: Application,
    *,
    department_code: str = "TDEPT",
    due_date: date | None = None,
    status: str = TaskStatus.OPEN,
    light: str = Light.GREEN,
    assignee: User | None = None,
    role: str = "",
    name: str = "附加任务",
) -> HumanTask:
    """An extra inbox row on ``application``'s process (as if a parallel branch had made it)."""
    return HumanTask.objects.create(
        instance=WorkflowInstance.objects.get(application=application),
        application=application,
        spiff_task_id=uuid4(),
        task_spec=f"extra_{uuid4().hex[:8]}",
        name=name,
        name_en="Extra task",
        department_code=department_code,
        role=role,
        status=status,
        assignee=assignee,
        created_at=timezone.now(),
        due_date=due_date,
        light=light,
    )


def database_state() -> dict[str, Any]:
    """Everything the deadline actions and jobs write, to show that a refused call changed nothing."""
    return {
        "applications": list(
            Application.objects.order_by("pk").values_list(
                "pk", "status", "due_date", "statutory_due_date", "row_version"
            )
        ),
        "tasks": list(
            HumanTask.objects.order_by("pk").values_list(
                "pk", "status", "due_date", "light", "changed_at", "assignee_id"
            )
        ),
        "clock_stops": list(ClockStop.objects.order_by("pk").values_list("pk", "ended_at", "working_days")),
        "extensions": list(
            Extension.objects.order_by("pk").values_list("pk", "status", "decided_at", "decision_reason")
        ),
        "rules": list(
            EscalationRule.objects.order_by("pk").values_list(
                "pk", "department_code", "light", "overdue_working_days", "target", "active"
            )
        ),
        "task_escalations": TaskEscalation.objects.count(),
        "snapshots": list(
            SupervisionSnapshot.objects.order_by("pk").values_list("day", "department_code", "green")
        ),
        "case_events": CaseEvent.objects.count(),
        "application_events": ApplicationEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "audit_success": AuditRecord.objects.exclude(action="permission.denied").count(),
    }


def denials(user: User) -> int:
    """How many refusals were audited for ``user``."""
    return AuditRecord.objects.filter(action="permission.denied", actor_id=user.pk).count()


def notified(user: User, kind: str) -> list[Notification]:
    return list(Notification.objects.filter(user=user, kind=kind).order_by("id"))
