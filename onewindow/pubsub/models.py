"""Publish/subscribe of the registries' domain events (issue #8 item 4; docs/pubsub.md).

* :class:`Subscription` — a department (optionally one of its information systems) subscribes to topics,
  with a small declarative filter on payload fields, delivered by signed webhook (push) or fetched and
  acknowledged through the API (pull).
* :class:`Delivery` — one outbox event for one subscription: the state of record for retries, the
  dead-letter queue, replay, per-key ordering and the delivery status API, whichever backend carried it.
* :class:`PendingKey` — one row per (subscription, key) that has pending deliveries: the row lock that
  orders the writes changing a key's head (fan-out, completion, replay; ``pubsub.queue``).
* :class:`StreamPosition` — how far the NATS backend has fanned out each JetStream stream, committed with
  the delivery rows it produced.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from onewindow.catalog.models import InformationSystem
from onewindow.organisations.models import Department
from onewindow.outbox.models import KEY_MAX_LENGTH, OutboxEvent


class DeliveryMode(models.TextChoices):
    PUSH = "push", _("Push by signed webhook (推送)")
    PULL = "pull", _("Pull through the API (拉取)")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending (待投递)")
    DELIVERED = "delivered", _("Delivered (已投递)")
    DEAD = "dead", _("Dead letter (死信)")


class Subscription(models.Model):
    """A department's subscription to some topics of the platform's domain events."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("department")
    )
    system = models.ForeignKey(
        InformationSystem,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscriptions",
        verbose_name=_("information system"),
    )
    name = models.CharField(_("name"), max_length=200)
    # Exact topics ("entity.registered") or a family ("entity.*").
    topics = models.JSONField(_("topics"), default=list)
    # [{"field": "division_code", "op": "prefix", "value": "3501"}, ...], all must hold (pubsub.filters).
    filters = models.JSONField(_("filters"), default=list, blank=True)
    mode = models.CharField(_("delivery mode"), max_length=4, choices=DeliveryMode.choices)
    webhook_url = models.URLField(_("webhook URL"), max_length=500, blank=True)
    # HMAC-SM3 key of the webhook signatures; shown once when created or rotated, stored encrypted
    # (pubsub.protection; docs/pubsub.md "Webhooks").
    secret = models.CharField(max_length=200, blank=True)
    max_attempts = models.PositiveSmallIntegerField(_("maximum attempts"), default=8)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["department__code", "code"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")

    def __str__(self) -> str:
        return self.code


class Delivery(models.Model):
    """One event for one subscription."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="deliveries")
    event = models.ForeignKey(OutboxEvent, on_delete=models.PROTECT, related_name="+")
    # Copied from the event: searchable, and the per-key order (event_created_at, event) without a join.
    topic = models.CharField(max_length=100)
    key = models.CharField(max_length=KEY_MAX_LENGTH)
    # The department whose register published the event (may read its delivery status).
    publisher = models.CharField(max_length=40)
    event_created_at = models.DateTimeField()
    status = models.CharField(max_length=9, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    # The oldest pending delivery of its (subscription, key): the only one of the key that may be claimed.
    # Meaningful while pending (a stale flag on a delivered or dead row is ignored everywhere).
    is_head = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    # When it may be claimed next: after the backoff of a failed attempt, or when a claim's lease ends.
    next_attempt_at = models.DateTimeField()
    # A claimed delivery (being sent, or fetched by a pull subscriber) is invisible until then.
    leased_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)
    # Why the last attempt failed: a status code or an error class, never a payload.
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["event_created_at", "event_id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            # Fan-out is idempotent: a redelivered outbox or NATS message adds nothing.
            models.UniqueConstraint(fields=["subscription", "event"], name="pubsub_delivery_unique"),
            # Per-key order: at most one head per (subscription, key).
            models.UniqueConstraint(
                fields=["subscription", "key"],
                condition=Q(status="pending", is_head=True),
                name="pubsub_delivery_one_head",
            ),
        ]
        indexes = [
            # The claim: the due heads of a subscription, oldest first. Only heads are in it, so a claim
            # reads what it takes, however long the backlog behind the heads is.
            models.Index(
                fields=["subscription", "next_attempt_at", "id"],
                condition=Q(status="pending", is_head=True),
                name="pubsub_delivery_head_idx",
            ),
            # A key's queue: its pending deliveries in fan-out order (the next head is the first).
            models.Index(
                fields=["subscription", "key", "id"],
                condition=Q(status="pending"),
                name="pubsub_delivery_key_queue_idx",
            ),
            # Leases that may run out on a last attempt (dead letters), a few rows at most.
            models.Index(
                fields=["leased_until"],
                condition=Q(status="pending", leased_until__isnull=False),
                name="pubsub_delivery_leased_idx",
            ),
            models.Index(
                fields=["subscription", "status", "event_created_at"], name="pubsub_delivery_sub_idx"
            ),
            models.Index(fields=["topic", "key"], name="pubsub_delivery_topic_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.topic} {self.key} {self.status}"


class PendingKey(models.Model):
    """A (subscription, key) with pending deliveries: the lock that orders the changes of its head.

    Fan-out, completion (delivered or dead) and replay of a key's deliveries lock this row first
    (``SELECT … FOR UPDATE``, in id order), so a key never ends up with two heads or with pending
    deliveries and none. Deleted when the key's last pending delivery completes: the table holds the keys
    with a backlog, not every key ever seen.
    """

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=KEY_MAX_LENGTH)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "key"], name="pubsub_pendingkey_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.key}"


class StreamPosition(models.Model):
    """The last JetStream sequence of a stream fanned out into delivery rows (NATS backend).

    Advanced in the transaction that creates the rows, so a killed dispatcher's batch is read again from
    here, in stream order: exactly one fan-out per message, and a key's events in the order published.
    """

    stream = models.CharField(max_length=64, primary_key=True)
    sequence = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.stream} {self.sequence}"


class DispatcherLock(models.Model):
    """One row per lock name: the fan-out runs in one dispatcher at a time, so per-key order holds."""

    name = models.CharField(max_length=40, primary_key=True)

    def __str__(self) -> str:
        return self.name
