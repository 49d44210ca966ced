"""The wallet's API (docs/licences.md, "Wallet"), mounted on the licences router: thin over ``wallet``.

For the holder only (a resident: licences held by their ID number; an enterprise representative: by their
enterprise's credit code). 401 without a caller, 403 for every staff role (audited), 404 for an unknown
number *and* for another holder's licence or share link (audited), so the API never tells whether a
licence exists. Refusals change nothing.
"""

# No ``from __future__ import annotations``: Ninja reads the endpoint annotations at runtime.

from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Router, Status

from onewindow.accounts.api_auth import api_auth
from onewindow.accounts.models import User
from onewindow.accounts.schemas import ErrorOut, ErrorWithFieldsOut
from onewindow.licences import selectors, wallet
from onewindow.licences.downloads import licence_download
from onewindow.licences.models import Licence, LicenceShare
from onewindow.licences.schemas_wallet import ShareCreatedOut, ShareIn, ShareOut, WalletLicenceOut

router = Router(tags=["licences"])

_REFUSED: dict[int | tuple[int, ...], Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
_FILE_RESPONSES: dict[int | tuple[int, ...], Any] = {200: None, **_REFUSED, 409: ErrorOut}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _licence_out(licence: Licence) -> dict[str, Any]:
    signed = licence.signed_at is not None and bool(licence.pdf)
    return {
        "number": licence.number,
        "licence_name": licence.name,
        "licence_name_en": licence.name_en,
        "type_code": licence.type_code,
        "issuer": licence.issuer_name,
        "issuer_code": licence.issuer_code,
        "holder_name": licence.holder_name,
        "holder_code": licence.holder_code,
        "issued_on": licence.issued_on,
        "valid_until": licence.valid_until,
        "status": selectors.licence_status_now(licence),
        "revoked_at": licence.revoked_at,
        "revocation_reason_code": licence.revocation_reason_code or None,
        "signed": signed,
        "pdf_url": reverse("api:licence_wallet_pdf", args=[licence.number]) if signed else None,
        "signed_json_url": reverse("api:licence_wallet_signed_json", args=[licence.number])
        if signed
        else None,
        "verification_url": selectors.licence_verification_url(licence.number),
    }


def _share_out(share: LicenceShare, number: str) -> dict[str, Any]:
    return {
        "id": share.pk,
        "number": number,
        "note": share.note,
        "created_at": share.created_at,
        "expires_at": share.expires_at,
        "open_count": share.open_count,
        "last_opened_at": share.last_opened_at,
    }


@router.get(
    "/mine",
    auth=api_auth,
    response={200: list[WalletLicenceOut], 401: ErrorOut, 403: ErrorOut},
    summary="The caller's licences (residents and enterprise representatives)",
    description="Newest first, revoked and expired ones included with their status. 403 for staff.",
)
def wallet_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_licence_out(licence) for licence in wallet.licences_for_holder(_user(request))]


@router.get(
    "/{number}/pdf",
    auth=api_auth,
    response=_FILE_RESPONSES,
    url_name="licence_wallet_pdf",
    summary="Download one of the caller's licences as its signed PDF (the holder)",
    description="`application/pdf`, PAdES-signed as issued. 409 `licence_not_signed` for a licence "
    "recorded before signing existed.",
)
def wallet_pdf(request: HttpRequest, number: str) -> HttpResponse:
    return licence_download(wallet.licence_for_holder(_user(request), number), "pdf")


@router.get(
    "/{number}/signed-json",
    auth=api_auth,
    response=_FILE_RESPONSES,
    url_name="licence_wallet_signed_json",
    summary="Download one of the caller's licences as its signed JSON (the holder)",
    description='RFC 8785 canonical JSON with the SM2 signature (docs/licences.md, "The signed JSON").',
)
def wallet_signed_json(request: HttpRequest, number: str) -> HttpResponse:
    return licence_download(wallet.licence_for_holder(_user(request), number), "json")


@router.post(
    "/{number}/shares",
    auth=api_auth,
    response={201: ShareCreatedOut, **_REFUSED, 409: ErrorOut, 422: ErrorWithFieldsOut},
    summary="Create a time-limited verification link for one of the caller's licences (the holder)",
    description=(
        "`hours` 1 to 720, `note` optional. The answer's `url` is shown this once (only its SHA-256 is "
        "kept). 409 `licence_revoked`, `licence_expired`, `licence_not_signed` or `too_many_shares` "
        "(20 active links per licence). Audited as `licence.share_created`."
    ),
)
def wallet_share_create(request: HttpRequest, number: str, payload: ShareIn) -> Status[dict[str, Any]]:
    user = _user(request)
    licence = wallet.licence_for_holder(user, number)
    created = wallet.licence_share_create(
        acting_user=user, licence=licence, hours=payload.hours, note=payload.note
    )
    return Status(201, {**_share_out(created.share, licence.number), "url": created.url})


@router.get(
    "/{number}/shares",
    auth=api_auth,
    response={200: list[ShareOut], **_REFUSED},
    summary="The active share links of one of the caller's licences (the holder)",
    description="Links neither expired nor revoked, newest first; their URLs cannot be shown again.",
)
def wallet_shares(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    licence = wallet.licence_for_holder(_user(request), number)
    return [_share_out(share, licence.number) for share in wallet.shares_active(licence)]


@router.delete(
    "/shares/{share_id}",
    auth=api_auth,
    response={204: None, **_REFUSED, 409: ErrorOut},
    summary="Revoke a share link (the holder)",
    description="The link answers 410 from the next request on. 409 `share_already_revoked`. Audited as "
    "`licence.share_revoked`.",
)
def wallet_share_revoke(request: HttpRequest, share_id: int) -> Status[None]:
    user = _user(request)
    wallet.licence_share_revoke(acting_user=user, share=wallet.share_for_holder(user, share_id))
    return Status(204, None)
