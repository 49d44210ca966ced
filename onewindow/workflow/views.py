"""The back office's pages: the department inbox, handling a task, electronic supervision, extension
requests and delegations.

Thin: parse, call the workflow selectors and actions (and the deadlines and supervision modules), render.
A task or object the user may not see is a 404; a permission the user lacks is a 403 (audited by
``permission_denied``). Every write is an action, which checks again and audits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_POST, require_safe

from onewindow.accounts.models import User
from onewindow.accounts.permissions import (
    permission_denied,
    permission_required,
    user_has_permission,
)
from onewindow.accounts.roles import Permission
from onewindow.applications.models import Application
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.core.validators import mask_id_number
from onewindow.forms.coerce import form_data_from_post
from onewindow.forms.render import error_summary, is_english, render_form
from onewindow.forms.validation import validate_form
from onewindow.organisations.models import Department
from onewindow.services.selectors import published_services
from onewindow.workflow import actions, assignment, deadlines, selectors
from onewindow.workflow.diagram import case_diagram_visible
from onewindow.workflow.forms import (
    CONSULT_OUTCOME_LABELS,
    HANDLER_FIELDS,
    OUTCOME_LABELS,
    task_handler_form,
)
from onewindow.workflow.models import (
    WORKING_TASK_STATUSES,
    CaseEventKind,
    ClockStopKind,
    Extension,
    ExtensionStatus,
    HumanTask,
    Light,
    TaskKind,
    TaskStatus,
)

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])

PAGE_SIZE = 25
TREND_DAYS = 30
SPARKLINE_WIDTH = 300
SPARKLINE_HEIGHT = 60

# Labels with a context: "Open" or "Green" alone mean something else in other apps' catalogues.
TASK_STATUS_LABELS: dict[str, Promise] = {
    TaskStatus.OPEN: pgettext_lazy("task status", "Open"),
    TaskStatus.CLAIMED: pgettext_lazy("task status", "Claimed"),
    TaskStatus.WAITING: pgettext_lazy("task status", "Waiting"),
    TaskStatus.DONE: pgettext_lazy("task status", "Done"),
    TaskStatus.CANCELLED: pgettext_lazy("task status", "Cancelled"),
}
TASK_STATUS_TAGS: dict[str, str] = {
    TaskStatus.OPEN: "govuk-tag--blue",
    TaskStatus.CLAIMED: "govuk-tag--light-blue",
    TaskStatus.WAITING: "govuk-tag--orange",
    TaskStatus.DONE: "govuk-tag--grey",
    TaskStatus.CANCELLED: "govuk-tag--grey",
}
# The light is never colour alone: the tag always carries its text (绿/黄/红 or Green/Yellow/Red).
LIGHT_LABELS: dict[str, Promise] = {
    Light.GREEN: pgettext_lazy("light", "Green"),
    Light.YELLOW: pgettext_lazy("light", "Yellow"),
    Light.RED: pgettext_lazy("light", "Red"),
}
LIGHT_TAGS: dict[str, str] = {
    Light.GREEN: "govuk-tag--green",
    Light.YELLOW: "govuk-tag--yellow",
    Light.RED: "govuk-tag--red",
}
EXTENSION_STATUS_LABELS: dict[str, Promise] = {
    ExtensionStatus.PENDING: pgettext_lazy("extension", "Pending"),
    ExtensionStatus.APPROVED: pgettext_lazy("extension", "Approved"),
    ExtensionStatus.REFUSED: pgettext_lazy("extension", "Refused"),
}
EXTENSION_STATUS_TAGS: dict[str, str] = {
    ExtensionStatus.PENDING: "govuk-tag--blue",
    ExtensionStatus.APPROVED: "govuk-tag--green",
    ExtensionStatus.REFUSED: "govuk-tag--red",
}
SUSPEND_KINDS = (ClockStopKind.HEARING, ClockStopKind.EXPERT)
# Rows of the "return to the applicant" items on the handler form.
RETURN_ROWS = 3


# --- Helpers ----------------------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _pick(zh: str, en: str) -> str:
    """The text in the active language (English falls back to Chinese when there is none)."""
    return en if is_english() and en else zh


def _display(user: User | None) -> str:
    if user is None:
        return ""
    return user.display_name or user.username


def any_permission_required(*permissions: Permission) -> Callable[[ViewFunc], ViewFunc]:
    """Like ``permission_required``, satisfied by any one of ``permissions`` (the refusal is audited)."""

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not any(user_has_permission(request.user, permission) for permission in permissions):
                raise permission_denied(request.user, permissions[0])
            return view(request, *args, **kwargs)

        return cast(ViewFunc, wrapped)

    return decorator


def _found(read: Callable[[], Any]) -> Any:
    """Run a selector; its 404 refusal becomes the page's 404."""
    try:
        return read()
    except RuleViolation as refused:
        if refused.status == 404:
            raise Http404(str(refused.code)) from None
        raise


def _refusal_errors(refused: RuleViolation | FieldErrors, fields: dict[str, str]) -> list[FieldError]:
    """An action's refusal as errors of this page's fields: ``fields`` maps the action's field names (dotted
    paths: the first part counts) to the page's; other fields concern the whole form."""
    if isinstance(refused, RuleViolation):
        if refused.status == 404:
            raise Http404(str(refused.code))
        raw = [
            FieldError(refused.field or "", str(refused.code or ""), refused.message_zh, refused.message_en)
        ]
    else:
        raw = list(refused.errors)
    shown: list[FieldError] = []
    for error in raw:
        head = error.field.split(".", 1)[0] if error.field else ""
        if head == "data" and "." in error.field:
            head = error.field.split(".")[1]
        shown.append(FieldError(fields.get(head, ""), error.code, error.message_zh, error.message_en))
    return shown


def _refusal_status(refused: RuleViolation | FieldErrors) -> int:
    return refused.status if isinstance(refused, RuleViolation) and refused.status == 409 else 422


def _errors_by_field(errors: Iterable[FieldError]) -> dict[str, str]:
    by_field: dict[str, str] = {}
    for error in errors:
        if error.field:
            by_field.setdefault(error.field, _pick(error.message_zh, error.message_en))
    return by_field


def _required(name: str, zh: str, en: str) -> FieldError:
    return FieldError(name, "required", zh, en)


def _department_names(codes: Iterable[str]) -> dict[str, str]:
    wanted = sorted({code for code in codes if code})
    if not wanted:
        return {}
    return {
        department.code: _pick(department.name, department.name_en)
        for department in Department.objects.filter(code__in=wanted)
    }


def _light(light: str) -> dict[str, str]:
    return {"value": light, "label": str(LIGHT_LABELS.get(light, light)), "css": LIGHT_TAGS.get(light, "")}


def _status(status: str) -> dict[str, str]:
    return {
        "value": status,
        "label": str(TASK_STATUS_LABELS.get(status, status)),
        "css": TASK_STATUS_TAGS.get(status, ""),
    }


def _task_name(task: HumanTask) -> str:
    return _pick(task.name, task.name_en)


def _service_name(application: Application) -> str:
    return _pick(application.version.name, application.version.name_en)


def _safe_next(request: HttpRequest, default: str) -> str:
    """The page to go back to after an action: a local path given in ``next``, else ``default``."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _query_without_page(query: QueryDict) -> str:
    kept = query.copy()
    kept.pop("page", None)
    return kept.urlencode()


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _paginate(items: Any, request: HttpRequest) -> Page[Any]:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


# --- Inbox ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxFilters:
    scope: str
    status: str
    service: str
    light: str
    due_before: date | None
    due_before_text: str
    errors: list[FieldError]

    @classmethod
    def from_query(cls, query: QueryDict) -> InboxFilters:
        scope = query.get("scope", "pool")
        scope = scope if scope in ("pool", "mine") else "pool"
        status = query.get("status", "")
        status = status if scope == "mine" and status in TaskStatus.values else ""
        light = query.get("light", "")
        light = light if light in Light.values else ""
        due_text = query.get("due_before", "").strip()
        due_before = _parse_date(due_text) if due_text else None
        errors = []
        if due_text and due_before is None:
            errors.append(
                FieldError(
                    "due_before",
                    "invalid",
                    "请按“年-月-日”填写日期，例如 2026-12-31。",
                    "Enter a date as year-month-day, for example 2026-12-31.",
                )
            )
        service = query.get("service", "").strip()[:40]
        return cls(scope, status, service, light, due_before, due_text, errors)


def _inbox_row(task: HumanTask, user: User, names: dict[str, str]) -> dict[str, Any]:
    application = task.application
    claimed_by_user = task.status == TaskStatus.CLAIMED and task.assignee_id == user.pk
    return {
        "task": task,
        "tracking_no": application.tracking_no,
        "service_name": _service_name(application),
        "task_name": _task_name(task),
        "department": names.get(task.department_code, task.department_code),
        "status": _status(task.status),
        "assignee": _display(task.assignee),
        "light": _light(task.light),
        "is_consultation": task.kind == TaskKind.CONSULT,
        "is_changed": bool(getattr(task, "is_changed", False)),
        "may_claim": task.status == TaskStatus.OPEN,
        "may_release": claimed_by_user,
    }


@require_safe
@permission_required(Permission.HANDLE_TASKS)
def inbox(request: HttpRequest) -> HttpResponse:
    """The department pool or the user's own tasks, filtered, with what changed since they last looked."""
    user = _user(request)
    filters = InboxFilters.from_query(request.GET)
    tasks = selectors.tasks_for_user(
        user,
        scope=filters.scope,
        status=filters.status,
        service=filters.service,
        light=filters.light,
        due_before=filters.due_before,
    ).select_related("application__version", "assignee")
    page = _paginate(tasks, request)
    names = _department_names(task.department_code for task in page)
    query = _query_without_page(request.GET)
    return render(
        request,
        "workflow/inbox.html",
        {
            "filters": filters,
            "rows": [_inbox_row(task, user, names) for task in page],
            "page": page,
            "query": query,
            "next_url": request.get_full_path(),
            "services": [
                (service.code, _pick(service.current_version.name, service.current_version.name_en))
                for service in published_services()
                if service.current_version is not None
            ],
            "lights": [(value, str(LIGHT_LABELS[value])) for value in Light.values],
            "statuses": [(value, str(TASK_STATUS_LABELS[value])) for value in TaskStatus.values],
            "error_summary_html": error_summary(filters.errors),
            "field_errors": _errors_by_field(filters.errors),
        },
        status=422 if filters.errors else 200,
    )


# --- One task ---------------------------------------------------------------------------------------------


def _task(request: HttpRequest, task_id: int) -> HumanTask:
    return cast(HumanTask, _found(lambda: selectors.task_for_user(_user(request), task_id)))


def _may_work_here(user: User, task: HumanTask) -> bool:
    """Open, claimed by the user, or claimed by someone whose tasks the user works as delegate."""
    if task.status == TaskStatus.OPEN:
        return True
    if task.status != TaskStatus.CLAIMED:
        return False
    if task.assignee_id == user.pk:
        return True
    return bool(
        selectors.tasks_for_user(user, scope="mine", status=TaskStatus.CLAIMED).filter(pk=task.pk).exists()
    )


def _event_rows(events: Sequence[Any], seen_at: Any, names: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for event in events:
        try:
            label = str(CaseEventKind(event.kind).label)
        except ValueError:
            label = event.kind
        data = event.data if isinstance(event.data, dict) else {}
        task = event.task
        rows.append(
            {
                "event": event,
                "label": label,
                "task_name": _task_name(task) if task is not None else "",
                "department": names.get(event.department_code, event.department_code),
                "actor": _display(event.actor),
                "outcome": _pick(*OUTCOME_LABELS[outcome])
                if (outcome := str(data.get("outcome", ""))) in OUTCOME_LABELS
                else "",
                "is_new": seen_at is not None and event.at > seen_at,
            }
        )
    return rows


def _consultation_rows(consultations: Sequence[HumanTask], names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "task": consultation,
            "department": names.get(consultation.department_code, consultation.department_code),
            "status": _status(consultation.status),
            "question": str((consultation.data or {}).get("question", ""))
            if consultation.status != TaskStatus.DONE
            else "",
            "outcome": _pick(*CONSULT_OUTCOME_LABELS[consultation.outcome])
            if consultation.outcome in CONSULT_OUTCOME_LABELS
            else "",
            "opinion": consultation.opinion if consultation.status == TaskStatus.DONE else "",
            "due_date": consultation.due_date,
        }
        for consultation in consultations
    ]


def _extension_rows(extensions: Sequence[Extension]) -> list[dict[str, Any]]:
    return [
        {
            "extension": extension,
            "status": {
                "label": str(EXTENSION_STATUS_LABELS.get(extension.status, extension.status)),
                "css": EXTENSION_STATUS_TAGS.get(extension.status, ""),
            },
        }
        for extension in extensions
    ]


def _value_text(value: object) -> str:
    if value is True:
        return _("Yes")
    if value is False:
        return _("No")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


@dataclass
class TaskForms:
    """What the task page's forms show after a failed POST: values typed and errors."""

    errors: list[FieldError]
    handler: dict[str, Any]
    return_rows: list[tuple[str, str]] = dataclass_field(default_factory=list)
    consult_department: str = ""
    suspend_kind: str = ""
    suspend_reason: str = ""
    extension_days: str = ""
    extension_reason: str = ""
    reassign_assignee: str = ""
    reassign_reason: str = ""


def _return_row_context(forms: TaskForms) -> list[dict[str, Any]]:
    typed = forms.return_rows or [("", "")] * RETURN_ROWS
    by_field = _errors_by_field(forms.errors)
    return [
        {
            "number": row,
            "target": target,
            "reason": reason,
            "target_error": by_field.get(f"return_target_{row}", ""),
            "reason_error": by_field.get(f"return_reason_{row}", ""),
        }
        for row, (target, reason) in enumerate(typed, start=1)
    ]


def _task_context(
    request: HttpRequest, task: HumanTask, forms: TaskForms | None, *, seen_at: datetime | None
) -> dict[str, Any]:
    """The task page; ``seen_at`` is the user's previous look (events since are marked), None after a POST."""
    user = _user(request)
    forms = forms or TaskForms(errors=[], handler={})
    view = selectors.task_case_view(user, task, seen_at=seen_at)
    application: Application = view.application
    consultations = list(view.consultations)
    asking_task = view.asking_task
    events = list(view.events)
    names = _department_names(
        [
            task.department_code,
            *(event.department_code for event in events),
            *(consultation.department_code for consultation in consultations),
            *([asking_task.department_code] if asking_task is not None else []),
        ]
    )
    may_work = task.status in WORKING_TASK_STATUSES and _may_work_here(user, task)
    clock_stop = view.clock_stop
    extensions = list(view.extensions)
    pending_extension = any(extension.status == ExtensionStatus.PENDING for extension in extensions)
    may_reassign = task.status in WORKING_TASK_STATUSES and user_has_permission(
        user, Permission.MANAGE_DEPARTMENT, department_code=task.department_code
    )
    schema = task_handler_form(task)
    consultation = task.kind == TaskKind.CONSULT
    return {
        "task": task,
        "task_name": _task_name(task),
        "task_status": _status(task.status),
        "light": _light(task.light),
        "department": names.get(task.department_code, task.department_code),
        "application": application,
        "service_name": _service_name(application),
        "masked_identifier": mask_id_number(application.applicant_identifier),
        "assignee": _display(task.assignee),
        "claimed_by_user": task.status == TaskStatus.CLAIMED and task.assignee_id == user.pk,
        "seen_at": seen_at,
        "fields": [
            (_pick(case_field.title, case_field.title_en), _value_text(case_field.value))
            for case_field in view.fields
        ],
        "materials": list(view.materials),
        "verified_extracts": view.verified_extracts,
        "events": _event_rows(events, seen_at, names),
        "changed_count": sum(1 for event in events if seen_at is not None and event.at > seen_at),
        "consultations": _consultation_rows(consultations, names),
        "is_consultation": consultation,
        "asking_task": asking_task,
        "asking_task_name": _task_name(asking_task) if asking_task is not None else "",
        "asking_department": names.get(asking_task.department_code, "") if asking_task is not None else "",
        "question": (task.data or {}).get("question", "")
        or (asking_task.opinion if asking_task is not None else ""),
        "clock_stop": clock_stop,
        "clock_stop_kind": str(ClockStopKind(clock_stop.kind).label) if clock_stop is not None else "",
        "extensions": _extension_rows(extensions),
        "may_see_diagram": case_diagram_visible(user, application),
        # Actions
        "may_claim": task.status == TaskStatus.OPEN,
        "may_release": task.status == TaskStatus.CLAIMED and task.assignee_id == user.pk,
        "may_work": may_work,
        "may_suspend": may_work and clock_stop is None and not consultation,
        "may_resume": clock_stop is not None and clock_stop.kind in SUSPEND_KINDS and may_work,
        "may_request_extension": may_work and not pending_extension and not consultation,
        "may_reassign": may_reassign,
        "handlers": (
            [
                (str(handler.pk), _display(handler))
                for handler in selectors.department_handlers(task.department_code)
            ]
            if may_reassign
            else []
        ),
        "handler_form_html": render_form(
            schema, forms.handler, [e for e in forms.errors if e.field in schema["properties"]]
        ),
        "consult_departments": (
            [
                (department.code, _pick(department.name, department.name_en))
                for department in Department.objects.exclude(code=task.department_code).order_by("code")
            ]
            if may_work and not consultation
            else []
        ),
        "return_rows": _return_row_context(forms),
        "return_targets": _return_targets(application) if may_work and not consultation else [],
        "suspend_kinds": [(kind.value, str(kind.label)) for kind in SUSPEND_KINDS],
        "forms": forms,
        "error_summary_html": error_summary(forms.errors),
        "field_errors": _errors_by_field(forms.errors),
    }


def _task_page(
    request: HttpRequest,
    task: HumanTask,
    forms: TaskForms | None = None,
    *,
    status: int = 200,
    seen_at: datetime | None = None,
) -> HttpResponse:
    context = _task_context(request, task, forms, seen_at=seen_at)
    return render(request, "workflow/task.html", context, status=status)


def _task_url(task: HumanTask) -> str:
    return reverse("workflow:task", args=[task.pk])


@require_safe
@permission_required(Permission.HANDLE_TASKS)
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    """The case as far as the task needs it, what changed since the last look, and the handler's forms.

    Opening the page records the look (``task_seen``); what happened since the previous look is marked.
    """
    task = _task(request, task_id)
    previous = assignment.task_seen(acting_user=_user(request), task=task)
    return _task_page(request, task, seen_at=previous)


def _simple_task_action(
    request: HttpRequest, task_id: int, run: Callable[[User, HumanTask], object], success: str
) -> HttpResponse:
    """Claim or release: run the action, then go back to the page the button was on."""
    user = _user(request)
    task = _task(request, task_id)
    try:
        run(user, task)
    except RuleViolation as refused:
        if refused.status == 404:
            raise Http404(str(refused.code)) from None
        messages.error(request, _pick(refused.message_zh, refused.message_en))
        return redirect(_safe_next(request, _task_url(task)))
    messages.success(request, success)
    return redirect(_safe_next(request, _task_url(task)))


@require_POST
@permission_required(Permission.HANDLE_TASKS)
def task_claim_view(request: HttpRequest, task_id: int) -> HttpResponse:
    return _simple_task_action(
        request,
        task_id,
        lambda user, task: actions.task_claim(acting_user=user, task=task),
        _("The task is yours now."),
    )


@require_POST
@permission_required(Permission.HANDLE_TASKS)
def task_release_view(request: HttpRequest, task_id: int) -> HttpResponse:
    return _simple_task_action(
        request,
        task_id,
        lambda user, task: actions.task_release(acting_user=user, task=task),
        _("The task is back in the department's pool."),
    )


def _return_rows(post: QueryDict) -> list[tuple[str, str]]:
    """The return form's rows as typed: (target ``field:<name>`` or ``material:<code>``, what is wrong)."""
    return [
        (post.get(f"return_target_{row}", "").strip(), post.get(f"return_reason_{row}", "").strip())
        for row in range(1, RETURN_ROWS + 1)
    ]


def _return_items(rows: Sequence[tuple[str, str]]) -> tuple[list[dict[str, str]], list[FieldError]]:
    """The supplement notice's items: each names a field or a material and says why (Art. 32)."""
    items: list[dict[str, str]] = []
    errors: list[FieldError] = []
    for row, (target, reason) in enumerate(rows, start=1):
        kind, _sep, code = target.partition(":")
        if not target and not reason:
            continue
        if kind not in ("field", "material") or not code:
            errors.append(
                _required(
                    f"return_target_{row}",
                    "请选择这一项涉及的表单项或材料。",
                    "Choose the form field or material this item is about.",
                )
            )
        elif not reason:
            errors.append(
                _required(
                    f"return_reason_{row}",
                    "请说明需要补正的内容。",
                    "Say what must be corrected or supplied.",
                )
            )
        else:
            items.append(
                {
                    "field": code if kind == "field" else "",
                    "material_code": code if kind == "material" else "",
                    "reason": reason,
                    "reason_en": "",
                }
            )
    return items, errors


def _return_targets(application: Application) -> list[tuple[str, str]]:
    version = application.version
    properties = version.form_schema.get("properties", {})
    fields = [
        (
            f"field:{name}",
            _("Form: %(title)s")
            % {"title": _pick(str(spec.get("title", name)), str(spec.get("x-title-en", "")))},
        )
        for name, spec in properties.items()
        if isinstance(spec, dict)
    ]
    materials = [
        (
            f"material:{spec.get('code', '')}",
            _("Material: %(name)s")
            % {"name": _pick(str(spec.get("name", "")), str(spec.get("name_en", "")))},
        )
        for spec in version.materials
        if isinstance(spec, dict) and spec.get("code")
    ]
    return fields + materials


@require_POST
@permission_required(Permission.HANDLE_TASKS)
def task_complete_view(request: HttpRequest, task_id: int) -> HttpResponse:
    """Complete the task with the handler form's outcome: approve, reject, return or consult."""
    user = _user(request)
    task = _task(request, task_id)
    schema = task_handler_form(task)
    values = form_data_from_post(schema, request.POST)
    department = request.POST.get("consult_department", "").strip()
    rows = _return_rows(request.POST)
    forms = TaskForms(
        errors=validate_form(schema, values), handler=values, return_rows=rows, consult_department=department
    )
    outcome = str(values.get("outcome", ""))
    opinion = str(values.get("opinion", "")).strip()
    data: dict[str, Any] = {name: value for name, value in values.items() if name not in HANDLER_FIELDS}
    if outcome == "return":
        items, errors = _return_items(rows)
        forms.errors.extend(errors)
        if items:
            data["items"] = items
    elif outcome == "consult":
        data["department"] = department
    if forms.errors:
        return _task_page(request, task, forms, status=422)
    try:
        actions.task_complete(acting_user=user, task=task, outcome=outcome, opinion=opinion, data=data)
    except (RuleViolation, FieldErrors) as refused:
        forms.errors = _refusal_errors(
            refused,
            {
                "outcome": "outcome",
                "opinion": "opinion",
                "items": "return_target_1",
                "department": "consult_department",
                **{name: name for name in schema["properties"]},
            },
        )
        return _task_page(request, task, forms, status=_refusal_status(refused))
    messages.success(
        request,
        {
            "approve": _("Task completed: approved."),
            "reject": _("Task completed: not approved."),
            "return": _("Returned to the applicant; the time limit stops until they supplement."),
            "consult": _("The other department has been asked; the task waits for its opinion."),
        }.get(outcome, _("Task completed.")),
    )
    return redirect("workflow:inbox")


@require_POST
@permission_required(Permission.HANDLE_TASKS)
def task_suspend_view(request: HttpRequest, task_id: int) -> HttpResponse:
    """Stop the case's clock for a hearing or an expert review (Administrative Licensing Law Art. 45)."""
    user = _user(request)
    task = _task(request, task_id)
    kind = request.POST.get("kind", "")
    reason = request.POST.get("reason", "").strip()
    forms = TaskForms(errors=[], handler={}, suspend_kind=kind, suspend_reason=reason)
    try:
        deadlines.case_suspend(acting_user=user, task=task, kind=kind, reason=reason)
    except (RuleViolation, FieldErrors) as refused:
        forms.errors = _refusal_errors(refused, {"kind": "suspend_kind", "reason": "suspend_reason"})
        return _task_page(request, task, forms, status=_refusal_status(refused))
    messages.success(request, _("The time limit is stopped until you resume it."))
    return redirect(_task_url(task))


@require_POST
@permission_required(Permission.HANDLE_TASKS)
def task_resume_view(request: HttpRequest, task_id: int) -> HttpResponse:
    user = _user(request)
    task = _task(request, task_id)
    try:
        deadlines.case_resume(acting_user=user, application=task.application)
    except (RuleViolation, FieldErrors) as refused:
        forms = TaskForms(errors=_refusal_errors(refused, {}), handler={})
        return _task_page(request, task, forms, status=_refusal_status(refused))
    messages.success(request, _("The time limit runs again; due dates moved by the days it was stopped."))
    return redirect(_task_url(task))


@require_POST
@permission_required(Permission.HANDLE_TASKS)
def task_extension_view(request: HttpRequest, task_id: int) -> HttpResponse:
    """Ask the department admin for more working days (the case's and the task's due dates)."""
    user = _user(request)
    task = _task(request, task_id)
    days_text = request.POST.get("working_days", "").strip()
    reason = request.POST.get("reason", "").strip()
    forms = TaskForms(errors=[], handler={}, extension_days=days_text, extension_reason=reason)
    # Not a whole number: 0, which the action refuses with its range message.
    days = int(days_text) if days_text.isdigit() else 0
    try:
        deadlines.extension_request(acting_user=user, task=task, working_days=days, reason=reason)
    except (RuleViolation, FieldErrors) as refused:
        forms.errors = _refusal_errors(
            refused, {"working_days": "extension_days", "reason": "extension_reason"}
        )
        return _task_page(request, task, forms, status=_refusal_status(refused))
    messages.success(request, _("Extension requested; the department administrator decides."))
    return redirect(_task_url(task))


@require_POST
@permission_required(Permission.MANAGE_DEPARTMENT)
def task_reassign_view(request: HttpRequest, task_id: int) -> HttpResponse:
    """A department admin gives the task to a handler of the department."""
    user = _user(request)
    task = _task(request, task_id)
    chosen = request.POST.get("assignee", "").strip()
    reason = request.POST.get("reason", "").strip()
    forms = TaskForms(errors=[], handler={}, reassign_assignee=chosen, reassign_reason=reason)
    assignee = (
        selectors.department_handlers(task.department_code).filter(pk=int(chosen)).first()
        if chosen.isdigit()
        else None
    )
    if assignee is None:
        forms.errors.append(
            _required(
                "reassign_assignee", "请选择本部门的一名办理人员。", "Choose a handler of the department."
            )
        )
        return _task_page(request, task, forms, status=422)
    try:
        assignment.task_reassign(acting_user=user, task=task, assignee=assignee, reason=reason)
    except (RuleViolation, FieldErrors) as refused:
        forms.errors = _refusal_errors(
            refused, {"assignee": "reassign_assignee", "reason": "reassign_reason"}
        )
        return _task_page(request, task, forms, status=_refusal_status(refused))
    messages.success(request, _("Task given to %(name)s.") % {"name": _display(assignee)})
    return redirect(_task_url(task))
