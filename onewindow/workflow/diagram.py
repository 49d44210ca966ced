"""Reads behind the process editor and the case diagram: who may see which process model (STYLE.md rule 3).

* **Process versions** (``/admin/processes/``): a department admin manages the processes their department
  owns (``ProcessDefinition.department_code``, or, before a first version exists, the department of the
  services whose versions name the key) and sees every version of them; staff who handle tasks may *view*
  the published version of a process their department works on (a lane of the model names it, or the
  department owns it). Anything else is a 404 ``process_not_found``, so keys reveal nothing.
* **Case diagram** (``/cases/<tracking_no>/diagram/``): the model the case runs on with its active and
  done user tasks, for staff handling tasks in a department that has (or had) a task on the case, and for
  leaders (``VIEW_DASHBOARDS``) and supervisors (``SUPERVISE``). Everyone else gets a 404
  ``case_not_found``; applicants follow their case on the application's own page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from django.db.models import QuerySet
from lxml import etree

from onewindow.accounts.models import User
from onewindow.accounts.permissions import user_has_permission, user_roles
from onewindow.accounts.roles import ROLE_PERMISSIONS, Permission
from onewindow.applications.models import Application
from onewindow.core.errors import RuleViolation
from onewindow.services.models import ServiceVersion
from onewindow.workflow.models import (
    ACTIVE_TASK_STATUSES,
    DefinitionStatus,
    HumanTask,
    ProcessDefinition,
    TaskStatus,
)
from onewindow.workflow.selectors import handler_department_codes
from onewindow.workflow.validation import BPMN_NS, lane_parse

# --- Process versions ----------------------------------------------------------------------------------


def _process_not_found(key: str) -> RuleViolation:
    return RuleViolation(
        "process_not_found", f"流程 {key} 不存在。", f"There is no process {key}.", status=404
    )


def managed_department_codes(user: User) -> set[str]:
    """The departments whose processes ``user`` may upload and publish (``MANAGE_DEPARTMENT`` there)."""
    return {
        grant.department_code
        for grant in user_roles(user)
        if grant.department_code and Permission.MANAGE_DEPARTMENT in ROLE_PERMISSIONS[grant.role]
    }


@lru_cache(maxsize=512)
def _lane_departments(sha256: str, bpmn_xml: str) -> frozenset[str]:
    # Keyed by the version's hash too: a version never changes, so its answer can be kept.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(bpmn_xml.encode("utf-8"), parser=parser)
    except etree.XMLSyntaxError:
        return frozenset()
    codes = (lane_parse(lane.get("name"))[0] for lane in root.iter(f"{{{BPMN_NS}}}lane"))
    return frozenset(code for code in codes if code)


def process_lane_departments(definition: ProcessDefinition) -> frozenset[str]:
    """The department codes the lanes of a process version name (who works on it)."""
    return _lane_departments(definition.sha256, definition.bpmn_xml)


def _service_owners(keys: Iterable[str] | None = None) -> dict[str, str]:
    """Process key → the department of the services naming it (keys named by several departments left out,
    as ``process_definition_create`` refuses them too)."""
    versions = ServiceVersion.objects.exclude(process_key="")
    if keys is not None:
        versions = versions.filter(process_key__in=list(keys))
    owners: dict[str, set[str]] = {}
    for key, code in versions.values_list("process_key", "service__department__code").distinct():
        owners.setdefault(key, set()).add(code)
    return {key: next(iter(codes)) for key, codes in owners.items() if len(codes) == 1}


@dataclass
class ProcessSummary:
    """One process key as ``user`` may see it: every version if they manage it, else the published one."""

    key: str
    department_code: str
    may_manage: bool
    versions: list[ProcessDefinition] = field(default_factory=list)

    @property
    def published(self) -> ProcessDefinition | None:
        return next((d for d in self.versions if d.status == DefinitionStatus.PUBLISHED), None)

    @property
    def latest(self) -> ProcessDefinition | None:
        return self.versions[0] if self.versions else None


def _versions(keys: Iterable[str]) -> QuerySet[ProcessDefinition]:
    return (
        ProcessDefinition.objects.filter(key__in=list(keys))
        .defer("bpmn_xml", "dmn_xml")
        .select_related("created_by", "published_by")
        .order_by("key", "-version")
    )


def processes_for_user(user: User) -> list[ProcessSummary]:
    """The process keys ``user`` manages (with all versions) or may view (with the published version)."""
    managed = managed_department_codes(user)
    handling = handler_department_codes(user)
    if not managed and not handling:
        return []
    summaries: dict[str, ProcessSummary] = {}
    if managed:
        owned = dict(
            ProcessDefinition.objects.filter(department_code__in=managed)
            .order_by("key", "version")
            .values_list("key", "department_code")
        )
        defined = set(ProcessDefinition.objects.values_list("key", flat=True).distinct())
        # A service's key without any version yet: its admin uploads the first one.
        owned.update(
            {key: code for key, code in _service_owners().items() if code in managed and key not in defined}
        )
        summaries = {key: ProcessSummary(key, code, may_manage=True) for key, code in owned.items()}
        for definition in _versions(summaries):
            summaries[definition.key].versions.append(definition)
    if handling:
        published = ProcessDefinition.objects.filter(status=DefinitionStatus.PUBLISHED).exclude(
            key__in=list(summaries)
        )
        for definition in published.select_related("created_by", "published_by").order_by("key"):
            if definition.department_code in handling or process_lane_departments(definition) & handling:
                summaries[definition.key] = ProcessSummary(
                    definition.key, definition.department_code, may_manage=False, versions=[definition]
                )
    return [summaries[key] for key in sorted(summaries)]


def process_for_user(user: User, key: str) -> ProcessSummary:
    """One process key with the versions ``user`` may see; 404 ``process_not_found`` otherwise."""
    latest = ProcessDefinition.objects.filter(key=key).order_by("-version").only("department_code").first()
    owner = latest.department_code if latest is not None else _service_owners([key]).get(key, "")
    if owner and owner in managed_department_codes(user):
        return ProcessSummary(key, owner, may_manage=True, versions=list(_versions([key])))
    handling = handler_department_codes(user)
    published = (
        ProcessDefinition.objects.filter(key=key, status=DefinitionStatus.PUBLISHED)
        .select_related("created_by", "published_by")
        .first()
    )
    if (
        handling
        and published is not None
        and (published.department_code in handling or process_lane_departments(published) & handling)
    ):
        return ProcessSummary(key, published.department_code, may_manage=False, versions=[published])
    raise _process_not_found(key)


def process_version_for_user(user: User, key: str, version: int) -> tuple[ProcessDefinition, bool]:
    """``(version, may_manage)``: a version of a process ``user`` manages, or the published version of one
    their department works on; 404 ``process_not_found`` otherwise (a viewer asking for a draft too)."""
    summary = process_for_user(user, key)
    if not summary.may_manage and (summary.published is None or summary.published.version != version):
        raise _process_not_found(f"{key} v{version}")
    definition = (
        ProcessDefinition.objects.filter(key=key, version=version)
        .select_related("created_by", "published_by")
        .first()
    )
    if definition is None:
        raise _process_not_found(f"{key} v{version}")
    return definition, summary.may_manage


# --- Case diagram ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseDiagram:
    """A case's process model and where it stands: its active and done user tasks (oldest first)."""

    application: Application
    definition: ProcessDefinition
    active: list[HumanTask]
    done: list[HumanTask]


def case_not_found(tracking_no: str) -> RuleViolation:
    return RuleViolation(
        "case_not_found", f"办件 {tracking_no} 不存在。", f"There is no case {tracking_no}.", status=404
    )


def _may_see_case(user: User, application: Application) -> bool:
    if user_has_permission(user, Permission.VIEW_DASHBOARDS) or user_has_permission(
        user, Permission.SUPERVISE
    ):
        return True
    departments = handler_department_codes(user)
    return bool(departments) and (
        HumanTask.objects.filter(application=application, department_code__in=departments).exists()
    )


def case_diagram_visible(user: User, application: Application) -> bool:
    """Whether ``user`` may open the case's diagram (for pages deciding to link to it)."""
    return hasattr(application, "workflow") and _may_see_case(user, application)


def case_diagram_for_user(user: User, tracking_no: str) -> CaseDiagram:
    """The case's diagram data, for staff of a department with a task on it, leaders and supervisors.

    404 ``case_not_found`` for anyone else, and for a case without a process (not accepted yet, or handled
    without the engine), so a tracking number reveals nothing.
    """
    application = (
        Application.objects.filter(tracking_no=tracking_no)
        .select_related("service", "version", "workflow__definition")
        .first()
    )
    if application is None or not hasattr(application, "workflow"):
        raise case_not_found(tracking_no)
    if not _may_see_case(user, application):
        raise case_not_found(tracking_no)
    tasks = list(
        HumanTask.objects.filter(
            application=application, status__in=[*ACTIVE_TASK_STATUSES, TaskStatus.DONE]
        ).order_by("created_at", "id")
    )
    return CaseDiagram(
        application=application,
        definition=application.workflow.definition,
        active=[task for task in tasks if task.status in ACTIVE_TASK_STATUSES],
        done=sorted(
            (task for task in tasks if task.status == TaskStatus.DONE),
            key=lambda task: (task.completed_at is None, task.completed_at, task.pk),
        ),
    )
