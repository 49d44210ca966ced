"""The holder's wallet pages (/licences/mine/...) and the public share-link pages (/licences/shared/...).

Thin: parse, call ``wallet``'s selectors and actions (which check who may do what and audit refusals),
render. Anonymous visitors of the wallet go to the sign-in page; staff get 403; another holder's licence is
404, like a number that does not exist.
"""

from __future__ import annotations

from typing import Literal, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from onewindow.accounts.models import User
from onewindow.core.errors import RuleViolation
from onewindow.licences import selectors, wallet
from onewindow.licences.downloads import licence_download
from onewindow.licences.forms_wallet import ShareForm
from onewindow.licences.models import Licence, LicenceStatus
from onewindow.licences.ratelimit import verification_rate_exceeded
from onewindow.licences.views import signed_in

WALLET_LIST_SIZE = 200


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@require_safe
@signed_in
def wallet_index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    licences = list(wallet.licences_for_holder(user)[:WALLET_LIST_SIZE])
    for licence in licences:
        licence.status_now = selectors.licence_status_now(licence)  # type: ignore[attr-defined]
    return render(request, "licences/wallet/index.html", {"licences": licences})


def _detail_page(
    request: HttpRequest,
    licence: Licence,
    *,
    form: ShareForm | None = None,
    created: wallet.ShareCreated | None = None,
    status: int = 200,
) -> HttpResponse:
    form = form or ShareForm()
    form.mark_errors()
    status_now = selectors.licence_status_now(licence)
    signed = licence.signed_at is not None and bool(licence.pdf)
    return render(
        request,
        "licences/wallet/detail.html",
        {
            "licence": licence,
            "status_now": status_now,
            "result": selectors.licence_verify_by_number(licence.number),
            "signed": signed,
            "shareable": signed and status_now == LicenceStatus.VALID,
            "form": form,
            "created": created,
            "shares": list(wallet.shares_active(licence)),
            "shares_max": wallet.SHARES_ACTIVE_MAX,
        },
        status=status,
    )


@require_safe
@signed_in
def wallet_detail(request: HttpRequest, number: str) -> HttpResponse:
    return _detail_page(request, wallet.licence_for_holder(_user(request), number))


def _download(request: HttpRequest, number: str, kind: Literal["pdf", "json"]) -> HttpResponse:
    licence = wallet.licence_for_holder(_user(request), number)
    try:
        return licence_download(licence, kind)
    except RuleViolation as error:
        messages.error(request, str(error.message))
        return redirect("licences:wallet_detail", number=licence.number)


@require_safe
@signed_in
def wallet_pdf(request: HttpRequest, number: str) -> HttpResponse:
    return _download(request, number, "pdf")


@require_safe
@signed_in
def wallet_signed_json(request: HttpRequest, number: str) -> HttpResponse:
    return _download(request, number, "json")


@require_POST
@signed_in
def wallet_share_create(request: HttpRequest, number: str) -> HttpResponse:
    """Create a share link and show it once (only its hash is kept, so it cannot be shown again)."""
    user = _user(request)
    licence = wallet.licence_for_holder(user, number)
    form = ShareForm(request.POST)
    if form.is_valid():
        try:
            created = wallet.licence_share_create(
                acting_user=user,
                licence=licence,
                hours=form.cleaned_data["hours"],
                note=form.cleaned_data["note"],
            )
        except RuleViolation as error:
            form.add_violation(error)
        else:
            response = _detail_page(request, licence, created=created, status=201)
            response["Cache-Control"] = "private, no-store"
            return response
    return _detail_page(request, licence, form=form, status=422)


@require_POST
@signed_in
def wallet_share_revoke(request: HttpRequest, number: str, share_id: int) -> HttpResponse:
    user = _user(request)
    share = wallet.share_for_holder(user, share_id)
    if share.licence.number != number:
        return redirect("licences:wallet_detail", number=share.licence.number)
    try:
        wallet.licence_share_revoke(acting_user=user, share=share)
    except RuleViolation as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The share link was revoked: it no longer opens."))
    return redirect("licences:wallet_detail", number=share.licence.number)


# --- Share links (anyone with the link) -----------------------------------------------------------------


def _private(response: HttpResponse) -> HttpResponse:
    # The token is in the address: keep it out of Referer headers, caches and search engines.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _gone(request: HttpRequest, reason: str) -> HttpResponse:
    return _private(render(request, "licences/wallet/shared_gone.html", {"reason": reason}, status=410))


def _opened(request: HttpRequest, token: str, what: Literal["page", "pdf"]) -> Licence | HttpResponse:
    if verification_rate_exceeded(request):
        return _private(render(request, "licences/rate_limited.html", status=429))
    try:
        share = wallet.licence_share_open(token=token, what=what)
    except wallet.ShareGone as gone:
        return _gone(request, gone.reason)
    return share.licence


@require_safe
def shared(request: HttpRequest, token: str) -> HttpResponse:
    """What a share link opens: the licence's verification now, and its PDF while the licence is valid."""
    opened = _opened(request, token, "page")
    if isinstance(opened, HttpResponse):
        return opened
    result = selectors.licence_verify_by_number(opened.number)
    context = {"result": result, "token": token, "downloadable": result is not None and result.valid}
    return _private(render(request, "licences/wallet/shared.html", context))


@require_safe
def shared_pdf(request: HttpRequest, token: str) -> HttpResponse:
    opened = _opened(request, token, "pdf")
    if isinstance(opened, HttpResponse):
        return opened
    try:
        return _private(licence_download(opened, "pdf"))
    except RuleViolation:
        return _gone(request, "licence_not_valid")
