"""Every write about seals: the CA and its CRL, issuing and rotating, revoking, holders, images, signing.

Who may do what (docs/signatures.md, "Who may do what"):

* Issue/rotate a seal, revoke one, replace its image: the department's administrators
  (``MANAGE_DEPARTMENT`` in that department) and system administrators (``MANAGE_SYSTEM``).
* Appoint and remove seal holders: the department's administrators only (a system administrator does not
  hand out signing power in a department).
* Sign with a seal (:func:`seal_sign`, :func:`seal_pdf_signer`): only the department's current seal holders
  who still hold a role in the department (Electronic Signature Law Art. 13 (2): only the signer controls
  the signing data). The engine's automatic seal on a case (:func:`seal_sign_for_decision`,
  :func:`seal_pdf_signer_for_decision`) is authorised by the department's decision on that case instead.

Every refusal is audited (``permission.denied``) before anything is opened, so a refused call changes
nothing; every signature is audited with who, which seal, the digest and the purpose, never the payload.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import (
    permission_denied,
    require_permission,
    user_has_permission,
    user_roles,
)
from onewindow.accounts.roles import Kind, Permission
from onewindow.audit.actions import audit_append
from onewindow.core.errors import RuleViolation
from onewindow.crypto.sm2 import DEFAULT_SIGNER_ID, SM2PublicKey
from onewindow.crypto.sm3 import sm3_hex
from onewindow.organisations.models import Department
from onewindow.seals import ca
from onewindow.seals.image import SealImageError, seal_image_clean, seal_image_render
from onewindow.seals.keystore import keystore_default, keystore_for
from onewindow.seals.models import (
    CertificateAuthority,
    ImageSource,
    KeyAlgorithm,
    RevocationReason,
    Seal,
    SealHolder,
    SealStatus,
)

if TYPE_CHECKING:
    from onewindow.applications.models import Application
    from onewindow.seals.pdf import SealPdfSigner

#: The SM2 signature algorithm with SM3 (GM/T 0006: 1.2.156.10197.1.501).
SM2_WITH_SM3 = "SM2-with-SM3"
PURPOSE_MAX_LENGTH = 200
REASON_MAX_LENGTH = 1000
# A stored CRL is reissued once it has less than this left before its nextUpdate.
CRL_RENEW_BEFORE = dt.timedelta(days=1)
_STATUS_ZH: dict[str, str] = {SealStatus.REVOKED: "注销", SealStatus.RETIRED: "停用"}


@dataclass(frozen=True)
class Signature:
    """An SM2 signature made with a seal: what e-licences and letters carry next to the signed bytes.

    ``value`` is DER (GM/T 0009 §7.3); ``digest`` is the SM3 of the payload (hex), for the record;
    ``key_fingerprint`` (SM3 of the SM2 public key) names the key to verify with
    (``selectors.seal_by_key_fingerprint``).
    """

    seal_id: int
    department_code: str
    seal_version: int
    algorithm: str
    signer_id: bytes
    digest: str
    value: bytes
    key_fingerprint: str
    signed_at: dt.datetime


# --- The certificate authority -----------------------------------------------------------------------


def _authority_create(*, acting_user: User | None, name: str) -> CertificateAuthority:
    now = timezone.now()
    key_ref = keystore_default().generate(KeyAlgorithm.ECDSA_P256, label=f"root: {name}")
    certificate = ca.root_certificate_build(key_ref=key_ref, name=name, now=now)
    authority = CertificateAuthority.objects.create(
        name=name,
        key_ref=key_ref,
        certificate_der=certificate.public_bytes(serialization.Encoding.DER),
        serial_number=ca.serial_hex(certificate),
        fingerprint_sha256=ca.certificate_fingerprint(certificate),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        is_current=True,
        created_at=now,
    )
    audit_append(
        action="seals.authority_created",
        acting_user=acting_user,
        actor_username="" if acting_user else "system",
        object_type="certificate_authority",
        object_id=authority.pk,
        details={"name": name, "fingerprint_sha256": authority.fingerprint_sha256},
    )
    return authority


def authority_create(*, acting_user: User | None = None, name: str = "") -> CertificateAuthority:
    """Create the platform root (``manage.py seals_init_ca``); 409 ``authority_exists`` if there is one.

    The key pair is generated in the key store and the self-signed certificate is issued with it (ECDSA
    P-256, 20 years); ``name`` defaults to ``settings.SEAL_CA_NAME``. Audited as ``seals.authority_created``.
    """
    name = (name or settings.SEAL_CA_NAME).strip()
    exists = RuleViolation(
        "authority_exists",
        "平台根证书已存在。",
        "The platform root certificate already exists.",
        status=409,
    )
    if CertificateAuthority.objects.filter(is_current=True).exists():
        raise exists
    try:
        with transaction.atomic():
            return _authority_create(acting_user=acting_user, name=name)
    except IntegrityError:  # created meanwhile: the one-current constraint refused the second
        raise exists from None


def authority_current() -> CertificateAuthority:
    """The current root, created on first need (the first seal issued) when ``seals_init_ca`` was not run."""
    authority = CertificateAuthority.objects.filter(is_current=True).first()
    if authority is not None:
        return authority
    try:
        with transaction.atomic():
            return _authority_create(acting_user=None, name=settings.SEAL_CA_NAME)
    except IntegrityError:  # created meanwhile by a concurrent first seal
        return CertificateAuthority.objects.get(is_current=True)


def authority_certificate(authority: CertificateAuthority) -> x509.Certificate:
    return x509.load_der_x509_certificate(bytes(authority.certificate_der))


# Other certificates the root issues (the exchange's subsystem and gateway keys, the federation's node keys)
# reach the CRL through these sources, registered by their apps (``AppConfig.ready``) so the seals depend
# on neither: each yields (serial hex, revoked at, DER certificate) of its revoked keys' certificates; only
# those issued by the authority whose CRL is built are listed.
CrlSource = Callable[[], Iterable[tuple[str, dt.datetime | None, bytes]]]
_CRL_SOURCES: list[CrlSource] = []


def crl_source_register(source: CrlSource) -> None:
    """Add ``source`` of revoked certificates to every CRL the root issues from now on (once)."""
    if source not in _CRL_SOURCES:
        _CRL_SOURCES.append(source)


def _issued_by(certificate_der: bytes, root: x509.Certificate) -> bool:
    """Whether ``root`` issued the certificate (its issuer name and authority key identifier)."""
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
        issued = certificate.issuer == root.subject
        identifier = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        root_identifier = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    return issued and identifier.key_identifier == root_identifier.digest


def _other_revoked(root: x509.Certificate, now: dt.datetime) -> list[ca.RevokedEntry]:
    entries = []
    for source in _CRL_SOURCES:
        for serial, revoked_at, certificate_der in source():
            if serial and certificate_der and _issued_by(bytes(certificate_der), root):
                entries.append(
                    ca.RevokedEntry(
                        serial_number=int(serial, 16),
                        revoked_at=revoked_at or now,
                        reason=x509.ReasonFlags.unspecified,
                    )
                )
    return entries


def crl_reissue_current() -> None:
    """Reissue the current root's CRL (in the caller's transaction), when there is a root: called by the
    revocation of any key the root certified, so the CRL lists it at once."""
    authority = CertificateAuthority.objects.filter(is_current=True).first()
    if authority is not None:
        crl_issue(authority=authority)


def crl_issue(*, authority: CertificateAuthority) -> CertificateAuthority:
    """Issue the next CRL of ``authority`` (every revoked certificate it issued: seals, and the keys of the
    registered :func:`crl_source_register` sources) and keep it.

    Called by :func:`seal_revoke` and the other keys' revocations in their transactions, and by
    :func:`crl_current` when the kept one is due. Audited as ``seals.crl_issued``.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = CertificateAuthority.objects.select_for_update().get(pk=authority.pk)
        root = authority_certificate(locked)
        revoked = [
            ca.RevokedEntry(
                serial_number=int(serial, 16),
                revoked_at=revoked_at or now,
                reason=ca.REASONS.get(reason_code, x509.ReasonFlags.unspecified),
            )
            for serial, revoked_at, reason_code in Seal.objects.filter(
                authority=locked, status=SealStatus.REVOKED
            )
            .order_by("revoked_at", "pk")
            .values_list("certificate_serial", "revoked_at", "revocation_reason_code")
        ]
        revoked += _other_revoked(root, now)
        revoked.sort(key=lambda entry: entry.revoked_at)
        number = locked.crl_number + 1
        crl = ca.crl_build(
            root=root,
            root_key_ref=locked.key_ref,
            revoked=revoked,
            crl_number=number,
            now=now,
        )
        locked.crl_number = number
        locked.crl_der = crl.public_bytes(serialization.Encoding.DER)
        locked.crl_next_update = crl.next_update_utc
        locked.save(update_fields=["crl_number", "crl_der", "crl_next_update"])
        audit_append(
            action="seals.crl_issued",
            acting_user=None,
            actor_username="system",
            object_type="certificate_authority",
            object_id=locked.pk,
            details={"crl_number": number, "revoked": len(revoked)},
        )
    return locked


def crl_current() -> bytes | None:
    """The current CRL (DER), reissued when the kept one is missing or near its nextUpdate; None before the
    root exists."""
    authority = CertificateAuthority.objects.filter(is_current=True).first()
    if authority is None:
        return None
    next_update = authority.crl_next_update
    if authority.crl_der and next_update is not None and next_update - timezone.now() > CRL_RENEW_BEFORE:
        return bytes(authority.crl_der)
    return bytes(crl_issue(authority=authority).crl_der)


# --- Authorisation ------------------------------------------------------------------------------------


def _require_seal_admin(
    user: User | AnonymousUser | None, department: Department, *, object_id: str | int = ""
) -> User | None:
    """System administrators, and the department's own administrators; None (the system) passes."""
    if user is None:
        return None
    if isinstance(user, User) and user_has_permission(user, Permission.MANAGE_SYSTEM):
        return user
    return require_permission(
        user,
        Permission.MANAGE_DEPARTMENT,
        department_code=department.code,
        object_type="seal",
        object_id=str(object_id or department.code),
    )


def _require_department_admin(user: User | AnonymousUser, department: Department) -> User:
    return require_permission(
        user,
        Permission.MANAGE_DEPARTMENT,
        department_code=department.code,
        object_type="seal_holder",
        object_id=department.code,
    )


def _holds_role_in(user: User, department: Department) -> bool:
    return any(grant.department_code == department.code for grant in user_roles(user))


def holder_may_sign(user: User | AnonymousUser | None, seal: Seal) -> bool:
    """True if ``user`` is an active staff account, a current holder of the seal's department's seal, and
    still holds a role in that department."""
    if (
        not isinstance(user, User)
        or not user.is_authenticated
        or not user.is_active
        or user.kind != Kind.STAFF
    ):
        return False
    if not SealHolder.objects.filter(
        department_id=seal.department_id, user=user, removed_at__isnull=True
    ).exists():
        return False
    return _holds_role_in(user, seal.department)


def _require_holder(user: User | AnonymousUser | None, seal: Seal) -> User:
    if holder_may_sign(user, seal):
        return user  # type: ignore[return-value]
    raise permission_denied(
        user if isinstance(user, User | AnonymousUser) else AnonymousUser(),
        "seal_sign",
        object_type="seal",
        object_id=str(seal.pk),
    )


def _require_signable(seal: Seal, *, now: dt.datetime) -> None:
    """The seal is active and its certificate valid now, read afresh (it may have been revoked since the
    caller loaded it)."""
    current = Seal.objects.filter(pk=seal.pk).values_list("status", "not_before", "not_after").first()
    status, not_before, not_after = current or (SealStatus.REVOKED, seal.not_before, seal.not_after)
    if status != SealStatus.ACTIVE:
        raise RuleViolation(
            "seal_not_active",
            f"该印章（第 {seal.version} 版）已{_STATUS_ZH.get(status, '停用')}，不能用于签章。",
            f"This seal (version {seal.version}) is {status}: it cannot sign.",
            status=409,
        )
    if not not_before <= now <= not_after:
        raise RuleViolation(
            "seal_expired",
            "该印章的证书不在有效期内，请更换印章。",
            "This seal's certificate is not valid now: rotate the seal.",
            status=409,
        )


# --- Seals: issue, rotate, revoke, image --------------------------------------------------------------


def _seal_issue(*, department: Department, acting_user: User | None, previous: Seal | None) -> Seal:
    """Inside the caller's transaction, with the department locked: the next version, active."""
    now = timezone.now()
    authority = authority_current()
    store = keystore_default()
    label = f"{department.code} seal"
    sm2_key_ref = store.generate(KeyAlgorithm.SM2, label=label)
    ecdsa_key_ref = store.generate(KeyAlgorithm.ECDSA_P256, label=label)
    sm2_public_der = store.public_key_der(sm2_key_ref)
    certificate = ca.seal_certificate_build(
        root=authority_certificate(authority),
        root_key_ref=authority.key_ref,
        subject_key_der=store.public_key_der(ecdsa_key_ref),
        subject=ca.SealSubject(
            department_name=department.name,
            department_code=department.code,
            credit_code=department.credit_code,
        ),
        now=now,
        validity=dt.timedelta(days=settings.SEAL_CERTIFICATE_DAYS),
        crl_url=settings.SEAL_CRL_URL,
    )
    if previous is not None and previous.image_source == ImageSource.UPLOADED:
        image, source = bytes(previous.image_png), ImageSource.UPLOADED
    else:
        image, source = seal_image_render(department.name), ImageSource.GENERATED
    return Seal.objects.create(
        department=department,
        version=(previous.version + 1) if previous else 1,
        status=SealStatus.ACTIVE,
        name=department.name,
        sm2_key_ref=sm2_key_ref,
        sm2_public_key_der=sm2_public_der,
        sm2_key_fingerprint=SM2PublicKey.from_der(sm2_public_der).fingerprint(),
        ecdsa_key_ref=ecdsa_key_ref,
        authority=authority,
        certificate_der=certificate.public_bytes(serialization.Encoding.DER),
        certificate_serial=ca.serial_hex(certificate),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        image_png=image,
        image_source=source,
        created_at=now,
        created_by=acting_user,
    )


def seal_rotate(*, acting_user: User | None, department: Department) -> Seal:
    """Issue the department's next seal version (the first one when it has none) and retire the active one.

    New SM2 and ECDSA keys, a new certificate from the root (created on first need), the image carried over
    when it was uploaded, else drawn anew from the department's current name. The retired version stays
    valid for verifying what it signed (its certificate is not revoked). ``acting_user`` None is the system
    (demo loader, commands). Audited as ``seals.seal_issued`` (with the retired version, if any).
    """
    _require_seal_admin(acting_user, department)
    with transaction.atomic():
        Department.objects.select_for_update().get(pk=department.pk)  # one rotation at a time per department
        latest = Seal.objects.filter(department=department).order_by("-version").first()
        active = Seal.objects.filter(department=department, status=SealStatus.ACTIVE).first()
        now = timezone.now()
        if active is not None:
            active.status = SealStatus.RETIRED
            active.retired_at = now
            active.save(update_fields=["status", "retired_at"])
        seal = _seal_issue(department=department, acting_user=acting_user, previous=latest)
        audit_append(
            action="seals.seal_issued",
            acting_user=acting_user,
            actor_username="" if acting_user else "system",
            object_type="seal",
            object_id=seal.pk,
            department_code=department.code,
            details={
                "department": department.code,
                "version": seal.version,
                "certificate_serial": seal.certificate_serial,
                "key_fingerprint": seal.sm2_key_fingerprint,
                "retired_version": active.version if active else None,
            },
        )
    return seal


def seal_revoke(
    *,
    acting_user: User | None,
    seal: Seal,
    reason: str,
    reason_code: RevocationReason | str = RevocationReason.UNSPECIFIED,
) -> Seal:
    """Revoke ``seal`` (any version) for ``reason``, at once and for good; the CRL is reissued with it.

    A revoked seal signs nothing more; its certificate is on the CRL and the public revoked list, so
    verifiers reject what it signed (docs/signatures.md, "Revocation"). The department is left without an
    active seal until it rotates. Audited as ``seals.seal_revoked``.
    """
    _require_seal_admin(acting_user, seal.department, object_id=seal.pk)
    reason = reason.strip()
    if not reason:
        raise RuleViolation(
            "reason_required", "请填写注销原因。", "Give the reason for revocation.", field="reason"
        )
    if len(reason) > REASON_MAX_LENGTH:
        raise RuleViolation(
            "reason_too_long",
            f"注销原因不能超过 {REASON_MAX_LENGTH} 个字。",
            f"The reason must be at most {REASON_MAX_LENGTH} characters.",
            field="reason",
        )
    if reason_code not in RevocationReason.values:
        raise RuleViolation(
            "reason_code_invalid",
            "注销原因代码无效。",
            "Unknown revocation reason code.",
            field="reason_code",
        )
    with transaction.atomic():
        locked = Seal.objects.select_for_update().select_related("department", "authority").get(pk=seal.pk)
        if locked.status == SealStatus.REVOKED:
            raise RuleViolation(
                "seal_already_revoked", "该印章已注销。", "This seal is already revoked.", status=409
            )
        previous_status = locked.status
        locked.status = SealStatus.REVOKED
        locked.revoked_at = timezone.now()
        locked.revocation_reason = reason
        locked.revocation_reason_code = str(reason_code)
        locked.revoked_by = acting_user
        locked.save(
            update_fields=[
                "status",
                "revoked_at",
                "revocation_reason",
                "revocation_reason_code",
                "revoked_by",
            ]
        )
        audit_append(
            action="seals.seal_revoked",
            acting_user=acting_user,
            actor_username="" if acting_user else "system",
            object_type="seal",
            object_id=locked.pk,
            department_code=locked.department.code,
            details={
                "department": locked.department.code,
                "version": locked.version,
                "previous_status": previous_status,
                "certificate_serial": locked.certificate_serial,
                "key_fingerprint": locked.sm2_key_fingerprint,
                "reason": reason,
                "reason_code": str(reason_code),
            },
        )
        crl_issue(authority=locked.authority)
    return locked


def seal_image_upload(*, acting_user: User, seal: Seal, image: bytes) -> Seal:
    """Replace the image of the department's active seal with an uploaded PNG (checked and re-encoded).

    Later versions keep the uploaded image. 422 ``seal_image_*`` for a file that is not a PNG of 100 to 4,000
    pixels a side under 1 MB. Audited as ``seals.image_uploaded`` with the image's SHA-256.
    """
    _require_seal_admin(acting_user, seal.department, object_id=seal.pk)
    try:
        cleaned = seal_image_clean(image)
    except SealImageError as error:
        raise RuleViolation(error.code, error.message_zh, error.message_en, field="image") from None
    with transaction.atomic():
        locked = Seal.objects.select_for_update().select_related("department").get(pk=seal.pk)
        if locked.status != SealStatus.ACTIVE:
            raise RuleViolation(
                "seal_not_active",
                "只能更换在用印章的图片。",
                "Only the active seal's image can be replaced.",
                status=409,
            )
        locked.image_png = cleaned
        locked.image_source = ImageSource.UPLOADED
        locked.save(update_fields=["image_png", "image_source"])
        audit_append(
            action="seals.image_uploaded",
            acting_user=acting_user,
            object_type="seal",
            object_id=locked.pk,
            department_code=locked.department.code,
            details={"version": locked.version, "sha256": hashlib.sha256(cleaned).hexdigest()},
        )
    return locked


# --- Holders -------------------------------------------------------------------------------------------


def seal_holder_appoint(*, acting_user: User, department: Department, user: User) -> SealHolder:
    """Appoint ``user`` to hold the department's seal (every version); by the department's administrator.

    The holder must be an active staff account with a role in the department (422 ``holder_not_staff``);
    409 ``holder_exists`` if already appointed. Audited as ``seals.holder_appointed``.
    """
    _require_department_admin(acting_user, department)
    if not (user.is_active and user.kind == Kind.STAFF and _holds_role_in(user, department)):
        raise RuleViolation(
            "holder_not_staff",
            "印章持有人必须是本部门的在职工作人员。",
            "A seal holder must be a current staff member of the department.",
            field="username",
        )
    try:
        with transaction.atomic():
            holder = SealHolder.objects.create(
                department=department, user=user, appointed_at=timezone.now(), appointed_by=acting_user
            )
            audit_append(
                action="seals.holder_appointed",
                acting_user=acting_user,
                object_type="seal_holder",
                object_id=holder.pk,
                department_code=department.code,
                details={"department": department.code, "holder": user.username},
            )
    except IntegrityError:
        raise RuleViolation(
            "holder_exists",
            "该工作人员已是本部门印章持有人。",
            "This person already holds the department's seal.",
            status=409,
        ) from None
    return holder


def seal_holder_remove(*, acting_user: User, department: Department, user: User) -> SealHolder:
    """End ``user``'s appointment as holder of the department's seal; 404 ``holder_not_found`` if none.

    The row stays (who held the seal when is part of the record). Audited as ``seals.holder_removed``.
    """
    _require_department_admin(acting_user, department)
    with transaction.atomic():
        holder = (
            SealHolder.objects.select_for_update()
            .filter(department=department, user=user, removed_at__isnull=True)
            .first()
        )
        if holder is None:
            raise RuleViolation(
                "holder_not_found",
                "该工作人员不是本部门印章持有人。",
                "This person does not hold the department's seal.",
                status=404,
            )
        holder.removed_at = timezone.now()
        holder.removed_by = acting_user
        holder.save(update_fields=["removed_at", "removed_by"])
        audit_append(
            action="seals.holder_removed",
            acting_user=acting_user,
            object_type="seal_holder",
            object_id=holder.pk,
            department_code=department.code,
            details={"department": department.code, "holder": user.username},
        )
    return holder


# --- Signing -------------------------------------------------------------------------------------------


def _purpose_checked(purpose: str) -> str:
    purpose = purpose.strip()
    if not purpose:
        raise RuleViolation(
            "purpose_required", "请说明签章用途。", "Say what the signature is for.", field="purpose"
        )
    if len(purpose) > PURPOSE_MAX_LENGTH:
        raise RuleViolation(
            "purpose_too_long",
            f"签章用途不能超过 {PURPOSE_MAX_LENGTH} 个字。",
            f"The purpose must be at most {PURPOSE_MAX_LENGTH} characters.",
            field="purpose",
        )
    return purpose


def _sign(
    *,
    seal: Seal,
    payload: bytes,
    purpose: str,
    signer_id: bytes,
    acting_user: User | None,
    tracking_no: str = "",
) -> Signature:
    now = timezone.now()
    _require_signable(seal, now=now)
    digest = sm3_hex(payload)
    with transaction.atomic():
        value = keystore_for(seal.sm2_key_ref).sign_sm2(seal.sm2_key_ref, payload, signer_id)
        details: dict[str, object] = {
            "department": seal.department.code,
            "version": seal.version,
            "algorithm": SM2_WITH_SM3,
            "digest_sm3": digest,
            "key_fingerprint": seal.sm2_key_fingerprint,
            "purpose": purpose,
        }
        if tracking_no:
            details["tracking_no"] = tracking_no
        audit_append(
            action="seals.signed",
            acting_user=acting_user,
            actor_username="" if acting_user else "back-office",
            object_type="seal",
            object_id=seal.pk,
            department_code=seal.department.code,
            details=details,
        )
    return Signature(
        seal_id=seal.pk,
        department_code=seal.department.code,
        seal_version=seal.version,
        algorithm=SM2_WITH_SM3,
        signer_id=signer_id,
        digest=digest,
        value=value,
        key_fingerprint=seal.sm2_key_fingerprint,
        signed_at=now,
    )


def seal_sign(
    acting_user: User | AnonymousUser | None,
    seal: Seal,
    payload: bytes,
    *,
    purpose: str,
    signer_id: bytes = DEFAULT_SIGNER_ID,
) -> Signature:
    """Sign ``payload`` with the seal's SM2 key (SM3, GB/T 32918.2) for a holder signing by hand.

    Refused (403, audited as ``permission.denied`` with ``seal_sign``) for everyone but the department's
    current seal holders; 409 ``seal_not_active`` / ``seal_expired``; 422 ``purpose_required``. Audited as
    ``seals.signed`` with the SM3 digest and purpose (never the payload).
    """
    holder = _require_holder(acting_user, seal)
    return _sign(
        seal=seal,
        payload=payload,
        purpose=_purpose_checked(purpose),
        signer_id=signer_id,
        acting_user=holder,
    )


def _decision_seal(application: Application, department_code: str | None) -> Seal:
    """The active seal of the department deciding ``application`` (its service's, or one that must act)."""
    owner = application.service.department.code
    code = department_code or owner
    if code != owner and code not in (application.department_codes or []):
        raise RuleViolation(
            "department_not_deciding",
            "该部门未参与办理此件，不能加盖其印章。",
            "This department does not act on this case: its seal cannot be applied.",
            status=409,
        )
    seal = (
        Seal.objects.select_related("department")
        .filter(department__code=code, status=SealStatus.ACTIVE)
        .first()
    )
    if seal is None:
        raise RuleViolation(
            "seal_missing",
            f"部门 {code} 没有在用的电子印章。",
            f"Department {code} has no active electronic seal.",
            status=409,
        )
    return seal


def seal_sign_for_decision(
    application: Application,
    payload: bytes,
    *,
    purpose: str = "decision",
    department_code: str | None = None,
    signer_id: bytes = DEFAULT_SIGNER_ID,
) -> Signature:
    """The engine's automatic seal on a case: sign ``payload`` with the deciding department's active seal.

    No acting user: the department's decision on the case authorises it. The department is the case's
    service's owner unless ``department_code`` names another department that acts on the case. Audited as
    ``seals.signed`` by ``back-office`` with the case's tracking number.
    """
    seal = _decision_seal(application, department_code)
    return _sign(
        seal=seal,
        payload=payload,
        purpose=_purpose_checked(purpose),
        signer_id=signer_id,
        acting_user=None,
        tracking_no=application.tracking_no,
    )


@contextmanager
def _pdf_signing(
    *, seal: Seal, purpose: str, acting_user: User | None, tracking_no: str
) -> Iterator[SealPdfSigner]:
    from onewindow.seals.pdf import SealPdfSigner

    _require_signable(seal, now=timezone.now())
    signer = SealPdfSigner(
        key=keystore_for(seal.ecdsa_key_ref).signer(seal.ecdsa_key_ref),
        certificate_der=bytes(seal.certificate_der),
        root_der=bytes(seal.authority.certificate_der),
    )
    try:
        yield signer
    finally:
        if signer.signed:
            with transaction.atomic():
                for digest in signer.signed:
                    details: dict[str, object] = {
                        "department": seal.department.code,
                        "version": seal.version,
                        "algorithm": "ECDSA-P256",
                        "digest_document": digest,
                        "certificate_serial": seal.certificate_serial,
                        "purpose": purpose,
                    }
                    if tracking_no:
                        details["tracking_no"] = tracking_no
                    audit_append(
                        action="seals.pdf_signed",
                        acting_user=acting_user,
                        actor_username="" if acting_user else "back-office",
                        object_type="seal",
                        object_id=seal.pk,
                        department_code=seal.department.code,
                        details=details,
                    )


@contextmanager
def seal_pdf_signer(
    *, acting_user: User | AnonymousUser | None, seal: Seal, purpose: str
) -> Iterator[SealPdfSigner]:
    """A pyHanko ``Signer`` over the seal's ECDSA key and certificate, for a holder signing PDFs by hand::

        with seal_pdf_signer(acting_user=user, seal=seal, purpose="...") as signer:
            signed = pyhanko.sign.signers.sign_pdf(writer, meta, signer=signer)

    Authorised like :func:`seal_sign` (refusal audited, nothing opened); each signature the block makes is
    audited as ``seals.pdf_signed`` with the document digest from its signed attributes when it ends.
    """
    holder = _require_holder(acting_user, seal)
    with _pdf_signing(
        seal=seal, purpose=_purpose_checked(purpose), acting_user=holder, tracking_no=""
    ) as signer:
        yield signer


@contextmanager
def seal_pdf_signer_for_decision(
    *, application: Application, purpose: str = "decision", department_code: str | None = None
) -> Iterator[SealPdfSigner]:
    """The PDF counterpart of :func:`seal_sign_for_decision` (same department rule, same audit)."""
    seal = _decision_seal(application, department_code)
    with _pdf_signing(
        seal=seal, purpose=_purpose_checked(purpose), acting_user=None, tracking_no=application.tracking_no
    ) as signer:
        yield signer
