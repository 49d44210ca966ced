"""Writes to accounts: creating and deactivating accounts, roles, passwords, unlocking, TOTP and API tokens.

Each action is one transaction that also appends its audit record (MLPS 2.0 §8.1.4.3). Refusals are audited
in their own transaction, so the record survives the exception.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from onewindow.accounts.api_auth import token_hash
from onewindow.accounts.models import ApiToken, User
from onewindow.accounts.permissions import require_permission
from onewindow.accounts.roles import Kind, Permission
from onewindow.audit.actions import audit_append
from onewindow.audit.models import Outcome
from onewindow.core.context import current_request_context
from onewindow.core.validators import validate_credit_code, validate_id_number, validate_mobile


def _bilingual(message_zh: str, message_en: str, code: str) -> ValidationError:
    return ValidationError(f"{message_zh} {message_en}", code=code)


def _require_system_admin(acting_user: User | None, *, object_id: str = "") -> None:
    # acting_user=None is the platform itself (management commands, the demo loader), never a request.
    if acting_user is not None:
        require_permission(acting_user, Permission.MANAGE_SYSTEM, object_type="user", object_id=object_id)


def user_create(
    *,
    username: str,
    kind: Kind | str,
    password: str,
    display_name: str,
    id_number: str | None = None,
    enterprise_credit_code: str | None = None,
    enterprise_name: str = "",
    mobile: str = "",
    is_demo: bool = False,
    acting_user: User | None,
) -> User:
    """Create an account (system administrator; ``acting_user=None`` only from management commands).

    Residents are real-name accounts and need a valid resident ID number (GB 11643-1999); enterprise
    representatives need their enterprise's unified social credit code (GB 32100-2015). The password must
    pass the password policy (MLPS 2.0 §8.1.4.1 a). Raises ``ValidationError`` with bilingual messages.
    """
    _require_system_admin(acting_user, object_id=username)
    kind = Kind(kind)
    if kind == Kind.RESIDENT and not id_number:
        raise _bilingual(
            "居民账户须填写身份证号码。", "A resident account needs an ID number.", "id_number_required"
        )
    if kind == Kind.ENTERPRISE and not enterprise_credit_code:
        raise _bilingual(
            "企业账户须填写统一社会信用代码。",
            "An enterprise account needs a unified social credit code.",
            "credit_code_required",
        )
    user = User(
        username=username,
        kind=kind,
        display_name=display_name,
        id_number=validate_id_number(id_number) if id_number else None,
        enterprise_credit_code=validate_credit_code(enterprise_credit_code)
        if kind == Kind.ENTERPRISE and enterprise_credit_code
        else "",
        enterprise_name=enterprise_name if kind == Kind.ENTERPRISE else "",
        mobile=validate_mobile(mobile) if mobile else "",
        is_demo=is_demo,
    )
    user.full_clean(
        exclude=["password", "id_number", "enterprise_credit_code", "mobile"], validate_unique=False
    )
    validate_password(password, user)
    user.set_password(password)
    user.password_changed_at = timezone.now()
    try:
        with transaction.atomic():
            user.save()
            audit_append(
                action="user.created",
                acting_user=acting_user,
                object_type="user",
                object_id=user.pk,
                details={"username": username, "kind": str(kind)},
            )
    except IntegrityError:
        # The unique constraints decide (no check-then-create race); say which value is taken.
        raise _bilingual(
            "用户名或身份证号码已被使用。", "The username or ID number is already in use.", "account_exists"
        ) from None
    return user


def user_deactivate(*, user: User, acting_user: User | None) -> User:
    """Deactivate an account (system administrator): it can no longer sign in and its API tokens stop working.

    Accounts are never deleted, so the audit trail keeps pointing at a real account.
    """
    _require_system_admin(acting_user, object_id=str(user.pk))
    now = timezone.now()
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
        audit_append(
            action="user.deactivated",
            acting_user=acting_user,
            object_type="user",
            object_id=user.pk,
            details={"username": user.get_username(), "api_access_revoked": revoked},
        )
    user.is_active = False
    return user


def password_change(*, user: User, old_password: str, new_password: str) -> User:
    """Change one's own password: the old one must match and the new one must pass the password policy.

    All the account's API tokens are revoked, since whoever held the old password may have issued them.
    """
    if not user.check_password(old_password):
        audit_append(
            action="auth.password_change_failed",
            acting_user=user,
            outcome=Outcome.FAILURE,
            object_type="user",
            object_id=user.pk,
            details={"reason": "old_password_wrong"},
        )
        raise ValidationError(
            "原密码不正确。 The current password is not correct.", code="old_password_wrong"
        )
    if new_password == old_password:
        raise _bilingual(
            "新密码不能与原密码相同。", "The new password must differ from the current one.", "unchanged"
        )
    validate_password(new_password, user)
    now = timezone.now()
    with transaction.atomic():
        user.set_password(new_password)
        user.password_changed_at = now
        user.save(update_fields=["password", "password_changed_at"])
        revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
        audit_append(
            action="auth.password_changed",
            acting_user=user,
            object_type="user",
            object_id=user.pk,
            details={"api_access_revoked": revoked},
        )
    return user


def user_unlock(*, username: str, acting_user: User) -> int:
    """Lift a lockout (security officer). Returns the number of failure records cleared."""
    from axes.handlers.proxy import AxesProxyHandler

    require_permission(acting_user, Permission.MANAGE_SECURITY, object_type="user", object_id=username)
    with transaction.atomic():
        cleared = int(AxesProxyHandler.reset_attempts(username=username))
        audit_append(
            action="auth.unlocked",
            acting_user=acting_user,
            object_type="user",
            object_id=username,
            details={"username": username, "failure_records_cleared": cleared},
        )
    return cleared


def totp_devices_reset(*, username: str, acting_user: User) -> int:
    """Remove an account's TOTP devices (security officer), after checking the person's identity in person.

    The account's next sign-in goes to enrolment; sessions verified with a removed device stop counting as
    verified. Returns the number of devices removed.
    """
    require_permission(acting_user, Permission.MANAGE_SECURITY, object_type="user", object_id=username)
    with transaction.atomic():
        user = User.objects.filter(username=username).first()
        removed = TOTPDevice.objects.filter(user=user).delete()[0] if user is not None else 0
        audit_append(
            action="auth.otp_reset",
            acting_user=acting_user,
            object_type="user",
            object_id=user.pk if user is not None else username,
            details={"username": username, "devices_removed": removed},
        )
    return removed


def totp_device_start(*, user: User) -> TOTPDevice:
    """Start TOTP enrolment: a new unconfirmed device with a fresh random secret (RFC 6238, SHA-1, 6 digits).

    Earlier unconfirmed devices are discarded so only the secret on screen can be confirmed.
    """
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name="default", confirmed=False)
        audit_append(
            action="auth.otp_enrolment_started", acting_user=user, object_type="user", object_id=user.pk
        )
    return device


def totp_device_confirm(*, device: TOTPDevice, token: str) -> bool:
    """Confirm an enrolling device with a code it generated. Returns False (and changes nothing) if wrong."""
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if locked.confirmed or not locked.verify_token(token):
            return False
        locked.confirmed = True
        locked.save(update_fields=["confirmed"])
        audit_append(
            action="auth.otp_enrolled",
            acting_user=locked.user,
            object_type="otp_device",
            object_id=locked.persistent_id,
        )
    device.refresh_from_db()
    return True


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


def api_token_issue(*, user: User) -> IssuedToken:
    """Issue a bearer token for a user who has just passed every factor. Only its SHA-256 is stored."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    expires_at = now + timedelta(seconds=settings.API_TOKEN_TTL_SECONDS)
    with transaction.atomic():
        issued = ApiToken.objects.create(
            user=user,
            token_hash=token_hash(token),
            expires_at=expires_at,
            client_address=current_request_context().client_address[:64],
        )
        User.objects.filter(pk=user.pk).update(last_login=now)
        audit_append(
            action="auth.token_issued",
            acting_user=user,
            object_type="api_token",
            object_id=issued.pk,
            details={"expires_at": expires_at.isoformat()},
        )
    return IssuedToken(token=token, expires_at=expires_at)


def api_token_revoke(*, token: str, acting_user: User) -> bool:
    """Revoke one of the caller's own tokens. Returns False if it was unknown or already revoked."""
    with transaction.atomic():
        found = (
            ApiToken.objects.select_for_update()
            .filter(token_hash=token_hash(token), user=acting_user, revoked_at__isnull=True)
            .first()
        )
        if found is None:
            return False
        found.revoked_at = timezone.now()
        found.save(update_fields=["revoked_at"])
        audit_append(
            action="auth.token_revoked", acting_user=acting_user, object_type="api_token", object_id=found.pk
        )
    return True
