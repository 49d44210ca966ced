"""Licences issued by approvals (电子证照, GB/T 36901–36906 core fields), signed and verifiable.

The back office records each licence when an approval runs its issuing action (``licence_number_assign``);
issuing signs its RFC 8785 canonical JSON with the department's seal (SM2 with SM3) and stores the
PAdES-signed PDF (docs/licences.md). Revocation and expiry change ``status``; verification reads it at once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class LicenceStatus(models.TextChoices):
    VALID = "valid", pgettext_lazy("licence status", "Valid")
    REVOKED = "revoked", pgettext_lazy("licence status", "Revoked")
    EXPIRED = "expired", pgettext_lazy("licence status", "Expired")


class HolderKind(models.TextChoices):
    """Who holds the licence: it decides the holder code's type and how much of it verification shows."""

    ENTERPRISE = "enterprise", _("Organisation")  # unified social credit code (GB 32100): public
    PERSON = "person", _("Person")  # citizen ID number (GB 11643): masked


class RevocationReason(models.TextChoices):
    """Why a licence stopped being valid before its term (Administrative Licensing Law Arts. 8, 69, 70)."""

    WITHDRAWN = "withdrawn", _("Withdrawn: granted unlawfully (撤销)")
    RECALLED = "recalled", _("Recalled: law or circumstances changed (撤回)")
    PENALTY = "penalty", _("Revoked as a penalty (吊销)")
    HOLDER_TERMINATED = "holder_terminated", _("Holder dissolved or deceased (注销)")
    HOLDER_REQUEST = "holder_request", _("Cancelled at the holder's request (注销)")
    ISSUED_IN_ERROR = "issued_in_error", _("Issued with wrong particulars")
    OTHER = "other", _("Other")


class Licence(models.Model):
    number = models.CharField(_("licence number"), max_length=64, unique=True)
    name = models.CharField(_("licence name"), max_length=200)
    name_en = models.CharField(_("licence name (English)"), max_length=200, blank=True)
    # The licence type in the catalogue (onewindow/licences/types.py); the service code for unlisted ones.
    type_code = models.CharField(_("licence type code"), max_length=40)
    issuer_department_code = models.CharField(_("issuing authority"), max_length=20)
    # The issuing department's name and unified social credit code when the licence was issued.
    issuer_name = models.CharField(_("issuing authority name"), max_length=200, blank=True)
    issuer_code = models.CharField(_("issuing authority code"), max_length=18, blank=True)
    holder_kind = models.CharField(
        _("holder kind"), max_length=10, choices=HolderKind.choices, default=HolderKind.ENTERPRISE
    )
    holder_name = models.CharField(_("holder"), max_length=200)
    # Unified social credit code or ID number of the holder.
    holder_code = models.CharField(_("holder code"), max_length=18, db_index=True)
    issued_on = models.DateField(_("issue date"))
    # None: long-term (长期).
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    application = models.ForeignKey(
        "applications.Application", on_delete=models.PROTECT, null=True, blank=True, related_name="licences"
    )
    # The licence's own fields (e.g. company name, type, registered capital, business scope).
    data = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=LicenceStatus.choices, default=LicenceStatus.VALID)
    created_at = models.DateTimeField()

    # The signed JSON: the RFC 8785 bytes, the DER SM2 signature over them and what names its key.
    canonical_json = models.BinaryField(blank=True, default=b"")
    signature_der = models.BinaryField(blank=True, default=b"")
    signature_algorithm = models.CharField(max_length=20, blank=True)
    signer_id = models.CharField(max_length=64, blank=True)
    signature_key_fingerprint = models.CharField(max_length=64, blank=True)
    # SM3 of canonical_json (hex).
    signature_digest = models.CharField(max_length=64, blank=True)
    seal = models.ForeignKey("seals.Seal", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    signed_at = models.DateTimeField(null=True, blank=True)

    # The PAdES-signed PDF (default storage), its SHA-256 and the seal certificate that signed it.
    pdf = models.FileField(upload_to="licences/%Y/%m/", max_length=200, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    pdf_certificate_serial = models.CharField(max_length=40, blank=True)
    # PAdES baseline level: B-B, or B-T with an RFC 3161 signature timestamp.
    pdf_level = models.CharField(max_length=8, blank=True)
    # The case document that shows the PDF among the application's documents.
    document = models.ForeignKey(
        "applications.Document", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revocation_reason = models.TextField(_("reason"), blank=True)
    revocation_reason_code = models.CharField(
        _("reason code"), max_length=30, choices=RevocationReason.choices, blank=True
    )
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # When the expiry job marked it expired (verification computes expiry itself, job or not).
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_on", "-id"]
        verbose_name = _("licence")
        verbose_name_plural = _("licences")
        indexes = [models.Index(fields=["status", "valid_until"], name="licences_status_valid_until")]

    def __str__(self) -> str:
        return f"{self.name} {self.number}"


# The holder's share links live in their own module (docs/licences.md, "Wallet"); imported here so that
# Django registers the model with the app.
from onewindow.licences.models_sharing import LicenceShare as LicenceShare  # noqa: E402
