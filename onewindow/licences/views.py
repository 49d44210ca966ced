"""Licence pages: public verification (anyone: a number, the QR code's link, or an uploaded file) and the
issuing department's administrators' list, detail and revocation.

Thin: parse the form, call the selector or action, render. Access is checked by the selectors and actions,
which audit every refusal; anonymous visitors of the administration pages go to the sign-in page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from onewindow.accounts.models import User
from onewindow.core.errors import RuleViolation
from onewindow.licences import actions, selectors
from onewindow.licences.forms import RevokeForm, VerifyFileForm, VerifyNumberForm
from onewindow.licences.models import Licence, LicenceStatus
from onewindow.licences.ratelimit import verification_rate_exceeded

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])
ADMIN_LIST_SIZE = 100


def signed_in(view: ViewFunc) -> ViewFunc:
    """Anonymous users go to the sign-in page; the selectors and actions check the rest."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return cast(ViewFunc, wrapped)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _rate_limited(request: HttpRequest) -> HttpResponse:
    return render(request, "licences/rate_limited.html", status=429)


# --- Public verification ---------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The verification form: a number (GET, goes to the number's page) or an uploaded file (POST)."""
    number_form = VerifyNumberForm(request.GET if "number" in request.GET else None)
    if number_form.is_bound and number_form.is_valid():
        return redirect("licences:verify_number", number=number_form.cleaned_data["number"].strip())
    file_form = VerifyFileForm()
    result = None
    if request.method == "POST":
        if verification_rate_exceeded(request):
            return _rate_limited(request)
        file_form = VerifyFileForm(request.POST, request.FILES)
        if file_form.is_valid():
            try:
                result = selectors.licence_verify_upload(file_form.cleaned_data["file"].read())
            except RuleViolation as error:
                file_form.add_violation(error)
    for form in (number_form, file_form):
        form.mark_errors()
    return render(
        request,
        "licences/verify.html",
        {"number_form": number_form, "file_form": file_form, "result": result},
        status=422 if number_form.errors or file_form.errors else 200,
    )


@require_safe
def verify_number(request: HttpRequest, number: str) -> HttpResponse:
    """What the licence's QR code opens: the verification of the licence with this number."""
    if verification_rate_exceeded(request):
        return _rate_limited(request)
    result = selectors.licence_verify_by_number(number)
    if result is None:
        return render(
            request,
            "licences/verify_not_found.html",
            {"number": number[: selectors.NUMBER_MAX_LENGTH]},
            status=404,
        )
    return render(request, "licences/verify_number.html", {"result": result})


# --- The issuing department's administrators -------------------------------------------------------------


@require_safe
@signed_in
def manage_index(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    licences = list(selectors.licences_for_admin(_user(request), query=query)[:ADMIN_LIST_SIZE])
    return render(
        request,
        "licences/manage_index.html",
        {"licences": licences, "query": query, "list_size": ADMIN_LIST_SIZE},
    )


def _detail_page(
    request: HttpRequest, licence: Licence, form: RevokeForm | None = None, *, status: int = 200
) -> HttpResponse:
    form = form or RevokeForm()
    form.mark_errors()
    return render(
        request,
        "licences/detail.html",
        {
            "licence": licence,
            "result": selectors.licence_verify_by_number(licence.number),
            "form": form,
            "revocable": licence.status != LicenceStatus.REVOKED,
        },
        status=status,
    )


@require_safe
@signed_in
def licence_detail(request: HttpRequest, number: str) -> HttpResponse:
    return _detail_page(request, selectors.licence_for_admin(_user(request), number))


@require_POST
@signed_in
def licence_revoke(request: HttpRequest, number: str) -> HttpResponse:
    user = _user(request)
    licence = selectors.licence_for_admin(user, number)
    form = RevokeForm(request.POST)
    if form.is_valid():
        try:
            actions.licence_revoke(
                acting_user=user,
                licence=licence,
                reason=form.cleaned_data["reason"],
                reason_code=form.cleaned_data["reason_code"],
            )
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(request, _("Licence %(number)s revoked.") % {"number": licence.number})
            return redirect("licences:detail", number=licence.number)
    return _detail_page(request, licence, form, status=422)
