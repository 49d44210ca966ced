"""Accounts: the custom user model, staff memberships (role per department) and API tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from onewindow.accounts.roles import Kind, Role


class User(AbstractUser):
    """Every account: residents (real-name), enterprise representatives and staff.

    ``is_staff`` keeps Django's meaning (may use the Django admin) and is not used by the platform; the
    platform's staff are accounts of kind ``staff`` whose roles come from their memberships.
    """

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.RESIDENT)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    id_number = models.CharField(_("resident ID number"), max_length=18, null=True, blank=True, unique=True)
    real_name_verified = models.BooleanField(_("real-name verified"), default=False)
    mobile = models.CharField(_("mobile number"), max_length=11, blank=True)
    enterprise_credit_code = models.CharField(
        _("enterprise unified social credit code"), max_length=18, blank=True
    )
    enterprise_name = models.CharField(_("enterprise name"), max_length=200, blank=True)
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)
    is_demo = models.BooleanField(
        _("demo account"),
        default=False,
        help_text=_("Created by the demo loader; production refuses to start."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # Real-name verification is of an ID number; an account cannot be verified without one.
            models.CheckConstraint(
                condition=models.Q(real_name_verified=False) | models.Q(id_number__isnull=False),
                name="user_real_name_verified_has_id_number",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_staff_kind(self) -> bool:
        return self.kind == Kind.STAFF


class Membership(models.Model):
    """A staff account's role, in a department (department roles) or platform-wide, for a period."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    department = models.ForeignKey(
        "organisations.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
    )
    service_point = models.ForeignKey(
        "organisations.ServicePoint",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
    )
    # Vendor staff are time-bound and scoped to the information systems they operate.
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    system_codes = models.JSONField(_("information systems"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "department"], name="membership_unique_role_per_department"
            ),
        ]

    def __str__(self) -> str:
        department = self.department.code if self.department_id and self.department else "-"
        return f"{self.user_id}:{self.role}@{department}"


class ApiToken(models.Model):
    """A bearer token for the HTTP API. Only the SHA-256 of the token is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    client_address = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "expires_at"])]

    def __str__(self) -> str:
        # Never the token: only its hash is stored, and even that stays out of logs and pages.
        return f"api-token:{self.pk}"
