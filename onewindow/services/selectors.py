"""Reads of the service catalog, each with its access rule.

Published services and their guides are public (anyone may look a service up before signing in). The
catalog administration reads are for the administrators of the owning department only
(``Permission.MANAGE_DEPARTMENT`` in that department); other callers are refused and the refusal audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from onewindow.accounts.models import User
from onewindow.accounts.permissions import require_permission, user_roles
from onewindow.accounts.roles import ROLE_PERMISSIONS, Permission
from onewindow.organisations.models import Department
from onewindow.services.models import (
    BundleComponent,
    LifeEvent,
    Service,
    ServiceKind,
    ServiceVersion,
    VersionStatus,
)
from onewindow.services.search import search_service_ids

# --- Public ----------------------------------------------------------------------------------------------


def _published() -> QuerySet[Service]:
    return Service.objects.filter(
        current_version__isnull=False, current_version__status=VersionStatus.PUBLISHED
    ).select_related("current_version", "department")


def published_services(
    *,
    audience: str | None = None,
    department_code: str | None = None,
    query: str | None = None,
    life_event: str | None = None,
) -> list[Service]:
    """Published services (each with ``current_version`` and ``department`` loaded), filtered.

    ``query`` is searched in full text (see ``services.search``): the best matches first, ties by code;
    without a query the list is by code. ``audience`` is ``resident`` or ``enterprise`` (a service for both
    is in either list). At most two queries whatever the number of services.
    """
    services = _published()
    if department_code:
        services = services.filter(department__code=department_code)
    if life_event:
        services = services.filter(life_events__code=life_event)
    relevance = search_service_ids(query) if query and query.strip() else None
    if relevance is not None:
        if not relevance:
            return []
        services = services.filter(pk__in=list(relevance))
    found = [
        service
        for service in services.order_by("code")
        if not audience or audience in (service.current_version.audience or [])  # type: ignore[union-attr]
    ]
    if relevance is not None:
        found.sort(key=lambda service: (-relevance[service.pk], service.code))
    return found


# A published version never changes (the actions refuse), so each process keeps the ones it has loaded;
# which version is current is still read every time, with one narrow query. The key carries the
# version's creation time too, so a reused primary key (SQLite reuses them after a rollback) never matches.
_PUBLISHED_CACHE_SIZE = 512
_published_cache: dict[tuple[int, int, datetime], tuple[Service, ServiceVersion]] = {}
_department_codes_cache: dict[tuple[int, datetime], list[str]] = {}


def published_service(code: str) -> tuple[Service, ServiceVersion]:
    """A published service and its current version, or 404 (the objects are shared: do not modify)."""
    row = (
        Service.objects.filter(code=code, current_version__status=VersionStatus.PUBLISHED)
        .order_by()
        .values_list("pk", "current_version_id", "current_version__created_at")[:1]
    )
    found = list(row)
    if not found or found[0][1] is None:
        raise Http404(code)
    key = found[0]
    cached = _published_cache.get(key)
    if cached is None:
        service = _published().filter(pk=key[0]).first()
        if service is None or service.current_version is None:
            raise Http404(code)
        if len(_published_cache) >= _PUBLISHED_CACHE_SIZE:
            _published_cache.clear()
        cached = _published_cache[key] = (service, service.current_version)
    return cached


def published_cache_clear() -> None:
    """Forget the published versions this process has loaded (tests that edit rows behind the actions)."""
    _published_cache.clear()
    _department_codes_cache.clear()


def version_components(version: ServiceVersion) -> list[ServiceVersion]:
    """A bundle version's component item versions in order (with service and department); [] for an item."""
    links = BundleComponent.objects.filter(bundle_version=version).select_related(
        "item_version__service__department"
    )
    return [link.item_version for link in links]


def version_department_codes(version: ServiceVersion) -> list[str]:
    """The departments that act on an application for ``version``.

    An item: its owning department. A bundle: its components' owning departments in component order,
    each once (the bundle's own department too when no component belongs to it is not added: the
    components are the work).
    """
    if version.service.kind != ServiceKind.BUNDLE:
        return [version.service.department.code]
    # A published bundle's components are fixed: each process reads them once.
    key = (version.pk, version.created_at)
    published = version.status == VersionStatus.PUBLISHED
    if published and key in _department_codes_cache:
        return list(_department_codes_cache[key])
    codes = BundleComponent.objects.filter(bundle_version=version).values_list(
        "item_version__service__department__code", flat=True
    )
    department_codes = list(dict.fromkeys(codes))
    if published:
        if len(_department_codes_cache) >= _PUBLISHED_CACHE_SIZE:
            _department_codes_cache.clear()
        _department_codes_cache[key] = department_codes
    return list(department_codes)


def life_events_with_services() -> list[LifeEvent]:
    """Life events that have at least one published service, in display order."""
    return list(
        LifeEvent.objects.filter(services__current_version__status=VersionStatus.PUBLISHED).distinct()
    )


def departments_with_services() -> list[Department]:
    """Departments owning at least one published service, by code."""
    return list(
        Department.objects.filter(services__current_version__status=VersionStatus.PUBLISHED)
        .distinct()
        .order_by("code")
    )


def life_event_by_code(code: str) -> LifeEvent:
    event = LifeEvent.objects.filter(code=code).first()
    if event is None:
        raise Http404(code)
    return event


@dataclass(frozen=True)
class GuideMaterial:
    """A material of a guide, with whether the signed-in applicant need not submit it (免提交)."""

    spec: dict[str, Any]
    no_need_to_submit: bool


def materials_for_applicant(
    version: ServiceVersion, user: User | AnonymousUser | None
) -> list[GuideMaterial]:
    """The version's materials, each marked 免提交 when the government already holds it for ``user``.

    Only a signed-in resident or enterprise representative can be matched; for anyone else nothing is
    marked.
    """
    materials: list[dict[str, Any]] = list(version.materials or [])
    held: set[str] = set()
    if isinstance(user, User) and user.is_authenticated:
        from onewindow.forms.prefill import Identity, materials_held

        held = materials_held(materials, Identity.of_user(user))
    return [GuideMaterial(material, str(material.get("code", "")) in held) for material in materials]


# --- Department administrators ----------------------------------------------------------------------------


def managed_department_codes(user: User | AnonymousUser) -> list[str]:
    """The departments whose catalog ``user`` administers (MANAGE_DEPARTMENT held there)."""
    return sorted(
        {
            grant.department_code
            for grant in user_roles(user)
            if grant.department_code and Permission.MANAGE_DEPARTMENT in ROLE_PERMISSIONS[grant.role]
        }
    )


def services_for_admin(user: User | AnonymousUser) -> QuerySet[Service]:
    """The services of the departments ``user`` administers; refused (audited) for anyone else."""
    manager = require_permission(user, Permission.MANAGE_DEPARTMENT, object_type="service")
    latest = ServiceVersion.objects.order_by("-number")
    return (
        Service.objects.filter(department__code__in=managed_department_codes(manager))
        .select_related("department", "current_version")
        .prefetch_related(Prefetch("versions", queryset=latest))
        .order_by("code")
    )


def service_for_admin(user: User | AnonymousUser, code: str) -> Service:
    """One service for its department's administrator: 404 if there is none, refused (audited) if theirs
    it is not."""
    service = Service.objects.select_related("department", "current_version").filter(code=code).first()
    if service is None:
        raise Http404(code)
    require_permission(
        user,
        Permission.MANAGE_DEPARTMENT,
        department_code=service.department.code,
        object_type="service",
        object_id=code,
    )
    return service


def service_versions(service: Service) -> list[ServiceVersion]:
    """A service's versions, newest first (the caller has passed an access check for ``service``)."""
    return list(service.versions.select_related("service__department").order_by("-number"))


def service_draft(service: Service) -> ServiceVersion | None:
    return (
        service.versions.select_related("service__department")
        .filter(status=VersionStatus.DRAFT)
        .order_by("-number")
        .first()
    )


def service_version_for_admin(user: User | AnonymousUser, code: str, number: int) -> ServiceVersion:
    service = service_for_admin(user, code)
    version = service.versions.select_related("service__department").filter(number=number).first()
    if version is None:
        raise Http404(f"{code} v{number}")
    return version


def admin_departments(user: User | AnonymousUser) -> QuerySet[Department]:
    """The departments ``user`` may create services in."""
    return Department.objects.filter(code__in=managed_department_codes(user), is_active=True).order_by("code")
