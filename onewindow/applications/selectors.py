"""Reads that cross a trust boundary: who may read an application, the queues, timelines and statistics."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, Q, QuerySet
from django.http import Http404

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission, user_roles
from onewindow.accounts.roles import Permission
from onewindow.applications.actions.common import SupplementItem
from onewindow.applications.models import (
    Application,
    ApplicationEvent,
    Document,
    Review,
    ReviewFollowUp,
    Status,
)
from onewindow.audit.actions import audit_append
from onewindow.organisations.models import Department
from onewindow.services.models import Service

# Window clerks see a case while it waits at the window (and later only if they acted on it).
WINDOW_STATUSES = frozenset({Status.SUBMITTED, Status.SUPPLEMENT_REQUESTED})
DEPARTMENT_READ = (Permission.HANDLE_TASKS, Permission.MANAGE_DEPARTMENT)


class TimelineEntry(TypedDict):
    at: str
    status: str
    department_code: str
    note: str
    note_en: str
    kind: str


def _authenticated(user: object) -> User | None:
    if isinstance(user, User) and user.is_authenticated and user.is_active:
        return user
    return None


def user_department_codes(user: User, permissions: tuple[Permission, ...] = DEPARTMENT_READ) -> set[str]:
    """Departments in which the user holds one of ``permissions`` (through a department role)."""
    from onewindow.accounts.roles import ROLE_PERMISSIONS

    return {
        grant.department_code
        for grant in user_roles(user)
        if grant.department_code
        and any(permission in ROLE_PERMISSIONS[grant.role] for permission in permissions)
    }


def application_readable(user: object, application: Application) -> bool:
    """Who may read an application and its files.

    The applicant, whoever submitted it (their agent or the window clerk), handlers and admins of a
    department involved, and window clerks while it waits at the window or when they acted on it. Nobody
    else: not leaders, auditors, supervisors, system administrators, other departments or other agents.
    """
    reader = _authenticated(user)
    if reader is None:
        return False
    if reader.pk in {application.applicant_id, application.submitted_by_id}:
        return True
    if user_department_codes(reader) & set(application.department_codes or []):
        return True
    if user_has_permission(reader, Permission.ACCEPT_APPLICATIONS):
        if application.status in WINDOW_STATUSES:
            return True
        return ApplicationEvent.objects.filter(application=application, actor=reader).exists()
    return False


def application_for_user(user: object, tracking_no: str) -> Application:
    """The application if ``user`` may read it; Http404 when missing and when not readable (audited)."""
    application = (
        Application.objects.select_related("service__department", "version", "applicant", "submitted_by")
        .filter(tracking_no=tracking_no)
        .first()
    )
    if application is None:
        raise Http404(tracking_no)
    if not application_readable(user, application):
        reader = _authenticated(user)
        audit_append(
            action="application.read_denied",
            acting_user=reader,
            outcome="denied",
            object_type="application",
            object_id=tracking_no,
            details={},
        )
        raise Http404(tracking_no)
    return application


def applications_for_user(user: object) -> QuerySet[Application]:
    """The user's own applications: as applicant or as submitter, newest first."""
    reader = _authenticated(user)
    if reader is None:
        return Application.objects.none()
    return (
        Application.objects.filter(Q(applicant=reader) | Q(submitted_by=reader))
        .select_related("service", "version")
        .order_by("-submitted_at")
    )


def acceptance_queue(user: object) -> QuerySet[Application]:
    """Applications waiting for acceptance (new, and supplemented ones back at ``submitted``).

    Window clerks see all of them; handlers only those of services their department owns.
    """
    reader = _authenticated(user)
    queue = Application.objects.filter(status=Status.SUBMITTED).select_related("service", "version")
    if reader is not None and user_has_permission(reader, Permission.ACCEPT_APPLICATIONS):
        return queue.order_by("submitted_at")
    departments = user_department_codes(reader, (Permission.HANDLE_TASKS,)) if reader else set()
    if not departments:
        raise permission_denied(reader or AnonymousUser(), Permission.ACCEPT_APPLICATIONS)
    return queue.filter(service__department__code__in=departments).order_by("submitted_at")


def application_timeline(application: Application, *, applicant_view: bool = True) -> list[TimelineEntry]:
    """The application's steps in order; the applicant's view leaves out internal steps."""
    events = application.events.all()
    if applicant_view:
        events = events.filter(visible_to_applicant=True)
    return [
        TimelineEntry(
            at=event.at.isoformat(),
            status=event.status,
            department_code=event.department_code,
            note=event.note,
            note_en=event.note_en,
            kind=event.kind,
        )
        for event in events
    ]


def application_documents(application: Application) -> list[Document]:
    """Documents issued on the application (receipt, notices, decision letter, licences), oldest first."""
    return list(application.documents.all())


def application_document(application: Application, document_id: int) -> Document:
    """One document of an application the caller may read (Http404 otherwise)."""
    document = application.documents.filter(pk=document_id).first()
    if document is None:
        raise Http404(str(document_id))
    return document


def application_missing_items(application: Application) -> list[SupplementItem]:
    """Every required material still missing: not held by the government and none attached of its code."""
    from onewindow.applications.actions.submit import materials_held_codes, missing_material_specs

    version = application.version
    held = materials_held_codes(
        version, application.applicant_kind, application.applicant_identifier, application.applicant_name
    )
    attached = set(application.materials.exclude(material_code="").values_list("material_code", flat=True))
    return [
        SupplementItem(
            material_code=str(spec.get("code", "")),
            reason=f"缺少材料：{spec.get('name', spec.get('code', ''))}",
            reason_en=f"Missing material: {spec.get('name_en') or spec.get('name') or spec.get('code', '')}",
        )
        for spec in missing_material_specs(version, held, attached)
    ]


def follow_ups_for_user(user: object) -> QuerySet[ReviewFollowUp]:
    """Bad-review follow-ups of the departments the user handles or manages (open first, by due date)."""
    reader = _authenticated(user)
    departments = user_department_codes(reader) if reader else set()
    if not departments:
        raise permission_denied(
            reader or AnonymousUser(), Permission.HANDLE_TASKS, object_type="review_follow_up"
        )
    return (
        ReviewFollowUp.objects.filter(department__code__in=departments)
        .select_related("review__application", "department")
        .order_by("-status", "due_date", "pk")
    )


def follow_up_for_user(user: object, follow_up_id: int) -> ReviewFollowUp:
    """One follow-up of the user's departments (Http404 for others')."""
    follow_up = follow_ups_for_user(user).filter(pk=follow_up_id).first()
    if follow_up is None:
        raise Http404(str(follow_up_id))
    return follow_up


def review_stats(user: object, *, by: Literal["service", "department"]) -> list[dict[str, Any]]:
    """Ratings per service or per department (leaders and supervisors): count, average, bad count and rate."""
    reader = _authenticated(user)
    if reader is None or not (
        user_has_permission(reader, Permission.VIEW_DASHBOARDS)
        or user_has_permission(reader, Permission.SUPERVISE)
    ):
        raise permission_denied(
            reader or AnonymousUser(), Permission.VIEW_DASHBOARDS, object_type="review_stats"
        )
    if by not in {"service", "department"}:
        raise PermissionDenied(by)  # pragma: no cover - the API validates it
    key = "service_code" if by == "service" else "department_code"
    rows = (
        Review.objects.values(key)
        .annotate(count=Count("pk"), average=Avg("score"), bad=Count("pk", filter=Q(score__lte=2)))
        .order_by(key)
    )
    names = _stat_names(by, [row[key] for row in rows])
    # Keys: code (service or department code), name, name_en, count, average_score, bad_count, bad_rate.
    return [
        {
            "code": row[key],
            "name": names.get(row[key], (row[key], ""))[0],
            "name_en": names.get(row[key], (row[key], ""))[1],
            "count": row["count"],
            "average_score": round(float(row["average"] or 0), 2),
            "bad_count": row["bad"],
            "bad_rate": round(row["bad"] / row["count"], 4) if row["count"] else 0.0,
        }
        for row in rows
    ]


def _stat_names(by: str, codes: list[str]) -> dict[str, tuple[str, str]]:
    if by == "department":
        return {
            code: (name, name_en)
            for code, name, name_en in Department.objects.filter(code__in=codes).values_list(
                "code", "name", "name_en"
            )
        }
    return {
        code: (name or code, name_en or "")
        for code, name, name_en in Service.objects.filter(code__in=codes).values_list(
            "code", "current_version__name", "current_version__name_en"
        )
    }
