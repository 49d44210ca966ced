"""Sharing requests and grants (issue #7 item 4; State Council 2016 No. 51 Art. 10–12).

* :class:`ShareRequest` — a consumer department asks a provider for some data items of a resource, with
  its purpose, legal basis and how long it needs them. A request that needs the provider's answer has an
  answer deadline in working days (``ONEWINDOW_CATALOG_ANSWER_DAYS``, default 10: No. 51 Art. 12) and a
  supervision light kept like a back-office task's (``catalog.sharing_deadlines``).
* :class:`Grant` — what an approval (or an unconditional resource, at once) gives: the consumer
  department, optionally one of its information systems, × the resource × the data items × an expiry.
  The exchange enforces it through ``selectors_sharing.grant_check``.
* :class:`ShareRequestEscalation` — one back-office escalation rule fired for one pending request.

The data items are the immutable ``DataItem`` rows of the version the request was made under; a grant
copies their names into ``item_names`` so a check is one indexed row read.

Only the actions in ``catalog.actions_sharing`` and the jobs in ``catalog.sharing_deadlines`` write
these tables.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from onewindow.organisations.models import Department


class ShareRequestStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the provider (待答复)")
    APPROVED = "approved", _("Approved (已同意)")
    AUTO_APPROVED = "auto_approved", _("Granted at once: shared unconditionally (无条件共享，自动授权)")
    REFUSED = "refused", _("Refused (不予同意)")


DECIDED_STATUSES = (ShareRequestStatus.APPROVED, ShareRequestStatus.AUTO_APPROVED, ShareRequestStatus.REFUSED)


class ShareRequest(models.Model):
    """One department's request for data items of another department's resource."""

    resource = models.ForeignKey(
        "catalog.Resource",
        on_delete=models.PROTECT,
        related_name="share_requests",
        verbose_name=_("resource"),
    )
    version = models.ForeignKey("catalog.ResourceVersion", on_delete=models.PROTECT, related_name="+")
    consumer = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="share_requests", verbose_name=_("consumer")
    )
    # Copied from the resource so the provider's inbox filters one table.
    provider = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="share_requests_received")
    system = models.ForeignKey(
        "catalog.InformationSystem",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="share_requests",
        verbose_name=_("information system"),
    )
    data_items = models.ManyToManyField("catalog.DataItem", related_name="+", verbose_name=_("data items"))
    purpose = models.TextField(_("purpose"))
    legal_basis = models.TextField(_("legal basis"))
    until = models.DateField(_("needed until"))
    status = models.CharField(_("status"), max_length=14, choices=ShareRequestStatus.choices)
    requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"))
    # The answer deadline (pending requests only) and its light, kept like a back-office task's.
    due_date = models.DateField(_("answer due"), null=True, blank=True)
    light = models.CharField(max_length=6, default="green")
    decided_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("sharing request")
        verbose_name_plural = _("sharing requests")
        indexes = [
            models.Index(fields=["provider", "status", "due_date"], name="catalog_sharereq_provider_idx"),
            models.Index(fields=["consumer", "status"], name="catalog_sharereq_consumer_idx"),
            models.Index(fields=["status", "light"], name="catalog_sharereq_light_idx"),
        ]

    def __str__(self) -> str:
        return f"share request {self.pk} ({self.status})"


class GrantStatus(models.TextChoices):
    ACTIVE = "active", _("Active (有效)")
    REVOKED = "revoked", _("Revoked (已撤销)")


class Grant(models.Model):
    """A consumer department's (or one of its systems') right to data items of a resource until a date.

    Inactive once revoked or past ``expires_on`` (the day itself still counts).
    """

    request = models.OneToOneField(ShareRequest, on_delete=models.PROTECT, related_name="grant")
    resource = models.ForeignKey("catalog.Resource", on_delete=models.PROTECT, related_name="grants")
    version = models.ForeignKey("catalog.ResourceVersion", on_delete=models.PROTECT, related_name="+")
    consumer = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="grants")
    provider = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="grants_given")
    system = models.ForeignKey(
        "catalog.InformationSystem", on_delete=models.PROTECT, null=True, blank=True, related_name="grants"
    )
    data_items = models.ManyToManyField("catalog.DataItem", related_name="+")
    item_names = models.JSONField(default=list)
    expires_on = models.DateField(_("expires on"))
    status = models.CharField(
        _("status"), max_length=8, choices=GrantStatus.choices, default=GrantStatus.ACTIVE
    )
    granted_at = models.DateTimeField()
    # None: granted at once because every item is shared unconditionally.
    granted_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-granted_at", "-id"]
        verbose_name = _("grant")
        verbose_name_plural = _("grants")
        indexes = [
            models.Index(fields=["consumer", "resource", "status"], name="catalog_grant_check_idx"),
            models.Index(fields=["provider", "status"], name="catalog_grant_provider_idx"),
        ]

    def __str__(self) -> str:
        return f"grant {self.pk} ({self.status})"


class ShareRequestEscalation(models.Model):
    """One back-office escalation rule (``workflow.EscalationRule``) fired for one pending request."""

    request = models.ForeignKey(ShareRequest, on_delete=models.CASCADE, related_name="escalations")
    rule = models.ForeignKey("workflow.EscalationRule", on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField()
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "rule"], name="catalog_sharereq_escalation_unique")
        ]

    def __str__(self) -> str:
        return f"escalation {self.rule_id} of share request {self.request_id}"
