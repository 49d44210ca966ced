"""Writes of the federation (docs/federation.md): the node key, peers, grants to a peer's consumers, the
peer directory cache, imported events and the replay of exported ones.

Each action is one transaction with its audit record. Peers and the node key are managed by system
administrators; a grant of a service to a peer's consumer by the providing department's administrators
and system administrators. ``acting_user=None`` is the system (the ``federation`` management command run
by the operator, first-need key issue, scheduled jobs). Everyone else is refused (``permission.denied``
audited, nothing changed).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.core.revocation import revocation_reason, revoke_locked
from onewindow.crypto.keys import Algorithm, generate_signer
from onewindow.exchange import protocol as exchange_protocol
from onewindow.exchange.actions import may_manage_system
from onewindow.exchange.certificates import subsystem_certificate_issue
from onewindow.exchange.keystore import private_key_seal
from onewindow.exchange.models import Service
from onewindow.federation import protocol
from onewindow.federation.identity import FederationNotConfigured, instance_id
from onewindow.federation.models import (
    EventTransport,
    ExportItem,
    ExportStatus,
    NodeKey,
    NodeKeyStatus,
    Peer,
    PeerCrl,
    PeerGrant,
    PeerGrantStatus,
    PeerMember,
    PeerStatus,
)

PEER_OBJECT = "federation_peer"
GRANT_OBJECT = "federation_grant"
NODE_KEY_OBJECT = "federation_node_key"
SYSTEM_ACTOR = "system"
DIRECTIONS = ("requests_out", "requests_in", "events_out", "events_in")
ALGORITHMS = ("SM2-SM3", "Ed25519")


def _actor(acting_user: User | None) -> str:
    return "" if acting_user else SYSTEM_ACTOR


def may_manage_peers(user: User) -> bool:
    return user_has_permission(user, Permission.MANAGE_SYSTEM)


def _require_system_admin(acting_user: User | None, object_type: str, object_id: str = "") -> None:
    if acting_user is not None and not may_manage_peers(acting_user):
        raise permission_denied(
            acting_user, Permission.MANAGE_SYSTEM, object_type=object_type, object_id=object_id
        )


def _configured_instance() -> str:
    try:
        return instance_id()
    except FederationNotConfigured:
        raise RuleViolation(
            "federation_not_configured",
            "本节点未配置联邦实例标识（ONEWINDOW_FEDERATION_INSTANCE）。",
            "This node has no federation instance id (set ONEWINDOW_FEDERATION_INSTANCE).",
            status=409,
        ) from None


# --- The node key -------------------------------------------------------------------------------------------


def node_key_issue(*, acting_user: User | None, algorithm: str = "SM2-SM3") -> NodeKey:
    """A new node signing key with a certificate from this node's platform root naming the instance; the
    active one is retired (peers still accept what it signed while its certificate is valid)."""
    _require_system_admin(acting_user, NODE_KEY_OBJECT)
    instance = _configured_instance()
    if algorithm not in ALGORITHMS:
        raise RuleViolation(
            "algorithm_unsupported",
            "签名算法须为 SM2-SM3 或 Ed25519。",
            "The algorithm must be SM2-SM3 or Ed25519.",
            field="algorithm",
        )
    now = timezone.now()
    signer = generate_signer(Algorithm(algorithm))
    public_der = signer.public_key_der()
    certificate = subsystem_certificate_issue(
        public_key_der=public_der,
        department_name=f"OneWindow node {instance}",
        credit_code=instance,
        subsystem_path=protocol.node_subject(instance),
        validity=dt.timedelta(days=int(settings.EXCHANGE_KEY_CERTIFICATE_DAYS)),
        now=now,
    )
    private_der = signer.private_key_der()
    with transaction.atomic():
        retired = list(
            NodeKey.objects.select_for_update().filter(instance=instance, status=NodeKeyStatus.ACTIVE)
        )
        NodeKey.objects.filter(pk__in=[key.pk for key in retired]).update(
            status=NodeKeyStatus.RETIRED, retired_at=now
        )
        key = NodeKey.objects.create(
            instance=instance,
            key_id=signer.key_id,
            algorithm=algorithm,
            public_key_der=public_der,
            private_key_token=private_key_seal(signer.key_id, algorithm, private_der),
            certificate_der=certificate.public_bytes(Encoding.DER),
            certificate_serial=format(certificate.serial_number, "x"),
            status=NodeKeyStatus.ACTIVE,
            created_at=now,
            created_by=acting_user,
        )
        audit_append(
            action="federation.node_key_issued",
            acting_user=acting_user,
            actor_username=_actor(acting_user),
            object_type=NODE_KEY_OBJECT,
            object_id=key.key_id,
            details={
                "instance": instance,
                "algorithm": algorithm,
                "certificate_serial": key.certificate_serial,
                "retired": [old.key_id for old in retired],
            },
        )
    return key


def node_key_revoke(*, acting_user: User | None, key: NodeKey, reason: str) -> NodeKey:
    """Revoke a node key at once and for good (system administrators; a reason is required): this node no
    longer signs with it (the next request issues a new key if it was the active one) and its certificate
    goes on this node's root CRL, reissued in the same transaction, so peers refuse it
    ``certificate_revoked`` from their next CRL refresh. Audited ``federation.node_key_revoked``."""
    _require_system_admin(acting_user, NODE_KEY_OBJECT, key.key_id)
    from onewindow.seals.actions import crl_reissue_current

    reason = revocation_reason(
        reason,
        message_zh="吊销节点密钥须说明理由。",
        message_en="Revoking a node key needs a reason.",
    )
    with transaction.atomic():
        locked = revoke_locked(
            NodeKey.objects.select_for_update().get(pk=key.pk),
            revoked=NodeKeyStatus.REVOKED,
            acting_user=acting_user,
            reason=reason,
            already=("node_key_already_revoked", "该节点密钥已吊销。", "This node key is already revoked."),
        )
        audit_append(
            action="federation.node_key_revoked",
            acting_user=acting_user,
            actor_username=_actor(acting_user),
            object_type=NODE_KEY_OBJECT,
            object_id=locked.key_id,
            details={
                "instance": locked.instance,
                "certificate_serial": locked.certificate_serial,
                "reason": reason[:200],
            },
        )
        crl_reissue_current()
    return locked


def revoked_node_key_certificates() -> list[tuple[str, dt.datetime | None, bytes]]:
    """The certificates of revoked node keys, for the platform root's CRL (registered in ``apps.py``)."""
    return [
        (serial, revoked_at, bytes(der))
        for serial, revoked_at, der in NodeKey.objects.filter(status=NodeKeyStatus.REVOKED).values_list(
            "certificate_serial", "revoked_at", "certificate_der"
        )
    ]


# --- Peers --------------------------------------------------------------------------------------------------


def _topics(topics: Sequence[str], field: str, errors: list[FieldError]) -> list[str]:
    from onewindow.pubsub.filters import topics_check

    found: list[FieldError] = []
    checked = topics_check(list(topics), found)
    errors.extend(FieldError(field, error.code, error.message_zh, error.message_en) for error in found)
    return checked


def peer_register(
    *,
    acting_user: User | None,
    instance: str,
    name: str,
    base_url: str,
    root_certificate: str | bytes,
    fingerprint: str,
    directions: Sequence[str],
    export_topics: Sequence[str] = (),
    import_topics: Sequence[str] = (),
    events_transport: str = "",
) -> Peer:
    """Register another node: its instance id, address, and its root certificate, accepted only if its
    SHA-256 or SM3 fingerprint equals ``fingerprint`` (exchanged out of band: trust on configuration).

    Refused: not a system administrator (403); bad fields or a fingerprint that does not match (422); an
    active peer with that instance already (409).
    """
    _require_system_admin(acting_user, PEER_OBJECT, instance)
    own = _configured_instance()
    errors: list[FieldError] = []
    instance = instance.strip()
    if not protocol.instance_is_valid(instance) or instance == own:
        errors.append(
            FieldError(
                "instance",
                "instance_invalid",
                "实例标识须形如 CN-35，且不能是本节点。",
                "The instance id looks like CN-35 and is not this node's own.",
            )
        )
    name = name.strip() or instance
    base_url = base_url.strip().rstrip("/")
    schemes = ("https://",) if settings.PRODUCTION else ("https://", "http://")
    if not base_url.startswith(schemes) or len(base_url) > 500 or any(c.isspace() for c in base_url):
        errors.append(
            FieldError(
                "base_url",
                "base_url_invalid",
                "请填写对端节点的 https 地址。",
                "Give the peer's https base URL.",
            )
        )
    root_bytes = b""
    try:
        root = protocol.root_load(root_certificate)
        root_bytes = protocol.root_der(root)
    except protocol.CertificateProblem as problem:
        errors.append(
            FieldError(
                "root_certificate",
                "root_certificate_invalid",
                "根证书无效（须为自签名的 CA 证书）。",
                f"The root certificate is not valid: {problem}.",
            )
        )
    sha256, sm3 = protocol.fingerprints(root_bytes) if root_bytes else ("", "")
    wanted = protocol.fingerprint_normalise(fingerprint)
    if root_bytes and wanted not in {sha256, sm3}:
        errors.append(
            FieldError(
                "fingerprint",
                "fingerprint_mismatch",
                "根证书的指纹与登记的指纹（SHA-256 或 SM3）不符。",
                "The root certificate's fingerprint (SHA-256 or SM3) is not the one given.",
            )
        )
    chosen = sorted(set(directions))
    if not chosen or not set(chosen) <= set(DIRECTIONS):
        errors.append(
            FieldError(
                "directions",
                "directions_invalid",
                "请选择允许的方向：" + "、".join(DIRECTIONS),
                "Choose the directions allowed: " + ", ".join(DIRECTIONS),
            )
        )
    exports = _topics(export_topics, "export_topics", errors) if "events_out" in chosen else []
    imports = _topics(import_topics, "import_topics", errors) if "events_in" in chosen else []
    transport = events_transport or (
        EventTransport.NATS if settings.FEDERATION_NATS_URL else EventTransport.HTTPS
    )
    if transport not in EventTransport.values or (
        transport == EventTransport.NATS and not settings.FEDERATION_NATS_URL
    ):
        errors.append(
            FieldError(
                "events_transport",
                "transport_invalid",
                "事件通道须为 https，或已配置 NATS 时为 nats。",
                "The event transport is https, or nats when a NATS server is configured.",
            )
        )
    if errors:
        raise FieldErrors(errors, code="peer_invalid")
    now = timezone.now()
    try:
        with transaction.atomic():
            peer = Peer.objects.create(
                instance=instance,
                name=name[:200],
                base_url=base_url,
                root_certificate_der=root_bytes,
                root_sha256=sha256,
                root_sm3=sm3,
                requests_out="requests_out" in chosen,
                requests_in="requests_in" in chosen,
                events_out="events_out" in chosen,
                events_in="events_in" in chosen,
                export_topics=exports,
                import_topics=imports,
                events_transport=transport,
                created_at=now,
                created_by=acting_user,
                export_since=now,
            )
            audit_append(
                action="federation.peer_registered",
                acting_user=acting_user,
                actor_username=_actor(acting_user),
                object_type=PEER_OBJECT,
                object_id=instance,
                details={
                    "base_url": base_url,
                    "root_sha256": sha256,
                    "root_sm3": sm3,
                    "directions": chosen,
                    "export_topics": exports,
                    "import_topics": imports,
                    "events_transport": transport,
                },
            )
    except IntegrityError:
        raise RuleViolation(
            "peer_exists",
            "该实例已登记为对端节点（须先撤销）。",
            "This instance is already a registered peer (revoke it first).",
            status=409,
        ) from None
    return peer


def peer_revoke(*, acting_user: User | None, peer: Peer, reason: str) -> Peer:
    """Revoke a peer at once: its calls and event fetches are refused from the next request, nothing is
    sent to it. Final; register it again to resume."""
    _require_system_admin(acting_user, PEER_OBJECT, peer.instance)
    reason = revocation_reason(
        reason, message_zh="撤销对端节点须说明理由。", message_en="Revoking a peer needs a reason."
    )
    with transaction.atomic():
        locked = revoke_locked(
            Peer.objects.select_for_update().get(pk=peer.pk),
            revoked=PeerStatus.REVOKED,
            acting_user=acting_user,
            reason=reason,
            already=("peer_already_revoked", "该对端节点已撤销。", "This peer is already revoked."),
        )
        audit_append(
            action="federation.peer_revoked",
            acting_user=acting_user,
            actor_username=_actor(acting_user),
            object_type=PEER_OBJECT,
            object_id=locked.instance,
            details={"reason": reason[:200]},
        )
    return locked


def peer_directory_store(*, peer: Peer, members: Sequence[dict[str, Any]]) -> int:
    """Replace the cached members and services of ``peer`` (a system job: the directory refresh)."""
    now = timezone.now()
    rows = [
        PeerMember(
            peer=peer,
            credit_code=str(member["credit_code"])[:18],
            name=str(member.get("name", ""))[:200],
            name_en=str(member.get("name_en", ""))[:200],
            services=list(member.get("services", [])),
            refreshed_at=now,
        )
        for member in members
    ]
    with transaction.atomic():
        PeerMember.objects.filter(peer=peer).delete()
        PeerMember.objects.bulk_create(rows)
        Peer.objects.filter(pk=peer.pk).update(directory_refreshed_at=now)
        audit_append(
            action="federation.directory_refreshed",
            acting_user=None,
            actor_username=SYSTEM_ACTOR,
            object_type=PEER_OBJECT,
            object_id=peer.instance,
            details={"members": len(rows), "services": sum(len(row.services) for row in rows)},
        )
    return len(rows)


def peer_crl_refresh(*, acting_user: User | None, peer: Peer) -> PeerCrl:
    """Fetch the peer's root CRL, verify it against the pinned root and keep it (system administrators, or
    the scheduled job). A fetch that fails or does not verify keeps the stored CRL and records the error; a
    CRL with a lower CRL number than the stored one is refused (an old copy must not revive a key).
    Audited ``federation.crl_refreshed`` (or ``federation.crl_refresh_failed`` with the error)."""
    _require_system_admin(acting_user, PEER_OBJECT, peer.instance)
    from onewindow.federation.crl import CrlProblem, VerifiedCrl, crl_verify, peer_crl_fetch
    from onewindow.federation.gateway import peer_root
    from onewindow.federation.transport import PeerUnreachable

    verified: VerifiedCrl | None = None
    error = ""
    try:
        verified = crl_verify(peer_crl_fetch(peer), peer_root(peer))
    except PeerUnreachable as problem:
        error = f"peer_unavailable: {problem}"
    except CrlProblem as problem:
        error = f"bad_crl: {problem}"
    now = timezone.now()
    with transaction.atomic():
        row, _created = PeerCrl.objects.select_for_update().get_or_create(peer=peer)
        if (
            verified is not None
            and row.crl_number is not None
            and (verified.number is None or verified.number < row.crl_number)
        ):
            error, verified = f"bad_crl: CRL number {verified.number} older than {row.crl_number}", None
        row.attempted_at = now
        row.last_error = error[:200]
        details: dict[str, Any] = {"error": error[:200]} if error else {}
        if verified is not None:
            row.crl_der = verified.der
            row.crl_number = verified.number
            row.this_update = verified.this_update
            row.next_update = verified.next_update
            row.revoked_serials = verified.serials
            row.fetched_at = now
            details = {
                "crl_number": verified.number,
                "revoked": len(verified.serials),
                "this_update": verified.this_update.isoformat(),
                "next_update": verified.next_update.isoformat() if verified.next_update else None,
                "stale": bool(verified.next_update and verified.next_update < now),
            }
        row.save()
        audit_append(
            action="federation.crl_refreshed" if verified is not None else "federation.crl_refresh_failed",
            acting_user=acting_user,
            actor_username=_actor(acting_user),
            outcome="success" if verified is not None else "failure",
            object_type=PEER_OBJECT,
            object_id=peer.instance,
            details=details,
        )
    return row


# --- Grants to a peer's consumers ---------------------------------------------------------------------------


def _grant_items(service: Service, items: Sequence[str], errors: list[FieldError]) -> list[str]:
    """The items, if each is a shareable data item of the service's catalog resource."""
    from onewindow.catalog.models import DataItem, Resource, ResourceStatus, SharingType

    resource = Resource.objects.filter(code=service.resource_code, status=ResourceStatus.ACTIVE).first()
    shareable = (
        set(
            DataItem.objects.filter(version_id=resource.current_version_id)
            .exclude(sharing_type=SharingType.NOT_SHARED)
            .values_list("name", flat=True)
        )
        if resource is not None
        else set()
    )
    wanted = sorted({item.strip() for item in items if item.strip()})
    if not wanted or not set(wanted) <= shareable:
        errors.append(
            FieldError(
                "items",
                "items_invalid",
                "信息项须为该服务所属目录资源中可共享的信息项。",
                "Items must be shareable data items of the service's catalog resource: "
                + ", ".join(sorted(set(wanted) - shareable) or ["(none given)"]),
            )
        )
    return wanted


def peer_grant_create(
    *,
    acting_user: User | None,
    peer: Peer,
    service: Service,
    consumer: str,
    items: Sequence[str],
    until: dt.date,
) -> PeerGrant:
    """Grant ``consumer`` (a member ``CN/GOV/{code}`` or subsystem ``CN/GOV/{code}/{system}``) *of ``peer``*
    the data ``items`` of ``service`` until ``until`` (the day itself counts). The providing department's
    administrators and system administrators; audited ``federation.grant_created``."""
    if acting_user is not None and not may_manage_system(acting_user, service.provider):
        raise permission_denied(
            acting_user, Permission.MANAGE_DEPARTMENT, object_type=GRANT_OBJECT, object_id=str(service.pk)
        )
    errors: list[FieldError] = []
    consumer = consumer.strip()
    parts = consumer.split("/")
    well_formed = (
        len(parts) in (3, 4)
        and parts[0] == exchange_protocol.COUNTRY
        and parts[1] == exchange_protocol.MEMBER_CLASS
        and all(parts[2:])
        and len(consumer) <= 200
    )
    if not well_formed:
        errors.append(
            FieldError(
                "consumer",
                "consumer_invalid",
                "请求方须为 CN/GOV/{统一社会信用代码} 或 CN/GOV/{统一社会信用代码}/{系统编码}。",
                "The consumer is CN/GOV/{credit code} or CN/GOV/{credit code}/{system code}.",
            )
        )
    wanted = _grant_items(service, items, errors)
    if until < timezone.localdate():
        errors.append(
            FieldError("until", "until_past", "截止日期不能早于今天。", "The end date is in the past.")
        )
    if peer.status != PeerStatus.ACTIVE or not peer.requests_in:
        errors.append(
            FieldError(
                "peer",
                "peer_not_open",
                "该对端节点已撤销或未开放调入请求。",
                "The peer is revoked or may not send requests in.",
            )
        )
    if errors:
        raise FieldErrors(errors, code="peer_grant_invalid")
    try:
        with transaction.atomic():
            grant = PeerGrant.objects.create(
                peer=peer,
                service=service,
                consumer=consumer,
                item_names=wanted,
                expires_on=until,
                created_at=timezone.now(),
                created_by=acting_user,
            )
            audit_append(
                action="federation.grant_created",
                acting_user=acting_user,
                actor_username=_actor(acting_user),
                object_type=GRANT_OBJECT,
                object_id=grant.pk,
                details={
                    "peer": peer.instance,
                    "service": exchange_protocol.service_path(
                        service.provider.department.credit_code, service.provider.code, service.code
                    ),
                    "consumer": consumer,
                    "items": wanted,
                    "until": until.isoformat(),
                },
                department_code=service.provider.department.code,
            )
    except IntegrityError:
        raise RuleViolation(
            "grant_exists",
            "该请求方已有此服务的有效授权（须先撤销）。",
            "This consumer already has an active grant of the service (revoke it first).",
            status=409,
        ) from None
    return grant


def peer_grant_revoke(*, acting_user: User | None, grant: PeerGrant, reason: str) -> PeerGrant:
    """Revoke a grant at once: the next call of that consumer is refused ``no_grant``."""
    service = grant.service
    if acting_user is not None and not may_manage_system(acting_user, service.provider):
        raise permission_denied(
            acting_user, Permission.MANAGE_DEPARTMENT, object_type=GRANT_OBJECT, object_id=str(grant.pk)
        )
    reason = revocation_reason(
        reason, message_zh="撤销授权须说明理由。", message_en="Revoking a grant needs a reason."
    )
    with transaction.atomic():
        locked = revoke_locked(
            PeerGrant.objects.select_for_update().get(pk=grant.pk),
            revoked=PeerGrantStatus.REVOKED,
            acting_user=acting_user,
            reason=reason,
            already=("grant_already_revoked", "该授权已撤销。", "This grant is already revoked."),
        )
        audit_append(
            action="federation.grant_revoked",
            acting_user=acting_user,
            actor_username=_actor(acting_user),
            object_type=GRANT_OBJECT,
            object_id=locked.pk,
            details={"reason": reason[:200], "peer": grant.peer.instance, "consumer": grant.consumer},
            department_code=service.provider.department.code,
        )
    return locked


# --- Exported events ----------------------------------------------------------------------------------------


def export_replay(*, acting_user: User | None, peer: Peer, event_ids: Sequence[str] | None = None) -> int:
    """Send events again to ``peer`` (all acknowledged ones, or those of ``event_ids``): they go back to
    pending; the peer takes each once (it deduplicates by event id)."""
    _require_system_admin(acting_user, PEER_OBJECT, peer.instance)
    checked: list[uuid.UUID] = []
    for value in list(event_ids or [])[:1000]:
        try:
            checked.append(uuid.UUID(str(value)))
        except ValueError:
            raise FieldErrors(
                [FieldError("event_ids", "event_id_invalid", "事件编号无效。", "An event id is not valid.")],
                code="event_ids_invalid",
            ) from None
    with transaction.atomic():
        rows = ExportItem.objects.filter(peer=peer, status=ExportStatus.ACKNOWLEDGED)
        if event_ids is not None:
            rows = rows.filter(event_id__in=checked)
        count = rows.update(status=ExportStatus.PENDING, leased_until=None, acked_at=None)
        audit_append(
            action="federation.events_replayed",
            acting_user=acting_user,
            actor_username=_actor(acting_user),
            object_type=PEER_OBJECT,
            object_id=peer.instance,
            details={
                "count": count,
                "events": [str(e) for e in checked][:100] if event_ids is not None else "all",
            },
        )
    return count
