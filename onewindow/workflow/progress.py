"""The applicant's simplified progress of a case: four steps, and which departments work on it now.

Steps: 提交 Submitted → 受理 Accepted → 部门办理 Departments working → 办结 Decided. For a bundle (一件事) the
departments step lists every department with a task on the case, each ``working`` or ``finished``, so the
applicant sees the joint handling as one case. No internal task names and no handler names are shown
(PIPL Art. 6: no more than needed); the caller has already checked that the reader may see the case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from onewindow.applications.models import Application, Status
from onewindow.organisations.models import Department
from onewindow.workflow.models import ACTIVE_TASK_STATUSES, HumanTask, TaskKind, TaskStatus

StepState = Literal["done", "current", "upcoming"]
DepartmentState = Literal["working", "finished"]


class DepartmentProgress(NamedTuple):
    """One department on the case: ``(name, name_en, state)``."""

    name: str
    name_en: str
    state: DepartmentState


@dataclass(frozen=True)
class ProgressStep:
    key: str
    label: str
    label_en: str
    state: StepState
    departments: list[DepartmentProgress] = field(default_factory=list)


# (key, label, label_en), in order.
STEPS: tuple[tuple[str, str, str], ...] = (
    ("submitted", "提交", "Submitted"),
    ("accepted", "受理", "Accepted"),
    ("departments", "部门办理", "Departments working"),
    ("decided", "办结", "Decided"),
)

# Waiting at the window: the acceptance step is the current one.
_BEFORE_ACCEPTANCE = frozenset({Status.SUBMITTED})
# Finished one way or another: every step is done.
_FINISHED = frozenset({Status.APPROVED, Status.REJECTED, Status.NOT_ACCEPTED, Status.WITHDRAWN})


def _current_step(application: Application) -> int:
    """The index in :data:`STEPS` of the step the case is at (``len(STEPS)`` when it is finished)."""
    if application.status in _FINISHED:
        return len(STEPS)
    if application.status in _BEFORE_ACCEPTANCE or (
        application.status == Status.SUPPLEMENT_REQUESTED and application.accepted_at is None
    ):
        return 1
    return 2


def _department_states(application: Application) -> list[tuple[str, DepartmentState]]:
    """Departments with a process task on the case, in the order they started, and whether they still work.

    Consultations are internal and cancelled tasks never ran, so neither counts. A case without a process
    (the default routing) falls back to the application's department lists.
    """
    rows = (
        HumanTask.objects.filter(application=application, kind=TaskKind.PROCESS)
        .exclude(status=TaskStatus.CANCELLED)
        .order_by("created_at", "id")
        .values_list("department_code", "status")
    )
    order: list[str] = []
    working: set[str] = set()
    for code, status in rows:
        if code not in order:
            order.append(code)
        if status in ACTIVE_TASK_STATUSES:
            working.add(code)
    if not order:
        pending = [str(code) for code in application.pending_department_codes]
        order = list(dict.fromkeys([*[str(code) for code in application.department_codes], *pending]))
        working = set(pending)
    return [(code, "working" if code in working else "finished") for code in order]


def application_progress(application: Application) -> list[ProgressStep]:
    """The four steps of ``application`` with their states; the departments step lists the departments."""
    current = _current_step(application)
    states = _department_states(application) if current >= 2 else []
    names = {
        department.code: (department.name, department.name_en)
        for department in Department.objects.filter(code__in=[code for code, _state in states])
    }
    departments = [
        DepartmentProgress(names.get(code, (code, ""))[0], names.get(code, (code, ""))[1], state)
        for code, state in states
    ]
    steps: list[ProgressStep] = []
    for index, (key, label, label_en) in enumerate(STEPS):
        state: StepState = "done" if index < current else "current" if index == current else "upcoming"
        steps.append(
            ProgressStep(
                key=key,
                label=label,
                label_en=label_en,
                state=state,
                departments=departments if key == "departments" else [],
            )
        )
    return steps
