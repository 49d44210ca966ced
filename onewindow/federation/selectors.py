"""Reads of the federation that check who asks: peers for system administrators; grants to a peer's
consumers for the providing department's administrators and system administrators; the node's public
identity for anyone (it names the instance, the root and the node keys, never data)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.exchange import protocol as xp
from onewindow.exchange.actions import may_manage_system
from onewindow.exchange.models import Service
from onewindow.federation import protocol
from onewindow.federation.actions import GRANT_OBJECT, PEER_OBJECT
from onewindow.federation.identity import FederationNotConfigured, instance_id, node_key_active, own_root
from onewindow.federation.models import NodeKey, NodeKeyStatus, Peer, PeerGrant


def _system_admin(user: User | AnonymousUser, object_id: str = "") -> User:
    if isinstance(user, User) and user_has_permission(user, Permission.MANAGE_SYSTEM):
        return user
    raise permission_denied(user, Permission.MANAGE_SYSTEM, object_type=PEER_OBJECT, object_id=object_id)


def peers_for_user(user: User | AnonymousUser) -> QuerySet[Peer]:
    _system_admin(user)
    return Peer.objects.order_by("instance", "-created_at")


def peer_for_user(user: User | AnonymousUser, instance: str) -> Peer:
    """The active peer of ``instance``, else its latest registration; 404 when never registered."""
    _system_admin(user, instance)
    peer = Peer.objects.filter(instance=instance).order_by("status", "-created_at").first()
    if peer is None:
        raise Http404(instance)
    return peer


def _administered_departments(user: User) -> set[str]:
    from onewindow.pubsub.selectors import administered_departments

    return administered_departments(user)


def grants_for_user(user: User | AnonymousUser) -> QuerySet[PeerGrant]:
    """Grants of the services of the departments ``user`` administers (system administrators: all)."""
    base = PeerGrant.objects.select_related("peer", "service__provider__department").order_by(
        "-created_at", "-id"
    )
    if isinstance(user, User) and user_has_permission(user, Permission.MANAGE_SYSTEM):
        return base
    departments = _administered_departments(user) if isinstance(user, User) else set()
    if not departments:
        raise permission_denied(user, Permission.MANAGE_DEPARTMENT, object_type=GRANT_OBJECT)
    return base.filter(service__provider__department__code__in=departments)


def grant_for_user(user: User | AnonymousUser, grant_id: int) -> PeerGrant:
    grant = grants_for_user(user).filter(pk=grant_id).first()
    if grant is None:
        raise Http404(str(grant_id))
    return grant


def service_for_grant(user: User | AnonymousUser, service_id: str) -> Service:
    """The local service ``CN/GOV/{member}/{subsystem}/{service}`` if ``user`` may grant it; 404 unknown."""
    parsed = xp.parse_service_path(service_id)
    service = (
        Service.objects.select_related("provider__department")
        .filter(
            provider__department__credit_code=parsed[0],
            provider__code=parsed[1],
            code=parsed[2],
            is_active=True,
        )
        .first()
        if parsed
        else None
    )
    if service is None:
        if not isinstance(user, User) or not (
            user_has_permission(user, Permission.MANAGE_SYSTEM) or _administered_departments(user)
        ):
            raise permission_denied(user, Permission.MANAGE_DEPARTMENT, object_type=GRANT_OBJECT)
        raise Http404(service_id)
    if not may_manage_system(user, service.provider):
        raise permission_denied(
            user, Permission.MANAGE_DEPARTMENT, object_type=GRANT_OBJECT, object_id=service_id
        )
    return service


def peer_for_grant(instance: str) -> Peer:
    """The active peer a grant names (call after :func:`service_for_grant` checked the caller; 404 none)."""
    peer = Peer.objects.filter(instance=instance, status="active").first()
    if peer is None:
        raise Http404(instance)
    return peer


@dataclass(frozen=True)
class NodeMeta:
    instance: str
    root_certificate_pem: str
    root_sha256: str
    root_sm3: str
    keys: list[NodeKey]


def node_meta() -> NodeMeta | None:
    """This node's public identity (None when ``ONEWINDOW_FEDERATION_INSTANCE`` is not set)."""
    try:
        instance = instance_id()
    except FederationNotConfigured:
        return None
    root = own_root()
    der = protocol.root_der(root)
    sha256, sm3 = protocol.fingerprints(der)
    node_key_active()
    keys = list(
        NodeKey.objects.filter(instance=instance, status__in=[NodeKeyStatus.ACTIVE, NodeKeyStatus.RETIRED])
    )
    from cryptography.hazmat.primitives.serialization import Encoding

    return NodeMeta(instance, root.public_bytes(Encoding.PEM).decode("ascii"), sha256, sm3, keys)
