"""Reads of sharing requests and grants, each with its access rule, and the exchange's ``grant_check``.

Who sees what:

* staff acting for a department (its handlers and administrators) see the requests and grants their
  department made or received;
* system administrators see every request and grant (they may revoke grants);
* everyone else is refused (audited ``permission.denied``).

A request or grant outside what the caller sees answers 404, as if it did not exist.

``grant_check`` is not a user's read: it is the question the exchange (issue #8) asks before it passes
data from a provider to a consumer, and it answers only with the grant that allows it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.applications.tracking import china_date
from onewindow.catalog.models import (
    Grant,
    GrantStatus,
    InformationSystem,
    ResourceStatus,
    ShareRequest,
    ShareRequestStatus,
)
from onewindow.catalog.selectors import audience_of
from onewindow.organisations.models import Department

BOXES = ("received", "sent")


def staff_department_codes(user: User) -> frozenset[str]:
    """The departments ``user`` acts for as handler or administrator."""
    return audience_of(user).department_codes


def managed_departments(user: User) -> list[Department]:
    """The departments ``user`` administers (for which they may request and decide), by code."""
    codes = [
        code
        for code in staff_department_codes(user)
        if user_has_permission(user, Permission.MANAGE_DEPARTMENT, department_code=code)
    ]
    return list(Department.objects.filter(code__in=codes, is_active=True).order_by("code"))


def _scope(user: User, object_type: str) -> frozenset[str] | None:
    """None: everything (system administrators); else the user's departments; refused when none."""
    if user_has_permission(user, Permission.MANAGE_SYSTEM):
        return None
    codes = staff_department_codes(user)
    if not codes:
        raise permission_denied(user, Permission.HANDLE_TASKS, object_type=object_type)
    return codes


def share_requests_for_user(user: User, *, box: str = "", status: str = "") -> QuerySet[ShareRequest]:
    """Requests the user's departments received (``box="received"``) or made (``"sent"``), or both;
    the answer-due ones first, then the newest."""
    scope = _scope(user, "catalog_share_request")
    requests = ShareRequest.objects.select_related(
        "resource", "version", "consumer", "provider", "system", "requested_by", "decided_by"
    )
    if scope is not None:
        received, sent = Q(provider__code__in=scope), Q(consumer__code__in=scope)
        requests = requests.filter(
            received if box == "received" else sent if box == "sent" else received | sent
        )
    elif box in BOXES:
        pass  # a system administrator's boxes are the whole list
    if status:
        requests = requests.filter(status=status)
    return requests.order_by("-requested_at", "-id")


def share_request_for_user(user: User, request_id: int) -> ShareRequest:
    request = share_requests_for_user(user).filter(pk=request_id).first()
    if request is None:
        raise Http404(str(request_id))
    return request


def pending_received_count(user: User) -> int:
    """How many requests wait for an answer from the departments ``user`` administers (0 for others)."""
    codes = [department.code for department in managed_departments(user)]
    if not codes:
        return 0
    return ShareRequest.objects.filter(provider__code__in=codes, status=ShareRequestStatus.PENDING).count()


def grants_for_user(user: User, *, consumer: str = "", active_only: bool = False) -> QuerySet[Grant]:
    """Grants to or from the user's departments (all for system administrators); ``consumer`` is a
    department code."""
    scope = _scope(user, "catalog_grant")
    grants = Grant.objects.select_related("resource", "version", "consumer", "provider", "system", "request")
    if scope is not None:
        grants = grants.filter(Q(provider__code__in=scope) | Q(consumer__code__in=scope))
    if consumer:
        grants = grants.filter(consumer__code=consumer.strip())
    if active_only:
        grants = grants.filter(status=GrantStatus.ACTIVE, expires_on__gte=china_date(timezone.now()))
    return grants.order_by("-granted_at", "-id")


def grant_for_user(user: User, grant_id: int) -> Grant:
    grant = grants_for_user(user).filter(pk=grant_id).first()
    if grant is None:
        raise Http404(str(grant_id))
    return grant


def grant_is_active(grant: Grant, today: date | None = None) -> bool:
    """Not revoked and not past its expiry (the expiry day itself still counts)."""
    today = today or china_date(timezone.now())
    return grant.status == GrantStatus.ACTIVE and grant.expires_on >= today


def grant_check(
    consumer_department_code: str,
    resource_code: str,
    items: Iterable[str],
    system: InformationSystem | str | None = None,
    *,
    today: date | None = None,
) -> Grant | None:
    """The active grant that lets ``consumer_department_code`` (or its ``system``) receive ``items`` (data
    item names) of ``resource_code``, or None — what the exchange enforces.

    A grant made for one system covers that system only; a grant made for the department (no system)
    covers the department and every one of its systems. Every item must be in one grant; a revoked or
    expired grant, or a withdrawn resource, allows nothing. Two queries at most.
    """
    wanted = set(items)
    if not wanted:
        return None
    today = today or china_date(timezone.now())
    grants = Grant.objects.filter(
        consumer__code=consumer_department_code,
        resource__code=resource_code,
        resource__status=ResourceStatus.ACTIVE,
        status=GrantStatus.ACTIVE,
        expires_on__gte=today,
    )
    if system is None:
        grants = grants.filter(system__isnull=True)
    else:
        system_code = system.code if isinstance(system, InformationSystem) else system
        grants = grants.filter(Q(system__isnull=True) | Q(system__code=system_code))
    for grant in grants.order_by("-expires_on", "-id"):
        if wanted <= set(grant.item_names):
            return grant
    return None
