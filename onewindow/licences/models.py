"""Licences issued by approvals (电子证照, GB/T 36901–36906 core fields).

The back office records each licence when an approval runs its issuing action (``licence_number_assign``);
the e-signature issue adds the signed JSON and the PAdES PDF, verification and revocation on top.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LicenceStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


class Licence(models.Model):
    number = models.CharField(_("licence number"), max_length=64, unique=True)
    name = models.CharField(_("licence name"), max_length=200)
    name_en = models.CharField(_("licence name (English)"), max_length=200, blank=True)
    # The service whose approval issued it (its code stands for the licence type until #6 adds type codes).
    type_code = models.CharField(_("licence type code"), max_length=40)
    issuer_department_code = models.CharField(_("issuing authority"), max_length=20)
    holder_name = models.CharField(_("holder"), max_length=200)
    # Unified social credit code or ID number of the holder.
    holder_code = models.CharField(_("holder code"), max_length=18, db_index=True)
    issued_on = models.DateField(_("issue date"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    application = models.ForeignKey(
        "applications.Application", on_delete=models.PROTECT, null=True, blank=True, related_name="licences"
    )
    # The licence's own fields (e.g. company name, type, registered capital, business scope).
    data = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=LicenceStatus.choices, default=LicenceStatus.VALID)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_on", "-id"]

    def __str__(self) -> str:
        return f"{self.name} {self.number}"
