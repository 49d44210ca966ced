"""Pages of the process editor (/admin/processes/) and the case diagram (/cases/<tracking_no>/diagram/).

Thin: parse, call the selector (``workflow.diagram``) or the action (``process_definition_create``,
``process_definition_publish``, ``process_definition_problems``), render. The editor page talks to its own
JSON endpoints with ``fetch`` (validate, save as a new draft, publish), sending the CSRF token; without
JavaScript the pages still list the versions, show them and take an uploaded ``.bpmn`` file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.core.api_errors import ApiError
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.organisations.models import Department
from onewindow.workflow import diagram
from onewindow.workflow.definitions import (
    process_definition_create,
    process_definition_problems,
    process_definition_publish,
)
from onewindow.workflow.models import DefinitionStatus, HumanTask, ProcessDefinition
from onewindow.workflow.validation import MAX_MODEL_BYTES

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])

STATUS_TAGS = {
    DefinitionStatus.DRAFT: "govuk-tag--blue",
    DefinitionStatus.PUBLISHED: "govuk-tag--green",
    DefinitionStatus.RETIRED: "govuk-tag--grey",
}


# --- Helpers ----------------------------------------------------------------------------------------------


def _english() -> bool:
    return (get_language() or settings.LANGUAGE_CODE).startswith("en")


def _pick(zh: str, en: str) -> str:
    return en if _english() and en else zh


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _json_error(status: int, code: str, message_zh: str, message_en: str, **extra: Any) -> JsonResponse:
    """The body of the API's refusals (``core.api_errors``): ``{code, message, message_zh, message_en}``."""
    return JsonResponse({**ApiError(status, code, message_zh, message_en).body(), **extra}, status=status)


def _json_denied() -> JsonResponse:
    return _json_error(403, "permission_denied", "您无权执行此操作。", "You are not allowed to do this.")


def _problem(error: FieldError) -> dict[str, str]:
    return {**error.as_dict(), "message": _pick(error.message_zh, error.message_en)}


def _not_found(violation: RuleViolation) -> Http404:
    return Http404(violation.message_en)


def staff_page(*permissions: Permission) -> Callable[[ViewFunc], ViewFunc]:
    """Anonymous visitors go to sign in (JSON callers get 401); others need one of ``permissions``
    (refusal audited, 403). The selectors then check the process or the case itself."""

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                if _wants_json(request):
                    return _json_error(401, "not_authenticated", "请先登录。", "Sign in first.")
                return redirect_to_login(request.get_full_path())
            if not any(user_has_permission(request.user, permission) for permission in permissions):
                denied = permission_denied(request.user, permissions[0], object_type="process")
                if _wants_json(request):
                    return _json_denied()
                raise denied
            return view(request, *args, **kwargs)

        return cast(ViewFunc, wrapped)

    return decorator


def _status_tag(definition: ProcessDefinition) -> dict[str, str]:
    status = DefinitionStatus(definition.status)
    return {"label": str(status.label), "css": STATUS_TAGS.get(status, "")}


def _department_names(codes: set[str]) -> dict[str, str]:
    return {
        department.code: _pick(department.name, department.name_en)
        for department in Department.objects.filter(code__in=sorted(codes))
    }


def _version_rows(versions: list[ProcessDefinition]) -> list[dict[str, Any]]:
    return [{"definition": definition, "tag": _status_tag(definition)} for definition in versions]


def _summary(request: HttpRequest, key: str) -> diagram.ProcessSummary:
    try:
        return diagram.process_for_user(_user(request), key)
    except RuleViolation as violation:
        raise _not_found(violation) from None


def _managed_summary(request: HttpRequest, key: str) -> diagram.ProcessSummary:
    """The key if the user manages it; a viewer is refused (403, audited), anyone else gets a 404."""
    summary = _summary(request, key)
    if not summary.may_manage:
        raise permission_denied(
            _user(request), Permission.MANAGE_DEPARTMENT, object_type="process", object_id=key
        )
    return summary


def _download(xml: str, filename: str) -> HttpResponse:
    response = HttpResponse(xml, content_type="application/xml; charset=utf-8")
    # Keys are admin-typed: only safe characters reach the header.
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response


def _version(request: HttpRequest, key: str, version: int) -> tuple[ProcessDefinition, bool]:
    try:
        return diagram.process_version_for_user(_user(request), key, version)
    except RuleViolation as violation:
        raise _not_found(violation) from None


# --- Process versions -------------------------------------------------------------------------------------


@require_safe
@staff_page(Permission.MANAGE_DEPARTMENT, Permission.HANDLE_TASKS)
def process_index(request: HttpRequest) -> HttpResponse:
    """The processes the user manages (every version) or whose published model they may view."""
    user = _user(request)
    summaries = diagram.processes_for_user(user)
    names = _department_names({summary.department_code for summary in summaries})
    processes = [
        {
            "summary": summary,
            "department_name": names.get(summary.department_code, summary.department_code),
            "rows": _version_rows(summary.versions),
        }
        for summary in summaries
    ]
    return render(
        request,
        "workflow/process_index.html",
        {"processes": processes, "may_upload": bool(diagram.managed_department_codes(user))},
    )


@require_safe
@staff_page(Permission.MANAGE_DEPARTMENT, Permission.HANDLE_TASKS)
def process_version(request: HttpRequest, key: str, version: int) -> HttpResponse:
    """One version: its diagram (read-only), download, publish (drafts) and "edit as a new draft"."""
    definition, may_manage = _version(request, key, version)
    names = _department_names({definition.department_code})
    return render(
        request,
        "workflow/process_version.html",
        {
            "definition": definition,
            "tag": _status_tag(definition),
            "may_manage": may_manage,
            "may_publish": may_manage and definition.status == DefinitionStatus.DRAFT,
            "department_name": names.get(definition.department_code, definition.department_code),
        },
    )


@require_safe
@staff_page(Permission.MANAGE_DEPARTMENT, Permission.HANDLE_TASKS)
def process_version_bpmn(request: HttpRequest, key: str, version: int) -> HttpResponse:
    """The version's BPMN XML, as a download (the diagram viewers fetch it too)."""
    definition, _may_manage = _version(request, key, version)
    return _download(definition.bpmn_xml, f"{definition.key}-v{definition.version}.bpmn")


@require_safe
@staff_page(Permission.MANAGE_DEPARTMENT, Permission.HANDLE_TASKS)
def process_version_dmn(request: HttpRequest, key: str, version: int) -> HttpResponse:
    """The version's DMN decision tables, as a download (404 when it has none)."""
    definition, _may_manage = _version(request, key, version)
    if not definition.dmn_xml:
        raise Http404(f"{key} v{version} has no DMN")
    return _download(definition.dmn_xml, f"{definition.key}-v{definition.version}.dmn")


@require_POST
@staff_page(Permission.MANAGE_DEPARTMENT)
def process_version_publish(request: HttpRequest, key: str, version: int) -> HttpResponse:
    """Publish a draft (the department admin of the owning department); JSON for the editor's fetch."""
    user = _user(request)
    try:
        definition, may_manage = _version(request, key, version)
        if not may_manage:
            raise permission_denied(
                user, Permission.MANAGE_DEPARTMENT, object_type="process", object_id=f"{key}:{version}"
            )
        published = process_definition_publish(acting_user=user, definition=definition)
    except PermissionDenied:
        if _wants_json(request):
            return _json_denied()
        raise
    except Http404:
        if _wants_json(request):
            return _json_error(404, "process_not_found", "流程不存在。", "No such process.")
        raise
    except RuleViolation as violation:
        if _wants_json(request):
            return _json_error(
                violation.status, str(violation.code), violation.message_zh, violation.message_en
            )
        messages.error(request, _pick(violation.message_zh, violation.message_en))
        return redirect("processes:version", key=key, version=version)
    message = _("Version %(version)s of process %(key)s is published.") % {"version": version, "key": key}
    if _wants_json(request):
        return JsonResponse(
            {
                "key": published.key,
                "version": published.version,
                "status": published.status,
                "url": reverse("processes:version", args=[published.key, published.version]),
                "message": message,
            }
        )
    messages.success(request, message)
    return redirect("processes:version", key=key, version=version)


def _decoded_upload(
    upload: UploadedFile | None, field: str, *, required: bool
) -> tuple[str, list[FieldError]]:
    if upload is None:
        if not required:
            return "", []
        return "", [FieldError(field, "required", "请选择 BPMN 模型文件。", "Choose a BPMN model file.")]
    if (upload.size or 0) > MAX_MODEL_BYTES:
        limit = MAX_MODEL_BYTES // 1024 // 1024
        return "", [
            FieldError(
                field,
                "too_large",
                f"文件过大（最多 {limit} MB）。",
                f"The file is too large (at most {limit} MB).",
            )
        ]
    try:
        return upload.read().decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return "", [
            FieldError(
                field, "not_utf8", "文件须为 UTF-8 编码的 XML。", "The file must be XML encoded in UTF-8."
            )
        ]


@require_http_methods(["GET", "POST"])
@staff_page(Permission.MANAGE_DEPARTMENT)
def process_upload(request: HttpRequest) -> HttpResponse:
    """Upload a .bpmn file as the next draft version of a process; every problem is listed."""
    user = _user(request)
    departments = sorted(diagram.managed_department_codes(user))
    names = _department_names(set(departments))
    values = {
        "key": (request.POST.get("key") or request.GET.get("key") or "").strip(),
        "department_code": request.POST.get("department_code", departments[0] if departments else ""),
    }
    errors: list[FieldError] = []
    if request.method == "POST":
        bpmn_xml, errors = _decoded_upload(request.FILES.get("bpmn_file"), "bpmn_file", required=True)
        dmn_xml, dmn_errors = _decoded_upload(request.FILES.get("dmn_file"), "dmn_file", required=False)
        errors += dmn_errors
        if not values["key"]:
            errors.insert(
                0, FieldError("key", "required", "请填写流程标识。", "The process key is required.")
            )
        if not errors:
            try:
                definition = process_definition_create(
                    acting_user=user,
                    key=values["key"],
                    bpmn_xml=bpmn_xml,
                    department_code=values["department_code"],
                    dmn_xml=dmn_xml,
                )
            except FieldErrors as invalid:
                errors = invalid.errors
            else:
                messages.success(
                    request,
                    _("Saved as draft version %(version)s of process %(key)s.")
                    % {"version": definition.version, "key": definition.key},
                )
                return redirect("processes:version", key=definition.key, version=definition.version)
    # Errors about a model are shown at its file input, the one field the user can change.
    fields = {"key": "key", "dmn_xml": "dmn_file", "dmn_file": "dmn_file"}
    shown = [
        {
            "anchor": f"f-{fields.get(error.field, 'bpmn_file')}",
            "field": fields.get(error.field, "bpmn_file"),
            "message": _pick(error.message_zh, error.message_en),
        }
        for error in errors
    ]
    return render(
        request,
        "workflow/process_upload.html",
        {
            "values": values,
            "departments": [(code, names.get(code, code)) for code in departments],
            "errors": shown,
            "key_errors": [error for error in shown if error["field"] == "key"],
            "file_errors": [error for error in shown if error["field"] == "bpmn_file"],
            "dmn_errors": [error for error in shown if error["field"] == "dmn_file"],
            "max_megabytes": MAX_MODEL_BYTES // 1024 // 1024,
        },
        status=422 if errors else 200,
    )


@require_safe
@staff_page(Permission.MANAGE_DEPARTMENT)
def process_editor(request: HttpRequest, key: str) -> HttpResponse:
    """The bpmn-js modeler with its properties panel, loaded with ``?version=N`` (default: the latest)."""
    summary = _managed_summary(request, key)
    start: ProcessDefinition | None = summary.latest
    requested = request.GET.get("version", "")
    if requested:
        start = next((d for d in summary.versions if str(d.version) == requested), None)
        if start is None:
            raise Http404(f"{key} v{requested}")
    return render(
        request,
        "workflow/process_editor.html",
        {"summary": summary, "start": start},
    )


def _posted_model(request: HttpRequest, summary: diagram.ProcessSummary) -> tuple[str, str] | None:
    """``(bpmn_xml, dmn_xml)`` from the editor's JSON: the model, and the decision tables (DMN) of the
    version it started from (``from_version``), which the editor does not change but the new version needs."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("bpmn_xml"), str):
        return None
    from_version = body.get("from_version")
    if from_version is None:
        return body["bpmn_xml"], ""
    start = next((d for d in summary.versions if d.version == from_version), None)
    if start is None:
        return None
    return body["bpmn_xml"], start.dmn_xml


def _bad_body() -> JsonResponse:
    return _json_error(
        400,
        "invalid_request",
        "请求须为含 bpmn_xml（及可选的 from_version）的 JSON。",
        "Send JSON with bpmn_xml (and optionally from_version, a version of this process).",
    )


def _editor_summary(request: HttpRequest, key: str) -> diagram.ProcessSummary | JsonResponse:
    try:
        summary = diagram.process_for_user(_user(request), key)
    except RuleViolation as violation:
        return _json_error(404, str(violation.code), violation.message_zh, violation.message_en)
    if not summary.may_manage:
        permission_denied(_user(request), Permission.MANAGE_DEPARTMENT, object_type="process", object_id=key)
        return _json_denied()
    return summary


@require_POST
@staff_page(Permission.MANAGE_DEPARTMENT)
def process_editor_validate(request: HttpRequest, key: str) -> JsonResponse:
    """``{valid, message, problems: [{code, message, message_zh, message_en}]}`` for the posted model."""
    summary = _editor_summary(request, key)
    if isinstance(summary, JsonResponse):
        return summary
    posted = _posted_model(request, summary)
    if posted is None:
        return _bad_body()
    bpmn_xml, dmn_xml = posted
    problems = [_problem(error) for error in process_definition_problems(bpmn_xml, dmn_xml)]
    message = (
        _("The model has %(count)s problem(s).") % {"count": len(problems)}
        if problems
        else _("No problems found: the model may be saved and published.")
    )
    return JsonResponse({"valid": not problems, "message": message, "problems": problems})


@require_POST
@staff_page(Permission.MANAGE_DEPARTMENT)
def process_editor_save(request: HttpRequest, key: str) -> JsonResponse:
    """Save the posted model as the next draft version (201), or list every problem (422)."""
    summary = _editor_summary(request, key)
    if isinstance(summary, JsonResponse):
        return summary
    posted = _posted_model(request, summary)
    if posted is None:
        return _bad_body()
    bpmn_xml, dmn_xml = posted
    try:
        definition = process_definition_create(
            acting_user=_user(request),
            key=summary.key,
            bpmn_xml=bpmn_xml,
            department_code=summary.department_code,
            dmn_xml=dmn_xml,
        )
    except PermissionDenied:
        return _json_denied()
    except FieldErrors as invalid:
        return _json_error(
            422,
            invalid.code,
            "模型有问题，未保存。",
            "The model has problems; it was not saved.",
            problems=[_problem(error) for error in invalid.errors],
        )
    return JsonResponse(
        {
            "key": definition.key,
            "version": definition.version,
            "status": definition.status,
            "sha256": definition.sha256,
            "url": reverse("processes:version", args=[definition.key, definition.version]),
            "publish_url": reverse("processes:publish", args=[definition.key, definition.version]),
            "message": _("Saved as draft version %(version)s of process %(key)s.")
            % {"version": definition.version, "key": definition.key},
        },
        status=201,
    )


# --- Case diagram -------------------------------------------------------------------------------------


def _case_diagram(request: HttpRequest, tracking_no: str) -> diagram.CaseDiagram:
    try:
        return diagram.case_diagram_for_user(_user(request), tracking_no)
    except RuleViolation as violation:
        raise _not_found(violation) from None


def _task_name(task: HumanTask) -> str:
    return _pick(task.name, task.name_en)


@require_safe
def case_diagram_page(request: HttpRequest, tracking_no: str) -> HttpResponse:
    """The case's process model with its active and done tasks marked, and the same as text lists."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    case = _case_diagram(request, tracking_no)
    names = _department_names({task.department_code for task in [*case.active, *case.done]})
    outcomes = {
        "approve": pgettext("task outcome", "Approve"),
        "reject": pgettext("task outcome", "Reject"),
        "return": pgettext("task outcome", "Return for supplements"),
        "consult": pgettext("task outcome", "Consult another department"),
    }
    return render(
        request,
        "workflow/case_diagram.html",
        {
            "case": case,
            "application": case.application,
            "service_name": _pick(case.application.version.name, case.application.version.name_en),
            "active": [
                {
                    "task": task,
                    "name": _task_name(task),
                    "department": names.get(task.department_code, task.department_code),
                }
                for task in case.active
            ],
            "done": [
                {
                    "task": task,
                    "name": _task_name(task),
                    "department": names.get(task.department_code, task.department_code),
                    "outcome": outcomes.get(task.outcome, task.outcome),
                }
                for task in case.done
            ],
        },
    )


@require_safe
def case_diagram_json(request: HttpRequest, tracking_no: str) -> JsonResponse:
    """``{process_key, version, bpmn_xml, active: [...], done: [...]}`` for the diagram's markers."""
    if not request.user.is_authenticated:
        return _json_error(401, "not_authenticated", "请先登录。", "Sign in first.")
    try:
        case = diagram.case_diagram_for_user(_user(request), tracking_no)
    except RuleViolation as violation:
        return _json_error(violation.status, str(violation.code), violation.message_zh, violation.message_en)
    return JsonResponse(
        {
            "tracking_no": case.application.tracking_no,
            "process_key": case.definition.key,
            "version": case.definition.version,
            "bpmn_xml": case.definition.bpmn_xml,
            "active": [
                {
                    "task_spec": task.task_spec,
                    "name": task.name,
                    "name_en": task.name_en,
                    "department_code": task.department_code,
                    "status": task.status,
                }
                for task in case.active
            ],
            "done": [
                {
                    "task_spec": task.task_spec,
                    "name": task.name,
                    "name_en": task.name_en,
                    "department_code": task.department_code,
                    "outcome": task.outcome,
                    "completed_at": task.completed_at.isoformat() if task.completed_at else None,
                }
                for task in case.done
            ],
        }
    )
