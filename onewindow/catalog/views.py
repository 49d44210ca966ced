"""Pages of the resource catalog: search and browse (/catalog/) and one resource's metadata, data items
and versions (/catalog/resources/<code>/).

Thin: read the query, call the selectors (which apply who-sees-what), render. Nobody needs to sign in;
what a visitor sees depends on who they are (``catalog.selectors``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from onewindow.accounts.models import User
from onewindow.catalog import selectors, views_sharing
from onewindow.catalog.models import SharingType

PAGE_SIZE = 20
FILTERS = ("q", "department", "classification", "theme", "sharing")


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@require_safe
def catalogue(request: HttpRequest) -> HttpResponse:
    """Search and browse the catalog: by words, catalog and item, department, theme, sharing type."""
    user = _user(request)
    values = {name: request.GET.get(name, "").strip()[:100] for name in FILTERS}
    if values["sharing"] not in SharingType.values:
        values["sharing"] = ""
    searched = any(values.values())
    page = None
    if searched:
        filters = selectors.ResourceFilters(
            query=values["q"],
            department=values["department"],
            classification=values["classification"],
            sharing=values["sharing"],
            theme=values["theme"],
        )
        paginator = Paginator(selectors.resources_for_user(user, filters), PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
    audience = selectors.audience_of(user)
    context = {
        "values": values,
        "searched": searched,
        "page": page,
        "query": urlencode({key: value for key, value in values.items() if value}),
        "tree": selectors.browse_tree(user),
        "departments": selectors.provider_departments(user),
        "themes": selectors.themes(),
        "sharing_choices": SharingType.choices,
        "shared_catalog": audience.shared,
    }
    return render(request, "catalog/catalogue.html", context)


@require_safe
def resource_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A resource's metadata and data items (the current version, or ``?version=N``) and its history."""
    user = _user(request)
    resource = selectors.resource_for_user(user, code)
    number = request.GET.get("version", "")
    version = selectors.resource_version(resource, int(number) if number.isdigit() else None)
    items, themes = selectors.version_details(version)
    context = {
        "resource": resource,
        "version": version,
        "items": items,
        "themes": themes,
        "versions": selectors.resource_versions(resource),
        "related": selectors.related_resources(user, version),
        "is_current": version.pk == resource.current_version_id,
    }
    # Sharing (request link or why not) and data quality (issue #7 items 4 and 5).
    context.update(views_sharing.resource_extras(user, resource, version))
    return render(request, "catalog/resource.html", context)
