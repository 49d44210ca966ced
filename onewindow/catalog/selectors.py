"""Reads of the resource catalog, each with its access rule.

Who sees what (issue #7; State Council 2016 No. 51 Art. 5):

* the system administrator sees every resource, withdrawn ones included;
* staff acting for a department (its handlers and administrators) see the shared catalog — every active
  resource that is shared, unconditionally or on conditions — and also their own department's resources
  that are not shared, and its withdrawn ones;
* everyone else — the public, residents and enterprises, and staff roles that act for no department —
  sees the open catalog: active resources that are open or conditionally open to the public.

A resource outside what the caller may see answers 404, as if it did not exist (its code says nothing
about the caller's right to know of it).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404

from onewindow.accounts.models import User
from onewindow.accounts.permissions import user_has_permission, user_roles
from onewindow.accounts.roles import DEPARTMENT_ROLES, Permission
from onewindow.catalog import codes, search
from onewindow.catalog.models import (
    PUBLIC_OPEN_TYPES,
    CatalogKind,
    Classification,
    DataItem,
    Resource,
    ResourceStatus,
    ResourceVersion,
    SharingType,
)
from onewindow.organisations.models import Department

AnyUser = User | AnonymousUser | None


@dataclass(frozen=True)
class Audience:
    """What part of the catalog a caller sees: everything, the shared catalog of departments, or the
    open catalog."""

    everything: bool
    department_codes: frozenset[str]

    @property
    def shared(self) -> bool:
        return self.everything or bool(self.department_codes)


def audience_of(user: AnyUser) -> Audience:
    if user is None or not isinstance(user, User):
        return Audience(everything=False, department_codes=frozenset())
    if user_has_permission(user, Permission.MANAGE_SYSTEM):
        return Audience(everything=True, department_codes=frozenset())
    departments = frozenset(
        grant.department_code
        for grant in user_roles(user)
        if grant.role in DEPARTMENT_ROLES and grant.department_code
    )
    return Audience(everything=False, department_codes=departments)


def _visible(audience: Audience, *, listed: bool) -> Q:
    """The resources ``audience`` may see; ``listed`` leaves withdrawn ones out (lists and search)."""
    active = Q(status=ResourceStatus.ACTIVE)
    own = Q(provider__code__in=audience.department_codes)
    if audience.everything:
        return active if listed else Q()
    if audience.department_codes:
        shared = active & ~Q(sharing_type=SharingType.NOT_SHARED)
        return (shared | (own & active)) if listed else (shared | own)
    return active & Q(open_type__in=PUBLIC_OPEN_TYPES)


@dataclass(frozen=True)
class ResourceFilters:
    query: str = ""
    department: str = ""
    classification: str = ""
    sharing: str = ""
    theme: str = ""


def _theme_filter(theme: str) -> Q:
    tagged = ResourceVersion.themes.through.objects.filter(
        resourceversion_id=OuterRef("current_version_id"), classification__code=theme
    )
    return Q(section__code=theme) | Q(Exists(tagged))


def visible_resources(user: AnyUser) -> QuerySet[Resource]:
    """Every listed resource ``user`` may see (active ones), unordered, without a search."""
    return Resource.objects.filter(_visible(audience_of(user), listed=True))


def _search_clauses(audience: Audience, filters: ResourceFilters) -> list[list[str]] | None:
    """Visibility and filters as search tags (``catalog.search``); None when a filter matches nothing."""
    clauses = [[search.tag("status", ResourceStatus.ACTIVE)]]
    if not audience.everything and audience.department_codes:
        own = Department.objects.filter(code__in=audience.department_codes).values_list("pk", flat=True)
        shared = [SharingType.UNCONDITIONAL, SharingType.CONDITIONAL]
        clauses.append(
            [*(search.tag("share", value) for value in shared), *(search.tag("prov", pk) for pk in own)]
        )
    elif not audience.everything:
        clauses.append([search.tag("open", value) for value in PUBLIC_OPEN_TYPES])
    if filters.department:
        department = filters.department.strip()
        providers = list(
            Department.objects.filter(Q(code=department) | Q(credit_code=department.upper())).values_list(
                "pk", flat=True
            )
        )
        if not providers:
            return None
        clauses.append([search.tag("prov", pk) for pk in providers])
    if filters.classification:
        clauses.append([search.tag("cls", filters.classification.strip())])
    if filters.sharing:
        clauses.append([search.tag("share", filters.sharing)])
    if filters.theme:
        clauses.append([search.tag("theme", filters.theme.strip())])
    return clauses


def resources_for_user(
    user: AnyUser, filters: ResourceFilters | None = None
) -> QuerySet[Resource] | search.SearchResults:
    """The resources ``user`` may see, filtered, each with its current version and provider loaded.

    With a query (jieba full text, every word must match): resources holding every word in their name
    first, then the others, each tier in catalogue order (``catalog.search``); without, by code.
    ``department`` is a department code or a provider's unified social credit code, ``classification`` a
    prefix of classification codes (``1``, ``101``, ``101001``…), ``sharing`` a sharing type, ``theme`` a
    thematic item (``201``…). Unknown filter values match nothing. The result counts and slices like a
    queryset either way.
    """
    filters = filters or ResourceFilters()
    if filters.classification and not codes.CLASSIFICATION_PREFIX.match(filters.classification.strip()):
        return Resource.objects.none()
    if filters.sharing and filters.sharing not in SharingType.values:
        return Resource.objects.none()
    loaded = Resource.objects.select_related("current_version", "provider")
    words = search.search_words(filters.query) if filters.query.strip() else []
    if words:
        clauses = _search_clauses(audience_of(user), filters)
        if clauses is None:
            return Resource.objects.none()
        return search.SearchResults(words, clauses, loaded)
    resources = loaded.filter(_visible(audience_of(user), listed=True))
    if filters.department:
        department = filters.department.strip()
        resources = resources.filter(
            Q(provider__code=department) | Q(provider__credit_code=department.upper())
        )
    if filters.classification:
        resources = resources.filter(classification_code__startswith=filters.classification.strip())
    if filters.sharing:
        resources = resources.filter(sharing_type=filters.sharing)
    if filters.theme:
        resources = resources.filter(_theme_filter(filters.theme.strip()))
    return resources.order_by("code")


def resource_for_user(user: AnyUser, code: str) -> Resource:
    """One resource the caller may see (withdrawn ones only for its department and the system
    administrator), with its current version, provider and catalog item loaded; or 404."""
    resource = (
        Resource.objects.filter(_visible(audience_of(user), listed=False))
        .select_related("current_version", "provider", "section")
        .filter(code=code)
        .first()
    )
    if resource is None or resource.current_version is None:
        raise Http404(code)
    return resource


def resource_version(resource: Resource, number: int | None = None) -> ResourceVersion:
    """Version ``number`` of a resource the caller may see (default: the current one), or 404."""
    current = resource.current_version
    if number is None or (current is not None and number == current.number):
        if current is None:  # pragma: no cover - resource_create always publishes version 1
            raise Http404(resource.code)
        return current
    version = resource.versions.filter(number=number).first()
    if version is None:
        raise Http404(f"{resource.code} v{number}")
    return version


def version_details(version: ResourceVersion) -> tuple[list[DataItem], list[Classification]]:
    """A version's data items (in order) and themes (the caller has passed an access check)."""
    return list(version.data_items.order_by("position")), list(version.themes.order_by("code"))


def resource_versions(resource: Resource) -> list[ResourceVersion]:
    """The history: every version, newest first (the caller has passed an access check)."""
    return list(resource.versions.select_related("published_by").order_by("-number"))


def related_resources(user: AnyUser, version: ResourceVersion) -> list[Resource]:
    """The related resources the caller may see (others are left out, not named)."""
    if not version.related_codes:
        return []
    return list(
        visible_resources(user)
        .filter(code__in=list(version.related_codes))
        .select_related("current_version")
        .order_by("code")
    )


# --- Browsing ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrowseItem:
    classification: Classification
    count: int


@dataclass(frozen=True)
class BrowseCatalog:
    kind: Classification
    items: list[BrowseItem]


def browse_tree(user: AnyUser) -> list[BrowseCatalog]:
    """The three catalogs with their items and how many resources the caller sees in each (two queries)."""
    counts = dict(
        visible_resources(user)
        .order_by()
        .values_list("section_id")
        .annotate(total=Count("id"))
        .values_list("section_id", "total")
    )
    nodes = list(Classification.objects.order_by("code"))
    catalogs: list[BrowseCatalog] = []
    for node in nodes:
        if node.parent_id is None:
            items = [
                BrowseItem(item, counts.get(item.pk, 0))
                for item in nodes
                if item.parent_id == node.pk
                and (counts.get(item.pk) or item.kind != CatalogKind.DEPARTMENTAL)
            ]
            catalogs.append(BrowseCatalog(node, items))
    return catalogs


def themes() -> list[Classification]:
    """The thematic catalog's items (what "browse by theme" offers)."""
    return list(
        Classification.objects.filter(kind=CatalogKind.THEMATIC, parent__isnull=False).order_by("code")
    )


def classifications() -> QuerySet[Classification]:
    """The whole upper classification (public reference data)."""
    return Classification.objects.select_related("department").order_by("code")


def provider_departments(user: AnyUser) -> list[Department]:
    """Departments providing at least one resource the caller sees, by code."""
    visible = visible_resources(user).filter(provider=OuterRef("pk"))
    return list(Department.objects.filter(Exists(visible)).order_by("code"))
