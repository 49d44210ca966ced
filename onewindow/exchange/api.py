"""The exchange API (/api/v1/exchange/...): discovery metaservices (public) and key administration.

Discovery is public and unsigned, like the resource catalog it mirrors: it lists members, their subsystems
and services, a service's OpenAPI document and the subsystems' verifying keys (what a client needs to check
signed responses), never data. Key administration, deactivating or reactivating a service and replacing its
OpenAPI document are for the owning department's administrators and system administrators: 401 without a
caller, 403 for any other role (audited, nothing changed). A service's statistics
(``/services/{service id}/stats``) are for system administrators and, for their departments' calls,
department administrators (docs/exchange.md "Monitoring").
"""

# No ``from __future__ import annotations``: Ninja reads the endpoint annotations at runtime.

import base64
from typing import Any, cast

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status

from onewindow.accounts.api_auth import api_auth
from onewindow.accounts.models import User
from onewindow.accounts.schemas import ErrorOut, ErrorWithFieldsOut
from onewindow.exchange import actions, protocol, selectors, selectors_admin
from onewindow.exchange.models import Service, SubsystemKey
from onewindow.exchange.openapi_document import canonical_bytes, document_sha256, openapi_generated

router = Router(tags=["exchange"])

_ERRORS: dict[int, Any] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorWithFieldsOut,
}


class MemberOut(Schema):
    member: str
    credit_code: str
    department_code: str
    name: str
    name_en: str


class SubsystemOut(Schema):
    subsystem: str
    code: str
    name: str


class ServiceOut(Schema):
    service: str
    code: str
    name: str
    name_en: str
    kind: str
    resource_code: str
    openapi_url: str


class KeyOut(Schema):
    key_id: str
    subsystem: str
    algorithm: str
    status: str
    public_key_der_base64: str
    certificate_der_base64: str
    certificate_serial: str
    created_at: str
    retired_at: str | None
    revoked_at: str | None


class KeyIssueIn(Schema):
    algorithm: str = "SM2-SM3"


class KeyRevokeIn(Schema):
    reason: str


def _member_out(member: Any) -> dict[str, Any]:
    return {
        "member": f"{protocol.COUNTRY}/{protocol.MEMBER_CLASS}/{member.credit_code}",
        "credit_code": member.credit_code,
        "department_code": member.code,
        "name": member.name,
        "name_en": member.name_en,
    }


def _service_out(service: Service) -> dict[str, Any]:
    path = protocol.service_path(service.provider.department.credit_code, service.provider.code, service.code)
    return {
        "service": path,
        "code": service.code,
        "name": service.name,
        "name_en": service.name_en,
        "kind": service.kind,
        "resource_code": service.resource_code,
        "openapi_url": f"/api/v1/exchange/meta/services/{path}/openapi",
    }


def key_out(key: SubsystemKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "subsystem": protocol.subsystem_path(key.system.department.credit_code, key.system.code),
        "algorithm": key.algorithm,
        "status": key.status,
        "public_key_der_base64": base64.b64encode(bytes(key.public_key_der)).decode("ascii"),
        "certificate_der_base64": base64.b64encode(bytes(key.certificate_der)).decode("ascii"),
        "certificate_serial": key.certificate_serial,
        "created_at": key.created_at.isoformat(),
        "retired_at": key.retired_at.isoformat() if key.retired_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


# --- Discovery (public) ----------------------------------------------------------------------------------


@router.get("/meta/members", response=list[MemberOut], summary="List members (departments with subsystems)")
def members_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_member_out(member) for member in selectors.members()]


@router.get(
    "/meta/members/{credit_code}/subsystems",
    response={200: list[SubsystemOut], 404: ErrorOut},
    summary="A member's subsystems",
)
def member_subsystems(request: HttpRequest, credit_code: str) -> list[dict[str, Any]]:
    member = selectors.member_by_code(credit_code)
    return [
        {
            "subsystem": protocol.subsystem_path(member.credit_code, system.code),
            "code": system.code,
            "name": system.name,
        }
        for system in selectors.member_subsystems(member)
    ]


@router.get(
    "/meta/members/{credit_code}/services",
    response={200: list[ServiceOut], 404: ErrorOut},
    summary="A member's services",
)
def member_services(request: HttpRequest, credit_code: str) -> list[dict[str, Any]]:
    member = selectors.member_by_code(credit_code)
    return [_service_out(service) for service in selectors.member_services(member)]


@router.get(
    "/meta/services/CN/GOV/{credit_code}/{subsystem}/{code}/openapi",
    response={200: dict[str, Any], 404: ErrorOut},
    summary="A service's OpenAPI document",
)
def service_openapi(request: HttpRequest, credit_code: str, subsystem: str, code: str) -> dict[str, Any]:
    service = selectors.service_by_path(credit_code, subsystem, code)
    if service.openapi:
        return dict(service.openapi)
    return openapi_generated(
        name=service.name,
        name_en=service.name_en,
        service_path=protocol.service_path(credit_code, subsystem, code),
    )


@router.get(
    "/meta/members/{credit_code}/subsystems/{subsystem}/keys",
    response=list[KeyOut],
    summary="A subsystem's verifying keys (active and retired) with their certificates",
)
def subsystem_keys(request: HttpRequest, credit_code: str, subsystem: str) -> list[dict[str, Any]]:
    return [
        key_out(key)
        for key in selectors.subsystem_public_keys(credit_code, subsystem).select_related(
            "system__department"
        )
    ]


# --- Key administration -------------------------------------------------------------------------------------


@router.get(
    "/systems/{code}/keys",
    auth=api_auth,
    response={200: list[KeyOut], **_ERRORS},
    summary="A subsystem's keys, every status (its department's administrators, system administrators)",
)
def system_keys(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    user = cast(User, request.user)
    system = selectors.system_for_key_admin(user, code)
    return [
        key_out(key) for key in selectors.keys_for_admin(user, system).select_related("system__department")
    ]


@router.post(
    "/systems/{code}/keys",
    auth=api_auth,
    response={201: KeyOut, **_ERRORS},
    summary="Issue the subsystem's next key (rotation: the active one is retired and still verifies)",
)
def system_key_issue(request: HttpRequest, code: str, payload: KeyIssueIn) -> Status[dict[str, Any]]:
    user = cast(User, request.user)
    system = selectors.system_for_key_admin(user, code)
    return Status(
        201,
        key_out(actions.subsystem_key_issue(acting_user=user, system=system, algorithm=payload.algorithm)),
    )


@router.post(
    "/keys/{key_id}/revoke",
    auth=api_auth,
    response={200: KeyOut, **_ERRORS},
    summary="Revoke a key at once (it verifies nothing from now on)",
)
def key_revoke(request: HttpRequest, key_id: str, payload: KeyRevokeIn) -> dict[str, Any]:
    user = cast(User, request.user)
    key = selectors.key_for_admin(user, key_id)
    return key_out(actions.subsystem_key_revoke(acting_user=user, key=key, reason=payload.reason))


# --- Monitoring (docs/exchange.md "Monitoring") ------------------------------------------------------------


class WindowStatsOut(Schema):
    since: str
    calls: int
    errors: int
    errors_by_code: dict[str, int]
    p50_ms: float | None
    p95_ms: float | None
    last_call_at: str | None


class ServiceStatsOut(Schema):
    service: str
    all_calls: bool
    generated_at: str
    windows: dict[str, WindowStatsOut]


@router.get(
    "/services/CN/GOV/{credit_code}/{subsystem}/{code}/stats",
    auth=api_auth,
    response={200: ServiceStatsOut, **_ERRORS},
    summary="A service's calls, errors by code, p50/p95 latency and last call over the last hour and day "
    "(system administrators; department administrators: their departments' calls)",
)
def service_stats(request: HttpRequest, credit_code: str, subsystem: str, code: str) -> dict[str, Any]:
    now = timezone.now()
    monitored = selectors_admin.service_for_monitoring(request.user, credit_code, subsystem, code, now=now)
    return {
        "service": monitored.stats.service_id,
        "all_calls": monitored.all_calls,
        "generated_at": now.isoformat(),
        "windows": {
            name: {
                "since": window.since.isoformat(),
                "calls": window.calls,
                "errors": window.errors,
                "errors_by_code": dict(window.error_rows),
                "p50_ms": window.p50_ms,
                "p95_ms": window.p95_ms,
                "last_call_at": window.last_call_at.isoformat() if window.last_call_at else None,
            }
            for name, window in monitored.stats.windows.items()
        },
    }


# --- Service state (docs/exchange.md "Pages": deactivating a service) --------------------------------------


class ServiceStateOut(Schema):
    service: str
    code: str
    name: str
    is_active: bool
    deactivated_at: str | None  # why, when and by whom an inactive service was deactivated; null when active
    deactivated_by: str | None
    deactivation_reason: str


class ServiceDeactivateIn(Schema):
    reason: str


def _service_state(service: Service) -> dict[str, Any]:
    return {
        "service": selectors_admin.service_id(service),
        "code": service.code,
        "name": service.name,
        "is_active": service.is_active,
        "deactivated_at": service.deactivated_at.isoformat() if service.deactivated_at else None,
        "deactivated_by": service.deactivated_by.username if service.deactivated_by else None,
        "deactivation_reason": service.deactivation_reason,
    }


@router.post(
    "/services/CN/GOV/{credit_code}/{subsystem}/{code}/deactivate",
    auth=api_auth,
    response={200: ServiceStateOut, **_ERRORS},
    summary="Deactivate a service: calls are refused unknown_service (404) and discovery stops listing it "
    "(its department's administrators, system administrators)",
    description="422 `reason_required`; 409 `service_already_inactive`.",
)
def service_deactivate(
    request: HttpRequest, credit_code: str, subsystem: str, code: str, payload: ServiceDeactivateIn
) -> dict[str, Any]:
    user = cast(User, request.user)
    service = selectors_admin.service_for_admin(user, credit_code, subsystem, code)
    return _service_state(
        actions.service_deactivate(acting_user=user, service=service, reason=payload.reason)
    )


@router.post(
    "/services/CN/GOV/{credit_code}/{subsystem}/{code}/reactivate",
    auth=api_auth,
    response={200: ServiceStateOut, **_ERRORS},
    summary="Reactivate a deactivated service (its department's administrators, system administrators)",
    description="409 `service_already_active`.",
)
def service_reactivate(request: HttpRequest, credit_code: str, subsystem: str, code: str) -> dict[str, Any]:
    user = cast(User, request.user)
    service = selectors_admin.service_for_admin(user, credit_code, subsystem, code)
    return _service_state(actions.service_reactivate(acting_user=user, service=service))


# --- A service's OpenAPI document (docs/exchange.md "Pages") ----------------------------------------------


class ServiceOpenApiIn(Schema):
    document: Any  # the OpenAPI document itself (a JSON object), or its JSON text


class ServiceOpenApiOut(Schema):
    service: str
    sha256: str
    bytes: int
    openapi_url: str


@router.put(
    "/services/CN/GOV/{credit_code}/{subsystem}/{code}/openapi",
    auth=api_auth,
    response={200: ServiceOpenApiOut, **_ERRORS},
    summary="Replace a service's OpenAPI document; discovery serves it from the next request on "
    "(its department's administrators, system administrators)",
    description='Body `{"document": {…}}`: a JSON object of at most 256 KB, `openapi` 3.0.x or 3.1.x, '
    "`info.title`, `info.version` and `paths` (an object), every `$ref` inside the document (`#/…`). "
    "422 `openapi_invalid_json`, `openapi_not_object`, `openapi_too_large`, `openapi_too_deep`, "
    "`openapi_version_unsupported`, `openapi_title_missing`, `openapi_version_missing`, "
    "`openapi_paths_missing`, `openapi_external_ref` (field `document`); 409 `service_openapi_builtin` "
    "(a built-in service's document is generated by the platform).",
)
def service_openapi_set(
    request: HttpRequest, credit_code: str, subsystem: str, code: str, payload: ServiceOpenApiIn
) -> dict[str, Any]:
    user = cast(User, request.user)
    service = selectors_admin.service_for_admin(user, credit_code, subsystem, code)
    saved = actions.service_openapi_set(acting_user=user, service=service, document=payload.document)
    path = selectors_admin.service_id(saved)
    return {
        "service": path,
        "sha256": document_sha256(saved.openapi),
        "bytes": len(canonical_bytes(saved.openapi)),
        "openapi_url": f"/api/v1/exchange/meta/services/{path}/openapi",
    }
