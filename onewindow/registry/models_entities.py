"""The legal-entity register (市场主体登记): enterprises with their unified social credit code and history.

Registration data is public information (企业信息公示暂行条例 第六条), not personal data, so it is stored in
the clear. The legal representative is linked to the population register when they are in it; their ID
number is kept only as its blind index (``legal_rep_index``, HMAC-SM3), never in the clear.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from onewindow.core.validators import credit_code_validator
from onewindow.registry.models import RecordVersion


class EntityType(models.TextChoices):
    """The main kinds of market entity (市场主体登记管理条例 第二条)."""

    JOINT_STOCK = "joint_stock", _("Company limited by shares")
    LLC = "llc", _("Limited liability company")
    SOLE = "sole", _("Sole proprietorship")
    PARTNERSHIP = "partnership", _("Partnership")
    INDIVIDUAL = "individual", _("Individual business")
    OTHER = "other", _("Other")


class EntityStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    REVOKED = "revoked", _("Revoked")
    CANCELLED = "cancelled", _("Cancelled")


class EntityVersionKind(models.TextChoices):
    REGISTERED = "registered", _("Registration")
    CHANGED = "changed", _("Change of registration")
    CANCELLED = "cancelled", _("Cancellation")
    REVOKED = "revoked", _("Revocation of the licence")
    IMPORTED = "imported", _("Bulk import")


class LegalEntity(models.Model):
    """A legal entity's current registration. Only the entity actions change it, each adding a version."""

    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, validators=[credit_code_validator]
    )
    name = models.CharField(_("name"), max_length=100)
    type = models.CharField(_("type"), max_length=12, choices=EntityType.choices)
    # No database-level foreign key to the partitioned person table (see models.Household.head).
    legal_rep = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("legal representative"),
        db_constraint=False,
    )
    # HMAC-SM3 of the representative's ID number: found by ID number even when they are not in the register.
    legal_rep_index = models.CharField(max_length=64, blank=True, db_index=True)
    registered_capital = models.DecimalField(
        _("registered capital (10,000 yuan)"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    division_code = models.CharField(_("division code"), max_length=12)
    address = models.CharField(_("address"), max_length=300, blank=True)
    business_scope = models.TextField(_("business scope"), blank=True)
    established_on = models.DateField(_("established on"))
    status = models.CharField(
        _("status"), max_length=10, choices=EntityStatus.choices, default=EntityStatus.ACTIVE
    )
    # The code of the department that registered it (normally AMR, the market-regulation department).
    registration_authority = models.CharField(_("registration authority"), max_length=20)
    # The number of the latest LegalEntityVersion.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("legal entity")
        verbose_name_plural = _("legal entities")
        constraints = [
            # 企业名称登记管理规定 第十七条: no two active entities share a name.
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(status="active"),
                name="registry_entity_active_name_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.credit_code} {self.name}"


class LegalEntityVersion(RecordVersion):
    """One version of an entity's registration: a snapshot after the change, who made it, for which case.

    Never updated or deleted by the platform.
    """

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="versions")
    kind = models.CharField(max_length=10, choices=EntityVersionKind.choices)
    snapshot = models.JSONField()

    class Meta:
        ordering = ["entity", "version"]
        verbose_name = _("legal entity version")
        verbose_name_plural = _("legal entity versions")
        constraints = [
            models.UniqueConstraint(fields=["entity", "version"], name="registry_entity_version_unique"),
        ]

    def __str__(self) -> str:
        return f"entity {self.entity_id} v{self.version}"

    @property
    def snapshot_data(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.snapshot)
        return data
