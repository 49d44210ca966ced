"""The federation API (/api/v1/federation/...): this node's public identity, peers (system
administrators), grants to a peer's consumers (the providing department's administrators and system
administrators). Everyone else: 401 without a caller, 403 otherwise (audited, nothing changed).
"""

# No ``from __future__ import annotations``: Ninja reads the endpoint annotations at runtime.

import base64
import datetime as dt
from typing import Any, cast

from django.http import HttpRequest
from ninja import Router, Schema, Status

from onewindow.accounts.api_auth import api_auth
from onewindow.accounts.models import User
from onewindow.accounts.schemas import ErrorOut, ErrorWithFieldsOut
from onewindow.core.api_errors import ApiError
from onewindow.exchange import protocol as xp
from onewindow.federation import actions, selectors
from onewindow.federation.directory import peer_directory_refresh
from onewindow.federation.models import NodeKey, Peer, PeerGrant
from onewindow.federation.transport import PeerUnreachable

router = Router(tags=["federation"])

_ERRORS: dict[int, Any] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorWithFieldsOut,
}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


class NodeKeyOut(Schema):
    key_id: str
    algorithm: str
    status: str
    certificate_der_base64: str
    created_at: str


class NodeOut(Schema):
    instance: str
    root_certificate_pem: str
    root_fingerprint_sha256: str
    root_fingerprint_sm3: str
    keys: list[NodeKeyOut]


class PeerIn(Schema):
    instance: str
    name: str = ""
    base_url: str
    root_certificate_pem: str
    fingerprint: str
    directions: list[str]
    export_topics: list[str] = []
    import_topics: list[str] = []
    events_transport: str = ""


class PeerOut(Schema):
    instance: str
    name: str
    base_url: str
    root_fingerprint_sha256: str
    root_fingerprint_sm3: str
    directions: list[str]
    export_topics: list[str]
    import_topics: list[str]
    events_transport: str
    status: str
    created_at: str
    revoked_at: str | None
    revoke_reason: str
    members: int
    directory_refreshed_at: str | None
    last_sync_at: str | None
    last_sync_error: str


class ReasonIn(Schema):
    reason: str


class ReplayIn(Schema):
    event_ids: list[str] | None = None


class CountOut(Schema):
    count: int


class GrantIn(Schema):
    peer: str
    service: str
    consumer: str
    items: list[str]
    until: dt.date


class GrantOut(Schema):
    id: int
    peer: str
    service: str
    consumer: str
    items: list[str]
    until: dt.date
    status: str
    created_at: str
    revoked_at: str | None


class KeyIssueIn(Schema):
    algorithm: str = "SM2-SM3"


def _key_out(key: NodeKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "algorithm": key.algorithm,
        "status": key.status,
        "certificate_der_base64": base64.b64encode(bytes(key.certificate_der)).decode("ascii"),
        "created_at": key.created_at.isoformat(),
    }


def _peer_out(peer: Peer) -> dict[str, Any]:
    return {
        "instance": peer.instance,
        "name": peer.name,
        "base_url": peer.base_url,
        "root_fingerprint_sha256": peer.root_sha256,
        "root_fingerprint_sm3": peer.root_sm3,
        "directions": [name for name in actions.DIRECTIONS if getattr(peer, name)],
        "export_topics": list(peer.export_topics),
        "import_topics": list(peer.import_topics),
        "events_transport": peer.events_transport,
        "status": peer.status,
        "created_at": peer.created_at.isoformat(),
        "revoked_at": peer.revoked_at.isoformat() if peer.revoked_at else None,
        "revoke_reason": peer.revoke_reason,
        "members": peer.members.count(),
        "directory_refreshed_at": (
            peer.directory_refreshed_at.isoformat() if peer.directory_refreshed_at else None
        ),
        "last_sync_at": peer.last_sync_at.isoformat() if peer.last_sync_at else None,
        "last_sync_error": peer.last_sync_error,
    }


def _grant_out(grant: PeerGrant) -> dict[str, Any]:
    service = grant.service
    return {
        "id": grant.pk,
        "peer": grant.peer.instance,
        "service": xp.service_path(
            service.provider.department.credit_code, service.provider.code, service.code
        ),
        "consumer": grant.consumer,
        "items": list(grant.item_names),
        "until": grant.expires_on,
        "status": grant.status,
        "created_at": grant.created_at.isoformat(),
        "revoked_at": grant.revoked_at.isoformat() if grant.revoked_at else None,
    }


# --- Public -------------------------------------------------------------------------------------------------


@router.get(
    "/meta/node",
    response={200: NodeOut, 404: ErrorOut},
    summary="This node's instance id, root certificate (with fingerprints) and node keys (public)",
)
def node_meta(request: HttpRequest) -> dict[str, Any]:
    meta = selectors.node_meta()
    if meta is None:
        raise ApiError(
            404,
            "federation_not_configured",
            "本节点未配置联邦实例标识。",
            "This node has no federation instance id.",
        )
    return {
        "instance": meta.instance,
        "root_certificate_pem": meta.root_certificate_pem,
        "root_fingerprint_sha256": meta.root_sha256,
        "root_fingerprint_sm3": meta.root_sm3,
        "keys": [_key_out(key) for key in meta.keys],
    }


# --- Node key and peers (system administrators) -------------------------------------------------------------


@router.post(
    "/node/keys",
    auth=api_auth,
    response={201: NodeKeyOut, **_ERRORS},
    summary="Issue the node's next signing key (rotation: the active one is retired and still verifies)",
)
def node_key_issue(request: HttpRequest, payload: KeyIssueIn) -> Status[dict[str, Any]]:
    key = actions.node_key_issue(acting_user=_user(request), algorithm=payload.algorithm)
    return Status(201, _key_out(key))


@router.post(
    "/node/keys/{key_id}/revoke",
    auth=api_auth,
    response={200: NodeKeyOut, **_ERRORS},
    summary="Revoke a node key: final; its certificate goes on this node's root CRL at once",
)
def node_key_revoke(request: HttpRequest, key_id: str, payload: ReasonIn) -> dict[str, Any]:
    user = _user(request)
    key = selectors.node_key_for_admin(user, key_id)
    return _key_out(actions.node_key_revoke(acting_user=user, key=key, reason=payload.reason))


@router.get("/peers", auth=api_auth, response={200: list[PeerOut], **_ERRORS}, summary="Registered peers")
def peers_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_peer_out(peer) for peer in selectors.peers_for_user(_user(request))[:500]]


@router.post(
    "/peers",
    auth=api_auth,
    response={201: PeerOut, **_ERRORS},
    summary="Register a peer node, pinning its root certificate by fingerprint (SHA-256 or SM3)",
)
def peer_register(request: HttpRequest, payload: PeerIn) -> Status[dict[str, Any]]:
    peer = actions.peer_register(
        acting_user=_user(request),
        instance=payload.instance,
        name=payload.name,
        base_url=payload.base_url,
        root_certificate=payload.root_certificate_pem,
        fingerprint=payload.fingerprint,
        directions=payload.directions,
        export_topics=payload.export_topics,
        import_topics=payload.import_topics,
        events_transport=payload.events_transport,
    )
    return Status(201, _peer_out(peer))


@router.get("/peers/{instance}", auth=api_auth, response={200: PeerOut, **_ERRORS}, summary="A peer")
def peer_detail(request: HttpRequest, instance: str) -> dict[str, Any]:
    return _peer_out(selectors.peer_for_user(_user(request), instance))


@router.post(
    "/peers/{instance}/revoke",
    auth=api_auth,
    response={200: PeerOut, **_ERRORS},
    summary="Revoke a peer: its calls and event fetches are refused at once",
)
def peer_revoke(request: HttpRequest, instance: str, payload: ReasonIn) -> dict[str, Any]:
    user = _user(request)
    peer = selectors.peer_for_user(user, instance)
    return _peer_out(actions.peer_revoke(acting_user=user, peer=peer, reason=payload.reason))


class CrlOut(Schema):
    state: str  # ok, stale, error, missing (never fetched)
    crl_number: int | None
    this_update: str | None
    next_update: str | None
    revoked: int
    fetched_at: str | None
    last_error: str


@router.post(
    "/peers/{instance}/crl/refresh",
    auth=api_auth,
    response={200: CrlOut, **_ERRORS},
    summary="Fetch and verify the peer's root CRL now (the stored one stays in force if that fails)",
)
def peer_crl_refresh(request: HttpRequest, instance: str) -> dict[str, Any]:
    from onewindow.federation.crl import crl_state

    user = _user(request)
    row = actions.peer_crl_refresh(acting_user=user, peer=selectors.peer_for_user(user, instance))
    return {
        "state": crl_state(row),
        "crl_number": row.crl_number,
        "this_update": row.this_update.isoformat() if row.this_update else None,
        "next_update": row.next_update.isoformat() if row.next_update else None,
        "revoked": len(row.revoked_serials or []),
        "fetched_at": row.fetched_at.isoformat() if row.fetched_at else None,
        "last_error": row.last_error,
    }


@router.post(
    "/peers/{instance}/refresh",
    auth=api_auth,
    response={200: CountOut, 503: ErrorOut, **_ERRORS},
    summary="Fetch the peer's members and services again (its discovery)",
)
def peer_refresh(request: HttpRequest, instance: str) -> dict[str, int]:
    peer = selectors.peer_for_user(_user(request), instance)
    try:
        return {"count": peer_directory_refresh(peer)}
    except PeerUnreachable:
        raise ApiError(
            503, "peer_unavailable", "对端节点暂不可用。", "The peer node is unavailable."
        ) from None


@router.post(
    "/peers/{instance}/replay",
    auth=api_auth,
    response={200: CountOut, **_ERRORS},
    summary="Send acknowledged events to the peer again (all, or those of event_ids)",
)
def peer_replay(request: HttpRequest, instance: str, payload: ReplayIn) -> dict[str, int]:
    user = _user(request)
    peer = selectors.peer_for_user(user, instance)
    return {"count": actions.export_replay(acting_user=user, peer=peer, event_ids=payload.event_ids)}


# --- Grants to a peer's consumers ---------------------------------------------------------------------------


@router.get(
    "/grants",
    auth=api_auth,
    response={200: list[GrantOut], **_ERRORS},
    summary="Grants of this node's services to peers' consumers (your departments'; system admins: all)",
)
def grants_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_grant_out(grant) for grant in selectors.grants_for_user(_user(request))[:500]]


@router.post(
    "/grants",
    auth=api_auth,
    response={201: GrantOut, **_ERRORS},
    summary="Grant a peer's consumer (member or subsystem) data items of a service until a date",
)
def grant_create(request: HttpRequest, payload: GrantIn) -> Status[dict[str, Any]]:
    user = _user(request)
    service = selectors.service_for_grant(user, payload.service)
    peer = selectors.peer_for_grant(payload.peer)
    grant = actions.peer_grant_create(
        acting_user=user,
        peer=peer,
        service=service,
        consumer=payload.consumer,
        items=payload.items,
        until=payload.until,
    )
    return Status(201, _grant_out(grant))


@router.post(
    "/grants/{grant_id}/revoke",
    auth=api_auth,
    response={200: GrantOut, **_ERRORS},
    summary="Revoke a grant: the consumer's next call is refused",
)
def grant_revoke(request: HttpRequest, grant_id: int, payload: ReasonIn) -> dict[str, Any]:
    user = _user(request)
    grant = selectors.grant_for_user(user, grant_id)
    return _grant_out(actions.peer_grant_revoke(acting_user=user, grant=grant, reason=payload.reason))
