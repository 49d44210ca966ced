"""The platform CA, the departments' electronic seals, their holders, and the keys behind them.

A seal (电子印章) is one department's signing identity in one version: an SM2 key (signed JSON, GB/T 32918),
an ECDSA P-256 key with an X.509 certificate issued by the platform root (PDF signatures, PAdES), and the
seal image. Keys are referred to by ``key_ref`` ("db:<uuid>" for keys in :class:`StoredKey`; an HSM would
use its own scheme), never held on the seal itself. Rotation retires a seal and issues the next version;
revocation is final. Nothing here is ever deleted: old versions verify old signatures.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class KeyAlgorithm(models.TextChoices):
    SM2 = "sm2", "SM2"
    ECDSA_P256 = "ecdsa-p256", "ECDSA P-256"


class StoredKey(models.Model):
    """A private key encrypted under the master key (``keystore.DatabaseKeyStore``); its ref is ``db:<uuid>``.

    ``private_key_token`` is ``sm4gcm1.<master key id>.<base64url(nonce ‖ ciphertext ‖ tag)>``: SM4-GCM under
    a key derived from the master key, with the master key id, the key ref and the algorithm as associated
    data, so a token cannot be moved to another key row unnoticed.
    """

    key_ref = models.CharField(max_length=100, unique=True)
    algorithm = models.CharField(max_length=20, choices=KeyAlgorithm.choices)
    # DER SubjectPublicKeyInfo.
    public_key_der = models.BinaryField()
    private_key_token = models.TextField()
    label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.key_ref


class CertificateAuthority(models.Model):
    """The platform root (self-signed, ECDSA P-256): the trust anchor that banks and other cities install.

    One is current; a future root renewal would add another and keep the old one for old certificates.
    The CRL is issued by the root and kept here until it is due for renewal.
    """

    name = models.CharField(max_length=200)
    key_ref = models.CharField(max_length=100)
    certificate_der = models.BinaryField()
    serial_number = models.CharField(max_length=40)
    fingerprint_sha256 = models.CharField(max_length=64, unique=True)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    is_current = models.BooleanField(default=True)
    crl_number = models.PositiveBigIntegerField(default=0)
    crl_der = models.BinaryField(blank=True, default=b"")
    crl_next_update = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"], condition=Q(is_current=True), name="seals_one_current_authority"
            )
        ]

    def __str__(self) -> str:
        return self.name


class SealStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("seal status", "Active")
    RETIRED = "retired", pgettext_lazy("seal status", "Retired")
    REVOKED = "revoked", pgettext_lazy("seal status", "Revoked")


class RevocationReason(models.TextChoices):
    """RFC 5280 §5.3.1 reason codes that apply to a seal (the CRL carries them)."""

    UNSPECIFIED = "unspecified", _("Unspecified")
    KEY_COMPROMISE = "key_compromise", _("Key compromise")
    AFFILIATION_CHANGED = "affiliation_changed", _("Department changed")
    SUPERSEDED = "superseded", _("Superseded")
    CESSATION_OF_OPERATION = "cessation_of_operation", _("Department dissolved")


class ImageSource(models.TextChoices):
    GENERATED = "generated", _("Generated")
    UPLOADED = "uploaded", _("Uploaded")


class Seal(models.Model):
    """One version of a department's electronic seal."""

    department = models.ForeignKey(
        "organisations.Department",
        on_delete=models.PROTECT,
        related_name="seals",
        verbose_name=_("department"),
    )
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=10, choices=SealStatus.choices, default=SealStatus.ACTIVE
    )
    # The name on the seal and in the certificate when it was issued (the department may be renamed later).
    name = models.CharField(_("name"), max_length=200)
    sm2_key_ref = models.CharField(max_length=100)
    sm2_public_key_der = models.BinaryField()
    # SM3 of the SM2 SubjectPublicKeyInfo (hex): how signed JSON names the key that signed it.
    sm2_key_fingerprint = models.CharField(max_length=64, unique=True)
    ecdsa_key_ref = models.CharField(max_length=100)
    authority = models.ForeignKey(CertificateAuthority, on_delete=models.PROTECT, related_name="seals")
    certificate_der = models.BinaryField()
    certificate_serial = models.CharField(_("certificate serial number"), max_length=40, unique=True)
    not_before = models.DateTimeField(_("valid from"))
    not_after = models.DateTimeField(_("valid until"))
    image_png = models.BinaryField()
    image_source = models.CharField(max_length=10, choices=ImageSource.choices, default=ImageSource.GENERATED)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revocation_reason = models.TextField(_("reason"), blank=True)
    revocation_reason_code = models.CharField(max_length=30, choices=RevocationReason.choices, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["department__code", "-version"]
        verbose_name = _("electronic seal")
        verbose_name_plural = _("electronic seals")
        constraints = [
            models.UniqueConstraint(fields=["department", "version"], name="seals_unique_version"),
            models.UniqueConstraint(
                fields=["department"], condition=Q(status="active"), name="seals_one_active_per_department"
            ),
        ]
        indexes = [models.Index(fields=["status", "revoked_at"], name="seals_status_revoked")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class SealHolder(models.Model):
    """A staff member who may sign with the department's seal (every version), appointed by its admin.

    Removal keeps the row (who held the seal when is part of the record); one open appointment per person.
    """

    department = models.ForeignKey(
        "organisations.Department", on_delete=models.PROTECT, related_name="seal_holders"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="seal_holdings")
    appointed_at = models.DateTimeField()
    appointed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["department__code", "appointed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["department", "user"],
                condition=Q(removed_at__isnull=True),
                name="seals_one_open_holding",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.department_id}"
