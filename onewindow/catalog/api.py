"""Resource catalog API (/api/v1/catalog/…): finding resources, their metadata, the DCAT-AP export, and the
writes of the provider departments' administrators.

Thin: parse, authorise (selectors and actions), call, return. The reads answer every caller with what
they may see (``catalog.selectors``); anonymous callers see the open catalog. A resource code contains a
slash and is written as it is: ``/api/v1/catalog/resources/101001/000001``.
"""

from __future__ import annotations

from typing import Annotated, Any, cast
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, Router, Status
from ninja.pagination import paginate

from onewindow.accounts.api_auth import VerifiedSessionAuth, api_auth, bearer_auth
from onewindow.accounts.models import User
from onewindow.accounts.schemas import ErrorOut
from onewindow.catalog import actions, dcat, selectors
from onewindow.catalog.models import Classification, Resource, ResourceVersion
from onewindow.catalog.schemas import (
    ClassificationOut,
    ResourceCreateIn,
    ResourceDetailOut,
    ResourceSummaryOut,
    VersionIn,
    WithdrawIn,
)
from onewindow.catalog.search import SearchResults
from onewindow.core.api_errors import ApiError
from onewindow.core.pagination import BoundedLimitOffsetPagination

router = Router(tags=["catalog"])

_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _anonymous(request: HttpRequest) -> bool:
    """Lets a public endpoint through without credentials (``request.auth`` is then True, not a User)."""
    return True


optional_auth = [bearer_auth, VerifiedSessionAuth(), _anonymous]


def _caller(request: HttpRequest) -> User | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, User) else None


def _not_found(code: str) -> ApiError:
    return ApiError(
        404,
        "resource_not_found",
        f"目录中没有资源 {code}，或您无权查看。",
        f"There is no resource {code} in the catalog, or you may not see it.",
    )


def _visible_resource(user: User | None, code: str) -> Resource:
    try:
        return selectors.resource_for_user(user, code)
    except Http404 as missing:
        raise _not_found(code) from missing


def resource_summary(resource: Resource) -> dict[str, Any]:
    version = cast(ResourceVersion, resource.current_version)
    return {
        "code": resource.code,
        "name": version.name,
        "provider_code": version.provider_code,
        "sharing_type": version.sharing_type,
        "open_type": version.open_type,
        "update_cycle": version.update_cycle,
        "version": version.number,
    }


def resource_detail(resource: Resource, version: ResourceVersion) -> dict[str, Any]:
    items, themes = selectors.version_details(version)
    section = resource.section
    return {
        **resource_summary(resource),
        "name": version.name,
        "provider_code": version.provider_code,
        "sharing_type": version.sharing_type,
        "open_type": version.open_type,
        "update_cycle": version.update_cycle,
        "version": version.number,
        "status": resource.status,
        "catalog": resource.kind,
        "classification_code": resource.classification_code,
        "classification": classification_out(section),
        "provider_department": resource.provider.code,
        "provider_name": version.provider_name,
        "name_en": version.name_en,
        "abstract": version.abstract,
        "abstract_en": version.abstract_en,
        "format": version.format,
        "sharing_condition": version.sharing_condition,
        "sharing_method": version.sharing_method,
        "open_condition": version.open_condition,
        "published_on": version.published_on,
        "published_at": version.published_at,
        "change_note": version.change_note,
        "related_codes": list(version.related_codes),
        "themes": [theme.code for theme in themes],
        "data_items": [
            {
                "name": item.name,
                "name_en": item.name_en,
                "data_type": item.data_type,
                "length": item.length,
                "sharing_type": item.sharing_type,
            }
            for item in items
        ],
        "current_version": cast(ResourceVersion, resource.current_version).number,
        "versions": [
            {"number": old.number, "published_on": old.published_on, "change_note": old.change_note}
            for old in selectors.resource_versions(resource)
        ],
    }


def classification_out(node: Classification) -> dict[str, Any]:
    return {
        "code": node.code,
        "kind": node.kind,
        "name": node.name,
        "name_en": node.name_en,
        "department_code": node.department.code if node.department is not None else None,
    }


@router.get(
    "/resources",
    auth=optional_auth,
    response={200: list[ResourceSummaryOut], 422: ErrorOut},
    summary="Find information resources",
    description=(
        "What the caller may see: the public sees open and conditionally open resources; department staff "
        "the shared catalog (and their own department's unshared resources); system administrators all. "
        "`q` searches in Chinese or English (jieba-segmented full text over name, abstract, provider, "
        "catalog item and data items; every word must match; best matches first). `department` is a "
        "department code or credit code, `classification` a classification prefix (`1`, `101`, `101001`), "
        "`sharing` unconditional, conditional or not_shared, `theme` a thematic item (`201`…). "
        "`limit`/`offset` pagination; by code without `q`."
    ),
)
@paginate(BoundedLimitOffsetPagination)
def resource_list(
    request: HttpRequest,
    q: str = "",
    department: str = "",
    classification: str = "",
    sharing: str = "",
    theme: str = "",
) -> Any:
    filters = selectors.ResourceFilters(
        query=q[:100], department=department, classification=classification, sharing=sharing, theme=theme
    )
    return _Summaries(selectors.resources_for_user(_caller(request), filters))


class _Summaries:
    """What the paginator reads: ``all().count()`` for the total, a slice for the page (turned into
    summaries as it is read, so a page costs one query whatever its size)."""

    def __init__(self, resources: QuerySet[Resource] | SearchResults) -> None:
        self._resources = resources

    def all(self) -> QuerySet[Resource] | SearchResults:
        return self._resources

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        return [resource_summary(resource) for resource in self._resources[window]]


@router.get(
    "/resources/{rescode:code}",
    auth=optional_auth,
    response={200: ResourceDetailOut, 404: ErrorOut},
    summary="One resource's full metadata",
    description=(
        "The core metadata (GB/T 21063.3) of the current version, or of `version` (a number), with its data "
        "items and the list of versions. 404 `resource_not_found` when there is no such resource or the "
        "caller may not see it."
    ),
)
def resource_get(request: HttpRequest, code: str, version: int | None = None) -> dict[str, Any]:
    resource = _visible_resource(_caller(request), code)
    try:
        shown = selectors.resource_version(resource, version)
    except Http404 as missing:
        raise ApiError(
            404,
            "version_not_found",
            f"资源 {code} 没有第 {version} 版。",
            f"Resource {code} has no version {version}.",
        ) from missing
    return resource_detail(resource, shown)


@router.get(
    "/classifications",
    auth=None,
    response={200: list[ClassificationOut]},
    summary="The classification: catalogs (类) and their items (项)",
)
def classification_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [classification_out(node) for node in selectors.classifications()]


@router.get(
    "/dcat",
    auth=optional_auth,
    response={200: None, 404: ErrorOut},
    summary="The catalog as DCAT-AP 3",
    description=(
        "JSON-LD (`application/ld+json`) by default; Turtle with `Accept: text/turtle` or `?format=ttl`. "
        "The resources the caller may see, mapped as in docs/catalog.md, `page_size` (default 100, at most "
        "1,000) per `page` (from 1) in code order; the catalog's `hydra:view` gives the total and the links "
        "to the first, last, next and previous pages (Hydra Core, and ckanext-dcat's `hydra:nextPage`...)."
    ),
    openapi_extra={
        "responses": {
            "200": {
                "description": "The catalog",
                "content": {"application/ld+json": {}, "text/turtle": {}},
            }
        }
    },
)
def dcat_export(
    request: HttpRequest,
    format: str = "",
    page: Annotated[int, Field(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Field(ge=1, le=dcat.MAX_PAGE_SIZE)] = dcat.DEFAULT_PAGE_SIZE,
) -> HttpResponse:
    resources = selectors.visible_resources(_caller(request))
    request_base = request.build_absolute_uri("/")

    def page_url(number: int) -> str:
        parameters = {"page": number}
        if page_size != dcat.DEFAULT_PAGE_SIZE:
            parameters["page_size"] = page_size
        query = urlencode({**parameters, **({"format": format} if format else {})})
        return f"{dcat.base_url(request_base)}api/v1/catalog/dcat?{query}"

    try:
        graph = dcat.catalog_graph(
            resources, request_base=request_base, page=dcat.Page(page, page_size, page_url)
        )
    except dcat.PageNotFound as error:
        raise ApiError(
            404,
            "page_not_found",
            f"没有第 {page} 页：目录每页 {page_size} 条，页码超出范围。",
            f"There is no page {page}: the catalog has fewer pages at {page_size} per page.",
        ) from error
    body, content_type = dcat.serialise(
        graph, turtle=dcat.wants_turtle(request.headers.get("Accept", ""), format)
    )
    response = HttpResponse(body, content_type=content_type)
    response["Vary"] = "Accept"
    return response


# --- Provider departments' administrators -----------------------------------------------------------------


@router.post(
    "/resources",
    auth=api_auth,
    response={201: ResourceDetailOut, **_ERRORS},
    summary="Catalogue a resource (publishes version 1)",
    description=(
        "Administrators of `provider_department`, and system administrators. The resource code is "
        "allocated: `classification_code/` and the next six-digit sequence. Errors: 422 `metadata_invalid` "
        "with one entry per field (missing mandatory fields, invalid values, a data item more open than "
        "the resource…), `classification_code_format`, `classification_not_found`, "
        "`classification_not_own_department`, `department_not_found`."
    ),
)
def resource_create(request: HttpRequest, payload: ResourceCreateIn) -> Status[dict[str, Any]]:
    user = cast(User, request.user)
    resource = actions.resource_create(
        acting_user=user,
        provider_department=payload.provider_department,
        classification_code=payload.classification_code,
        **payload.metadata(),
    )
    resource = selectors.resource_for_user(user, resource.code)
    return Status(201, resource_detail(resource, selectors.resource_version(resource)))


@router.post(
    "/resources/{rescode:code}/versions",
    auth=api_auth,
    response={201: ResourceDetailOut, **_ERRORS},
    summary="Publish a new version",
    description=(
        "The current metadata with the given fields changed (`data_items` replaces the list) becomes "
        "version n + 1; earlier versions are kept. 409 `resource_withdrawn`, `resource_builtin` (entries "
        "the platform catalogues itself follow the code)."
    ),
)
def resource_version_publish(request: HttpRequest, code: str, payload: VersionIn) -> Status[dict[str, Any]]:
    user = cast(User, request.user)
    resource = _visible_resource(user, code)
    actions.resource_publish_version(
        acting_user=user, resource=resource, change_note=payload.change_note, **payload.metadata()
    )
    resource = selectors.resource_for_user(user, code)
    return Status(201, resource_detail(resource, selectors.resource_version(resource)))


@router.post(
    "/resources/{rescode:code}/withdraw",
    auth=api_auth,
    response={200: ResourceDetailOut, **_ERRORS},
    summary="Withdraw a resource",
    description=(
        "It is no longer listed or found; its versions are kept. "
        "409 `resource_withdrawn`, `resource_builtin`."
    ),
)
def resource_withdraw(request: HttpRequest, code: str, payload: WithdrawIn) -> dict[str, Any]:
    user = cast(User, request.user)
    resource = _visible_resource(user, code)
    actions.resource_withdraw(acting_user=user, resource=resource, reason=payload.reason)
    resource = selectors.resource_for_user(user, code)
    return resource_detail(resource, selectors.resource_version(resource))


# Sharing requests, grants, data quality and the systems register (issue #7 items 4–6) add their
# endpoints to this router.
from onewindow.catalog import api_sharing  # noqa: E402, F401
