"""Acceptance within the law (Administrative Licensing Law Art. 32): accept, refuse, ask for everything
missing in one notice (一次性告知), the applicant's supplement, withdrawal, and deemed acceptance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied
from onewindow.accounts.roles import Permission
from onewindow.applications.actions.common import (
    SupplementItem,
    applicant_notify,
    application_locked,
    application_transition,
    document_add,
    event_add,
    is_applicant_side,
    require_window,
    wrong_status,
)
from onewindow.applications.actions.extracts import verified_extracts_attach
from onewindow.applications.actions.submit import (
    _materials,
    application_accept_now,
    form_errors,
    materials_held_codes,
    missing_material_specs,
)
from onewindow.applications.models import (
    OPEN_STATUSES,
    Application,
    Document,
    Status,
    SupplementRequest,
)
from onewindow.applications.processing import (
    application_processing_stopped,
    application_processing_supplemented,
)
from onewindow.applications.tracking import china_date
from onewindow.audit.actions import audit_append
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.workcalendar.calendar import add_working_days


def application_accept(*, acting_user: User, application: Application) -> Application:
    """Accept a submitted application (window clerk, or a handler of the owning department).

    Sets ``accepted_at`` and the promised and statutory due dates in working days from today (Art. 42, 82)
    and starts the back-office processing.
    """
    require_window(acting_user, application)
    with transaction.atomic():
        locked = application_locked(application)
        if locked.status != Status.SUBMITTED:
            raise wrong_status(locked, "受理", "accepted")
        # Once-only: verified data of 免提交 materials the submission could not fetch yet.
        held = materials_held_codes(
            locked.version, locked.applicant_kind, locked.applicant_identifier, locked.applicant_name
        )
        verified_extracts_attach(application=locked, acting_user=acting_user, held=held)
        application_accept_now(
            locked, acting_user=acting_user, note="窗口受理", note_en="Accepted at the window"
        )
        applicant_notify(
            locked,
            kind="application_accepted",
            title=f"申请已受理（{locked.tracking_no}）",
            title_en=f"Application accepted ({locked.tracking_no})",
            body=f"承诺办结日期：{locked.due_date:%Y-%m-%d}。",
            body_en=f"Promised by {locked.due_date:%Y-%m-%d}.",
            also=[locked.submitted_by if locked.submitted_by_id != locked.applicant_id else None],
        )
        audit_append(
            action="application.accepted",
            acting_user=acting_user,
            object_type="application",
            object_id=locked.tracking_no,
            details={"due_date": str(locked.due_date), "statutory_due_date": str(locked.statutory_due_date)},
        )
    return locked


def application_refuse(
    *, acting_user: User, application: Application, reason: str, reason_en: str = ""
) -> Application:
    """Refuse to accept (不予受理) with the reasons, issuing a notice of non-acceptance (Art. 32)."""
    require_window(acting_user, application)
    reason = reason.strip()
    if not reason:
        raise FieldErrors(
            [FieldError("reason", "required", "请填写不予受理的理由。", "Give the reason for not accepting.")]
        )
    with transaction.atomic():
        locked = application_locked(application)
        if locked.status not in {Status.SUBMITTED, Status.SUPPLEMENT_REQUESTED}:
            raise wrong_status(locked, "作出不予受理决定", "refused")
        application_transition(locked, status=Status.NOT_ACCEPTED, pending_department_codes=[])
        event_add(locked, kind="not_accepted", actor=acting_user, note=reason, note_en=reason_en.strip())
        document_add(locked, Document.Kind.NOT_ACCEPTED_NOTICE, f"不予受理通知书 {locked.tracking_no}")
        applicant_notify(
            locked,
            kind="application_not_accepted",
            title=f"申请不予受理（{locked.tracking_no}）",
            title_en=f"Application not accepted ({locked.tracking_no})",
            body=f"理由：{reason}",
            body_en=f"Reason: {reason_en.strip() or reason}",
            also=[locked.submitted_by if locked.submitted_by_id != locked.applicant_id else None],
        )
        audit_append(
            action="application.not_accepted",
            acting_user=acting_user,
            object_type="application",
            object_id=locked.tracking_no,
            details={"reason": reason},
        )
    return locked


def supplement_items_clean(items: Sequence[SupplementItem]) -> list[SupplementItem]:
    errors: list[FieldError] = []
    cleaned: list[SupplementItem] = []
    for position, item in enumerate(items):
        if not (item.field.strip() or item.material_code.strip()):
            errors.append(
                FieldError(
                    f"items.{position}",
                    "item_target_required",
                    "每一项须指明表单项或材料。",
                    "Each item names a form field or a material.",
                )
            )
        elif not item.reason.strip():
            errors.append(
                FieldError(
                    f"items.{position}.reason",
                    "required",
                    "请说明需要补正的内容。",
                    "Say what must be corrected or supplied.",
                )
            )
        else:
            cleaned.append(
                SupplementItem(
                    field=item.field.strip(),
                    material_code=item.material_code.strip(),
                    reason=item.reason.strip(),
                    reason_en=item.reason_en.strip(),
                )
            )
    if errors:
        raise FieldErrors(errors)
    return cleaned


def supplement_notice_send(
    locked: Application, *, acting_user: User, items: Sequence[SupplementItem]
) -> SupplementRequest:
    """Record one notice listing ``items`` on the locked application and set ``supplement_requested``;
    issue the notice document and tell the applicant. Used at the window and by the back office."""
    now = timezone.now()
    request = SupplementRequest.objects.create(
        application=locked,
        items=[item.as_dict() for item in items],
        requested_by=acting_user,
        requested_at=now,
    )
    application_transition(locked, status=Status.SUPPLEMENT_REQUESTED)
    listing = "；".join(f"{index}. {item.reason}" for index, item in enumerate(items, start=1))
    listing_en = "; ".join(
        f"{index}. {item.reason_en or item.reason}" for index, item in enumerate(items, start=1)
    )
    event_add(
        locked,
        kind="supplement_requested",
        actor=acting_user,
        note=f"一次性告知需补正 {len(items)} 项：{listing}",
        note_en=f"Supplement requested, {len(items)} item(s): {listing_en}",
        at=now,
    )
    document_add(locked, Document.Kind.SUPPLEMENT_NOTICE, f"补正材料一次性告知书 {locked.tracking_no}")
    applicant_notify(
        locked,
        kind="application_supplement_requested",
        title=f"请补正材料（{locked.tracking_no}）",
        title_en=f"Please supply missing items ({locked.tracking_no})",
        body=listing,
        body_en=listing_en,
        also=[locked.submitted_by if locked.submitted_by_id != locked.applicant_id else None],
    )
    return request


def application_request_supplement(
    *, acting_user: User, application: Application, items: Sequence[SupplementItem]
) -> SupplementRequest:
    """Tell the applicant everything missing in ONE notice (一次性告知, Licensing Law Art. 32 (4)).

    Every required material still missing is always included, even when the clerk left it out; the
    notice becomes a "supplement_notice" document and the applicant is notified with the full list.
    """
    from onewindow.applications.selectors import application_missing_items

    require_window(acting_user, application)
    cleaned = supplement_items_clean(items)
    with transaction.atomic():
        locked = application_locked(application)
        if locked.status != Status.SUBMITTED:
            raise wrong_status(locked, "发出补正告知", "sent a supplement notice")
        named = {item.material_code for item in cleaned if item.material_code}
        everything = cleaned + [
            item for item in application_missing_items(locked) if item.material_code not in named
        ]
        if not everything:
            raise FieldErrors(
                [
                    FieldError(
                        "items",
                        "items_required",
                        "请列出需要补正的全部内容。",
                        "List everything the applicant must supply.",
                    )
                ]
            )
        request = supplement_notice_send(locked, acting_user=acting_user, items=everything)
        audit_append(
            action="application.supplement_requested",
            acting_user=acting_user,
            object_type="application",
            object_id=locked.tracking_no,
            details={"items": [item.as_dict() for item in everything]},
        )
    return request


def application_supplement(
    *,
    acting_user: User,
    application: Application,
    form: dict[str, Any] | None = None,
    material_ids: Sequence[str] = (),
) -> Application:
    """The applicant (or whoever submitted for them) answers the supplement notice.

    The form, when given, replaces the submitted one and is validated again; the application goes back to
    ``submitted`` and is accepted at once when the version accepts automatically and it is now complete.
    """
    if not is_applicant_side(acting_user, application):
        raise permission_denied(
            acting_user, Permission.APPLY, object_type="application", object_id=application.tracking_no
        )
    version = application.version
    if form is not None:
        errors = form_errors(version, form)
        if errors:
            raise FieldErrors(errors)
    with transaction.atomic():
        locked = application_locked(application)
        if locked.status != Status.SUPPLEMENT_REQUESTED:
            raise wrong_status(locked, "补正", "supplemented")
        materials = _materials(acting_user, material_ids)
        from onewindow.applications.actions.submit import _attach

        _attach(acting_user, locked, materials)
        now = timezone.now()
        # A notice sent during processing (the back office returned the case) sends it back to processing.
        in_processing = locked.accepted_at is not None
        changes: dict[str, Any] = {"status": Status.IN_PROGRESS if in_processing else Status.SUBMITTED}
        if form is not None:
            changes["form_data"] = form
        application_transition(locked, **changes)
        SupplementRequest.objects.filter(application=locked, answered_at__isnull=True).update(answered_at=now)
        event_add(
            locked,
            kind="supplemented",
            actor=acting_user,
            note=f"申请人已补正（新增材料 {len(materials)} 份）",
            note_en=f"Supplement received ({len(materials)} new material(s))",
            at=now,
        )
        if in_processing:
            application_processing_supplemented(locked, acting_user)
        held = materials_held_codes(
            version, locked.applicant_kind, locked.applicant_identifier, locked.applicant_name
        )
        attached = set(locked.materials.exclude(material_code="").values_list("material_code", flat=True))
        if (
            not in_processing
            and (version.auto_accept or version.case_type == "1")
            and not missing_material_specs(version, held, attached)
        ):
            application_accept_now(
                locked,
                acting_user=None,
                note="补正后材料齐全，系统自动受理",
                note_en="Complete: accepted automatically",
            )
        audit_append(
            action="application.supplemented",
            acting_user=acting_user,
            object_type="application",
            object_id=locked.tracking_no,
            details={"materials": len(materials), "form_changed": form is not None, "status": locked.status},
        )
    return locked


def application_withdraw(*, acting_user: User, application: Application, reason: str = "") -> Application:
    """The applicant (or the submitter) withdraws the application before a decision."""
    if not is_applicant_side(acting_user, application):
        raise permission_denied(
            acting_user, Permission.APPLY, object_type="application", object_id=application.tracking_no
        )
    with transaction.atomic():
        locked = application_locked(application)
        if locked.status not in OPEN_STATUSES:
            raise wrong_status(locked, "撤回", "withdrawn")
        was_processing = locked.status == Status.IN_PROGRESS or locked.accepted_at is not None
        application_transition(locked, status=Status.WITHDRAWN, pending_department_codes=[])
        if was_processing:
            application_processing_stopped(locked)
        event_add(
            locked,
            kind="withdrawn",
            actor=acting_user,
            note=f"申请人撤回申请。{reason.strip()}".strip(),
            note_en=f"Withdrawn by the applicant. {reason.strip()}".strip(),
        )
        applicant_notify(
            locked,
            kind="application_withdrawn",
            title=f"申请已撤回（{locked.tracking_no}）",
            title_en=f"Application withdrawn ({locked.tracking_no})",
            also=[locked.submitted_by if locked.submitted_by_id != locked.applicant_id else None],
        )
        audit_append(
            action="application.withdrawn",
            acting_user=acting_user,
            object_type="application",
            object_id=locked.tracking_no,
            details={"reason": reason.strip()},
        )
    return locked


def _deemed_since(application: Application) -> datetime:
    """When the clock of Art. 32 started: receipt, or the last answered supplement notice."""
    answered = [
        request.answered_at for request in application.supplement_requests.all() if request.answered_at
    ]
    return max([application.submitted_at, *answered])


def applications_deem_accepted(*, now: datetime | None = None) -> int:
    """Accept every application left without a notice for more than ``ACCEPTANCE_DEEMED_DAYS`` working days.

    Administrative Licensing Law Art. 32: if the applicant is not told within five days what is missing, the
    application counts as accepted from the day it was received; ``accepted_at`` is that moment.
    """
    now = now or timezone.now()
    today = china_date(now)
    days = settings.ACCEPTANCE_DEEMED_DAYS
    # Working days are never fewer than calendar days, so older than ``days`` calendar days is a safe filter.
    candidates = (
        Application.objects.filter(status=Status.SUBMITTED, submitted_at__lt=now - timedelta(days=days))
        .prefetch_related("supplement_requests")
        .only("pk", "row_version", "submitted_at", "tracking_no")
    )
    count = 0
    for candidate in candidates:
        since = _deemed_since(candidate)
        if add_working_days(china_date(since), days) >= today:
            continue
        with transaction.atomic():
            try:
                locked = application_locked(candidate)
            except RuleViolation:
                continue
            if locked.status != Status.SUBMITTED:
                continue
            application_accept_now(
                locked,
                acting_user=None,
                note=f"{days}个工作日内未告知补正，依法视为自收到申请之日起受理（《行政许可法》第三十二条）",
                note_en=(
                    f"No notice within {days} working days: deemed accepted on receipt "
                    "(Administrative Licensing Law Art. 32)"
                ),
                accepted_at=since,  # Art. 32: accepted from the day the application was received
            )
            applicant_notify(
                locked,
                kind="application_accepted",
                title=f"申请已依法视为受理（{locked.tracking_no}）",
                title_en=f"Application deemed accepted ({locked.tracking_no})",
            )
            audit_append(
                action="application.deemed_accepted",
                acting_user=None,
                actor_username="system",
                object_type="application",
                object_id=locked.tracking_no,
                details={"since": since.isoformat(), "working_days": days},
            )
        count += 1
    return count
