"""The append-only, hash-chained audit trail (MLPS 2.0 §8.1.4.3 security audit)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Outcome(models.TextChoices):
    SUCCESS = "success", _("Success")
    DENIED = "denied", _("Denied")
    FAILURE = "failure", _("Failure")


class AuditRecord(models.Model):
    """One audited event. ``seq`` is gap-free; ``hash`` chains each record to the one before it.

    Records are never updated or deleted by the application; on PostgreSQL and SQLite a trigger refuses
    UPDATE, and DELETE of records younger than the retention period.
    """

    seq = models.BigIntegerField(unique=True)
    recorded_at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)  # no FK: the record outlives the account
    actor_username = models.CharField(max_length=150, blank=True, db_index=True)
    actor_role = models.CharField(max_length=200, blank=True)
    department_code = models.CharField(max_length=20, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    client_address = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    channel = models.CharField(max_length=10, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.outcome}"
