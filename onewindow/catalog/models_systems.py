"""The information-systems register (信息系统; issue #7 item 6) and the data-quality measures (item 5).

* :class:`InformationSystem` — one department's system: state (built, under construction, planned),
  owner, vendor, the resources it provides and consumes, its interconnection status, and for a planned
  system the approval that interconnection conditions (State Council 2016 No. 51 Art. 6; 国办发〔2017〕39号:
  a new system is approved only if it shares through the platform). The exchange conformance result is
  recorded by ``catalog.systems.system_conformance_record``, which the exchange's check calls.
* :class:`ResourceQuality` — a resource's last data update and, for the built-in registry resources,
  the validity measured on the data the platform holds, with when it was measured (``catalog.quality``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from onewindow.organisations.models import Department


class SystemState(models.TextChoices):
    BUILT = "built", _("Built (已建)")
    UNDER_CONSTRUCTION = "under_construction", _("Under construction (在建)")
    PLANNED = "planned", _("Planned (拟建)")


class InterconnectionStatus(models.TextChoices):
    CONNECTED = "connected", _("Connected to the sharing platform (已接入)")
    CONNECTING = "connecting", _("Being connected (接入中)")
    NOT_CONNECTED = "not_connected", _("Not connected (未接入)")


class ApprovalStatus(models.TextChoices):
    NOT_REQUIRED = "not_required", _("Not required (无需审批)")
    PENDING = "pending", _("Waiting for approval (待审批)")
    APPROVED = "approved", _("Approved (已批准)")


class InformationSystem(models.Model):
    """One information system of a department."""

    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="information_systems", verbose_name=_("department")
    )
    code = models.CharField(_("system code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    state = models.CharField(_("state"), max_length=20, choices=SystemState.choices)
    owner = models.CharField(_("owner (responsible person or unit)"), max_length=200)
    vendor = models.CharField(_("vendor"), max_length=200, blank=True)
    endpoint = models.URLField(_("exchange endpoint"), max_length=500, blank=True)
    provides = models.ManyToManyField(
        "catalog.Resource",
        blank=True,
        related_name="provided_by_systems",
        verbose_name=_("resources provided"),
    )
    consumes = models.ManyToManyField(
        "catalog.Resource",
        blank=True,
        related_name="consumed_by_systems",
        verbose_name=_("resources consumed"),
    )
    interconnection = models.CharField(
        _("interconnection"),
        max_length=14,
        choices=InterconnectionStatus.choices,
        default=InterconnectionStatus.NOT_CONNECTED,
    )
    approval = models.CharField(
        _("approval"), max_length=12, choices=ApprovalStatus.choices, default=ApprovalStatus.NOT_REQUIRED
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Set by the exchange's conformance check (``exchange.conformance``): ``system_conformance_record``.
    conformance_passed = models.BooleanField(null=True, blank=True)
    conformance_checked_at = models.DateTimeField(null=True, blank=True)
    conformance_endpoint = models.CharField(max_length=500, blank=True)
    conformance_report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["department", "code"]
        verbose_name = _("information system")
        verbose_name_plural = _("information systems")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ResourceQuality(models.Model):
    """Data quality of one resource: its last data update and measured validity (``catalog.quality``)."""

    resource = models.OneToOneField(
        "catalog.Resource", on_delete=models.CASCADE, primary_key=True, related_name="quality"
    )
    # When the provider last updated the data (recorded by ``resource_data_updated`` or, for a built-in
    # registry resource, the latest change of its records).
    data_updated_at = models.DateTimeField(null=True, blank=True)
    # Validity of the identifiers the platform holds: valid and checked counts (None: not measured).
    checked = models.PositiveIntegerField(null=True, blank=True)
    valid = models.PositiveIntegerField(null=True, blank=True)
    measure = models.CharField(max_length=40, blank=True)
    measured_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("resource quality")
        verbose_name_plural = _("resource quality")

    def __str__(self) -> str:
        return f"quality of {self.resource_id}"
