"""The adapter protocol in the exchange API (/api/v1/exchange/...; docs/exchange.md, "The adapter protocol").

* ``GET /meta/gateway/keys`` — public: the exchange gateway's verifying keys (active and retired) with their
  certificates from the platform root; adapters check what the exchange sends them against these.
* ``POST /systems/{code}/keys/register`` — a subsystem's own key from a PKCS#10 certificate request (the
  private key never leaves the department): the owning department's administrators and system
  administrators; 401 without a caller, 403 for any other role (audited, nothing changed).
* ``POST /gateway/keys`` (issue or rotate) and ``POST /gateway/keys/{key id}/revoke`` (with a reason) — the
  gateway's own keys: system administrators only; 401 without a caller, 403 for every other role (audited,
  nothing changed).
"""

# No ``from __future__ import annotations``: Ninja reads the endpoint annotations at runtime.

import base64
from typing import Any, cast

from django.http import HttpRequest
from ninja import Router, Schema, Status

from onewindow.accounts.api_auth import api_auth
from onewindow.accounts.models import User
from onewindow.accounts.schemas import ErrorOut, ErrorWithFieldsOut
from onewindow.exchange import actions, selectors
from onewindow.exchange.adapter import GATEWAY_IDENTITY
from onewindow.exchange.api import KeyOut, key_out
from onewindow.exchange.models import GatewayKey, KeyStatus

router = Router(tags=["exchange"])

_ERRORS: dict[int, Any] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorWithFieldsOut,
}


class GatewayKeyOut(Schema):
    key_id: str
    identity: str
    algorithm: str
    status: str
    public_key_der_base64: str
    certificate_der_base64: str
    certificate_serial: str
    created_at: str
    retired_at: str | None


class GatewayKeyAdminOut(GatewayKeyOut):
    """A gateway key as the public list shows it, with its revocation (system administrators)."""

    revoked_at: str | None
    revoke_reason: str


class GatewayKeyRevokeIn(Schema):
    reason: str


class KeyRegisterIn(Schema):
    certificate_request: str  # PEM ("CERTIFICATE REQUEST") or base64 DER


@router.get(
    "/meta/gateway/keys",
    response=list[GatewayKeyOut],
    summary="The exchange gateway's verifying keys (active and retired) with their certificates",
)
def gateway_keys(request: HttpRequest) -> list[dict[str, Any]]:
    actions.gateway_key_current()  # the first key on first need, so an adapter can be set up at once
    keys = GatewayKey.objects.filter(status__in=[KeyStatus.ACTIVE, KeyStatus.RETIRED]).order_by(
        "-created_at", "-id"
    )
    return [_gateway_key_out(key) for key in keys]


def _gateway_key_out(key: GatewayKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "identity": GATEWAY_IDENTITY,
        "algorithm": key.algorithm,
        "status": key.status,
        "public_key_der_base64": base64.b64encode(bytes(key.public_key_der)).decode("ascii"),
        "certificate_der_base64": base64.b64encode(bytes(key.certificate_der)).decode("ascii"),
        "certificate_serial": key.certificate_serial,
        "created_at": key.created_at.isoformat(),
        "retired_at": key.retired_at.isoformat() if key.retired_at else None,
    }


def _request_bytes(text: str) -> bytes:
    data = text.strip().encode("ascii", errors="replace")
    if data.startswith(b"-----BEGIN"):
        return data
    try:
        return base64.b64decode(data, validate=True)
    except ValueError:
        return data  # refused by the action as unreadable, with the bilingual message


@router.post(
    "/systems/{code}/keys/register",
    auth=api_auth,
    response={201: KeyOut, **_ERRORS},
    summary="Register the subsystem's own key from a PKCS#10 certificate request (the private key stays with "
    "the department); the active key retires",
    description="422 `certificate_request_invalid` (unreadable, not SM2/Ed25519, or not signed by its own "
    "key); 409 `key_already_registered`, `key_held_by_platform` (a subsystem with built-in services).",
)
def system_key_register(request: HttpRequest, code: str, payload: KeyRegisterIn) -> Status[dict[str, Any]]:
    user = cast(User, request.user)
    system = selectors.system_for_key_admin(user, code)
    key = actions.subsystem_key_register(
        acting_user=user, system=system, certificate_request=_request_bytes(payload.certificate_request)
    )
    return Status(201, key_out(key))


# --- The gateway's keys (system administrators; docs/exchange.md "The adapter protocol") --------------------


def _gateway_key_admin_out(key: GatewayKey) -> dict[str, Any]:
    return {
        **_gateway_key_out(key),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "revoke_reason": key.revoke_reason,
    }


@router.post(
    "/gateway/keys",
    auth=api_auth,
    response={201: GatewayKeyAdminOut, **_ERRORS},
    summary="Issue the gateway's next key (rotation: the active one retires and still verifies until "
    "revoked; system administrators)",
    description="403 for every role but system administrators (audited, nothing changed).",
)
def gateway_key_issue(request: HttpRequest) -> Status[dict[str, Any]]:
    key = actions.gateway_key_issue(acting_user=cast(User, request.user))
    return Status(201, _gateway_key_admin_out(key))


@router.post(
    "/gateway/keys/{key_id}/revoke",
    auth=api_auth,
    response={200: GatewayKeyAdminOut, **_ERRORS},
    summary="Revoke a gateway key at once: the exchange stops signing with it and it leaves discovery "
    "(system administrators)",
    description="422 `reason_required`; 404 `key_not_found`; 409 `key_already_revoked`. 403 for every role "
    "but system administrators (audited, nothing changed).",
)
def gateway_key_revoke(request: HttpRequest, key_id: str, payload: GatewayKeyRevokeIn) -> dict[str, Any]:
    key = actions.gateway_key_revoke(
        acting_user=cast(User, request.user), key_id=key_id, reason=payload.reason
    )
    return _gateway_key_admin_out(key)
