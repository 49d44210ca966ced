"""Sharing requests, grants, data quality and the information-systems register in the catalog API
(/api/v1/catalog/…). Thin: parse, authorise (selectors and actions), call, return."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest
from ninja import Status

from onewindow.accounts.api_auth import api_auth
from onewindow.accounts.models import User
from onewindow.catalog import actions_sharing, quality, selectors_sharing, systems
from onewindow.catalog.api import _ERRORS, _visible_resource, optional_auth, router
from onewindow.catalog.models import Grant, InformationSystem, ShareRequest, ShareRequestStatus
from onewindow.catalog.schemas_sharing import (
    ConformanceIn,
    DecideIn,
    GrantOut,
    QualityOut,
    ReasonIn,
    ShareRequestCreatedOut,
    ShareRequestIn,
    ShareRequestOut,
    SystemIn,
    SystemOut,
)
from onewindow.core.api_errors import ApiError

LIST_LIMIT = 500


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def request_out(request: ShareRequest) -> dict[str, Any]:
    grant = getattr(request, "grant", None) if request.status != ShareRequestStatus.REFUSED else None
    return {
        "id": request.pk,
        "resource": request.resource.code,
        "version": request.version.number,
        "provider": request.provider.code,
        "consumer": request.consumer.code,
        "system": request.system.code if request.system else None,
        "items": [item.name for item in request.data_items.all()],
        "purpose": request.purpose,
        "legal_basis": request.legal_basis,
        "until": request.until,
        "status": request.status,
        "requested_at": request.requested_at,
        "requested_by": request.requested_by.get_username(),
        "due_date": request.due_date,
        "light": request.light if request.status == ShareRequestStatus.PENDING else None,
        "decided_at": request.decided_at,
        "decision_reason": request.decision_reason,
        "grant": grant.pk if grant is not None else None,
    }


def grant_out(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.pk,
        "request": grant.request_id,
        "resource": grant.resource.code,
        "version": grant.version.number,
        "provider": grant.provider.code,
        "consumer": grant.consumer.code,
        "system": grant.system.code if grant.system else None,
        "items": list(grant.item_names),
        "expires_on": grant.expires_on,
        "status": grant.status,
        "active": selectors_sharing.grant_is_active(grant),
        "granted_at": grant.granted_at,
        "granted_by": grant.granted_by.get_username() if grant.granted_by else None,
        "revoked_at": grant.revoked_at,
        "revoke_reason": grant.revoke_reason,
    }


def system_out(system: InformationSystem) -> dict[str, Any]:
    return {
        "id": system.pk,
        "code": system.code,
        "department": system.department.code,
        "name": system.name,
        "name_en": system.name_en,
        "state": system.state,
        "owner": system.owner,
        "vendor": system.vendor,
        "endpoint": system.endpoint,
        "provides": [resource.code for resource in system.provides.all()],
        "consumes": [resource.code for resource in system.consumes.all()],
        "interconnection": system.interconnection,
        "approval": system.approval,
        "approved_at": system.approved_at,
        "conformance_passed": system.conformance_passed,
        "conformance_checked_at": system.conformance_checked_at,
        "approval_blockers": [error.as_dict() for error in systems.approval_blockers(system)]
        if system.approval == "pending"
        else [],
    }


def _request(user: User, request_id: int) -> ShareRequest:
    try:
        return selectors_sharing.share_request_for_user(user, request_id)
    except Http404 as missing:
        raise ApiError(
            404, "share_request_not_found", "共享申请不存在。", "No such sharing request."
        ) from missing


def _consumer(user: User, given: str) -> str:
    if given:
        return given.strip()
    managed = selectors_sharing.managed_departments(user)
    if len(managed) > 1:
        raise ApiError(
            422,
            "consumer_required",
            "您管理多个部门，请指明申请部门（consumer）。",
            "You administer more than one department; say which one requests (consumer).",
        )
    return managed[0].code if managed else ""


@router.post(
    "/resources/{rescode:code}/share-requests",
    auth=api_auth,
    response={201: ShareRequestCreatedOut, **_ERRORS},
    summary="Request a resource's data items for a department (共享申请)",
    description=(
        "The consumer department's administrators. Items shared unconditionally are granted at once "
        "(`auto_approved`); otherwise the provider's administrators answer within "
        "`ONEWINDOW_CATALOG_ANSWER_DAYS` working days (`due_date`). Errors: 409 `resource_not_shared` "
        "(with the provider's basis), `share_request_own_resource`, `resource_withdrawn`; 422 "
        "`share_request_invalid` with `item_not_shared`, `item_not_found`, `items_required`, "
        "`purpose_required`, `legal_basis_required`, `until_required`, `until_past`, `until_too_far`."
    ),
)
def share_request_create(request: HttpRequest, code: str, payload: ShareRequestIn) -> Status[dict[str, Any]]:
    user = _user(request)
    resource = _visible_resource(user, code)
    consumer = _consumer(user, payload.consumer)
    system = None
    if payload.system:
        system = InformationSystem.objects.filter(code=payload.system.strip().upper()).first()
        if system is None:
            raise ApiError(404, "system_not_found", "信息系统不存在。", "No such information system.")
    created = actions_sharing.share_request_create(
        acting_user=user,
        resource=resource,
        consumer_department=consumer,
        items=payload.items,
        purpose=payload.purpose,
        legal_basis=payload.legal_basis,
        until=payload.until,
        system=system,
    )
    return Status(201, {"id": created.pk, "status": created.status, "due_date": created.due_date})


@router.get(
    "/share-requests",
    auth=api_auth,
    response={200: list[ShareRequestOut], **_ERRORS},
    summary="Sharing requests of the caller's departments",
    description="`box`: received (as provider) or sent (as consumer); `status`: pending, approved, "
    "auto_approved, refused. At most 500, newest first.",
)
def share_request_list(request: HttpRequest, box: str = "", status: str = "") -> list[dict[str, Any]]:
    requests = selectors_sharing.share_requests_for_user(_user(request), box=box, status=status)
    return [
        request_out(item)
        for item in requests.select_related("grant").prefetch_related("data_items")[:LIST_LIMIT]
    ]


@router.get(
    "/share-requests/{int:request_id}",
    auth=api_auth,
    response={200: ShareRequestOut, **_ERRORS},
    summary="One sharing request",
)
def share_request_get(request: HttpRequest, request_id: int) -> dict[str, Any]:
    return request_out(_request(_user(request), request_id))


@router.post(
    "/share-requests/{int:request_id}/decide",
    auth=api_auth,
    response={200: ShareRequestOut, **_ERRORS},
    summary="Answer a sharing request (the provider's administrators)",
    description="`approve: true` creates the grant (the requested items until the requested date); a "
    "refusal needs `reason`. 409 `share_request_decided`, `share_request_lapsed`.",
)
def share_request_decide(request: HttpRequest, request_id: int, payload: DecideIn) -> dict[str, Any]:
    user = _user(request)
    found = _request(user, request_id)
    decided = actions_sharing.share_request_decide(
        acting_user=user, request=found, approve=payload.approve, reason=payload.reason
    )
    return request_out(decided)


@router.get(
    "/grants",
    auth=api_auth,
    response={200: list[GrantOut], **_ERRORS},
    summary="Grants to and from the caller's departments",
    description="`consumer`: a department code; `active=true`: only grants neither revoked nor expired.",
)
def grant_list(request: HttpRequest, consumer: str = "", active: bool = False) -> list[dict[str, Any]]:
    grants = selectors_sharing.grants_for_user(_user(request), consumer=consumer, active_only=active)
    return [grant_out(grant) for grant in grants.select_related("granted_by")[:LIST_LIMIT]]


@router.post(
    "/grants/{int:grant_id}/revoke",
    auth=api_auth,
    response={200: GrantOut, **_ERRORS},
    summary="Revoke a grant (the provider's administrators, system administrators)",
)
def grant_revoke(request: HttpRequest, grant_id: int, payload: ReasonIn) -> dict[str, Any]:
    user = _user(request)
    try:
        grant = selectors_sharing.grant_for_user(user, grant_id)
    except Http404 as missing:
        raise ApiError(404, "grant_not_found", "授权不存在。", "No such grant.") from missing
    return grant_out(actions_sharing.grant_revoke(acting_user=user, grant=grant, reason=payload.reason))


@router.get(
    "/resources/{rescode:code}/quality",
    auth=optional_auth,
    response={200: QualityOut, 404: _ERRORS[404]},
    summary="A resource's data quality: freshness and measured validity",
)
def resource_quality(request: HttpRequest, code: str) -> dict[str, Any]:
    auth = getattr(request, "auth", None)
    resource = _visible_resource(auth if isinstance(auth, User) else None, code)
    measured = quality.resource_quality(resource)
    validity = measured.validity
    version = resource.current_version
    assert version is not None  # noqa: S101 - _visible_resource answers resources with a version
    return {
        "resource": resource.code,
        "update_cycle": version.update_cycle,
        "freshness": measured.freshness.status,
        "last_update": measured.freshness.last_update,
        "next_update_due": measured.freshness.next_due,
        "validity": None
        if validity is None
        else {
            "measure": validity.measure,
            "checked": validity.checked,
            "valid": validity.valid,
            "share": round(validity.share, 4),
            "measured_at": validity.measured_at,
        },
    }


@router.get(
    "/systems",
    auth=api_auth,
    response={200: list[SystemOut], **_ERRORS},
    summary="The information-systems register",
)
def system_list(request: HttpRequest, department: str = "") -> list[dict[str, Any]]:
    return [system_out(system) for system in systems.systems_for_user(_user(request), department=department)]


@router.post(
    "/systems",
    auth=api_auth,
    response={201: SystemOut, **_ERRORS},
    summary="Register an information system (the department's administrators, system administrators)",
)
def system_register(request: HttpRequest, payload: SystemIn) -> Status[dict[str, Any]]:
    user = _user(request)
    system = systems.system_register(acting_user=user, **payload.model_dump())
    return Status(201, system_out(systems.system_for_user(user, system.pk)))


def _system(user: User, system_id: int) -> InformationSystem:
    try:
        return systems.system_for_user(user, system_id)
    except Http404 as missing:
        raise ApiError(
            404, "system_not_found", "信息系统不存在。", "No such information system."
        ) from missing


@router.post(
    "/systems/{int:system_id}/approve",
    auth=api_auth,
    response={200: SystemOut, **_ERRORS},
    summary="Approve a planned system (system administrators)",
    description="422 `system_not_approvable` with every reason: `resources_not_catalogued`, "
    "`endpoint_required`, `conformance_not_passed` (the exchange's check, issue #8); "
    "409 `system_not_planned`.",
)
def system_approve(request: HttpRequest, system_id: int) -> dict[str, Any]:
    user = _user(request)
    system = systems.system_approve(acting_user=user, system=_system(user, system_id))
    return system_out(system)


@router.post(
    "/systems/{int:system_id}/conformance",
    auth=api_auth,
    response={200: SystemOut, **_ERRORS},
    summary="Record an exchange conformance result (system administrators; the exchange calls the action)",
)
def system_conformance(request: HttpRequest, system_id: int, payload: ConformanceIn) -> dict[str, Any]:
    user = _user(request)
    system = systems.system_conformance_record(
        acting_user=user,
        system=_system(user, system_id),
        passed=payload.passed,
        endpoint=payload.endpoint,
        report=payload.report,
    )
    return system_out(system)


@router.post(
    "/systems/{int:system_id}/conformance/run",
    auth=api_auth,
    response={200: SystemOut, **_ERRORS},
    summary="Run the exchange's conformance check on the system's endpoint and record the result (system "
    "administrators)",
    description="Calls the registered endpoint as the exchange does (docs/exchange.md, Conformance check) "
    "and records the result (`conformance_passed`, the per-check report on the system); a pass lets a "
    "planned system be approved. 422 `endpoint_required`.",
)
def system_conformance_run(request: HttpRequest, system_id: int) -> dict[str, Any]:
    from onewindow.exchange.conformance import system_conformance_run as run

    user = _user(request)
    system = _system(user, system_id)
    recorded, _report = run(acting_user=user, system=system, timeout=5.0)
    return system_out(systems.system_for_user(user, recorded.pk))
