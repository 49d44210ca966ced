"""API bodies of the back office (/api/v1/tasks, /extensions, /delegations, /supervision, /escalation-rules,
/processes): the shapes of issue #4 (docs/api.md, "Back-office API").

List rows are read from model instances (``from_attributes``) so the list endpoints can hand a queryset to
the paginator; the ``resolve_*`` methods only follow relations the selectors already ``select_related``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from ninja import Field, Schema

from onewindow.workflow.models import Delegation, Extension, HumanTask

MAX_ID = 2**63 - 1
MAX_TEXT = 4000
# What the engine and the clock accept: working days an extension may add (deadlines.extension_request).
MAX_EXTENSION_DAYS = 30


# --- Tasks ------------------------------------------------------------------------------------------------


class _TaskFields(Schema):
    id: int
    tracking_no: str
    service_code: str
    name: str
    name_en: str
    department_code: str
    status: str = Field(description="open | claimed | waiting | done | cancelled")
    assignee: str | None = Field(description="The handler's username, or null while in the pool")
    due_date: date | None
    light: str = Field(description="green | yellow (few working days left) | red (overdue)")
    kind: str = Field(description="process | consult (another department's opinion)")
    changed: bool = Field(description="Something changed on the case since the caller last opened the task")


class TaskOut(_TaskFields):
    """An inbox row, read from the task (``tasks_for_user`` annotates ``is_changed``)."""

    @staticmethod
    def resolve_tracking_no(obj: HumanTask) -> str:
        return obj.application.tracking_no

    @staticmethod
    def resolve_service_code(obj: HumanTask) -> str:
        return obj.application.service.code

    @staticmethod
    def resolve_assignee(obj: HumanTask) -> str | None:
        return obj.assignee.username if obj.assignee_id and obj.assignee else None

    @staticmethod
    def resolve_changed(obj: HumanTask) -> bool:
        # A task returned by an action (not from the inbox query) has just been acted on by the caller.
        return bool(getattr(obj, "is_changed", False))


class SupervisedTaskOut(Schema):
    """A task in the supervision drill-down (no per-handler "changed" mark)."""

    id: int
    tracking_no: str
    service_code: str
    name: str
    name_en: str
    department_code: str
    status: str
    assignee: str | None
    due_date: date | None
    light: str
    kind: str

    @staticmethod
    def resolve_tracking_no(obj: HumanTask) -> str:
        return obj.application.tracking_no

    @staticmethod
    def resolve_service_code(obj: HumanTask) -> str:
        return obj.application.service.code

    @staticmethod
    def resolve_assignee(obj: HumanTask) -> str | None:
        return obj.assignee.username if obj.assignee_id and obj.assignee else None


class CaseFieldOut(Schema):
    name: str
    title: str
    title_en: str
    value: Any = None


class CaseMaterialOut(Schema):
    id: str
    material_code: str
    name: str
    content_type: str
    size: int
    sha256: str
    url: str = Field(description="Download (GET /api/v1/materials/{id})")


class VerifiedExtractOut(Schema):
    material_code: str
    resource: str = Field(description="The information resource, e.g. population.id_card")
    source: str = Field(description="Where the data was verified: registry")
    record_version: int | None = Field(description="The version of the registry record it was read from")
    fetched_at: datetime
    data: dict[str, Any] = Field(
        description=(
            "The fields this department's policy allows (registry field-level access); ID and mobile "
            "numbers masked"
        )
    )


class CaseEventOut(Schema):
    at: datetime
    kind: str
    department_code: str
    task_id: int | None
    actor: str | None = Field(description="Username of the person who acted; null for the engine")
    data: dict[str, Any]


class ConsultationOut(Schema):
    id: int
    department_code: str
    name: str
    status: str
    assignee: str | None
    question: str = Field(description="The asking handler's opinion: what the department is asked")
    outcome: str
    opinion: str
    due_date: date | None
    created_at: datetime
    completed_at: datetime | None


class ClockStopOut(Schema):
    id: int
    tracking_no: str
    kind: str = Field(description="supplement | hearing | expert")
    reason: str
    started_at: datetime
    ended_at: datetime | None
    working_days: int | None = Field(description="Working days the clock stood still (once it runs again)")


class ExtensionOut(Schema):
    id: int
    tracking_no: str
    task_id: int | None
    department_code: str
    working_days: int
    reason: str
    status: str = Field(description="pending | approved | refused")
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str

    @staticmethod
    def resolve_tracking_no(obj: Extension) -> str:
        return obj.application.tracking_no

    @staticmethod
    def resolve_requested_by(obj: Extension) -> str:
        return obj.requested_by.username

    @staticmethod
    def resolve_decided_by(obj: Extension) -> str | None:
        return obj.decided_by.username if obj.decided_by_id and obj.decided_by else None


class CaseOut(Schema):
    tracking_no: str
    service_code: str
    service_name: str
    service_name_en: str
    status: str
    applicant_name: str
    submitted_at: datetime
    accepted_at: datetime | None
    due_date: date | None
    statutory_due_date: date | None
    fields: list[CaseFieldOut] = Field(description="Only the form fields this task's department needs")
    materials: list[CaseMaterialOut] = Field(description="Only the materials this task needs")
    verified_extracts: list[VerifiedExtractOut] = Field(
        default=[], description="Once-only: verified registry data of the 免提交 materials this task needs"
    )
    events: list[CaseEventOut]
    consultations: list[ConsultationOut]
    asking_task: ConsultationOut | None = Field(description="For a consultation: the task that asked")
    clock_stop: ClockStopOut | None = Field(description="The clock stop in force, if any")
    extensions: list[ExtensionOut]


class TaskDetailOut(_TaskFields):
    role: str
    created_at: datetime
    claimed_at: datetime | None
    completed_at: datetime | None
    outcome: str
    opinion: str
    consult_of: int | None = Field(description="For a consultation: the id of the task that asked")
    form_schema: dict[str, Any] = Field(description="The handler form (JSON Schema)")
    seen_at: datetime | None = Field(description="When the caller last opened the task before this call")
    case: CaseOut


class CompleteIn(Schema):
    outcome: Literal["approve", "reject", "return", "consult"]
    opinion: str = Field(
        default="", max_length=MAX_TEXT, description="Required to reject, return or consult (the question)"
    )
    data: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            'return: `{"items": [{"field", "material_code", "reason", "reason_en"}]}` (optional); '
            'consult: `{"department": "<department code>"}` (required); otherwise the handler form\'s fields'
        ),
    )


class ReassignIn(Schema):
    assignee: str = Field(max_length=150, description="Username of a handler of the task's department")
    reason: str = Field(default="", max_length=MAX_TEXT)


class SuspendIn(Schema):
    kind: Literal["hearing", "expert"]
    reason: str = Field(max_length=MAX_TEXT)


class ExtensionIn(Schema):
    working_days: int = Field(ge=1, le=MAX_EXTENSION_DAYS)
    reason: str = Field(max_length=MAX_TEXT)


class ExtensionDecideIn(Schema):
    approve: bool
    reason: str = Field(default="", max_length=MAX_TEXT, description="Required to refuse")


# --- Delegations ------------------------------------------------------------------------------------------


class DelegationIn(Schema):
    department_code: str = Field(max_length=20)
    delegator: str = Field(max_length=150, description="Username of the handler away")
    delegate: str = Field(max_length=150, description="Username of the handler working their tasks")
    starts_on: date
    ends_on: date
    reason: str = Field(default="", max_length=MAX_TEXT)


class DelegationOut(Schema):
    id: int
    department_code: str
    delegator: str
    delegate: str
    starts_on: date
    ends_on: date
    reason: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None

    @staticmethod
    def resolve_delegator(obj: Delegation) -> str:
        return obj.delegator.username

    @staticmethod
    def resolve_delegate(obj: Delegation) -> str:
        return obj.delegate.username

    @staticmethod
    def resolve_created_by(obj: Delegation) -> str:
        return obj.created_by.username


# --- Supervision and escalation ---------------------------------------------------------------------------


class DepartmentLightsOut(Schema):
    department_code: str
    department_name: str
    department_name_en: str
    green: int
    yellow: int
    red: int


class TrendPointOut(Schema):
    day: date
    green: int
    yellow: int
    red: int


class EscalationRuleIn(Schema):
    department_code: str = Field(default="", max_length=20, description='"" = every department')
    light: Literal["green", "yellow", "red"]
    overdue_working_days: int = Field(default=0, ge=0, le=365)
    target: Literal["assignee", "department_admin", "leader"]
    active: bool = True


class EscalationRuleOut(Schema):
    id: int
    department_code: str
    light: str
    overdue_working_days: int
    target: str
    active: bool


# --- Process versions -------------------------------------------------------------------------------------


class ProcessVersionOut(Schema):
    key: str
    version: int
    status: str = Field(description="draft | published | retired")
    department_code: str
    sha256: str
    created_at: datetime
    published_at: datetime | None


class ProcessVersionDetailOut(ProcessVersionOut):
    bpmn_xml: str


class ProcessUploadIn(Schema):
    bpmn_xml: str = Field(min_length=1)
    dmn_xml: str = Field(default="", description="DMN decision tables the model's business rule tasks call")
    department_code: str = Field(
        default="", max_length=20, description="Owning department of a key no service uses yet"
    )


class ProcessValidateIn(Schema):
    bpmn_xml: str
    dmn_xml: str = ""


class ModelProblemOut(Schema):
    field: str = Field(default="bpmn_xml", description="bpmn_xml or dmn_xml")
    code: str
    message_zh: str
    message_en: str
    element_id: str


class ProcessValidationOut(Schema):
    valid: bool
    problems: list[ModelProblemOut]
