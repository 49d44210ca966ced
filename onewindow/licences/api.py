"""The licences API (/api/v1/licenses/...; the issue's spelling): thin over the selectors and actions.

Public, no sign-in, limited per client address (``ONEWINDOW_LICENCE_VERIFY_PER_MINUTE``, 429 beyond):
verification by number and of an uploaded PDF or signed JSON (docs/licences.md). For the issuing
department's administrators only: revocation (401 without a caller, 403 for any other role with the refusal
audited and nothing changed, 404 for an unknown number, 409 if already revoked, 422 for a broken rule).
"""

# No ``from __future__ import annotations``: Ninja reads the endpoint annotations at runtime.

from typing import Any, cast

from django.http import HttpRequest
from django.utils.translation import get_language
from ninja import File, Router
from ninja.files import UploadedFile

from onewindow.accounts.api_auth import api_auth
from onewindow.accounts.models import User
from onewindow.accounts.schemas import ErrorOut, ErrorWithFieldsOut
from onewindow.core.api_errors import ApiError
from onewindow.licences import actions, selectors
from onewindow.licences.forms import UPLOAD_MAX_BYTES
from onewindow.licences.ratelimit import verification_rate_exceeded
from onewindow.licences.schemas import LicenceRevokedOut, RevokeIn, VerificationOut
from onewindow.licences.selectors import Verification

router = Router(tags=["licences"])


def _limited(request: HttpRequest) -> None:
    if verification_rate_exceeded(request):
        raise ApiError(
            429,
            "too_many_verifications",
            "核验过于频繁，请一分钟后再试。",
            "Too many verifications from this address: try again in a minute.",
        )


def _out(result: Verification) -> dict[str, Any]:
    language = get_language() or "zh-hans"
    return {
        "valid": result.valid,
        "status": result.status,
        "number": result.number,
        "licence_name": result.licence_name,
        "licence_name_en": result.licence_name_en,
        "type_code": result.type_code,
        "issuer": result.issuer,
        "issuer_code": result.issuer_code,
        "holder_masked": result.holder_masked,
        "issued_at": result.issued_at,
        "valid_until": result.valid_until,
        "algorithm": result.algorithm,
        "digest": result.digest,
        "revoked_at": result.revoked_at,
        "revocation_reason_code": result.revocation_reason_code,
        "reason_code": result.reason_code,
        "reason": result.reason_en if language.startswith("en") else result.reason_zh,
        "reason_zh": result.reason_zh,
        "reason_en": result.reason_en,
        "verification_url": selectors.licence_verification_url(result.number) if result.number else None,
    }


@router.get(
    "/{number}/verify",
    auth=None,
    response={200: VerificationOut, 404: ErrorOut, 429: ErrorOut},
    summary="Verify a licence by its number (anyone)",
    description=(
        "Checks the register's signed record of the licence (SM2 signature with the issuing seal, record "
        "unchanged since signing, seal not revoked) and its status now. 404 `licence_not_found` for an "
        "unknown number."
    ),
)
def licence_verify(request: HttpRequest, number: str) -> dict[str, Any]:
    _limited(request)
    result = selectors.licence_verify_by_number(number)
    if result is None:
        raise ApiError(404, "licence_not_found", "没有该编号的证照。", "No licence has this number.")
    return _out(result)


@router.post(
    "/verify",
    auth=None,
    response={200: VerificationOut, 413: ErrorOut, 422: ErrorWithFieldsOut, 429: ErrorOut},
    summary="Verify an uploaded licence PDF or signed JSON (anyone)",
    description=(
        "Multipart field `file` (at most 10 MB): a licence PDF (its PAdES signature is validated against "
        "the platform root and must cover the whole file, which must be the one issued) or a signed JSON "
        "licence (re-canonicalised per RFC 8785, SM3 digest and SM2 signature checked with the seal its key "
        "fingerprint names). 422 `file_type_unsupported` for anything else."
    ),
)
def licence_verify_upload(request: HttpRequest, file: File[UploadedFile]) -> dict[str, Any]:
    _limited(request)
    if (file.size or 0) > UPLOAD_MAX_BYTES:
        raise ApiError(
            413,
            "file_too_large",
            "文件超过 10 MB，不是电子证照。",
            "The file is larger than 10 MB: it is not a licence.",
        )
    return _out(selectors.licence_verify_upload(file.read()))


@router.post(
    "/{number}/revoke",
    auth=api_auth,
    response={
        200: LicenceRevokedOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorWithFieldsOut,
    },
    summary="Revoke a licence (the issuing department's administrators)",
    description="Final; every verification answers `revoked` from then on. Audited as `licence.revoked`.",
)
def licence_revoke(request: HttpRequest, number: str, payload: RevokeIn) -> dict[str, Any]:
    user = cast(User, request.user)
    licence = selectors.licence_for_admin(user, number)
    revoked = actions.licence_revoke(
        acting_user=user, licence=licence, reason=payload.reason, reason_code=payload.reason_code.value
    )
    return {
        "number": revoked.number,
        "status": revoked.status,
        "revoked_at": revoked.revoked_at,
        "revocation_reason_code": revoked.revocation_reason_code,
        "revocation_reason": revoked.revocation_reason,
    }


# The holder's wallet: /mine, /{number}/pdf, /{number}/signed-json, /{number}/shares, /shares/{id}.
from onewindow.licences.api_wallet import router as wallet_router  # noqa: E402

router.add_router("", wallet_router)
