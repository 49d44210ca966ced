"""The transactional outbox: domain events written in the same transaction as the change they record.

An event commits or rolls back with its change, so subscribers never hear of a change that did not happen
and never miss one that did (Richardson, *Microservices Patterns*, "Transactional outbox"). Delivery is
separate (the exchange): it reads unpublished events in ``created_at`` order, sets ``published_at`` once a
subscriber has them and counts failed ``attempts``.
"""

from __future__ import annotations

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

KEY_MAX_LENGTH = 128


class OutboxEvent(models.Model):
    """One domain event, e.g. ``person.moved`` keyed by the person's blind index."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # "<aggregate>.<past-tense verb>": person.born, entity.registered...
    topic = models.CharField(max_length=100)
    # What the event is about, for ordering per aggregate: a blind index or a credit code, never plaintext.
    key = models.CharField(max_length=KEY_MAX_LENGTH)
    payload = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        indexes = [
            # The delivery queue: only unpublished events, oldest first; stays small however many are sent.
            models.Index(
                fields=["created_at", "id"],
                condition=Q(published_at__isnull=True),
                name="outbox_unpublished_idx",
            ),
            models.Index(fields=["topic", "key", "created_at"], name="outbox_topic_key_idx"),
            # Scans of every event in creation order from a point in time (the federation's export, which
            # also reads published events): a range on created_at, ordered by created_at, id.
            models.Index(fields=["created_at", "id"], name="outbox_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.key} {self.occurred_at.isoformat()}"
