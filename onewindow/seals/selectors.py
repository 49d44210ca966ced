"""Reads about seals, each with its access rule.

Public (anyone, no sign-in): the root certificate, the CRL, the list of revoked seals and keys, and the
public part of any seal (certificate, SM2 public key, status) so that a bank or another city can verify
offline. For administrators (the department's, or system administrators): a department's seals and
holders. The seal image: those administrators and the seal's holders.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import (
    permission_denied,
    require_permission,
    user_has_permission,
    user_roles,
)
from onewindow.accounts.roles import ROLE_PERMISSIONS, Permission
from onewindow.crypto.sm2 import DEFAULT_SIGNER_ID, InvalidSignature, SM2PublicKey
from onewindow.organisations.models import Department
from onewindow.seals.actions import holder_may_sign
from onewindow.seals.models import CertificateAuthority, Seal, SealHolder, SealStatus

# --- Public ---------------------------------------------------------------------------------------------


def authority_public() -> CertificateAuthority | None:
    """The current root, or None before the first seal was issued (``seals_init_ca`` creates it)."""
    return CertificateAuthority.objects.filter(is_current=True).first()


def seals_revoked() -> QuerySet[Seal]:
    """Every revoked seal, latest first (the public list of revoked seals and keys)."""
    return (
        Seal.objects.filter(status=SealStatus.REVOKED)
        .select_related("department")
        .order_by("-revoked_at", "-pk")
    )


def seal_by_key_fingerprint(fingerprint: str) -> Seal | None:
    """The seal whose SM2 key has this fingerprint (SM3 of its SubjectPublicKeyInfo, hex), any status."""
    return Seal.objects.select_related("department").filter(sm2_key_fingerprint=fingerprint.lower()).first()


def seal_by_certificate_serial(serial: str) -> Seal | None:
    """The seal whose certificate has this serial number (hex), any status."""
    return Seal.objects.select_related("department").filter(certificate_serial=serial.lower()).first()


def seal_active(department_code: str) -> Seal | None:
    """The department's active seal (for signing code and pages; no access rule: it reveals no secret)."""
    return (
        Seal.objects.select_related("department", "authority")
        .filter(department__code=department_code, status=SealStatus.ACTIVE)
        .first()
    )


def seal_verify(
    seal: Seal, payload: bytes, signature: bytes, *, signer_id: bytes = DEFAULT_SIGNER_ID
) -> bool:
    """True if ``signature`` (DER SM2) over ``payload`` verifies with the seal's SM2 public key.

    Says nothing about the seal's status: a caller that must reject revoked seals checks
    ``seal.status`` (and ``seal.revoked_at`` against the signing time) as well.
    """
    try:
        SM2PublicKey.from_der(bytes(seal.sm2_public_key_der)).verify(signature, payload, signer_id)
    except InvalidSignature:
        return False
    return True


# --- Administrators -------------------------------------------------------------------------------------


def _require_seal_admin(user: User | AnonymousUser, code: str, *, object_id: str | int = "") -> User:
    if isinstance(user, User) and user_has_permission(user, Permission.MANAGE_SYSTEM):
        return user
    return require_permission(
        user,
        Permission.MANAGE_DEPARTMENT,
        department_code=code,
        object_type="seal",
        object_id=str(object_id or code),
    )


def departments_for_seal_admin(user: User | AnonymousUser) -> QuerySet[Department]:
    """Departments whose seals ``user`` administers (every one for system administrators); none for others."""
    if user_has_permission(user, Permission.MANAGE_SYSTEM):
        return Department.objects.order_by("code")
    codes = {
        grant.department_code
        for grant in user_roles(user)
        if Permission.MANAGE_DEPARTMENT in ROLE_PERMISSIONS[grant.role] and grant.department_code
    }
    return Department.objects.filter(code__in=codes).order_by("code")


def department_for_seal_admin(user: User | AnonymousUser, code: str) -> Department:
    """The department ``code`` when ``user`` administers its seals; refusal audited; 404 if there is none."""
    _require_seal_admin(user, code)
    department = Department.objects.filter(code=code).first()
    if department is None:
        raise Http404(code)
    return department


def seals_for_admin(user: User | AnonymousUser, department: Department) -> QuerySet[Seal]:
    """Every version of the department's seal, newest first."""
    _require_seal_admin(user, department.code)
    return (
        Seal.objects.filter(department=department)
        .select_related("department", "authority")
        .defer("image_png")
        .order_by("-version")
    )


def seal_for_admin(user: User | AnonymousUser, seal_id: int) -> Seal:
    """One seal for its department's administrators or a system administrator; 404 if there is none."""
    seal = Seal.objects.select_related("department", "authority").filter(pk=seal_id).first()
    if seal is None:
        if isinstance(user, User) and (
            user_has_permission(user, Permission.MANAGE_SYSTEM)
            or user_has_permission(user, Permission.MANAGE_DEPARTMENT)
        ):
            raise Http404(str(seal_id))
        raise permission_denied(
            user, Permission.MANAGE_DEPARTMENT, object_type="seal", object_id=str(seal_id)
        )
    _require_seal_admin(user, seal.department.code, object_id=seal_id)
    return seal


def seal_holders_for_admin(user: User | AnonymousUser, department: Department) -> QuerySet[SealHolder]:
    """The department's current seal holders."""
    _require_seal_admin(user, department.code)
    return (
        SealHolder.objects.filter(department=department, removed_at__isnull=True)
        .select_related("user", "appointed_by")
        .order_by("appointed_at", "pk")
    )


def seal_image_for_user(user: User | AnonymousUser, seal_id: int) -> Seal:
    """A seal whose image ``user`` may see: its department's administrators, system administrators, and the
    department's seal holders."""
    seal = Seal.objects.select_related("department").filter(pk=seal_id).first()
    if seal is None:
        raise Http404(str(seal_id))
    if holder_may_sign(user, seal):
        return seal
    return seal_for_admin(user, seal_id)


def holder_account_for_admin(
    user: User | AnonymousUser, department: Department, username: str
) -> User | None:
    """The account named ``username`` for the holders endpoints, once ``user`` is known to be one of the
    department's administrators (who alone appoint and remove holders); None if there is no such account."""
    require_permission(
        user,
        Permission.MANAGE_DEPARTMENT,
        department_code=department.code,
        object_type="seal_holder",
        object_id=department.code,
    )
    return User.objects.filter(username=username).first()


def holder_candidates(user: User | AnonymousUser, department: Department) -> QuerySet[User]:
    """Staff of the department who could be appointed seal holders (for the appointment form)."""
    _require_seal_admin(user, department.code)
    holding = SealHolder.objects.filter(department=department, removed_at__isnull=True).values("user_id")
    return (
        User.objects.filter(memberships__department=department, is_active=True)
        .filter(Q(memberships__valid_until__isnull=True) | Q(memberships__valid_until__gt=timezone.now()))
        .exclude(pk__in=holding)
        .distinct()
        .order_by("username")
    )
