"""Service catalog API: published services (public) and the department administrators' catalog.

Thin: parse, authorise (selectors and actions), call, return. ``GET /services`` and
``GET /services/{code}`` are public; a signed-in applicant (bearer token or session) additionally gets
each material's ``no_need_to_submit``. ``/admin/services...`` is for the owning department's
administrators; actions raise bilingual ``RuleViolation``/``FieldErrors`` that the API root maps to
409/422 bodies.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest
from ninja import Router, Status

from onewindow.accounts.api_auth import VerifiedSessionAuth, api_auth, bearer_auth
from onewindow.accounts.models import User
from onewindow.accounts.schemas import ErrorOut
from onewindow.services import actions, selectors
from onewindow.services.models import Service, ServiceKind, ServiceVersion, VersionStatus
from onewindow.services.schemas import (
    AdminServiceOut,
    AdminServiceSummaryOut,
    AdminVersionOut,
    ServiceCreateIn,
    ServiceDetailOut,
    ServiceOut,
    VersionFieldsIn,
)

router = Router(tags=["services"])

_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _anonymous(request: HttpRequest) -> bool:
    """Lets a public endpoint through without credentials (``request.auth`` is then True, not a User)."""
    return True


# Public endpoints: a valid token or verified session identifies the caller; otherwise anonymous.
optional_auth = [bearer_auth, VerifiedSessionAuth(), _anonymous]


def _caller(request: HttpRequest) -> User | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, User) else None


def service_summary(service: Service) -> dict[str, Any]:
    version = cast(ServiceVersion, service.current_version)
    return {
        "code": service.code,
        "name": version.name,
        "department_code": service.department.code,
        "audience": list(version.audience),
        "kind": service.kind,
        "stage": version.stage,
        "promised_days": version.promised_days,
    }


def service_detail(service: Service, version: ServiceVersion, user: User | None) -> dict[str, Any]:
    components = selectors.version_components(version)
    materials = [
        {**guide.spec, "no_need_to_submit": guide.no_need_to_submit}
        for guide in selectors.materials_for_applicant(version, user)
    ]
    return {
        **service_summary(service),
        "name_en": version.name_en,
        "version": version.number,
        "category": version.category,
        "legal_basis": version.legal_basis,
        "summary": version.summary,
        "summary_en": version.summary_en,
        "form_schema": version.form_schema,
        "materials": materials,
        "statutory_days": version.statutory_days,
        "fee": version.fee,
        "fee_en": version.fee_en,
        "on_site_trips": version.on_site_trips,
        "channels": list(version.channels),
        "case_type": version.case_type,
        "auto_accept": version.auto_accept,
        "department_codes": selectors.version_department_codes(version),
        "components": [item.service.code for item in components],
    }


@router.get(
    "/services",
    auth=optional_auth,
    response={200: list[ServiceOut]},
    summary="Find published services",
    description=(
        "Public. `audience` is resident or enterprise (a service for both appears in either); "
        "`department` a department code; `q` a search in Chinese or English (jieba-segmented full text "
        "over name, summary, legal basis, materials, department and code; every word must match; best "
        "matches first, ties by code). Without `q` the list is by code."
    ),
)
def service_list(
    request: HttpRequest,
    audience: str | None = None,
    department: str | None = None,
    q: str | None = None,
    life_event: str | None = None,
) -> list[dict[str, Any]]:
    services = selectors.published_services(
        audience=audience or None, department_code=department or None, query=q, life_event=life_event or None
    )
    return [service_summary(service) for service in services]


@router.get(
    "/services/{code}",
    auth=optional_auth,
    response={200: ServiceDetailOut, 404: ErrorOut},
    summary="A published service's guide and form",
    description=(
        "Public. The current published version: form (JSON Schema 2020-12), materials, time limits, "
        "legal basis and the departments involved. For a signed-in applicant each material says whether "
        "the government already holds it (`no_need_to_submit`, 免提交)."
    ),
)
def service_get(request: HttpRequest, code: str) -> dict[str, Any]:
    service, version = selectors.published_service(code)
    return service_detail(service, version, _caller(request))


# --- Department administrators --------------------------------------------------------------------------


def admin_version(version: ServiceVersion, components: list[str]) -> dict[str, Any]:
    fields = {field: getattr(version, field) for field in actions.VERSION_FIELDS}
    return {
        **fields,
        "number": version.number,
        "status": version.status,
        "form_schema_merged": version.form_schema_merged,
        "components": components,
        "created_at": version.created_at,
        "published_at": version.published_at,
    }


def admin_service(service: Service) -> dict[str, Any]:
    versions = selectors.service_versions(service)
    return {
        "code": service.code,
        "kind": service.kind,
        "department_code": service.department.code,
        "business_line_code": service.business_line.code if service.business_line else None,
        "life_event_codes": [event.code for event in service.life_events.all()],
        "current_version": service.current_version.number if service.current_version else None,
        "versions": [
            admin_version(version, [item.service.code for item in selectors.version_components(version)])
            for version in versions
        ],
    }


def _version_fields(payload: VersionFieldsIn) -> dict[str, Any]:
    return payload.model_dump(exclude_unset=True, include=set(actions.VERSION_FIELDS))


@router.get(
    "/admin/services",
    auth=api_auth,
    response={200: list[AdminServiceSummaryOut], **_ERRORS},
    summary="The services of my departments",
    description="Department administrators: every service their departments own, with version numbers.",
)
def admin_service_list(request: HttpRequest) -> list[dict[str, Any]]:
    services = selectors.services_for_admin(cast(User, request.user))
    summaries = []
    for service in services:
        versions = list(service.versions.all())  # prefetched, newest first
        draft = next((v for v in versions if v.status == VersionStatus.DRAFT), None)
        summaries.append(
            {
                "code": service.code,
                "kind": service.kind,
                "department_code": service.department.code,
                "name": versions[0].name if versions else "",
                "current_version": service.current_version.number if service.current_version else None,
                "draft_version": draft.number if draft else None,
            }
        )
    return summaries


@router.post(
    "/admin/services",
    auth=api_auth,
    response={201: AdminServiceOut, **_ERRORS},
    summary="Create a service (draft version 1)",
    description=(
        "Administrators of `department_code`. Errors: 409 `service_code_taken`; 422 "
        "`service_code_format`, `service_kind_invalid`, `department_not_found`, `name_required` and "
        "`<field>_invalid` rules."
    ),
)
def admin_service_create(request: HttpRequest, payload: ServiceCreateIn) -> Status[dict[str, Any]]:
    user = cast(User, request.user)
    version = actions.service_create(
        acting_user=user,
        code=payload.code,
        kind=payload.kind,
        department_code=payload.department_code,
        business_line_code=payload.business_line_code,
        life_event_codes=payload.life_event_codes,
        **_version_fields(payload),
    )
    if payload.item_codes is not None and version.service.kind == ServiceKind.BUNDLE:
        actions.bundle_components_set(acting_user=user, version=version, item_codes=payload.item_codes)
    return Status(201, admin_service(selectors.service_for_admin(user, version.service.code)))


@router.get(
    "/admin/services/{code}",
    auth=api_auth,
    response={200: AdminServiceOut, **_ERRORS},
    summary="A service of my department, with all its versions",
)
def admin_service_get(request: HttpRequest, code: str) -> dict[str, Any]:
    return admin_service(selectors.service_for_admin(cast(User, request.user), code))


@router.put(
    "/admin/services/{code}/draft",
    auth=api_auth,
    response={200: AdminVersionOut, **_ERRORS},
    summary="Edit the draft (started from the latest version if there is none)",
    description=(
        "Only the given fields change. `item_codes` sets a bundle's components. Published versions never "
        "change: editing always goes to the draft."
    ),
)
def admin_draft_update(request: HttpRequest, code: str, payload: VersionFieldsIn) -> dict[str, Any]:
    user = cast(User, request.user)
    service = selectors.service_for_admin(user, code)
    draft = selectors.service_draft(service) or actions.service_version_draft(
        acting_user=user, service=service
    )
    draft = actions.service_version_update(acting_user=user, version=draft, **_version_fields(payload))
    if payload.item_codes is not None:
        draft = actions.bundle_components_set(acting_user=user, version=draft, item_codes=payload.item_codes)
    return admin_version(draft, [item.service.code for item in selectors.version_components(draft)])


@router.post(
    "/admin/services/{code}/draft/publish",
    auth=api_auth,
    response={200: AdminVersionOut, **_ERRORS},
    summary="Publish the draft",
    description=(
        "The draft becomes the current version; the previous one is retired. 404 when there is no draft; "
        "422 `version_not_publishable` with one entry in `errors` per problem (form schema, promised > "
        "statutory days, audience, channels, bundle components)."
    ),
)
def admin_draft_publish(request: HttpRequest, code: str) -> dict[str, Any]:
    user = cast(User, request.user)
    service = selectors.service_for_admin(user, code)
    draft = selectors.service_draft(service)
    if draft is None:
        raise Http404(code)
    published = actions.service_version_publish(acting_user=user, version=draft)
    return admin_version(published, [item.service.code for item in selectors.version_components(published)])
