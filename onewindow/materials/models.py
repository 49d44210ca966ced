"""Uploaded materials: checked by content, hashed, virus-scanned, stored through Django storage."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def material_path(instance: Material, filename: str) -> str:
    # The stored name never contains what the user called the file: a random id under a date folder.
    return f"materials/{timezone.now():%Y/%m}/{instance.id.hex}"


class Material(models.Model):
    """One uploaded file. Readable by its uploader until attached, then by whoever can read the case."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    uploaded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="materials")
    application = models.ForeignKey(
        "applications.Application",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="materials",
    )
    material_code = models.CharField(_("material code"), max_length=40, blank=True)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    file = models.FileField(_("file"), upload_to=material_path, max_length=200)
    scanned = models.BooleanField(_("virus-scanned"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.sha256[:12]})"
