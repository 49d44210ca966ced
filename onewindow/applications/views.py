"""The applicant's and the window's pages: apply (with drafts), my applications, detail with timeline,
supplement, withdraw and review, the receipt, the window desk (queue, acceptance, walk-in), the village
agent's applications and the good/bad review follow-ups and statistics.

Thin: parse, call the selector or action, render. Reads go through the applications selectors (an
application someone may not read is a 404); every write is an action, which checks again and audits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from onewindow.accounts.models import User
from onewindow.accounts.permissions import (
    active_memberships,
    permission_denied,
    permission_required,
    user_has_permission,
)
from onewindow.accounts.roles import Permission, Role
from onewindow.applications import selectors
from onewindow.applications.actions import (
    OnBehalfOf,
    SupplementItem,
    application_accept,
    application_refuse,
    application_request_supplement,
    application_submit,
    application_supplement,
    application_withdraw,
    draft_delete,
    draft_save,
    review_follow_up_answer,
    review_submit,
)
from onewindow.applications.forms import (
    REVIEW_LEVELS,
    OnBehalfInput,
    errors_by_field,
    field_errors_of,
    material_ids_from_post,
    on_behalf_from_post,
    pick,
    shown_errors,
    submission_key_from_post,
    summary_rows,
)
from onewindow.applications.models import (
    DECIDED_STATUSES,
    OPEN_STATUSES,
    Application,
    Document,
    Draft,
    Status,
)
from onewindow.applications.selectors_extracts import verified_extracts_for_applicant
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.core.validators import mask_id_number
from onewindow.forms.coerce import form_data_from_post
from onewindow.forms.prefill import Identity, materials_held, prefill_form
from onewindow.forms.render import render_form
from onewindow.materials.actions import material_upload
from onewindow.materials.content import ALLOWED_TYPES, EXTENSION_ALIASES
from onewindow.materials.models import Material
from onewindow.organisations.models import Department, ServicePoint
from onewindow.services.models import Service, ServiceVersion
from onewindow.services.selectors import published_service, published_services
from onewindow.workflow.progress import application_progress

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])

STATUS_TAGS = {
    Status.SUBMITTED: "govuk-tag--blue",
    Status.ACCEPTED: "govuk-tag--light-blue",
    Status.SUPPLEMENT_REQUESTED: "govuk-tag--yellow",
    Status.IN_PROGRESS: "govuk-tag--light-blue",
    Status.APPROVED: "govuk-tag--green",
    Status.REJECTED: "govuk-tag--red",
    Status.NOT_ACCEPTED: "govuk-tag--red",
    Status.WITHDRAWN: "govuk-tag--grey",
}


# --- Helpers ----------------------------------------------------------------------------------------------


def signed_in(view: ViewFunc) -> ViewFunc:
    """Anonymous users go to the sign-in page; the view (and its selectors) check the rest."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return cast(ViewFunc, wrapped)


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


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _status_tag(status: str) -> dict[str, str]:
    return {"status": status, "label": str(Status(status).label), "css": STATUS_TAGS.get(Status(status), "")}


def _department_names(codes: Sequence[str]) -> dict[str, str]:
    departments = Department.objects.filter(code__in=list(codes))
    return {department.code: pick(department.name, department.name_en) for department in departments}


def _version_name(version: ServiceVersion) -> str:
    return pick(version.name, version.name_en)


def _upload_accept() -> str:
    extensions = sorted(
        {ext for file_type in ALLOWED_TYPES for ext in EXTENSION_ALIASES[file_type.content_type]}
    )
    return ",".join([*extensions, *(file_type.content_type for file_type in ALLOWED_TYPES)])


def _upload_hint() -> str:
    types = "、".join(file_type.label for file_type in ALLOWED_TYPES)
    size_mb = settings.UPLOAD_MAX_BYTES / (1024 * 1024)
    return _("Allowed types: %(types)s. At most %(size)s MB per file.") % {
        "types": types,
        "size": f"{size_mb:g}",
    }


def _own_unattached_materials(user: User, ids: Sequence[str]) -> list[Material]:
    """Materials this user uploaded earlier on the page and has not yet attached to an application."""
    if not ids:
        return []
    found = {
        str(material.pk): material
        for material in Material.objects.filter(uploaded_by=user, application__isnull=True, pk__in=list(ids))
    }
    return [found[material_id] for material_id in ids if material_id in found]


def _upload_files(
    request: HttpRequest, user: User, codes: Sequence[str]
) -> tuple[list[str], list[FieldError]]:
    """Upload the chosen files (input ``file-<code>``) through the materials action."""
    ids: list[str] = []
    errors: list[FieldError] = []
    for code in codes:
        for uploaded in request.FILES.getlist(f"file-{code}"):
            try:
                material = material_upload(acting_user=user, uploaded_file=uploaded, material_code=code)
            except RuleViolation as refused:
                errors.append(
                    FieldError(f"material-{code}", str(refused.code), refused.message_zh, refused.message_en)
                )
            else:
                ids.append(str(material.pk))
    return ids, errors


def _material_rows(
    version: ServiceVersion,
    held: set[str],
    uploaded: Sequence[Material],
    field_errors: dict[str, str],
    *,
    only_codes: set[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per material of the version: name, required, 免提交 or a file input, files already uploaded."""
    rows: list[dict[str, Any]] = []
    for spec in version.materials:
        code = str(spec.get("code", ""))
        if only_codes is not None and code not in only_codes:
            continue
        rows.append(
            {
                "code": code,
                "name": pick(str(spec.get("name", code)), str(spec.get("name_en", ""))),
                "note": pick(str(spec.get("note", "")), str(spec.get("note_en", ""))),
                "required": bool(spec.get("required", True)),
                "held": code in held,
                "uploaded": [material for material in uploaded if material.material_code == code],
                "error": field_errors.get(f"material-{code}", ""),
            }
        )
    return rows


def _materials_context(
    version: ServiceVersion,
    held: set[str],
    uploaded: Sequence[Material],
    errors: list[FieldError],
    **kwargs: Any,
) -> dict[str, Any]:
    return {
        "material_rows": _material_rows(version, held, uploaded, errors_by_field(errors), **kwargs),
        "uploaded_materials": list(uploaded),
        "upload_accept": _upload_accept(),
        "upload_hint": _upload_hint(),
    }


def _pending_codes(version: ServiceVersion, held: set[str]) -> list[str]:
    return [str(spec.get("code", "")) for spec in version.materials if str(spec.get("code", "")) not in held]


def _prefilled_keys(prefilled: dict[str, Any], data: dict[str, Any]) -> list[str]:
    return [name for name, value in prefilled.items() if data.get(name) == value]


def _readable(request: HttpRequest, tracking_no: str) -> Application:
    return selectors.application_for_user(_user(request), tracking_no)


def _is_applicant_side(user: User, application: Application) -> bool:
    return user.pk in (application.applicant_id, application.submitted_by_id)


# --- Apply (resident / enterprise representative) ----------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_required(Permission.APPLY)
def application_new(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    service, version = published_service(code)
    identity = Identity.of_user(user)
    held = materials_held(version.materials, identity)
    prefilled = prefill_form(version.form_schema, identity, purpose=f"prefill:{service.code}")
    # A user's own draft of this service (the filter on the user is the access check).
    draft = Draft.objects.filter(user=user, service=service).first()
    errors: list[FieldError] = []

    if request.method == "POST":
        submission_key = submission_key_from_post(request.POST)
        existing = (
            selectors.applications_for_user(user)
            .filter(submitted_by=user, idempotency_key=submission_key)
            .first()
        )
        if existing is not None:  # a repeated submit (double click, retry): show what the first one made
            return redirect("applications:receipt", tracking_no=existing.tracking_no)
        data = form_data_from_post(version.form_schema, request.POST)
        new_ids, errors = _upload_files(request, user, _pending_codes(version, held))
        material_ids = [*material_ids_from_post(request.POST), *new_ids]
        uploaded = _own_unattached_materials(user, material_ids)
        material_ids = [str(material.pk) for material in uploaded]
        if not errors and request.POST.get("action") == "save_draft":
            try:
                draft_save(acting_user=user, service_code=service.code, form=data, material_ids=material_ids)
            except (RuleViolation, FieldErrors) as refused:
                errors = field_errors_of(refused)
            else:
                messages.success(request, _("Your draft has been saved. You can come back to it later."))
                return redirect("applications:new", code=service.code)
        elif not errors:
            try:
                application, _created = application_submit(
                    acting_user=user,
                    service_code=service.code,
                    form=data,
                    material_ids=material_ids,
                    channel="web",
                    idempotency_key=submission_key,
                )
            except (RuleViolation, FieldErrors) as refused:
                errors = field_errors_of(refused)
            else:
                if draft is not None:
                    draft_delete(acting_user=user, service_code=service.code)
                return redirect("applications:receipt", tracking_no=application.tracking_no)
    else:
        submission_key = str(uuid.uuid4())
        data = {**prefilled, **(draft.form_data if draft else {})}
        uploaded = _own_unattached_materials(
            user, [str(item) for item in (draft.material_ids if draft else [])]
        )

    return render(
        request,
        "applications/apply.html",
        {
            "service": service,
            "version": version,
            "service_name": _version_name(version),
            "form_html": render_form(
                version.form_schema, data, errors, prefilled=_prefilled_keys(prefilled, data)
            ),
            "has_prefill": bool(prefilled),
            "errors": shown_errors(errors),
            "submission_key": submission_key,
            "draft": draft,
            **_materials_context(version, held, uploaded, errors),
        },
    )


# --- My applications, detail, receipt ---------------------------------------------------------------


@require_safe
@permission_required(Permission.APPLY)
def application_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    applications = selectors.applications_for_user(user).select_related("version")
    drafts = Draft.objects.filter(user=user).select_related("service", "version").order_by("-updated_at")
    return render(
        request,
        "applications/mine.html",
        {
            "applications": [
                {"application": app, "name": _version_name(app.version), "tag": _status_tag(app.status)}
                for app in applications
            ],
            "drafts": [{"draft": draft, "name": _version_name(draft.version)} for draft in drafts],
        },
    )


def _open_supplement_request(application: Application) -> Any:
    if application.status != Status.SUPPLEMENT_REQUESTED:
        return None
    return application.supplement_requests.filter(answered_at__isnull=True).first()


def _supplement_item_text(item: dict[str, Any], version: ServiceVersion) -> str:
    names = {
        str(spec.get("code", "")): pick(str(spec.get("name", "")), str(spec.get("name_en", "")))
        for spec in version.materials
    }
    properties: dict[str, Any] = version.form_schema.get("properties", {})
    what = ""
    if item.get("material_code"):
        what = names.get(str(item["material_code"]), str(item["material_code"]))
    elif item.get("field"):
        spec = properties.get(str(item["field"]), {})
        what = pick(str(spec.get("title", item["field"])), str(spec.get("x-title-en", "")))
    reason = pick(str(item.get("reason", "")), str(item.get("reason_en", "")))
    return f"{what}: {reason}" if what and reason else what or reason


def _detail_context(
    request: HttpRequest,
    application: Application,
    *,
    supplement_errors: list[FieldError] | None = None,
    supplement_data: dict[str, Any] | None = None,
    review_errors: list[FieldError] | None = None,
) -> dict[str, Any]:
    user = _user(request)
    version = application.version
    timeline = selectors.application_timeline(application)
    codes = {entry["department_code"] for entry in timeline if entry.get("department_code")}
    names = _department_names([*codes, *application.pending_department_codes])
    applicant_side = _is_applicant_side(user, application)
    supplement_request = _open_supplement_request(application) if applicant_side else None
    context: dict[str, Any] = {
        "application": application,
        "service_name": _version_name(version),
        "tag": _status_tag(application.status),
        "timeline": [
            {
                **entry,
                "at": localtime(datetime.fromisoformat(entry["at"])),
                "text": pick(entry.get("note", ""), entry.get("note_en", "")),
                "status_label": str(Status(entry["status"]).label) if entry.get("status") else "",
                "department": names.get(entry.get("department_code", ""), entry.get("department_code", "")),
            }
            for entry in timeline
        ],
        "pending_departments": [names.get(code, code) for code in application.pending_department_codes],
        "progress": application_progress(application),
        "documents": selectors.application_documents(application),
        "may_withdraw": applicant_side and application.status in OPEN_STATUSES,
        "may_review": (
            application.applicant_id == user.pk
            and application.status in DECIDED_STATUSES
            and not hasattr(application, "review")
        ),
        "review_levels": [(score, pick(zh, en)) for score, zh, en in REVIEW_LEVELS],
        "decision_reason": (application.decision or {}).get("reason", ""),
        # Once-only: the applicant's own verified registry data kept with the case.
        "verified_extracts": verified_extracts_for_applicant(user, application),
    }
    errors = [*(supplement_errors or []), *(review_errors or [])]
    context["errors"] = shown_errors(errors)
    context["field_errors"] = errors_by_field(errors)
    if supplement_request is not None:
        items: list[dict[str, Any]] = list(supplement_request.items)
        material_codes = {str(item["material_code"]) for item in items if item.get("material_code")}
        data = supplement_data if supplement_data is not None else dict(application.form_data)
        context["supplement_request"] = supplement_request
        context["supplement_items"] = [_supplement_item_text(item, version) for item in items]
        context["supplement_form_html"] = (
            render_form(version.form_schema, data, supplement_errors or [])
            if any(item.get("field") for item in items)
            else ""
        )
        context.update(
            _materials_context(version, set(), [], supplement_errors or [], only_codes=material_codes)
        )
    return context


@require_safe
@signed_in
def application_detail(request: HttpRequest, tracking_no: str) -> HttpResponse:
    application = _readable(request, tracking_no)
    return render(request, "applications/detail.html", _detail_context(request, application))


@require_safe
@signed_in
def application_receipt(request: HttpRequest, tracking_no: str) -> HttpResponse:
    application = _readable(request, tracking_no)
    documents = selectors.application_documents(application)
    receipt = next((document for document in documents if document.kind == Document.Kind.RECEIPT), None)
    return render(
        request,
        "applications/receipt.html",
        {
            "application": application,
            "service_name": _version_name(application.version),
            "tag": _status_tag(application.status),
            "masked_identifier": mask_id_number(application.applicant_identifier),
            "channel_label": application.get_channel_display(),
            "receipt": receipt,
            "materials": list(application.materials.all()),
            "promised_days": application.version.promised_days,
        },
    )


@require_POST
@signed_in
def application_supplement_view(request: HttpRequest, tracking_no: str) -> HttpResponse:
    user = _user(request)
    application = _readable(request, tracking_no)
    supplement_request = _open_supplement_request(application)
    if supplement_request is None or not _is_applicant_side(user, application):
        raise permission_denied(
            user, "application.supplement", object_type="application", object_id=tracking_no
        )
    items: list[dict[str, Any]] = list(supplement_request.items)
    codes = [str(item["material_code"]) for item in items if item.get("material_code")]
    has_fields = any(item.get("field") for item in items)
    data = form_data_from_post(application.version.form_schema, request.POST) if has_fields else None
    new_ids, errors = _upload_files(request, user, codes)
    if not errors:
        try:
            application_supplement(acting_user=user, application=application, form=data, material_ids=new_ids)
        except (RuleViolation, FieldErrors) as refused:
            errors = field_errors_of(refused)
        else:
            messages.success(request, _("Thank you. Your supplement has been sent."))
            return redirect("applications:detail", tracking_no=tracking_no)
    context = _detail_context(request, application, supplement_errors=errors, supplement_data=data)
    return render(request, "applications/detail.html", context, status=422)


@require_http_methods(["GET", "POST"])
@signed_in
def application_withdraw_view(request: HttpRequest, tracking_no: str) -> HttpResponse:
    user = _user(request)
    application = _readable(request, tracking_no)
    if not _is_applicant_side(user, application):
        raise permission_denied(
            user, "application.withdraw", object_type="application", object_id=tracking_no
        )
    errors: list[FieldError] = []
    if request.method == "POST":
        try:
            application_withdraw(
                acting_user=user, application=application, reason=request.POST.get("reason", "").strip()
            )
        except (RuleViolation, FieldErrors) as refused:
            errors = field_errors_of(refused)
        else:
            messages.success(request, _("Your application has been withdrawn."))
            return redirect("applications:detail", tracking_no=tracking_no)
    return render(
        request,
        "applications/withdraw.html",
        {
            "application": application,
            "service_name": _version_name(application.version),
            "errors": shown_errors(errors),
        },
        status=422 if errors else 200,
    )


@require_POST
@signed_in
def application_review_view(request: HttpRequest, tracking_no: str) -> HttpResponse:
    user = _user(request)
    application = _readable(request, tracking_no)
    errors: list[FieldError] = []
    try:
        score = int(request.POST.get("score", ""))
    except ValueError:
        errors.append(FieldError("score", "required", "请选择满意程度。", "Choose how satisfied you are."))
    if not errors:
        try:
            review_submit(
                acting_user=user,
                application=application,
                score=score,
                comment=request.POST.get("comment", "").strip(),
                channel="web",
            )
        except (RuleViolation, FieldErrors) as refused:
            errors = field_errors_of(refused)
        else:
            messages.success(request, _("Thank you for rating this service."))
            return redirect("applications:detail", tracking_no=tracking_no)
    context = _detail_context(request, application, review_errors=errors)
    return render(request, "applications/detail.html", context, status=422)


# --- Window desk -------------------------------------------------------------------------------------


@require_safe
@permission_required(Permission.ACCEPT_APPLICATIONS)
def window_index(request: HttpRequest) -> HttpResponse:
    queue = selectors.acceptance_queue(_user(request)).select_related("version")
    return render(
        request,
        "applications/window_queue.html",
        {
            "applications": [
                {"application": app, "name": _version_name(app.version), "tag": _status_tag(app.status)}
                for app in queue
            ]
        },
    )


def _window_context(
    request: HttpRequest, application: Application, errors: list[FieldError] | None = None, **extra: Any
) -> dict[str, Any]:
    version = application.version
    missing = selectors.application_missing_items(application)
    missing_codes = {item.material_code for item in missing if item.material_code}
    attached_codes = {material.material_code for material in application.materials.all()}
    optional_items = [
        {
            "value": f"material:{spec.get('code', '')}",
            "text": pick(str(spec.get("name", "")), str(spec.get("name_en", ""))),
        }
        for spec in version.materials
        if str(spec.get("code", "")) not in missing_codes | attached_codes and not spec.get("required", True)
    ]
    return {
        "application": application,
        "service_name": _version_name(version),
        "tag": _status_tag(application.status),
        "masked_identifier": mask_id_number(application.applicant_identifier),
        "form_rows": summary_rows(version.form_schema, application.form_data),
        "materials": list(application.materials.all()),
        "missing_items": [
            {
                "value": f"material:{item.material_code}" if item.material_code else f"field:{item.field}",
                "text": _supplement_item_text(
                    {
                        "material_code": item.material_code,
                        "field": item.field,
                        "reason": item.reason,
                        "reason_en": item.reason_en,
                    },
                    version,
                ),
            }
            for item in missing
        ],
        "optional_items": optional_items,
        "extra_rows": _extra_rows(version, extra.pop("posted", None), errors_by_field(errors or [])),
        "may_accept": application.status == Status.SUBMITTED,
        "may_refuse": application.status in (Status.SUBMITTED, Status.SUPPLEMENT_REQUESTED),
        "may_request_supplement": application.status == Status.SUBMITTED,
        "errors": shown_errors(errors or []),
        "field_errors": errors_by_field(errors or []),
        **extra,
    }


def _extra_rows(version: ServiceVersion, posted: Any, field_errors: dict[str, str]) -> list[dict[str, Any]]:
    """The free rows of the supplement notice: a target (form field or material) and what is wrong."""
    properties: dict[str, Any] = version.form_schema.get("properties", {})
    targets = [
        (
            f"field:{name}",
            _("Form: %(title)s")
            % {"title": pick(str(spec.get("title", name)), str(spec.get("x-title-en", "")))},
        )
        for name, spec in properties.items()
    ] + [
        (
            f"material:{spec.get('code', '')}",
            _("Material: %(name)s") % {"name": pick(str(spec.get("name", "")), str(spec.get("name_en", "")))},
        )
        for spec in version.materials
    ]
    return [
        {
            "number": row,
            "targets": targets,
            "target": posted.get(f"extra_target_{row}", "") if posted is not None else "",
            "reason": posted.get(f"extra_reason_{row}", "") if posted is not None else "",
            "target_error": field_errors.get(f"extra_target_{row}", ""),
            "reason_error": field_errors.get(f"extra_reason_{row}", ""),
        }
        for row in range(1, EXTRA_ITEM_ROWS + 1)
    ]


def _window_application(request: HttpRequest, tracking_no: str) -> Application:
    return selectors.application_for_user(_user(request), tracking_no)


@require_safe
@permission_required(Permission.ACCEPT_APPLICATIONS)
def window_application(request: HttpRequest, tracking_no: str) -> HttpResponse:
    application = _window_application(request, tracking_no)
    return render(request, "applications/window_application.html", _window_context(request, application))


@require_POST
@permission_required(Permission.ACCEPT_APPLICATIONS)
def window_accept(request: HttpRequest, tracking_no: str) -> HttpResponse:
    application = _window_application(request, tracking_no)
    try:
        application_accept(acting_user=_user(request), application=application)
    except (RuleViolation, FieldErrors) as refused:
        context = _window_context(request, application, field_errors_of(refused))
        return render(request, "applications/window_application.html", context, status=422)
    messages.success(request, _("Application %(no)s accepted.") % {"no": tracking_no})
    return redirect("applications:window_index")


@require_POST
@permission_required(Permission.ACCEPT_APPLICATIONS)
def window_refuse(request: HttpRequest, tracking_no: str) -> HttpResponse:
    application = _window_application(request, tracking_no)
    reason = request.POST.get("reason", "").strip()
    reason_en = request.POST.get("reason_en", "").strip()
    errors: list[FieldError] = []
    if not reason:
        errors.append(
            FieldError(
                "reason",
                "required",
                "请填写不予受理的理由。",
                "Give the reasons for not accepting the application.",
            )
        )
    else:
        try:
            application_refuse(
                acting_user=_user(request), application=application, reason=reason, reason_en=reason_en
            )
        except (RuleViolation, FieldErrors) as refused:
            errors = field_errors_of(refused)
        else:
            messages.success(
                request,
                _("Application %(no)s not accepted; the applicant has been told why.") % {"no": tracking_no},
            )
            return redirect("applications:window_index")
    context = _window_context(request, application, errors, reason=reason, reason_en=reason_en)
    return render(request, "applications/window_application.html", context, status=422)


EXTRA_ITEM_ROWS = 3


def _supplement_items_from_post(
    request: HttpRequest, missing: list[SupplementItem]
) -> tuple[list[SupplementItem], list[FieldError]]:
    """The ticked items, always including every missing required one (一次性告知), plus the extra rows
    (each names a form field or a material and says what is wrong)."""
    items = list(missing)
    for value in sorted(set(request.POST.getlist("items"))):
        kind, _sep, code = value.partition(":")
        if kind == "material" and code and not any(item.material_code == code for item in items):
            items.append(
                SupplementItem(
                    material_code=code, reason="请补充提交该材料。", reason_en="Please submit this material."
                )
            )
    errors: list[FieldError] = []
    for row in range(1, EXTRA_ITEM_ROWS + 1):
        target = request.POST.get(f"extra_target_{row}", "")
        reason = request.POST.get(f"extra_reason_{row}", "").strip()
        kind, _sep, code = target.partition(":")
        if not reason and not target:
            continue
        if not code or kind not in ("field", "material"):
            errors.append(
                FieldError(
                    f"extra_target_{row}",
                    "required",
                    "请选择这一项涉及的表单项或材料。",
                    "Choose the form field or material this item is about.",
                )
            )
        elif not reason:
            errors.append(
                FieldError(
                    f"extra_reason_{row}",
                    "required",
                    "请说明需要补正的内容。",
                    "Say what must be corrected or supplied.",
                )
            )
        elif kind == "field":
            items.append(SupplementItem(field=code, reason=reason))
        else:
            items.append(SupplementItem(material_code=code, reason=reason))
    return items, errors


@require_POST
@permission_required(Permission.ACCEPT_APPLICATIONS)
def window_request_supplement(request: HttpRequest, tracking_no: str) -> HttpResponse:
    application = _window_application(request, tracking_no)
    items, errors = _supplement_items_from_post(request, selectors.application_missing_items(application))
    if not errors and not items:
        errors.append(
            FieldError(
                "extra_target_1",
                "required",
                "请至少列出一项需要补正的内容。",
                "List at least one thing the applicant must supply.",
            )
        )
    elif not errors:
        try:
            application_request_supplement(acting_user=_user(request), application=application, items=items)
        except (RuleViolation, FieldErrors) as refused:
            errors = field_errors_of(refused)
        else:
            messages.success(
                request, _("The applicant has been told everything that is missing, in one notice.")
            )
            return redirect("applications:window_index")
    context = _window_context(request, application, errors, posted=request.POST)
    return render(request, "applications/window_application.html", context, status=422)


# --- Walk-in (window) and village agent applications -------------------------------------------------


def _service_choices() -> list[tuple[str, str]]:
    choices: list[tuple[str, str]] = []
    for service in published_services():
        version = cast(ServiceVersion, service.current_version)
        choices.append((service.code, f"{_version_name(version)}（{service.code}）"))
    return choices


def _acting_service_point(user: User, role: Role) -> ServicePoint | None:
    for membership in active_memberships(user):
        if membership.role == role and membership.service_point_id is not None:
            return membership.service_point
    return None


def _identity_for(values: OnBehalfInput) -> Identity:
    resident = values.kind == "resident"
    return Identity(
        kind=values.kind,
        name=values.name,
        identifier=values.identifier,
        mobile=values.mobile,
        person_name=values.name if resident else "",
        person_id_number=values.identifier if resident else "",
    )


def _on_behalf_apply(request: HttpRequest, *, agent: bool) -> HttpResponse:
    """Step 1: the service and who it is for (ID checked / consent). Step 2: the form and materials."""
    user = _user(request)
    template = "applications/on_behalf_apply.html"
    base: dict[str, Any] = {"agent": agent, "service_choices": _service_choices()}
    if request.method == "GET":
        return render(
            request,
            template,
            {**base, "step": 1, "values": OnBehalfInput().as_context(), "errors": [], "field_errors": {}},
        )

    step = request.POST.get("step", "1")
    code = request.POST.get("service_code", "")
    values = on_behalf_from_post(request.POST, agent=agent)
    errors = list(values.errors)
    service: Service | None = None
    version: ServiceVersion | None = None
    if not code:
        errors.insert(0, FieldError("service_code", "required", "请选择办理事项。", "Choose a service."))
    else:
        try:
            service, version = published_service(code)
        except Http404:
            errors.insert(
                0,
                FieldError(
                    "service_code",
                    "not_found",
                    "该事项不存在或未发布。",
                    "There is no such published service.",
                ),
            )
    if agent and not errors and values.consent_method == "signed_form" and not values.consent_material_id:
        upload = request.FILES.get("consent_file")
        if upload is None:
            errors.append(
                FieldError(
                    "obo_consent_file",
                    "required",
                    "请上传申请人签字的代办委托书。",
                    "Upload the consent form the applicant signed.",
                )
            )
        else:
            try:
                consent = material_upload(
                    acting_user=user, uploaded_file=upload, material_code="agent_consent"
                )
            except RuleViolation as refused:
                errors.append(
                    FieldError("obo_consent_file", str(refused.code), refused.message_zh, refused.message_en)
                )
            else:
                values.consent_material_id = str(consent.pk)
    if errors or service is None or version is None:
        return render(
            request,
            template,
            {
                **base,
                "step": 1,
                "values": values.as_context(),
                "service_code": code,
                "errors": shown_errors(errors),
                "field_errors": errors_by_field(errors),
            },
            status=422 if step != "1" or request.method == "POST" else 200,
        )

    identity = _identity_for(values)
    held = materials_held(version.materials, identity)
    prefilled = prefill_form(version.form_schema, identity)
    uploaded: list[Material] = []
    if step == "1":
        submission_key = str(uuid.uuid4())
        data = dict(prefilled)
    else:
        submission_key = submission_key_from_post(request.POST)
        existing = (
            selectors.applications_for_user(user)
            .filter(submitted_by=user, idempotency_key=submission_key)
            .first()
        )
        if existing is not None:
            return redirect("applications:receipt", tracking_no=existing.tracking_no)
        data = form_data_from_post(version.form_schema, request.POST)
        new_ids, errors = _upload_files(request, user, _pending_codes(version, held))
        uploaded = _own_unattached_materials(user, [*material_ids_from_post(request.POST), *new_ids])
        if not errors:
            role = Role.VILLAGE_AGENT if agent else Role.WINDOW_CLERK
            try:
                application, _created = application_submit(
                    acting_user=user,
                    service_code=service.code,
                    form=data,
                    material_ids=[str(material.pk) for material in uploaded],
                    channel="agent" if agent else "window",
                    idempotency_key=submission_key,
                    on_behalf_of=OnBehalfOf(
                        name=values.name,
                        identifier=values.identifier,
                        kind=values.kind,
                        mobile=values.mobile,
                        id_checked=values.id_checked,
                        consent_method=values.consent_method if agent else "",
                        consent_reference=values.consent_reference if agent else "",
                        consent_material_id=(values.consent_material_id or None) if agent else None,
                    ),
                    service_point=_acting_service_point(user, role),
                )
            except (RuleViolation, FieldErrors) as refused:
                errors = field_errors_of(refused)
            else:
                return redirect("applications:receipt", tracking_no=application.tracking_no)
    return render(
        request,
        template,
        {
            **base,
            "step": 2,
            "service": service,
            "service_code": service.code,
            "service_name": _version_name(version),
            "values": values.as_context(),
            "masked_identifier": mask_id_number(values.identifier),
            "form_html": render_form(
                version.form_schema, data, errors, prefilled=_prefilled_keys(prefilled, data)
            ),
            "submission_key": submission_key,
            "errors": shown_errors(errors),
            "field_errors": errors_by_field(errors),
            **_materials_context(version, held, uploaded, errors),
        },
        status=422 if errors else 200,
    )


@require_http_methods(["GET", "POST"])
@permission_required(Permission.ACCEPT_APPLICATIONS)
def window_apply(request: HttpRequest) -> HttpResponse:
    return _on_behalf_apply(request, agent=False)


@require_http_methods(["GET", "POST"])
@permission_required(Permission.APPLY_AS_AGENT)
def agent_apply(request: HttpRequest) -> HttpResponse:
    return _on_behalf_apply(request, agent=True)


@require_safe
@permission_required(Permission.APPLY_AS_AGENT)
def agent_index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    applications = selectors.applications_for_user(user).filter(submitted_by=user).select_related("version")
    return render(
        request,
        "applications/agent_index.html",
        {
            "applications": [
                {
                    "application": app,
                    "name": _version_name(app.version),
                    "tag": _status_tag(app.status),
                    "masked_identifier": mask_id_number(app.applicant_identifier),
                }
                for app in applications
            ]
        },
    )


# --- Good/bad review follow-ups and statistics --------------------------------------------------------


def _follow_ups_context(
    request: HttpRequest, errors: list[FieldError] | None = None, **extra: Any
) -> dict[str, Any]:
    follow_ups = selectors.follow_ups_for_user(_user(request)).select_related("review__application")
    by_field = errors_by_field(errors or [])
    return {
        "rows": [
            {"follow_up": follow_up, "error": by_field.get(f"response-{follow_up.pk}", "")}
            for follow_up in follow_ups
        ],
        "errors": shown_errors(errors or []),
        **extra,
    }


@require_safe
@any_permission_required(Permission.HANDLE_TASKS, Permission.MANAGE_DEPARTMENT)
def follow_up_list(request: HttpRequest) -> HttpResponse:
    return render(request, "applications/follow_ups.html", _follow_ups_context(request))


@require_POST
@any_permission_required(Permission.HANDLE_TASKS, Permission.MANAGE_DEPARTMENT)
def follow_up_answer(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    follow_up = selectors.follow_up_for_user(user, pk)
    response = request.POST.get("response", "").strip()
    errors: list[FieldError] = []
    field = f"response-{pk}"
    if not response:
        errors.append(
            FieldError(
                field,
                "required",
                "请填写整改情况和答复。",
                "Describe what was done and the answer to the rater.",
            )
        )
    else:
        try:
            review_follow_up_answer(acting_user=user, follow_up=follow_up, response=response)
        except (RuleViolation, FieldErrors) as refused:
            errors = [
                FieldError(field, error.code, error.message_zh, error.message_en)
                for error in field_errors_of(refused)
            ]
        else:
            messages.success(request, _("Your answer has been recorded and sent to the rater."))
            return redirect("applications:follow_ups")
    return render(request, "applications/follow_ups.html", _follow_ups_context(request, errors), status=422)


def _stats_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = []
    for row in rows:
        name = pick(
            str(row.get("name") or row.get("key") or row.get("code") or ""), str(row.get("name_en") or "")
        )
        rate = float(row.get("bad_rate") or 0)
        shown.append({**row, "label": name, "bad_rate_percent": rate * 100 if rate <= 1 else rate})
    return shown


@require_safe
@any_permission_required(Permission.VIEW_DASHBOARDS, Permission.SUPERVISE)
def review_stats_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "applications/review_stats.html",
        {
            "tables": [
                {
                    "caption": _("Reviews by service"),
                    "heading": _("Service"),
                    "rows": _stats_rows(selectors.review_stats(user, by="service")),
                },
                {
                    "caption": _("Reviews by department"),
                    "heading": _("Department"),
                    "rows": _stats_rows(selectors.review_stats(user, by="department")),
                },
            ]
        },
    )
