"""The public landing page, a home page for each audience, and the display preferences."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, permission_required, user_roles
from onewindow.accounts.roles import Kind, Permission
from onewindow.web.context_processors import LARGE_TEXT_COOKIE
from onewindow.web.navigation import AUDIENCE_BY_KEY, TILES, audiences_for, existing_url, tiles_for

LARGE_TEXT_COOKIE_MAX_AGE = 365 * 24 * 3600


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/home.html",
        {
            "audiences": audiences_for(request.user),
            "service_points_url": existing_url(("organisations:service_points", "/service-points/")),
            # The public list as data, for apps and kiosks, while there is no page for it.
            "service_points_api_url": existing_url(("/api/v1/organisations/service-points",)),
        },
    )


def _audience_page(
    request: HttpRequest, key: str, template: str, extra: dict[str, object] | None = None
) -> HttpResponse:
    audience = AUDIENCE_BY_KEY[key]
    context = {"audience": audience, "tiles": tiles_for(request.user, TILES[key]), **(extra or {})}
    return render(request, template, context)


@require_safe
@permission_required(Permission.APPLY)
def resident_home(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    if user.kind != Kind.RESIDENT:
        # Enterprise representatives also hold APPLY; their home is /enterprise/.
        raise permission_denied(user, Permission.APPLY, object_type="home_page", object_id="resident")
    return _audience_page(request, "resident", "web/resident.html")


@require_safe
@permission_required(Permission.APPLY_FOR_ENTERPRISE)
def enterprise_home(request: HttpRequest) -> HttpResponse:
    return _audience_page(request, "enterprise", "web/enterprise.html")


@require_safe
@permission_required(Permission.VIEW_WORKBENCH)
def workbench(request: HttpRequest) -> HttpResponse:
    return _audience_page(request, "workbench", "web/workbench.html", {"roles": user_roles(request.user)})


@require_safe
@permission_required(Permission.VIEW_DASHBOARDS)
def leader_home(request: HttpRequest) -> HttpResponse:
    return _audience_page(request, "leader", "web/leader.html")


@require_safe
@permission_required(Permission.VIEW_AUDIT)
def auditor_home(request: HttpRequest) -> HttpResponse:
    return _audience_page(request, "auditor", "web/auditor.html")


@require_safe
@permission_required(Permission.SUPERVISE)
def supervisor_home(request: HttpRequest) -> HttpResponse:
    return _audience_page(request, "supervisor", "web/supervisor.html")


@require_safe
def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "web/accessibility.html")


@require_safe
@login_required
def start(request: HttpRequest) -> HttpResponse:
    """Where sign-in lands: the first home page the user's roles admit, else the landing page."""
    audiences = audiences_for(request.user)
    return redirect(audiences[0].url_name if audiences else "web:home")


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("web:home")


@require_POST
def large_text(request: HttpRequest) -> HttpResponse:
    """Turn large-text mode (适老化) on or off for this browser and go back where the user was.

    A cookie rather than an account setting: it must work before sign-in and on shared hall terminals
    it stays with the browser the user is at.
    """
    enabled = request.POST.get("large_text") == "1"
    response = HttpResponseRedirect(_safe_next(request))
    response.set_cookie(
        LARGE_TEXT_COOKIE,
        "1" if enabled else "0",
        max_age=LARGE_TEXT_COOKIE_MAX_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )
    return response
