"""The seals API (/api/v1/seals/...): thin over the actions and selectors (docs/signatures.md).

Public, no sign-in: the root certificate, the revoked seals and keys, and any seal's public part by key
fingerprint (for verifiers). For the department's administrators and system administrators: the
department's seals, rotation, revocation, the seal image; for the department's administrators only: seal
holders. Refusals are mapped once by ``core.api_errors``: 401 without a caller, 403 for any other role (the
refusal audited, nothing changed), 404 for an unknown department or seal, 409 for a conflict with the seal's
state, 422 for a broken rule.
"""

# No ``from __future__ import annotations``: Ninja reads the endpoint annotations at runtime.

from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import File, Router, Status
from ninja.files import UploadedFile

from onewindow.accounts.api_auth import api_auth
from onewindow.accounts.models import User
from onewindow.accounts.schemas import ErrorOut, ErrorWithFieldsOut
from onewindow.core.errors import RuleViolation
from onewindow.crypto.sm2 import SM2PublicKey
from onewindow.seals import actions, selectors
from onewindow.seals.image import UPLOAD_MAX_BYTES
from onewindow.seals.models import Seal, SealHolder
from onewindow.seals.schemas import (
    HolderIn,
    HolderOut,
    RevokedSealOut,
    RevokeIn,
    RootCertificateOut,
    SealOut,
    SealPublicOut,
)

router = Router(tags=["seals"])

_ERRORS: dict[int, Any] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorWithFieldsOut,
}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _certificate_pem(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode("ascii")


def seal_public(seal: Seal) -> dict[str, Any]:
    return {
        "department_code": seal.department.code,
        "department_name": seal.name,
        "version": seal.version,
        "status": seal.status,
        "key_fingerprint": seal.sm2_key_fingerprint,
        "sm2_public_key_pem": SM2PublicKey.from_der(bytes(seal.sm2_public_key_der)).to_pem().decode("ascii"),
        "certificate_pem": _certificate_pem(bytes(seal.certificate_der)),
        "certificate_serial": seal.certificate_serial,
        "not_before": seal.not_before,
        "not_after": seal.not_after,
        "revoked_at": seal.revoked_at,
        "revocation_reason": seal.revocation_reason,
    }


def _seal_out(seal: Seal) -> dict[str, Any]:
    return {
        **seal_public(seal),
        "id": seal.pk,
        "image_source": seal.image_source,
        "created_at": seal.created_at,
        "retired_at": seal.retired_at,
    }


def _holder_out(holder: SealHolder) -> dict[str, Any]:
    return {
        "username": holder.user.username,
        "display_name": holder.user.display_name,
        "appointed_at": holder.appointed_at,
        "appointed_by": holder.appointed_by.username if holder.appointed_by else None,
    }


# --- Public ---------------------------------------------------------------------------------------------


@router.get(
    "/root-certificate",
    auth=None,
    response={200: RootCertificateOut, 404: ErrorOut},
    summary="The platform root certificate (anyone)",
    description=(
        "The trust anchor of every seal certificate: install the PEM after comparing its SHA-256 "
        "fingerprint with the one the platform publishes. 404 before the first seal is issued."
    ),
)
def root_certificate(request: HttpRequest) -> dict[str, Any]:
    authority = selectors.authority_public()
    if authority is None:
        raise Http404("no root certificate yet")
    return {
        "name": authority.name,
        "pem": _certificate_pem(bytes(authority.certificate_der)),
        "fingerprint_sha256": authority.fingerprint_sha256,
        "serial_number": authority.serial_number,
        "not_before": authority.not_before,
        "not_after": authority.not_after,
        "crl_path": reverse("seals:crl"),
    }


@router.get(
    "/revoked",
    auth=None,
    response=list[RevokedSealOut],
    summary="Revoked seals and keys (anyone)",
    description=(
        "Every revoked seal version, latest first: certificate serial, SM2 key fingerprint, department, when "
        "and why. Signatures by these keys are no longer valid. The CRL (DER) says the same for X.509."
    ),
)
def seals_revoked(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "department_code": seal.department.code,
            "department_name": seal.name,
            "version": seal.version,
            "certificate_serial": seal.certificate_serial,
            "key_fingerprint": seal.sm2_key_fingerprint,
            "revoked_at": seal.revoked_at,
            "reason": seal.revocation_reason,
            "reason_code": seal.revocation_reason_code,
        }
        for seal in selectors.seals_revoked()
    ]


@router.get(
    "/keys/{fingerprint}",
    auth=None,
    response={200: SealPublicOut, 404: ErrorOut},
    summary="A seal's public keys, certificate and status by SM2 key fingerprint (anyone)",
    description="For verifying signed JSON offline: the SM2 public key (PEM), certificate and status.",
)
def seal_key(request: HttpRequest, fingerprint: str) -> dict[str, Any]:
    seal = selectors.seal_by_key_fingerprint(fingerprint)
    if seal is None:
        raise Http404(fingerprint)
    return seal_public(seal)


# --- Administrators ------------------------------------------------------------------------------------


@router.get(
    "/departments/{code}",
    auth=api_auth,
    response={200: list[SealOut], **_ERRORS},
    summary="A department's seals, every version (its administrators, system administrators)",
)
def department_seals(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    user = _user(request)
    department = selectors.department_for_seal_admin(user, code)
    return [_seal_out(seal) for seal in selectors.seals_for_admin(user, department)]


@router.post(
    "/departments/{code}/rotate",
    auth=api_auth,
    response={201: SealOut, **_ERRORS},
    summary="Issue the department's next seal version (the first one if it has none)",
    description=(
        "New SM2 and ECDSA keys, a new certificate from the platform root; the active version is retired "
        "and stays valid for verifying what it signed. Audited as `seals.seal_issued`."
    ),
)
def seal_rotate(request: HttpRequest, code: str) -> Status[dict[str, Any]]:
    user = _user(request)
    department = selectors.department_for_seal_admin(user, code)
    return Status(201, _seal_out(actions.seal_rotate(acting_user=user, department=department)))


@router.post(
    "/{seal_id}/revoke",
    auth=api_auth,
    response={200: SealOut, **_ERRORS},
    summary="Revoke a seal version for good, with a reason (published)",
    description=(
        "422 `reason_required`; 409 `seal_already_revoked`. The CRL is reissued at once and the seal appears "
        "in `GET /api/v1/seals/revoked`."
    ),
)
def seal_revoke(request: HttpRequest, seal_id: int, payload: RevokeIn) -> dict[str, Any]:
    user = _user(request)
    seal = selectors.seal_for_admin(user, seal_id)
    revoked = actions.seal_revoke(
        acting_user=user, seal=seal, reason=payload.reason, reason_code=payload.reason_code
    )
    return _seal_out(revoked)


@router.post(
    "/{seal_id}/image",
    auth=api_auth,
    response={200: SealOut, **_ERRORS},
    summary="Replace the active seal's image with a PNG (multipart field `file`)",
    description=f"100 to 4,000 pixels a side, at most {UPLOAD_MAX_BYTES // 1024} KB; re-encoded on upload.",
)
def seal_image_upload(request: HttpRequest, seal_id: int, file: File[UploadedFile]) -> dict[str, Any]:
    user = _user(request)
    seal = selectors.seal_for_admin(user, seal_id)
    if file.size is not None and file.size > UPLOAD_MAX_BYTES:
        raise RuleViolation(
            "seal_image_too_large",
            f"印章图片不能超过 {UPLOAD_MAX_BYTES // 1024} KB。",
            f"The seal image must be at most {UPLOAD_MAX_BYTES // 1024} KB.",
            field="file",
        )
    return _seal_out(actions.seal_image_upload(acting_user=user, seal=seal, image=file.read()))


@router.get(
    "/departments/{code}/holders",
    auth=api_auth,
    response={200: list[HolderOut], **_ERRORS},
    summary="The department's current seal holders (its administrators, system administrators)",
)
def seal_holders(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    user = _user(request)
    department = selectors.department_for_seal_admin(user, code)
    return [_holder_out(holder) for holder in selectors.seal_holders_for_admin(user, department)]


@router.post(
    "/departments/{code}/holders",
    auth=api_auth,
    response={201: HolderOut, **_ERRORS},
    summary="Appoint a seal holder (the department's administrators only)",
    description="422 `holder_not_staff` unless a current staff member of the department; 409 `holder_exists`",
)
def seal_holder_appoint(request: HttpRequest, code: str, payload: HolderIn) -> Status[dict[str, Any]]:
    user = _user(request)
    department = selectors.department_for_seal_admin(user, code)
    candidate = selectors.holder_account_for_admin(user, department, payload.username)
    if candidate is None:
        raise RuleViolation(
            "holder_not_staff",
            "印章持有人必须是本部门的在职工作人员。",
            "A seal holder must be a current staff member of the department.",
            field="username",
        )
    holder = actions.seal_holder_appoint(acting_user=user, department=department, user=candidate)
    return Status(201, _holder_out(holder))


@router.delete(
    "/departments/{code}/holders/{username}",
    auth=api_auth,
    response={204: None, **_ERRORS},
    summary="Remove a seal holder (the department's administrators only)",
    description="404 `holder_not_found` when the person holds no appointment.",
)
def seal_holder_remove(request: HttpRequest, code: str, username: str) -> Status[None]:
    user = _user(request)
    department = selectors.department_for_seal_admin(user, code)
    holder = selectors.holder_account_for_admin(user, department, username)
    if holder is None:
        raise RuleViolation(
            "holder_not_found",
            "该工作人员不是本部门印章持有人。",
            "This person does not hold the department's seal.",
            status=404,
        )
    actions.seal_holder_remove(acting_user=user, department=department, user=holder)
    return Status(204, None)
