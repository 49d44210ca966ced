"""The exchange's records (docs/exchange.md): subsystem keys, services, used nonces, per-grant limits.

Members are departments (identified by their unified social credit code) and subsystems are the catalog's
``InformationSystem`` rows; neither is copied here.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class KeyAlgorithm(models.TextChoices):
    SM2 = "SM2-SM3", "SM2-SM3"
    ED25519 = "Ed25519", "Ed25519"


class KeyStatus(models.TextChoices):
    ACTIVE = "active", _("Active (在用)")
    RETIRED = "retired", _("Retired: verifies, signs nothing (已轮换)")
    REVOKED = "revoked", _("Revoked (已注销)")


class SubsystemKey(models.Model):
    """One signing key of a subsystem: at most one active; retired keys still verify; revoked ones never."""

    system = models.ForeignKey(
        "catalog.InformationSystem", on_delete=models.PROTECT, related_name="exchange_keys"
    )
    key_id = models.CharField(max_length=64, unique=True)  # SM3 hex of the SubjectPublicKeyInfo
    algorithm = models.CharField(max_length=10, choices=KeyAlgorithm.choices)
    public_key_der = models.BinaryField()
    # PKCS#8 sealed with SM4-GCM under the master key (``exchange.keystore``); never leaves the store.
    private_key_token = models.TextField(blank=True)
    certificate_der = models.BinaryField(blank=True, default=b"")
    certificate_serial = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=8, choices=KeyStatus.choices, default=KeyStatus.ACTIVE)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["system", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["system"],
                condition=models.Q(status="active"),
                name="exchange_one_active_key_per_system",
            )
        ]

    def __str__(self) -> str:
        return f"{self.algorithm} key {self.key_id[:12]} ({self.status})"


class ServiceKind(models.TextChoices):
    BUILTIN = "builtin", _("Built-in (平台内置)")
    HTTP = "http", _("External HTTP (外部系统)")


class Service(models.Model):
    """A service a provider subsystem offers: ``CN/GOV/{member}/{subsystem}/{code}``."""

    provider = models.ForeignKey(
        "catalog.InformationSystem", on_delete=models.PROTECT, related_name="exchange_services"
    )
    code = models.CharField(max_length=60)
    name = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200, blank=True)
    resource_code = models.CharField(max_length=20)  # the catalog resource whose grants it enforces
    kind = models.CharField(max_length=8, choices=ServiceKind.choices)
    builtin = models.CharField(max_length=40, blank=True)  # providers.BUILTIN_PROVIDERS key
    endpoint_url = models.URLField(max_length=500, blank=True)
    timeout_seconds = models.FloatField(default=5.0)
    retries = models.PositiveSmallIntegerField(default=2)
    openapi = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    # Why, when and by whom the service was deactivated (``service_deactivate``); cleared on reactivation.
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivated_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    deactivation_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["provider", "code"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "code"], name="exchange_service_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.kind})"


class UsedNonce(models.Model):
    """A nonce seen from a client; the unique constraint makes replay refusal race-safe on both databases.

    Kept until ``expires_at`` (past the timestamp window): after that a replay is stale anyway.
    """

    client = models.CharField(max_length=200)
    nonce = models.CharField(max_length=64)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "nonce"], name="exchange_nonce_unique")]

    def __str__(self) -> str:
        return f"nonce of {self.client}"


class GrantRateLimit(models.Model):
    """The requests per minute one catalog grant allows through the exchange (else the default setting)."""

    grant = models.OneToOneField("catalog.Grant", on_delete=models.CASCADE, related_name="exchange_limit")
    per_minute = models.PositiveIntegerField()
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.per_minute}/min for grant {self.grant_id}"


class GatewayKey(models.Model):
    """A signing key of the exchange gateway itself (``adapter.GATEWAY_IDENTITY``): it signs what the exchange
    sends to external HTTP providers and its answers for their services (docs/exchange.md, "The adapter
    protocol"). Certified by the platform root like subsystem keys; at most one active, retired keys still
    verify, revoked ones never. Published at ``/api/v1/exchange/meta/gateway/keys``."""

    key_id = models.CharField(max_length=64, unique=True)  # SM3 hex of the SubjectPublicKeyInfo
    algorithm = models.CharField(max_length=10, choices=KeyAlgorithm.choices)
    public_key_der = models.BinaryField()
    private_key_token = models.TextField()  # sealed like subsystem keys (``exchange.keystore``)
    certificate_der = models.BinaryField()
    certificate_serial = models.CharField(max_length=40)
    status = models.CharField(max_length=8, choices=KeyStatus.choices, default=KeyStatus.ACTIVE)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="active"), name="exchange_one_active_gateway_key"
            )
        ]

    def __str__(self) -> str:
        return f"gateway {self.algorithm} key {self.key_id[:12]} ({self.status})"
