"""Time-limited share links of a licence (the holder's wallet, docs/licences.md "Wallet").

A holder gives a bank or a landlord a link that shows the licence's verification and lets them download
the PDF until the link expires or the holder revokes it. The link's token is 32 random bytes; only its
SHA-256 is stored, so neither a database dump nor the audit trail can be turned back into a working link.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LicenceShare(models.Model):
    licence = models.ForeignKey("licences.Licence", on_delete=models.CASCADE, related_name="shares")
    # SHA-256 (hex) of the token in the link; the token itself is shown to the holder once and not kept.
    token_hash = models.CharField(max_length=64, unique=True)
    # Who the holder says it is for (optional, shown to the holder only).
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    open_count = models.PositiveIntegerField(default=0)
    last_opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("licence share link")
        verbose_name_plural = _("licence share links")
        indexes = [models.Index(fields=["licence", "expires_at"], name="licences_share_licence_expiry")]

    def __str__(self) -> str:
        return f"share {self.pk} of licence {self.licence_id}"
