"""Shared pieces of the application actions: the status-change guard, timeline events, notifications."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import F
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.applications.models import Application, ApplicationEvent, Document, Status
from onewindow.applications.tracking import china_date
from onewindow.core.errors import RuleViolation
from onewindow.notifications.actions import notification_send
from onewindow.workcalendar.calendar import add_working_days


@dataclass(frozen=True)
class SupplementItem:
    """One thing the applicant must supply: a form property (``field``) or a material (``material_code``)."""

    field: str = ""
    material_code: str = ""
    reason: str = ""
    reason_en: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "field": self.field,
            "material_code": self.material_code,
            "reason": self.reason,
            "reason_en": self.reason_en,
        }


STATUS_NAMES: dict[str, tuple[str, str]] = {
    Status.SUBMITTED: ("已提交", "submitted"),
    Status.ACCEPTED: ("已受理", "accepted"),
    Status.NOT_ACCEPTED: ("不予受理", "not accepted"),
    Status.SUPPLEMENT_REQUESTED: ("待补正", "waiting for a supplement"),
    Status.IN_PROGRESS: ("办理中", "in progress"),
    Status.APPROVED: ("已办结（准予）", "approved"),
    Status.REJECTED: ("已办结（不予）", "rejected"),
    Status.WITHDRAWN: ("已撤回", "withdrawn"),
}


def wrong_status(application: Application, action_zh: str, action_en: str) -> RuleViolation:
    """The 409 for an action that the application's current status does not allow."""
    name_zh, name_en = STATUS_NAMES.get(application.status, (application.status, application.status))
    return RuleViolation(
        "application_wrong_status",
        f"办件 {application.tracking_no} 当前状态为“{name_zh}”，不能{action_zh}。",
        f"Application {application.tracking_no} is {name_en}; it cannot be {action_en}.",
        status=409,
    )


def application_locked(application: Application) -> Application:
    """Lock the application's row; refuse (409) if it changed since the caller read it.

    The caller's copy carries the ``row_version`` it saw; the locked copy is returned and must be the one
    changed and passed to :func:`application_transition`.
    """
    fresh = (
        Application.objects.select_for_update(of=("self",))
        .select_related("service__department", "version", "applicant")
        .get(pk=application.pk)
    )
    if fresh.row_version != application.row_version:
        raise RuleViolation(
            "application_changed",
            f"办件 {application.tracking_no} 已被他人修改，请刷新后重试。",
            f"Application {application.tracking_no} was changed by someone else; reload it and try again.",
            status=409,
        )
    return fresh


def application_transition(application: Application, **changes: Any) -> None:
    """Write ``changes`` to the locked application, bumping ``row_version`` (guarded: a stale write fails)."""
    now = timezone.now()
    updated = Application.objects.filter(pk=application.pk, row_version=application.row_version).update(
        **changes, row_version=F("row_version") + 1, updated_at=now
    )
    if updated != 1:
        raise RuleViolation(
            "application_changed",
            f"办件 {application.tracking_no} 已被他人修改，请刷新后重试。",
            f"Application {application.tracking_no} was changed by someone else; reload it and try again.",
            status=409,
        )
    for name, value in changes.items():
        setattr(application, name, value)
    application.row_version += 1
    application.updated_at = now


def event_add(
    application: Application,
    *,
    kind: str,
    actor: User | None,
    note: str = "",
    note_en: str = "",
    department_code: str = "",
    visible_to_applicant: bool = True,
    at: datetime | None = None,
) -> ApplicationEvent:
    """Append a step to the application's timeline (with the application's current status)."""
    return ApplicationEvent.objects.create(
        application=application,
        at=at or timezone.now(),
        kind=kind,
        status=application.status,
        actor=actor,
        department_code=department_code,
        note=note,
        note_en=note_en,
        visible_to_applicant=visible_to_applicant,
    )


def document_add(application: Application, kind: str, name: str) -> Document:
    """Record a document issued on the application; its PDF is rendered on first download."""
    return Document.objects.create(application=application, kind=kind, name=name[:200])


def application_link(application: Application) -> str:
    return f"/applications/{application.tracking_no}/"


def applicant_notify(
    application: Application,
    *,
    kind: str,
    title: str,
    title_en: str,
    body: str = "",
    body_en: str = "",
    also: Iterable[User | None] = (),
) -> None:
    """Notify the applicant's account (when linked) and, once each, anyone in ``also`` (e.g. the agent)."""
    recipients: dict[int, User] = {}
    applicant = application.applicant
    if applicant is not None:
        recipients[applicant.pk] = applicant
    for user in also:
        if user is not None:
            recipients.setdefault(user.pk, user)
    for user in recipients.values():
        notification_send(
            user=user,
            kind=kind,
            title=title,
            title_en=title_en,
            body=body,
            body_en=body_en,
            link=application_link(application),
            object_type="application",
            object_id=application.tracking_no,
            sms=True,
        )


def due_dates(application: Application, accepted_on: date) -> tuple[date, date]:
    """Promised and statutory due dates, in working days from acceptance (Licensing Law Art. 42, 82)."""
    version = application.version
    return (
        add_working_days(accepted_on, version.promised_days),
        add_working_days(accepted_on, version.statutory_days),
    )


def accept_fields(application: Application, accepted_at: datetime) -> dict[str, Any]:
    """The fields an acceptance sets (status, time and due dates)."""
    promised, statutory = due_dates(application, china_date(accepted_at))
    return {
        "status": Status.ACCEPTED,
        "accepted_at": accepted_at,
        "due_date": promised,
        "statutory_due_date": statutory,
    }


def may_act_at_window(user: User, application: Application) -> bool:
    """Window clerks, and handlers (or admins) of the department that owns the service."""
    return user_has_permission(user, Permission.ACCEPT_APPLICATIONS) or user_has_permission(
        user, Permission.HANDLE_TASKS, department_code=application.service.department.code
    )


def require_window(user: User, application: Application) -> None:
    if not may_act_at_window(user, application):
        raise permission_denied(
            user,
            Permission.ACCEPT_APPLICATIONS,
            object_type="application",
            object_id=application.tracking_no,
        )


def is_applicant_side(user: User, application: Application) -> bool:
    """The applicant themself, or whoever submitted it for them (window clerk, village agent)."""
    return user.pk in {application.applicant_id, application.submitted_by_id}
