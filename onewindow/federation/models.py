"""The federation's records (docs/federation.md): this node's signing keys, its peers (other OneWindow
nodes, each pinned by its root certificate), grants to consumers of a peer, the export queue of events
for each peer, the events taken in from peers, used nonces and the federated calls.

Members, subsystems and services stay in the exchange and the catalog; a peer's members are cached here
(:class:`PeerMember`) only to route calls.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class NodeKeyStatus(models.TextChoices):
    ACTIVE = "active", _("Active (在用)")
    RETIRED = "retired", _("Retired: still verifies (已轮换)")
    REVOKED = "revoked", _("Revoked: on the root's CRL (已吊销)")


class NodeKey(models.Model):
    """A signing key of this node (one active): signs what this node forwards and answers for its peers.

    Its certificate comes from this node's platform root (the seals' CA) and names the instance
    (``urn:onewindow:exchange:federation/{instance}``), so a peer that pinned the root can check it.
    """

    instance = models.CharField(max_length=40)
    key_id = models.CharField(max_length=64, unique=True)  # SM3 hex of the SubjectPublicKeyInfo
    algorithm = models.CharField(max_length=10)
    public_key_der = models.BinaryField()
    # PKCS#8 sealed with SM4-GCM under the master key (``exchange.keystore``); never leaves the store.
    private_key_token = models.TextField()
    certificate_der = models.BinaryField()
    certificate_serial = models.CharField(max_length=40)
    status = models.CharField(max_length=8, choices=NodeKeyStatus.choices, default=NodeKeyStatus.ACTIVE)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    # Revocation (``node_key_revoke``): final; the certificate goes on the root's CRL, which peers fetch.
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance"], condition=Q(status="active"), name="federation_one_active_node_key"
            )
        ]

    def __str__(self) -> str:
        return f"node key {self.key_id[:12]} of {self.instance} ({self.status})"


class PeerStatus(models.TextChoices):
    ACTIVE = "active", _("Active (生效)")
    REVOKED = "revoked", _("Revoked (已撤销)")


class EventTransport(models.TextChoices):
    HTTPS = "https", _("Signed HTTPS pull (HTTPS 拉取)")
    NATS = "nats", _("NATS JetStream")


class Peer(models.Model):
    """Another OneWindow node, trusted through its root certificate, pinned by fingerprint at registration.

    ``requests_out``: this node's consumers may call the peer's services; ``requests_in``: the peer's
    consumers may call this node's (each still needs a :class:`PeerGrant`); ``events_out``: this node sends
    the peer its events of ``export_topics``; ``events_in``: this node takes the peer's events of
    ``import_topics`` into its own outbox. A revoked peer is refused everything at once (final: register
    it again to resume).
    """

    instance = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    base_url = models.URLField(max_length=500)
    root_certificate_der = models.BinaryField()
    root_sha256 = models.CharField(max_length=64)
    root_sm3 = models.CharField(max_length=64)
    requests_out = models.BooleanField(default=False)
    requests_in = models.BooleanField(default=False)
    events_out = models.BooleanField(default=False)
    events_in = models.BooleanField(default=False)
    export_topics = models.JSONField(default=list, blank=True)
    import_topics = models.JSONField(default=list, blank=True)
    events_transport = models.CharField(
        max_length=5, choices=EventTransport.choices, default=EventTransport.HTTPS
    )
    status = models.CharField(max_length=8, choices=PeerStatus.choices, default=PeerStatus.ACTIVE)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)
    # Events created from then on are exported to the peer; the scan's high-water mark (events.py).
    export_since = models.DateTimeField()
    export_scanned_until = models.DateTimeField(null=True, blank=True)
    directory_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["instance", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance"], condition=Q(status="active"), name="federation_one_active_peer"
            )
        ]

    def __str__(self) -> str:
        return f"peer {self.instance} ({self.status})"


class PeerCrl(models.Model):
    """The peer's root CRL (``GET {peer}/seals/root-ca.crl``), fetched on schedule and verified against the
    pinned root: node and consumer certificates whose serial it lists are refused ``certificate_revoked``.

    A CRL past its ``next_update`` is kept and still applied (its serials stay revoked) but reported stale;
    a fetch that fails or does not verify leaves the stored CRL as it was and records ``last_error``.
    """

    peer = models.OneToOneField(Peer, on_delete=models.CASCADE, related_name="crl")
    crl_der = models.BinaryField(blank=True, default=b"")
    crl_number = models.PositiveBigIntegerField(null=True, blank=True)
    this_update = models.DateTimeField(null=True, blank=True)
    next_update = models.DateTimeField(null=True, blank=True)
    # Serials (lower-case hex, as ``certificate_serial`` elsewhere) of the stored CRL, for the checks.
    revoked_serials = models.JSONField(default=list, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)  # the stored CRL's fetch
    attempted_at = models.DateTimeField(null=True, blank=True)  # the last fetch, successful or not
    last_error = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"CRL of peer {self.peer_id}"


class PeerMember(models.Model):
    """A member of a peer (a department, by credit code) and its services, from the peer's discovery."""

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="members")
    credit_code = models.CharField(max_length=18)
    name = models.CharField(max_length=200, blank=True)
    name_en = models.CharField(max_length=200, blank=True)
    # [{"service": "CN/GOV/…/…/…", "name": …, "name_en": …, "resource_code": …}]
    services = models.JSONField(default=list, blank=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ["peer", "credit_code"]
        constraints = [
            models.UniqueConstraint(fields=["peer", "credit_code"], name="federation_peer_member_unique")
        ]
        indexes = [models.Index(fields=["credit_code"], name="federation_member_code_idx")]

    def __str__(self) -> str:
        return f"{self.credit_code} at {self.peer_id}"


class PeerGrantStatus(models.TextChoices):
    ACTIVE = "active", _("Active (生效)")
    REVOKED = "revoked", _("Revoked (已撤销)")


class PeerGrant(models.Model):
    """The right of a peer's consumer to data items of one of this node's services until a date.

    ``consumer`` is a member ``CN/GOV/{credit code}`` (all its subsystems) or a subsystem
    ``CN/GOV/{credit code}/{system}`` *as vouched for by that peer*: the same identifier arriving through
    another peer matches nothing (the peer is part of the grant, as the instance is in X-Road).
    """

    peer = models.ForeignKey(Peer, on_delete=models.PROTECT, related_name="grants")
    service = models.ForeignKey("exchange.Service", on_delete=models.PROTECT, related_name="peer_grants")
    consumer = models.CharField(max_length=200)
    item_names = models.JSONField(default=list)
    expires_on = models.DateField()
    status = models.CharField(max_length=8, choices=PeerGrantStatus.choices, default=PeerGrantStatus.ACTIVE)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["peer", "service", "consumer"],
                condition=Q(status="active"),
                name="federation_one_active_peer_grant",
            )
        ]

    def __str__(self) -> str:
        return f"peer grant {self.pk} ({self.status})"


class UsedNonce(models.Model):
    """A nonce seen from a peer node or from a local consumer calling through the federation; the unique
    constraint makes replay refusal race-safe on both databases. Kept past the timestamp window."""

    client = models.CharField(max_length=200)
    nonce = models.CharField(max_length=64)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "nonce"], name="federation_nonce_unique")]

    def __str__(self) -> str:
        return f"nonce of {self.client}"


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Pending (待发送)")
    ACKNOWLEDGED = "acked", _("Acknowledged by the peer or stored by NATS (已确认)")


class ExportItem(models.Model):
    """One outbox event of this node for one peer: served (leased) until the peer acknowledges it."""

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="export_items")
    event_id = models.UUIDField()  # the outbox event (no foreign key: the outbox may be pruned)
    topic = models.CharField(max_length=100)
    key = models.CharField(max_length=128)
    event_created_at = models.DateTimeField()
    status = models.CharField(max_length=7, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    leased_until = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["event_created_at", "event_id"]
        constraints = [
            models.UniqueConstraint(fields=["peer", "event_id"], name="federation_export_unique"),
        ]
        indexes = [
            models.Index(
                fields=["peer", "event_created_at", "event_id"],
                condition=Q(status="pending"),
                name="federation_export_pending_idx",
            ),
            models.Index(fields=["status", "acked_at"], name="federation_export_acked_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.event_id} for {self.peer_id} ({self.status})"


class ImportedEvent(models.Model):
    """An event taken in from a peer: the origin's event id is unique, so a second copy adds nothing."""

    origin_instance = models.CharField(max_length=40)
    origin_event_id = models.UUIDField()
    topic = models.CharField(max_length=100)
    key = models.CharField(max_length=128)
    local_event_id = models.UUIDField()  # the copy in this node's outbox
    # The signed batch (HTTPS) or message (NATS) that carried it: digest and the peer node's signature.
    carrier_digest = models.CharField(max_length=80)
    carrier_key_id = models.CharField(max_length=64)
    carrier_signature = models.TextField()
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["origin_instance", "origin_event_id"], name="federation_imported_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.origin_event_id} from {self.origin_instance}"


class CallDirection(models.TextChoices):
    OUTBOUND = "out", _("A local consumer called a peer's service (调出)")
    INBOUND = "in", _("A peer's consumer called a local service (调入)")


class FederatedCall(models.Model):
    """What the message log cannot hold of a federated call: the node signature and the peer's exchange id.

    The message log (``onewindow.messagelog``) has the chained record with the consumer's and the
    provider's signatures under the same ``exchange_id``.
    """

    exchange_id = models.CharField(max_length=64, db_index=True)
    direction = models.CharField(max_length=3, choices=CallDirection.choices)
    peer_instance = models.CharField(max_length=40)
    service = models.CharField(max_length=255)
    consumer = models.CharField(max_length=200)
    remote_exchange_id = models.CharField(max_length=64, blank=True)
    node_key_id = models.CharField(max_length=64, blank=True)
    node_signature = models.TextField(blank=True)
    status = models.PositiveSmallIntegerField()
    error_code = models.CharField(max_length=40, blank=True)
    # Event batches (service ``federation/events``): the number of events the batch carried.
    event_count = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.direction} {self.service} {self.status}"
