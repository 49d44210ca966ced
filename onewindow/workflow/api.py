"""The back office's HTTP API (/api/v1/tasks, /api/v1/supervision, /api/v1/processes, …): thin over actions.

Parse, authorise (the selectors and actions check who is asking), call, return. Refusals come from the
actions and selectors and are mapped once by ``core.api_errors``: 401 without a caller, 403 for a refused
permission, 404 for what the caller may not see (``task_not_found``, ``process_not_found``, …), 409 for a
conflict with the current state (``task_not_yours``, ``task_not_open``), 422 for a broken rule or per-field
errors (``errors``).
"""

# No ``from __future__ import annotations`` here: ``@paginate`` wraps the endpoints, and Ninja resolves
# string annotations in the wrapper's module, where ``Literal`` and the aliases below are not defined.

import json
from datetime import date
from typing import Any, Literal, cast

from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from ninja import P, PathEx, QueryEx, Router, Status
from ninja.pagination import paginate
from pydantic import ValidationError as PydanticValidationError

from onewindow.accounts.api_auth import api_auth
from onewindow.accounts.models import User
from onewindow.accounts.permissions import require_permission
from onewindow.accounts.roles import Permission
from onewindow.accounts.schemas import ErrorOut, ErrorWithFieldsOut
from onewindow.core.api_errors import ApiError
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.core.pagination import BoundedLimitOffsetPagination
from onewindow.workflow import actions, assignment, deadlines, definitions, selectors, supervision
from onewindow.workflow.forms import task_handler_form
from onewindow.workflow.models import (
    CaseEvent,
    ClockStop,
    Delegation,
    EscalationRule,
    Extension,
    HumanTask,
    ProcessDefinition,
)
from onewindow.workflow.schemas_api import (
    MAX_ID,
    ClockStopOut,
    CompleteIn,
    DelegationIn,
    DelegationOut,
    DepartmentLightsOut,
    EscalationRuleIn,
    EscalationRuleOut,
    ExtensionDecideIn,
    ExtensionIn,
    ExtensionOut,
    ProcessUploadIn,
    ProcessValidateIn,
    ProcessValidationOut,
    ProcessVersionDetailOut,
    ProcessVersionOut,
    ReassignIn,
    SupervisedTaskOut,
    SuspendIn,
    TaskDetailOut,
    TaskOut,
    TrendPointOut,
)
from onewindow.workflow.supervision import TREND_MAX_DAYS
from onewindow.workflow.validation import MAX_MODEL_BYTES

router = Router(tags=["back office"])

_ERRORS: dict[int, Any] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorWithFieldsOut,
}

Id = PathEx[int, P(ge=1, le=MAX_ID)]
ProcessKey = PathEx[str, P(min_length=1, max_length=80)]
LightFilter = Literal["green", "yellow", "red"]


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _task(request: HttpRequest, task_id: int) -> HumanTask:
    return selectors.task_for_user(_user(request), task_id)


def _department_handler(acting_user: User, department_code: str, username: str, field: str) -> User:
    """A handler of the department by username; someone who may not manage the department is refused
    first (403), so the answer tells them nothing about who works there."""
    found = selectors.department_handlers(department_code).filter(username=username.strip()).first()
    if found is not None:
        return found
    require_permission(
        acting_user,
        Permission.MANAGE_DEPARTMENT,
        department_code=department_code or None,
        object_type="department",
        object_id=department_code,
    )
    raise FieldErrors(
        [
            FieldError(
                field,
                "not_a_handler",
                f"{username} 不是该部门的办理人员。",
                f"{username} does not handle tasks in this department.",
            )
        ]
    )


# --- Tasks: the inbox and handling ------------------------------------------------------------------------


@router.get(
    "/tasks",
    auth=api_auth,
    response={200: list[TaskOut], **_ERRORS},
    summary="My department's pool, or my tasks",
    description=(
        "`scope=pool`: open and claimed tasks of the caller's departments (the lane's role permitting); "
        "`scope=mine`: tasks claimed by the caller or delegated to them (active ones unless `status` says "
        "otherwise). Filters: `status`, `service` (service code), `light`, `due_before` (due on or before). "
        "`changed` marks tasks whose case changed since the caller last opened them. Department handlers "
        "and administrators only (403 otherwise); `limit`/`offset` pagination, most urgent first."
    ),
)
@paginate(BoundedLimitOffsetPagination)
def task_list(
    request: HttpRequest,
    scope: Literal["pool", "mine"] = "pool",
    status: Literal["open", "claimed", "waiting", "done"] | None = None,
    service: str = "",
    light: LightFilter | None = None,
    due_before: date | None = None,
) -> QuerySet[HumanTask]:
    user = require_permission(_user(request), Permission.HANDLE_TASKS, object_type="task")
    return selectors.tasks_for_user(
        user,
        scope=scope,
        status=status or "",
        service=service.strip()[:40],
        light=light or "",
        due_before=due_before,
    )


def _consultation(task: HumanTask) -> dict[str, Any]:
    return {
        "id": task.pk,
        "department_code": task.department_code,
        "name": task.name,
        "status": task.status,
        "assignee": task.assignee.username if task.assignee_id and task.assignee else None,
        "question": str(task.data.get("question", "")),
        "outcome": task.outcome,
        "opinion": task.opinion,
        "due_date": task.due_date,
        "created_at": task.created_at,
        "completed_at": task.completed_at,
    }


def _clock_stop(stop: ClockStop) -> dict[str, Any]:
    return {
        "id": stop.pk,
        "tracking_no": stop.application.tracking_no,
        "kind": stop.kind,
        "reason": stop.reason,
        "started_at": stop.started_at,
        "ended_at": stop.ended_at,
        "working_days": stop.working_days,
    }


def _event(event: CaseEvent) -> dict[str, Any]:
    return {
        "at": event.at,
        "kind": event.kind,
        "department_code": event.department_code,
        "task_id": event.task_id,
        "actor": event.actor.username if event.actor_id and event.actor else None,
        "data": event.data,
    }


def _task_detail(task: HumanTask, view: selectors.TaskCaseView) -> dict[str, Any]:
    application = view.application
    return {
        "id": task.pk,
        "tracking_no": application.tracking_no,
        "service_code": application.service.code,
        "name": task.name,
        "name_en": task.name_en,
        "department_code": task.department_code,
        "status": task.status,
        "assignee": task.assignee.username if task.assignee_id and task.assignee else None,
        "due_date": task.due_date,
        "light": task.light,
        "kind": task.kind,
        "changed": view.seen_at is None or (task.changed_at is not None and task.changed_at > view.seen_at),
        "role": task.role,
        "created_at": task.created_at,
        "claimed_at": task.claimed_at,
        "completed_at": task.completed_at,
        "outcome": task.outcome,
        "opinion": task.opinion,
        "consult_of": task.consult_of_id,
        # A model's user task without its own form gets the platform's: outcome and opinion.
        "form_schema": task_handler_form(task),
        "seen_at": view.seen_at,
        "case": {
            "tracking_no": application.tracking_no,
            "service_code": application.service.code,
            "service_name": application.version.name,
            "service_name_en": application.version.name_en,
            "status": application.status,
            "applicant_name": application.applicant_name,
            "submitted_at": application.submitted_at,
            "accepted_at": application.accepted_at,
            "due_date": application.due_date,
            "statutory_due_date": application.statutory_due_date,
            "fields": [
                {"name": field.name, "title": field.title, "title_en": field.title_en, "value": field.value}
                for field in view.fields
            ],
            "materials": [
                {
                    "id": str(material.pk),
                    "material_code": material.material_code,
                    "name": material.original_name,
                    "content_type": material.content_type,
                    "size": material.size,
                    "sha256": material.sha256,
                    "url": reverse("api:material_download", kwargs={"material_id": material.pk}),
                }
                for material in view.materials
            ],
            "verified_extracts": [
                {
                    "material_code": extract.material_code,
                    "resource": extract.resource,
                    "source": extract.source,
                    "record_version": extract.record_version,
                    "fetched_at": extract.fetched_at,
                    "data": extract.data,
                }
                for extract in view.verified_extracts
            ],
            "events": [_event(event) for event in view.events],
            "consultations": [_consultation(consultation) for consultation in view.consultations],
            "asking_task": _consultation(view.asking_task) if view.asking_task else None,
            "clock_stop": _clock_stop(view.clock_stop) if view.clock_stop else None,
            "extensions": [ExtensionOut.from_orm(extension) for extension in view.extensions],
        },
    }


@router.get(
    "/tasks/{task_id}",
    auth=api_auth,
    response={200: TaskDetailOut, **_ERRORS},
    summary="One task with what its handler needs of the case",
    description=(
        "The task, its handler form (`form_schema`, JSON Schema) and its case: only the form fields and "
        "materials the task's department needs, the process steps, consultations, the clock stop in force "
        "and extension requests. Opening it is recorded (`seen_at` answers when the caller last had) and "
        "audited. 404 `task_not_found` for a task outside the caller's departments."
    ),
)
def task_detail(request: HttpRequest, task_id: Id) -> dict[str, Any]:
    user = _user(request)
    task = _task(request, task_id)
    seen_at = assignment.task_seen(acting_user=user, task=task)
    return _task_detail(task, selectors.task_case_view(user, task, seen_at=seen_at))


@router.post(
    "/tasks/{task_id}/claim",
    auth=api_auth,
    response={200: TaskOut, **_ERRORS},
    summary="Claim an open task from the pool",
    description="409 `task_not_yours` when another handler has it, `task_not_open` when it is not open.",
)
def task_claim(request: HttpRequest, task_id: Id) -> HumanTask:
    return actions.task_claim(acting_user=_user(request), task=_task(request, task_id))


@router.post(
    "/tasks/{task_id}/release",
    auth=api_auth,
    response={200: TaskOut, **_ERRORS},
    summary="Put a task I claimed back into the pool",
)
def task_release(request: HttpRequest, task_id: Id) -> HumanTask:
    return actions.task_release(acting_user=_user(request), task=_task(request, task_id))


@router.post(
    "/tasks/{task_id}/complete",
    auth=api_auth,
    response={200: TaskOut, **_ERRORS},
    summary="Complete a task: approve, reject, return to the applicant, or consult a department",
    description=(
        "`approve`/`reject` (reject needs an `opinion` with the reasons) move the process on; when it ends "
        "the application is decided. `return` (opinion required; `data.items` as in a supplement notice) "
        "sends a supplement notice, stops the case clock and holds the task (`waiting`) until the applicant "
        "supplements. `consult` (`data.department`; the opinion is the question) opens a consultation task "
        "in that department and holds this one until it is answered (a consultation is completed with "
        "approve or reject and an opinion). 409 `task_not_yours` (claimed by someone else who has not "
        "delegated to the caller), `task_not_open`; 422 `form_invalid` with `errors`."
    ),
)
def task_complete(request: HttpRequest, task_id: Id, payload: CompleteIn) -> HumanTask:
    return actions.task_complete(
        acting_user=_user(request),
        task=_task(request, task_id),
        outcome=payload.outcome,
        opinion=payload.opinion,
        data=payload.data,
    )


@router.post(
    "/tasks/{task_id}/reassign",
    auth=api_auth,
    response={200: TaskOut, **_ERRORS},
    summary="Give a task to another handler of its department (department administrators)",
    description="422 `form_invalid` (`assignee` `not_a_handler`) when the user cannot handle the task.",
)
def task_reassign(request: HttpRequest, task_id: Id, payload: ReassignIn) -> HumanTask:
    user = _user(request)
    task = _task(request, task_id)
    return assignment.task_reassign(
        acting_user=user,
        task=task,
        assignee=_department_handler(user, task.department_code, payload.assignee, "assignee"),
        reason=payload.reason,
    )


@router.post(
    "/tasks/{task_id}/suspend",
    auth=api_auth,
    response={200: ClockStopOut, **_ERRORS},
    summary="Stop the case clock for a hearing or an expert review",
    description=(
        "The statutory time limit does not run during hearings, expert reviews, testing or inspection "
        "(Administrative Licensing Law Art. 45). 409 `clock_already_stopped`."
    ),
)
def task_suspend(request: HttpRequest, task_id: Id, payload: SuspendIn) -> dict[str, Any]:
    stop = deadlines.case_suspend(
        acting_user=_user(request), task=_task(request, task_id), kind=payload.kind, reason=payload.reason
    )
    return _clock_stop(stop)


@router.post(
    "/tasks/{task_id}/resume",
    auth=api_auth,
    response={200: ClockStopOut, **_ERRORS},
    summary="Restart the case clock after a hearing or an expert review",
    description=(
        "Due dates move by the working days the clock stood still. A supplement stop ends when the "
        "applicant supplements, not here."
    ),
)
def task_resume(request: HttpRequest, task_id: Id) -> dict[str, Any]:
    task = _task(request, task_id)
    stop = deadlines.case_resume(acting_user=_user(request), application=task.application)
    return _clock_stop(stop)


@router.post(
    "/tasks/{task_id}/extensions",
    auth=api_auth,
    response={201: ExtensionOut, **_ERRORS},
    summary="Ask for more working days on the case (a department administrator decides)",
    description="1–30 working days; one pending request per case (409 otherwise).",
)
def task_extension_request(request: HttpRequest, task_id: Id, payload: ExtensionIn) -> Status[Extension]:
    extension = deadlines.extension_request(
        acting_user=_user(request),
        task=_task(request, task_id),
        working_days=payload.working_days,
        reason=payload.reason,
    )
    return Status(201, extension)


# --- Extensions -------------------------------------------------------------------------------------------


@router.get(
    "/extensions",
    auth=api_auth,
    response={200: list[ExtensionOut], **_ERRORS},
    summary="Extension requests",
    description=(
        "Department administrators: their departments' requests; handlers: their own. `status` filters "
        "(pending, approved, refused); `limit`/`offset` pagination, newest first."
    ),
)
@paginate(BoundedLimitOffsetPagination)
def extension_list(
    request: HttpRequest, status: Literal["pending", "approved", "refused"] | None = None
) -> QuerySet[Extension]:
    return supervision.extensions_for_user(_user(request), status=status or "")


@router.post(
    "/extensions/{extension_id}/decide",
    auth=api_auth,
    response={200: ExtensionOut, **_ERRORS},
    summary="Approve or refuse an extension (department administrators)",
    description=(
        "Approval moves the case's promised and statutory due dates and the task's by the working days "
        "asked for, and notifies the applicant; a refusal needs a reason."
    ),
)
def extension_decide(request: HttpRequest, extension_id: Id, payload: ExtensionDecideIn) -> Extension:
    user = _user(request)
    return deadlines.extension_decide(
        acting_user=user,
        extension=supervision.extension_for_user(user, extension_id),
        approve=payload.approve,
        reason=payload.reason,
    )


# --- Delegations ------------------------------------------------------------------------------------------


@router.get(
    "/delegations",
    auth=api_auth,
    response={200: list[DelegationOut], **_ERRORS},
    summary="Delegations I manage, give or receive",
    description=(
        "Department administrators: their departments' delegations; handlers: those they give or receive "
        "(403 for others); `limit`/`offset` pagination."
    ),
)
@paginate(BoundedLimitOffsetPagination)
def delegation_list(request: HttpRequest) -> QuerySet[Delegation]:
    user = require_permission(_user(request), Permission.HANDLE_TASKS, object_type="delegation")
    return selectors.delegations_for_user(user)


@router.post(
    "/delegations",
    auth=api_auth,
    response={201: DelegationOut, **_ERRORS},
    summary="Let a handler work another's tasks for a period (department administrators)",
    description=(
        "While active, `delegate` sees and works the tasks `delegator` claimed in the department. 422 "
        "`form_invalid`: `not_a_handler`, `same_user`, `before_start`."
    ),
)
def delegation_create(request: HttpRequest, payload: DelegationIn) -> Status[Delegation]:
    user = _user(request)
    code = payload.department_code.strip()
    delegation = assignment.delegation_create(
        acting_user=user,
        department_code=code,
        delegator=_department_handler(user, code, payload.delegator, "delegator"),
        delegate=_department_handler(user, code, payload.delegate, "delegate"),
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
        reason=payload.reason,
    )
    return Status(201, delegation)


@router.post(
    "/delegations/{delegation_id}/revoke",
    auth=api_auth,
    response={200: DelegationOut, **_ERRORS},
    summary="End a delegation now (department administrators)",
    description="409 `delegation_revoked` when it already was.",
)
def delegation_revoke(request: HttpRequest, delegation_id: Id) -> Delegation:
    user = _user(request)
    return assignment.delegation_revoke(
        acting_user=user, delegation=selectors.delegation_for_user(user, delegation_id)
    )


# --- Supervision (电子监察) and escalation rules ----------------------------------------------------------


@router.get(
    "/supervision/overview",
    auth=api_auth,
    response={200: list[DepartmentLightsOut], **_ERRORS},
    summary="Working tasks by department and light",
    description=(
        "Leaders and supervisors: every department; department administrators: their own; 403 otherwise."
    ),
)
def supervision_overview(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "department_code": row.department_code,
            "department_name": row.name,
            "department_name_en": row.name_en,
            "green": row.green,
            "yellow": row.yellow,
            "red": row.red,
        }
        for row in supervision.supervision_overview(_user(request))
    ]


@router.get(
    "/supervision/tasks",
    auth=api_auth,
    response={200: list[SupervisedTaskOut], **_ERRORS},
    summary="Drill down: the working tasks of a department and light",
    description="Same scope as the overview; `limit`/`offset` pagination, most overdue first.",
)
@paginate(BoundedLimitOffsetPagination)
def supervision_tasks(
    request: HttpRequest, department: str = "", light: LightFilter | None = None
) -> QuerySet[HumanTask]:
    return supervision.supervision_tasks(
        _user(request), department_code=department.strip()[:20], light=light or ""
    )


@router.get(
    "/supervision/trend",
    auth=api_auth,
    response={200: list[TrendPointOut], **_ERRORS},
    summary="Daily counts by light over the last days",
    description="From the daily supervision snapshots; `department` narrows to one department.",
)
def supervision_trend(
    request: HttpRequest, days: QueryEx[int, P(ge=1, le=TREND_MAX_DAYS)] = 30, department: str = ""
) -> list[dict[str, Any]]:
    return [
        {"day": point.day, "green": point.green, "yellow": point.yellow, "red": point.red}
        for point in supervision.supervision_trend(
            _user(request), days=days, department_code=department.strip()[:20]
        )
    ]


@router.get(
    "/escalation-rules",
    auth=api_auth,
    response={200: list[EscalationRuleOut], **_ERRORS},
    summary="Escalation rules (system administrators; department administrators see theirs)",
)
def escalation_rule_list(request: HttpRequest) -> list[EscalationRule]:
    return list(supervision.escalation_rules_for_user(_user(request)))


@router.post(
    "/escalation-rules",
    auth=api_auth,
    response={201: EscalationRuleOut, **_ERRORS},
    summary="Add an escalation rule",
    description=(
        "When a task reaches `light` (and, for red, has been overdue `overdue_working_days`), `target` is "
        "notified. System administrators for any department (`department_code` empty: all); department "
        "administrators for their own."
    ),
)
def escalation_rule_create(request: HttpRequest, payload: EscalationRuleIn) -> Status[EscalationRule]:
    rule = deadlines.escalation_rule_save(acting_user=_user(request), rule=None, **payload.dict())
    return Status(201, rule)


@router.put(
    "/escalation-rules/{rule_id}",
    auth=api_auth,
    response={200: EscalationRuleOut, **_ERRORS},
    summary="Change an escalation rule",
)
def escalation_rule_update(request: HttpRequest, rule_id: Id, payload: EscalationRuleIn) -> EscalationRule:
    user = _user(request)
    rule = supervision.escalation_rules_for_user(user).filter(pk=rule_id).first()
    if rule is None:
        raise RuleViolation(
            "escalation_rule_not_found", "督办规则不存在。", "No such escalation rule.", status=404
        )
    return deadlines.escalation_rule_save(acting_user=user, rule=rule, **payload.dict())


# --- Process versions -------------------------------------------------------------------------------------


@router.get(
    "/processes",
    auth=api_auth,
    response={200: list[ProcessVersionOut], **_ERRORS},
    summary="Process versions I may manage",
    description=(
        "Department administrators: every version of their departments' processes (403 for others); "
        "`limit`/`offset` pagination."
    ),
)
@paginate(BoundedLimitOffsetPagination)
def process_list(request: HttpRequest) -> QuerySet[ProcessDefinition]:
    user = require_permission(_user(request), Permission.MANAGE_DEPARTMENT, object_type="process")
    return selectors.process_definitions_for_user(user)


@router.get(
    "/processes/{key}/versions/{version}",
    auth=api_auth,
    response={200: ProcessVersionDetailOut, **_ERRORS},
    summary="One process version with its BPMN XML",
    description="404 `process_not_found` for a version the caller may not manage.",
)
def process_detail(request: HttpRequest, key: str, version: Id) -> ProcessDefinition:
    return selectors.process_definition_for_user(_user(request), key, version)


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ProcessUploadIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "The .bpmn file"},
                        "dmn_file": {
                            "type": "string",
                            "format": "binary",
                            "description": "Optional .dmn decision tables",
                        },
                        "department_code": {"type": "string", "maxLength": 20},
                    },
                }
            },
        },
    }
}


def _upload_text(upload: Any) -> str:
    """A multipart file as UTF-8 text ("" when absent), within the model size limit."""
    if upload is None:
        return ""
    if (upload.size or 0) > MAX_MODEL_BYTES:
        raise ApiError(422, "process_too_large", "流程模型不能超过 2 MB。", "The model is larger than 2 MB.")
    try:
        return str(upload.read().decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(
            422, "process_not_utf8", "流程模型须为 UTF-8 编码。", "The model must be UTF-8 text."
        ) from None


def _upload(request: HttpRequest) -> ProcessUploadIn:
    """The model from a JSON body ``{bpmn_xml}`` or a multipart ``file`` (UTF-8 XML, at most 2 MB)."""
    invalid = ApiError(
        422,
        "invalid_request",
        "请以 JSON 字段 bpmn_xml 或 multipart 文件 file 上传 BPMN 模型。",
        "Send the BPMN model as JSON {bpmn_xml} or as a multipart file named file.",
    )
    if request.content_type == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is None:
            raise invalid
        text = _upload_text(upload)
        fields: Any = {
            "bpmn_xml": text,
            "department_code": request.POST.get("department_code", ""),
            "dmn_xml": _upload_text(request.FILES.get("dmn_file")),
        }
    else:
        try:
            fields = json.loads(request.body or b"null")
        except ValueError:
            raise invalid from None
    try:
        return ProcessUploadIn.model_validate(fields)
    except PydanticValidationError:
        raise invalid from None


@router.post(
    "/processes/{key}/versions",
    auth=api_auth,
    response={201: ProcessVersionOut, **_ERRORS},
    summary="Upload a BPMN model as the next draft version",
    description=(
        "JSON `{bpmn_xml, dmn_xml?, department_code?}` or multipart `file` (+ `dmn_file`, "
        "`department_code`). Department "
        "administrators of the owning department (the department of the services that use `key`, or "
        "`department_code` for a key no service uses yet). The model is validated first: 422 "
        "`process_invalid` with one error per problem (unknown lane, role or action, script task, unsafe "
        "expression, …), each in Chinese and English."
    ),
    openapi_extra=_UPLOAD_BODY,
)
def process_upload(request: HttpRequest, key: ProcessKey) -> Status[ProcessDefinition]:
    upload = _upload(request)
    definition = definitions.process_definition_create(
        acting_user=_user(request),
        key=key,
        bpmn_xml=upload.bpmn_xml,
        department_code=upload.department_code,
        dmn_xml=upload.dmn_xml,
    )
    return Status(201, definition)


@router.post(
    "/processes/validate",
    auth=api_auth,
    response={200: ProcessValidationOut, **_ERRORS},
    summary="Check a BPMN model without saving it",
    description=(
        "Department administrators. Answers 200 with `valid` and every problem found (code, message in "
        "Chinese and English, element id), also when the model is not valid."
    ),
)
def process_validate(request: HttpRequest, payload: ProcessValidateIn) -> dict[str, Any]:
    require_permission(_user(request), Permission.MANAGE_DEPARTMENT, object_type="process")
    problems = definitions.process_definition_check(payload.bpmn_xml, payload.dmn_xml)
    return {
        "valid": not problems,
        "problems": [{"field": field, **problem.as_dict()} for field, problem in problems],
    }


@router.post(
    "/processes/{key}/versions/{version}/publish",
    auth=api_auth,
    response={200: ProcessVersionOut, **_ERRORS},
    summary="Publish a draft version (the published one is retired)",
    description="New cases start on it; running cases keep their version. 409 `process_not_draft`.",
)
def process_publish(request: HttpRequest, key: ProcessKey, version: Id) -> ProcessDefinition:
    user = _user(request)
    return definitions.process_definition_publish(
        acting_user=user, definition=selectors.process_definition_for_user(user, key, version)
    )
