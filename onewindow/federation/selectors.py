"""Reads of the federation that check who asks: peers for system administrators; grants to a peer's
consumers for the providing department's administrators and system administrators; the node's public
identity for anyone (it names the instance, the root and the node keys, never data). The admin pages
(``/federation/admin/…``) read through the selectors at the end, for system administrators only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, QuerySet
from django.http import Http404
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.exchange import protocol as xp
from onewindow.exchange.actions import may_manage_system
from onewindow.exchange.models import Service
from onewindow.federation import protocol
from onewindow.federation.actions import DIRECTIONS, GRANT_OBJECT, PEER_OBJECT
from onewindow.federation.identity import FederationNotConfigured, instance_id, node_key_active, own_root
from onewindow.federation.models import (
    ExportItem,
    ExportStatus,
    ImportedEvent,
    NodeKey,
    NodeKeyStatus,
    Peer,
    PeerCrl,
    PeerGrant,
    PeerMember,
    PeerStatus,
)


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


# --- The admin pages (/federation/admin/…): system administrators only, as ``may_manage_peers`` says ------

LIST_LIMIT = 500
MEMBERS_SHOWN = 200


def federation_admin(user: User | AnonymousUser) -> User:
    """``user`` if they may use the federation's admin pages (system administrators); else 403, audited."""
    return _system_admin(user)


def node_key_for_admin(user: User | AnonymousUser, key_id: str) -> NodeKey:
    """One of this node's keys by key id, for system administrators (403 audited for others; 404)."""
    _system_admin(user, key_id[:64])
    key = NodeKey.objects.filter(key_id=key_id).first()
    if key is None:
        raise Http404(key_id)
    return key


@dataclass(frozen=True)
class NodeKeyRow:
    key: NodeKey
    valid_until: dt.datetime | None


@dataclass(frozen=True)
class NodeIdentity:
    """This node as its administrators see it; ``instance`` is "" when the federation is not configured."""

    instance: str
    root_sha256: str
    root_sm3: str
    keys: list[NodeKeyRow]


def node_identity_for_user(user: User | AnonymousUser) -> NodeIdentity:
    """The instance, the root's fingerprints and every node key of this instance (issues none)."""
    federation_admin(user)
    try:
        instance = instance_id()
    except FederationNotConfigured:
        return NodeIdentity("", "", "", [])
    sha256, sm3 = protocol.fingerprints(protocol.root_der(own_root()))
    keys = [
        NodeKeyRow(key, x509.load_der_x509_certificate(bytes(key.certificate_der)).not_valid_after_utc)
        for key in NodeKey.objects.filter(instance=instance).defer("private_key_token")
    ]
    return NodeIdentity(instance, sha256, sm3, keys)


@dataclass(frozen=True)
class PeerRow:
    peer: Peer
    current: bool  # the registration /federation/admin/peers/{instance}/ shows (active, else the latest)
    members: int
    backlog: int  # events waiting to be sent to the peer
    exported_day: int  # events the peer acknowledged in the last 24 hours
    imported_day: int  # events taken in from the peer's instance in the last 24 hours


def _counts(rows: Any, key: str) -> dict[Any, int]:
    return {row[key]: row["n"] for row in rows.annotate(n=Count("id"))}


def peer_rows_for_user(user: User | AnonymousUser) -> list[PeerRow]:
    """Every registration (newest first per instance) with its counts, in a constant number of queries:
    the export backlog from the pending index, the last day's exports and imports from their time indexes."""
    peers = list(peers_for_user(user)[:LIST_LIMIT])
    day_ago = timezone.now() - dt.timedelta(days=1)
    members = _counts(PeerMember.objects.values("peer"), "peer")
    backlog = _counts(ExportItem.objects.filter(status=ExportStatus.PENDING).values("peer"), "peer")
    exported = _counts(
        ExportItem.objects.filter(status=ExportStatus.ACKNOWLEDGED, acked_at__gte=day_ago).values("peer"),
        "peer",
    )
    imported = _counts(
        ImportedEvent.objects.filter(received_at__gte=day_ago).values("origin_instance"), "origin_instance"
    )
    rows, seen = [], set()
    for peer in peers:
        current = peer.instance not in seen
        seen.add(peer.instance)
        rows.append(
            PeerRow(
                peer=peer,
                current=current,
                members=members.get(peer.pk, 0),
                backlog=backlog.get(peer.pk, 0),
                exported_day=exported.get(peer.pk, 0),
                imported_day=imported.get(peer.instance, 0) if current else 0,
            )
        )
    return rows


@dataclass(frozen=True)
class PeerOverview:
    peer: Peer
    directions: list[str]
    members: list[PeerMember]
    member_count: int
    grants: list[PeerGrant]
    backlog: int
    acknowledged: int  # acknowledged events still kept (what a replay sends again)
    crl: PeerCrl | None = None  # the peer's root CRL as last stored (crl.py)
    crl_state: str = "missing"  # missing, stale, error or ok (crl.crl_state)


def peer_overview_for_user(user: User | AnonymousUser, instance: str) -> PeerOverview:
    """A peer (as :func:`peer_for_user`) with its directory, its grants and its export queue's counts."""
    peer = peer_for_user(user, instance)
    members = PeerMember.objects.filter(peer=peer).order_by("credit_code")
    counts = _counts(ExportItem.objects.filter(peer=peer).values("status"), "status")
    from onewindow.federation.crl import crl_state

    crl = PeerCrl.objects.filter(peer=peer).first()
    return PeerOverview(
        peer=peer,
        directions=[name for name in DIRECTIONS if getattr(peer, name)],
        members=list(members[:MEMBERS_SHOWN]),
        member_count=members.count(),
        grants=list(
            PeerGrant.objects.filter(peer=peer)
            .select_related("service__provider__department")
            .order_by("-created_at", "-id")[:LIST_LIMIT]
        ),
        backlog=counts.get(ExportStatus.PENDING, 0),
        acknowledged=counts.get(ExportStatus.ACKNOWLEDGED, 0),
        crl=crl,
        crl_state=crl_state(crl),
    )


def grants_for_peer_admin(user: User | AnonymousUser) -> QuerySet[PeerGrant]:
    """Every grant to a peer's consumers, newest first (the pages: system administrators only)."""
    federation_admin(user)
    return grants_for_user(user)


def grant_for_peer_admin(user: User | AnonymousUser, grant_id: int) -> PeerGrant:
    grant = grants_for_peer_admin(user).filter(pk=grant_id).first()
    if grant is None:
        raise Http404(str(grant_id))
    return grant


@dataclass(frozen=True)
class GrantChoices:
    peers: list[Peer]  # active peers allowed requests_in
    services: list[tuple[str, Service]]  # (service id, service) of every active local service


def grant_choices_for_user(user: User | AnonymousUser) -> GrantChoices:
    federation_admin(user)
    peers = list(Peer.objects.filter(status=PeerStatus.ACTIVE, requests_in=True).order_by("instance"))
    services = [
        (
            xp.service_path(service.provider.department.credit_code, service.provider.code, service.code),
            service,
        )
        for service in Service.objects.filter(is_active=True)
        .select_related("provider__department")
        .order_by("provider__department__code", "provider__code", "code")[:LIST_LIMIT]
    ]
    return GrantChoices(peers, services)
