"""Reads of the back-office engine that check who is asking (STYLE.md rule 3).

A handler sees the tasks of the departments where they hold ``HANDLE_TASKS`` (the pool) and the tasks
they claimed (mine); a case's events only if one of its tasks is in such a department.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import BooleanField, Case, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import user_roles
from onewindow.accounts.roles import ROLE_PERMISSIONS, Permission
from onewindow.applications.models import Application
from onewindow.applications.selectors_extracts import ExtractShown, verified_extracts_for_department
from onewindow.applications.tracking import china_date
from onewindow.core.errors import RuleViolation
from onewindow.materials.models import Material
from onewindow.services.models import BundleComponent, ServiceKind
from onewindow.workflow.clock import light_thresholds
from onewindow.workflow.models import (
    ACTIVE_TASK_STATUSES,
    WORKING_TASK_STATUSES,
    CaseEvent,
    ClockStop,
    Delegation,
    Extension,
    HumanTask,
    Light,
    ProcessDefinition,
    TaskKind,
    TaskStatus,
    TaskView,
)


def handler_department_codes(user: User) -> set[str]:
    """The departments in which ``user`` handles tasks (department-scoped grants only)."""
    return {
        grant.department_code
        for grant in user_roles(user)
        if grant.department_code and Permission.HANDLE_TASKS in ROLE_PERMISSIONS[grant.role]
    }


def task_for_user(user: User, task_id: int) -> HumanTask:
    """One task of the user's departments; 404 (not 403) otherwise, so ids reveal nothing."""
    task = (
        HumanTask.objects.filter(pk=task_id, department_code__in=handler_department_codes(user))
        .select_related("application__service", "instance")
        .first()
    )
    if task is None:
        raise RuleViolation("task_not_found", "任务不存在。", "No such task.", status=404)
    return task


def case_events_for_user(user: User, application: Application) -> QuerySet[CaseEvent]:
    """The process steps of a case that involves one of the user's departments (else none)."""
    departments = handler_department_codes(user)
    if not HumanTask.objects.filter(application=application, department_code__in=departments).exists():
        return CaseEvent.objects.none()
    return (
        CaseEvent.objects.filter(application=application).select_related("actor", "task").order_by("at", "id")
    )


# --- The inbox with filters and change marks --------------------------------------------------------------


def _delegated_assignees(user: User, today: date) -> QuerySet[Delegation]:
    return Delegation.objects.filter(
        delegate=user, starts_on__lte=today, ends_on__gte=today, revoked_at__isnull=True
    )


def tasks_for_user(
    user: User,
    *,
    scope: str = "pool",
    status: str = "",
    service: str = "",
    light: str = "",
    due_before: date | None = None,
) -> QuerySet[HumanTask]:
    """The inbox. ``pool``: open and claimed tasks of the user's departments (those whose lane names a role
    only for holders of that role there); ``mine``: tasks claimed by the user or by someone who delegated
    to them (active ones unless ``status`` says otherwise). Annotated with ``seen_at`` (the user's last
    view) and ``is_changed`` (never seen, or changed since)."""
    grants = [
        grant
        for grant in user_roles(user)
        if grant.department_code and Permission.HANDLE_TASKS in ROLE_PERMISSIONS[grant.role]
    ]
    if not grants:
        return HumanTask.objects.none()
    visible = Q()
    for department_code in {grant.department_code for grant in grants}:
        roles = [grant.role.value for grant in grants if grant.department_code == department_code]
        visible |= Q(department_code=department_code) & (Q(role="") | Q(role__in=roles))
    tasks = HumanTask.objects.filter(visible)
    if scope == "mine":
        today = china_date(timezone.now())
        delegators = list(_delegated_assignees(user, today).values_list("delegator_id", "department_code"))
        mine = Q(assignee=user)
        for delegator_id, department_code in delegators:
            mine |= Q(assignee_id=delegator_id, department_code=department_code)
        tasks = tasks.filter(mine)
        tasks = (
            tasks.filter(status=status)
            if status in TaskStatus.values
            else tasks.filter(status__in=ACTIVE_TASK_STATUSES)
        )
    else:
        tasks = tasks.filter(status__in=WORKING_TASK_STATUSES)
        if status in WORKING_TASK_STATUSES:
            tasks = tasks.filter(status=status)
    if service:
        tasks = tasks.filter(service_code=service)
    if light in Light.values:
        tasks = tasks.filter(light=light)
        # Implied by the light (a red task is past its due date even when its clock stopped and froze it;
        # a yellow one is due by the yellow limit): lets the pool index read a range of due dates instead of
        # every working task of the department (``light`` itself is in no index: benchmarks/inbox.py).
        thresholds = light_thresholds()
        if light == Light.RED:
            tasks = tasks.filter(due_date__lt=thresholds.today)
        elif light == Light.YELLOW:
            tasks = tasks.filter(due_date__lte=thresholds.yellow_until)
    if due_before is not None:
        tasks = tasks.filter(due_date__lte=due_before)
    seen = TaskView.objects.filter(user=user, task=OuterRef("pk")).values("seen_at")[:1]
    return (
        tasks.select_related("application__service", "assignee")
        .annotate(seen_at=Subquery(seen))
        .annotate(
            is_changed=Case(
                When(seen_at__isnull=True, then=Value(True)),
                When(changed_at__gt=F("seen_at"), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by(F("due_date").asc(nulls_last=True), "created_at", "id")
    )


# --- What a handler sees of a case ---------------------------------------------------------------------


@dataclass(frozen=True)
class CaseField:
    name: str
    title: str
    title_en: str
    value: Any


@dataclass(frozen=True)
class TaskCaseView:
    """What a task's handler sees: only the form fields and materials the task's department needs."""

    task: HumanTask
    application: Application
    fields: list[CaseField]
    materials: list[Material]
    events: list[CaseEvent]
    consultations: list[HumanTask]
    asking_task: HumanTask | None
    clock_stop: ClockStop | None
    extensions: list[Extension]
    seen_at: datetime | None
    # Once-only: verified registry data of the 免提交 materials the department needs, as its policy allows.
    verified_extracts: list[ExtractShown] = field(default_factory=list)


def _needed_schema(application: Application, department_code: str) -> tuple[dict[str, Any], set[str] | None]:
    """The (merged) form schema and material codes the department needs; None codes = all materials.

    An item, or the bundle's own department: everything. Another department of a bundle: the fields and
    materials of the components it owns.
    """
    version = application.version
    if version.service.kind != ServiceKind.BUNDLE or version.service.department.code == department_code:
        return version.form_schema, None
    components = [
        link.item_version
        for link in BundleComponent.objects.filter(bundle_version=version).select_related(
            "item_version__service__department"
        )
        if link.item_version.service.department.code == department_code
    ]
    properties: dict[str, Any] = {}
    codes: set[str] = set()
    for component in components:
        properties.update(component.form_schema.get("properties", {}))
        codes.update(str(spec.get("code", "")) for spec in component.materials)
    if not any(name in application.form_data for name in properties):
        # An administrator-designed merged form with other field names: nothing to narrow by.
        return version.form_schema, None
    merged = version.form_schema.get("properties", {})
    return {
        "type": "object",
        "properties": {name: merged.get(name, spec) for name, spec in properties.items()},
    }, codes


def task_case_view(user: User, task: HumanTask, *, seen_at: datetime | None = None) -> TaskCaseView:
    """The case as ``task``'s handler may see it (``task`` from :func:`task_for_user`, already checked)."""
    application = Application.objects.select_related(
        "service__department", "version__service__department"
    ).get(pk=task.application_id)
    schema, codes = _needed_schema(application, task.department_code)
    properties: dict[str, Any] = schema.get("properties", {})
    order = list(schema.get("x-order", [])) + [
        name for name in properties if name not in schema.get("x-order", [])
    ]
    fields = [
        CaseField(
            name=name,
            title=str(properties[name].get("title", name)),
            title_en=str(properties[name].get("x-title-en", properties[name].get("title", name))),
            value=application.form_data.get(name),
        )
        for name in order
        if name in properties and name in application.form_data
    ]
    materials = list(Material.objects.filter(application=application).order_by("created_at"))
    if codes is not None:
        materials = [material for material in materials if material.material_code in codes]
    asking = task.consult_of if task.kind == TaskKind.CONSULT else None
    extracts = verified_extracts_for_department(user, application, task.department_code)
    if codes is not None:
        extracts = [extract for extract in extracts if extract.material_code in codes]
    return TaskCaseView(
        task=task,
        application=application,
        fields=fields,
        materials=materials,
        events=list(
            CaseEvent.objects.filter(application=application)
            .select_related("actor", "task")
            .order_by("at", "id")
        ),
        consultations=list(
            HumanTask.objects.filter(consult_of=task).select_related("assignee").order_by("created_at")
        ),
        asking_task=asking,
        clock_stop=ClockStop.objects.filter(application=application, ended_at__isnull=True).first(),
        extensions=list(Extension.objects.filter(application=application).select_related("requested_by")),
        seen_at=seen_at,
        verified_extracts=extracts,
    )


# --- Department admin: handlers, delegations ----------------------------------------------------------


def department_handlers(department_code: str) -> QuerySet[User]:
    """Active accounts that handle tasks in the department now (for reassign and delegate pickers)."""
    now = timezone.now()
    roles = [
        role.value for role, permissions in ROLE_PERMISSIONS.items() if Permission.HANDLE_TASKS in permissions
    ]
    return (
        User.objects.filter(
            is_active=True,
            memberships__department__code=department_code,
            memberships__role__in=roles,
        )
        .filter(Q(memberships__valid_from__isnull=True) | Q(memberships__valid_from__lte=now))
        .filter(Q(memberships__valid_until__isnull=True) | Q(memberships__valid_until__gt=now))
        .distinct()
        .order_by("username")
    )


def _managed_departments(user: User) -> set[str]:
    return {
        grant.department_code
        for grant in user_roles(user)
        if grant.department_code and Permission.MANAGE_DEPARTMENT in ROLE_PERMISSIONS[grant.role]
    }


def delegations_for_user(user: User) -> QuerySet[Delegation]:
    """Department admins: their departments' delegations; handlers: those they give or receive."""
    managed = _managed_departments(user)
    return (
        Delegation.objects.filter(Q(department_code__in=managed) | Q(delegator=user) | Q(delegate=user))
        .select_related("delegator", "delegate", "created_by")
        .order_by("-starts_on", "-id")
    )


def delegation_for_user(user: User, delegation_id: int) -> Delegation:
    delegation = delegations_for_user(user).filter(pk=delegation_id).first()
    if delegation is None:
        raise RuleViolation("delegation_not_found", "委托不存在。", "No such delegation.", status=404)
    return delegation


# --- Process versions an admin may manage ------------------------------------------------------------


def process_definitions_for_user(user: User) -> QuerySet[ProcessDefinition]:
    """Every version of the processes owned by the departments the user administers."""
    return ProcessDefinition.objects.filter(department_code__in=_managed_departments(user)).order_by(
        "key", "-version"
    )


def process_definition_for_user(user: User, key: str, version: int) -> ProcessDefinition:
    definition = process_definitions_for_user(user).filter(key=key, version=version).first()
    if definition is None:
        raise RuleViolation("process_not_found", "流程版本不存在。", "No such process version.", status=404)
    return definition
