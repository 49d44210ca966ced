"""The decision on an accepted application: by a handler of a department involved, or the back office."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.applications.actions.common import (
    applicant_notify,
    application_locked,
    application_transition,
    document_add,
    event_add,
    wrong_status,
)
from onewindow.applications.models import Application, Document, Status
from onewindow.audit.actions import audit_append
from onewindow.core.errors import FieldError, FieldErrors

OUTCOMES: dict[str, tuple[str, str]] = {
    Status.APPROVED: ("准予", "approved"),
    Status.REJECTED: ("不予", "rejected"),
}


def application_decide(
    *,
    acting_user: User | None,
    application: Application,
    outcome: str,
    reason: str = "",
    results: dict[str, Any] | None = None,
) -> Application:
    """Record the decision (``approved`` or ``rejected``, the latter with a reason) and issue its letter.

    ``acting_user`` is a handler in one of the application's departments, or None for the back-office
    engine. Only from ``accepted`` or ``in_progress``.
    """
    if acting_user is not None and not any(
        user_has_permission(acting_user, Permission.HANDLE_TASKS, department_code=code)
        for code in application.department_codes
    ):
        raise permission_denied(
            acting_user, Permission.HANDLE_TASKS, object_type="application", object_id=application.tracking_no
        )
    if outcome not in OUTCOMES:
        raise FieldErrors(
            [FieldError("outcome", "invalid", "决定应为准予或不予。", "The outcome is approved or rejected.")]
        )
    reason = reason.strip()
    if outcome == Status.REJECTED and not reason:
        raise FieldErrors(
            [FieldError("reason", "required", "不予许可须说明理由。", "A rejection needs a reason.")]
        )
    with transaction.atomic():
        locked = application_locked(application)
        if locked.status not in {Status.ACCEPTED, Status.IN_PROGRESS}:
            raise wrong_status(locked, "作出决定", "decided")
        now = timezone.now()
        decision = {
            "outcome": outcome,
            "reason": reason,
            "decided_at": now.isoformat(),
            "results": results or {},
        }
        application_transition(
            locked, status=outcome, decided_at=now, decision=decision, pending_department_codes=[]
        )
        name_zh, name_en = OUTCOMES[outcome]
        event_add(
            locked,
            kind="decided",
            actor=acting_user,
            note=f"作出{name_zh}决定。{reason}".strip(),
            note_en=f"Decision: {name_en}. {reason}".strip(),
            at=now,
        )
        document_add(locked, Document.Kind.DECISION, f"决定书 {locked.tracking_no}")
        applicant_notify(
            locked,
            kind="application_decided",
            title=f"申请已办结：{name_zh}（{locked.tracking_no}）",
            title_en=f"Decision on your application: {name_en} ({locked.tracking_no})",
            body=reason,
            body_en=reason,
            also=[locked.submitted_by if locked.submitted_by_id != locked.applicant_id else None],
        )
        audit_append(
            action="application.decided",
            acting_user=acting_user,
            actor_username="" if acting_user else "back-office",
            object_type="application",
            object_id=locked.tracking_no,
            details={"outcome": outcome, "reason": reason},
        )
    return locked
