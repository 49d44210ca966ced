"""The exchange's message log (issue #8 item 3): one hash-chained record per exchange, archive segments and
the payload policy of each subsystem. See docs/messagelog.md."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PayloadPolicy(models.TextChoices):
    """What of an exchange's bodies the log keeps (the chained record itself is always written)."""

    FULL = "full", _("Full payload (encrypted)")
    METADATA = "metadata", _("Metadata only")
    NONE = "none", _("No payload information")


class PayloadState(models.TextChoices):
    STORED = "stored", _("Stored (encrypted)")
    TOO_LARGE = "too_large", _("Not stored: larger than the limit")
    NOT_LOGGED = "not_logged", _("Not stored: policy")


class SubsystemPayloadPolicy(models.Model):
    """A subsystem's payload policy; subsystems without a row use ``settings.MESSAGELOG_PAYLOADS``."""

    subsystem_code = models.CharField(_("subsystem code"), max_length=40, unique=True)
    policy = models.CharField(_("payload policy"), max_length=10, choices=PayloadPolicy.choices)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by_username = models.CharField(_("updated by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("subsystem payload policy")
        verbose_name_plural = _("subsystem payload policies")

    def __str__(self) -> str:
        return f"{self.subsystem_code}: {self.policy}"


class MessageLogRecord(models.Model):
    """One exchange. ``record_hash`` = SM3 of the canonical form of the hashed fields (chain.HASHED_FIELDS),
    which include ``prev_hash``; the encrypted payload columns are outside the hash (the digests inside it
    cover the bodies), so payload keys can be rotated without touching the chain."""

    seq = models.BigIntegerField(unique=True)
    recorded_at = models.DateTimeField(db_index=True)
    exchange_id = models.CharField(max_length=64, db_index=True)
    service = models.CharField(max_length=255, db_index=True)
    consumer = models.CharField(max_length=255, db_index=True)
    provider = models.CharField(max_length=255)
    consumer_subsystem_code = models.CharField(max_length=40)
    provider_subsystem_code = models.CharField(max_length=40)
    consumer_department_code = models.CharField(max_length=20, blank=True, db_index=True)
    provider_department_code = models.CharField(max_length=20, blank=True, db_index=True)
    purpose = models.CharField(max_length=200, db_index=True)
    request_digest = models.CharField(max_length=64)
    response_digest = models.CharField(max_length=64)
    request_signature = models.TextField()
    response_signature = models.TextField()
    status = models.IntegerField()
    error_code = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    duration_ms = models.CharField(max_length=20)  # fixed 3 decimals: exact in the hash on every database
    payload_policy = models.CharField(max_length=10, choices=PayloadPolicy.choices)
    request_size = models.BigIntegerField(null=True)  # null under the "none" policy
    response_size = models.BigIntegerField(null=True)
    request_payload_state = models.CharField(max_length=10, choices=PayloadState.choices)
    response_payload_state = models.CharField(max_length=10, choices=PayloadState.choices)
    prev_hash = models.CharField(max_length=64)
    record_hash = models.CharField(max_length=64)
    # Outside the hash: nonce ‖ ciphertext ‖ tag under key ``payload_key_id`` (AES-256-GCM).
    payload_key_id = models.CharField(max_length=32, blank=True)
    request_payload = models.BinaryField(null=True)
    response_payload = models.BinaryField(null=True)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("message log record")
        verbose_name_plural = _("message log records")
        indexes = [
            models.Index(fields=["started_at"], name="messagelog_started_idx"),
            # One service's calls over a window (the exchange's per-service monitoring page).
            models.Index(fields=["service", "started_at"], name="messagelog_service_started_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.service} {self.status}"


class ArchiveSegment(models.Model):
    """A gzip JSON Lines file in default storage holding records ``first_seq``..``last_seq``, removed from the
    live table. ``segment_digest`` (SM3) covers this row's facts and ``prev_segment_digest``, chaining the
    segments; ``segment_mac`` is HMAC-SM3 of it under a key derived from the payload key ``mac_key_id``."""

    number = models.IntegerField(unique=True)
    created_at = models.DateTimeField()
    file_name = models.CharField(max_length=255)
    file_size = models.BigIntegerField()
    file_sha256 = models.CharField(max_length=64)
    file_sm3 = models.CharField(max_length=64)
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    record_count = models.BigIntegerField()
    first_prev_hash = models.CharField(max_length=64)
    last_record_hash = models.CharField(max_length=64)
    prev_segment_digest = models.CharField(max_length=64)
    segment_digest = models.CharField(max_length=64)
    mac_key_id = models.CharField(max_length=32)
    segment_mac = models.CharField(max_length=64)

    class Meta:
        ordering = ["number"]
        verbose_name = _("message log archive segment")
        verbose_name_plural = _("message log archive segments")

    def __str__(self) -> str:
        return f"segment {self.number}: #{self.first_seq}-#{self.last_seq}"
