"""Seal pages: the public root certificate, CRL and revoked list; the department administrators' seal page.

Thin: parse the form, call the selector or action, render. Access is checked by the selectors and actions,
which audit every refusal; anonymous visitors of the administration pages go to the sign-in page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.core.errors import RuleViolation
from onewindow.organisations.models import Department
from onewindow.seals import actions, selectors
from onewindow.seals.forms import HolderForm, ImageForm, RevokeForm
from onewindow.seals.models import SealStatus

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


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


# --- Public ---------------------------------------------------------------------------------------------


@require_safe
def seals_public(request: HttpRequest) -> HttpResponse:
    """The platform root (fingerprint, downloads) and the list of revoked seals and keys."""
    return render(
        request,
        "seals/public.html",
        {"authority": selectors.authority_public(), "revoked": list(selectors.seals_revoked())},
    )


@require_safe
def root_certificate_pem(request: HttpRequest) -> HttpResponse:
    authority = selectors.authority_public()
    if authority is None:
        raise Http404("no root certificate yet")
    pem = x509.load_der_x509_certificate(bytes(authority.certificate_der)).public_bytes(
        serialization.Encoding.PEM
    )
    response = HttpResponse(pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = 'attachment; filename="onewindow-root-ca.pem"'
    return response


@require_safe
def crl_der(request: HttpRequest) -> HttpResponse:
    """The root's CRL, DER (RFC 5280 §5); reissued when the kept one is near its nextUpdate."""
    crl = actions.crl_current()
    if crl is None:
        raise Http404("no root certificate yet")
    response = HttpResponse(crl, content_type="application/pkix-crl")
    response["Content-Disposition"] = 'attachment; filename="onewindow-root-ca.crl"'
    return response


# --- Administrators ------------------------------------------------------------------------------------


@require_safe
@signed_in
def manage_index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    departments = list(selectors.departments_for_seal_admin(user))
    if not departments:
        raise permission_denied(user, Permission.MANAGE_DEPARTMENT, object_type="seal")
    return render(request, "seals/manage_index.html", {"departments": departments})


def _department_page(
    request: HttpRequest,
    department: Department,
    *,
    holder_form: HolderForm | None = None,
    image_form: ImageForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    seals = list(selectors.seals_for_admin(user, department))
    active = next((seal for seal in seals if seal.status == SealStatus.ACTIVE), None)
    appoints = user_has_permission(user, Permission.MANAGE_DEPARTMENT, department_code=department.code)
    holders = list(selectors.seal_holders_for_admin(user, department))
    if appoints and holder_form is None:
        holder_form = HolderForm(candidates=list(selectors.holder_candidates(user, department)))
    for form in (holder_form, image_form):
        if form is not None:
            form.mark_errors()
    return render(
        request,
        "seals/department.html",
        {
            "department": department,
            "seals": seals,
            "active": active,
            "holders": holders,
            "appoints": appoints,
            "holder_form": holder_form if appoints else None,
            "image_form": image_form or ImageForm(),
            "form": holder_form if holder_form is not None and holder_form.errors else image_form,
        },
        status=status,
    )


@require_safe
@signed_in
def department_seals(request: HttpRequest, code: str) -> HttpResponse:
    department = selectors.department_for_seal_admin(_user(request), code)
    return _department_page(request, department)


@require_POST
@signed_in
def seal_rotate(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    department = selectors.department_for_seal_admin(user, code)
    seal = actions.seal_rotate(acting_user=user, department=department)
    messages.success(request, _("Seal version %(version)d issued.") % {"version": seal.version})
    return redirect("seals:department", code=department.code)


@require_POST
@signed_in
def holder_appoint(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    department = selectors.department_for_seal_admin(user, code)
    candidates = list(selectors.holder_candidates(user, department))
    form = HolderForm(request.POST, candidates=candidates)
    if form.is_valid():
        candidate = selectors.holder_account_for_admin(user, department, form.cleaned_data["username"])
        try:
            if candidate is None:
                raise RuleViolation(
                    "holder_not_staff",
                    "印章持有人必须是本部门的在职工作人员。",
                    "A seal holder must be a current staff member of the department.",
                    field="username",
                )
            actions.seal_holder_appoint(acting_user=user, department=department, user=candidate)
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(
                request, _("%(name)s may now sign with the seal.") % {"name": candidate.display_name}
            )
            return redirect("seals:department", code=department.code)
    return _department_page(request, department, holder_form=form, status=422)


@require_POST
@signed_in
def holder_remove(request: HttpRequest, code: str, username: str) -> HttpResponse:
    user = _user(request)
    department = selectors.department_for_seal_admin(user, code)
    holder = selectors.holder_account_for_admin(user, department, username)
    if holder is None:
        raise Http404(username)
    try:
        actions.seal_holder_remove(acting_user=user, department=department, user=holder)
    except RuleViolation as error:
        if error.status == 404:
            raise Http404(username) from None
        raise
    messages.success(request, _("%(name)s no longer holds the seal.") % {"name": holder.display_name})
    return redirect("seals:department", code=department.code)


@require_http_methods(["GET", "HEAD", "POST"])
@signed_in
def seal_revoke(request: HttpRequest, seal_id: int) -> HttpResponse:
    user = _user(request)
    seal = selectors.seal_for_admin(user, seal_id)
    form = RevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.seal_revoke(
                acting_user=user,
                seal=seal,
                reason=form.cleaned_data["reason"],
                reason_code=form.cleaned_data["reason_code"],
            )
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(request, _("Seal version %(version)d revoked.") % {"version": seal.version})
            return redirect("seals:department", code=seal.department.code)
    form.mark_errors()
    return render(
        request,
        "seals/revoke.html",
        {"seal": seal, "form": form},
        status=422 if form.errors else 200,
    )


@require_POST
@signed_in
def seal_image_upload(request: HttpRequest, seal_id: int) -> HttpResponse:
    user = _user(request)
    seal = selectors.seal_for_admin(user, seal_id)
    form = ImageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            actions.seal_image_upload(acting_user=user, seal=seal, image=form.cleaned_data["image"].read())
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(request, _("Seal image replaced."))
            return redirect("seals:department", code=seal.department.code)
    return _department_page(request, seal.department, image_form=form, status=422)


@require_safe
@signed_in
def seal_image(request: HttpRequest, seal_id: int) -> HttpResponse:
    seal = selectors.seal_image_for_user(_user(request), seal_id)
    response = HttpResponse(bytes(seal.image_png), content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response
