"""The exchange's web endpoints: ``POST /exchange/v1/{service path}`` (the gateway does the work,
docs/exchange.md) and the admin pages — service monitoring, services (register, change, deactivate,
reactivate), subsystem keys, the gateway's keys (docs/exchange.md "Pages").

Thin: parse, call the selector or action, render. The selectors and actions check access and audit every
refusal (403); anonymous visitors of the admin pages go to the sign-in page. The monitoring pages show
counts, codes and durations only, never payloads, purposes or consumers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from onewindow.accounts.models import User
from onewindow.catalog.models import InformationSystem
from onewindow.core.errors import RuleViolation
from onewindow.core.validators import bilingual
from onewindow.exchange import actions, protocol, selectors, selectors_admin
from onewindow.exchange.adapter import GATEWAY_IDENTITY
from onewindow.exchange.forms import (
    KeyIssueForm,
    KeyRevokeForm,
    ServiceDeactivateForm,
    ServiceForm,
    ServiceOpenApiForm,
)
from onewindow.exchange.gateway import ERRORS, exchange_handle
from onewindow.exchange.models import GatewayKey, KeyStatus, Service, ServiceKind, SubsystemKey
from onewindow.exchange.openapi_document import (
    canonical_bytes,
    document_sha256,
    openapi_generated,
    openapi_text,
)
from onewindow.exchange.providers import BUILTIN_PROVIDERS

MAX_BODY_BYTES = 1024 * 1024
ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


@csrf_exempt  # signed by the consumer subsystem's key; no cookies, no session
def exchange_call(request: HttpRequest, service_path: str) -> HttpResponse:
    headers = {name: request.headers.get(name, "") for name in protocol.ALL_HEADERS}
    body = request.body[: MAX_BODY_BYTES + 1]
    answer = exchange_handle(method=request.method or "", path=request.path, headers=headers, body=body)
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response


# --- Admin pages ------------------------------------------------------------------------------------------


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


def _error_rows(stats: selectors_admin.ServiceStats) -> list[tuple[str, str, int, int]]:
    """(code, its meaning in the page's language, last hour, last day) for each code seen in the day."""
    rows = []
    for code, day_count in stats.day.error_rows:
        known = ERRORS.get(code)
        meaning = str(bilingual(known[1], known[2])) if known else ""
        rows.append((code, meaning, stats.hour.errors_by_code.get(code, 0), day_count))
    return rows


# Monitoring


@require_safe
@signed_in
def services_index(request: HttpRequest) -> HttpResponse:
    """Every service the user may monitor with its calls, errors and latency over the last hour and day."""
    user = _user(request)
    rows = selectors_admin.services_for_monitoring(user, now=timezone.now())
    may_register = _manages_any_system(user)
    return render(
        request,
        "exchange/services.html",
        {
            "rows": rows,
            "may_register": may_register,
            "may_manage_gateway": selectors_admin.may_manage_gateway(user),
            "limit": selectors_admin.LIST_LIMIT,
        },
    )


def _manages_any_system(user: User) -> bool:
    return selectors_admin.systems_for_admin(user, object_type=selectors_admin.STATS_OBJECT).exists()


@require_safe
@signed_in
def service_detail(request: HttpRequest, member: str, subsystem: str, code: str) -> HttpResponse:
    """One service: its settings and its statistics over the last hour and day, errors by code."""
    monitored = selectors_admin.service_for_monitoring(
        _user(request), member, subsystem, code, now=timezone.now()
    )
    return render(
        request,
        "exchange/service.html",
        {
            "row": monitored,
            "service": monitored.service,
            "service_id": selectors_admin.service_id(monitored.service),
            "errors": _error_rows(monitored.stats),
            "openapi": _openapi_facts(monitored.service),
        },
    )


def _openapi_facts(service: Service) -> dict[str, Any]:
    """What the service page says about the OpenAPI document: its own (digest, size) or generated."""
    if not service.openapi:
        return {"own": False, "editable": service.kind != ServiceKind.BUILTIN}
    return {
        "own": True,
        "editable": service.kind != ServiceKind.BUILTIN,
        "sha256": document_sha256(service.openapi),
        "kilobytes": max(1, round(len(canonical_bytes(service.openapi)) / 1024)),
    }


# Services


def _service_form(
    user: User, data: dict[str, Any] | None = None, *, service: Service | None = None
) -> ServiceForm:
    systems = list(selectors_admin.systems_for_admin(user, object_type=actions.SERVICE_OBJECT))
    resources = selectors_admin.resources_for_services(systems, also=service.resource_code if service else "")
    initial = None
    if service is not None:
        initial = {
            "provider": service.provider.code,
            "code": service.code,
            "name": service.name,
            "name_en": service.name_en,
            "resource_code": service.resource_code,
            "kind": service.kind,
            "builtin": service.builtin,
            "endpoint_url": service.endpoint_url,
            "timeout_seconds": service.timeout_seconds,
            "retries": service.retries,
        }
    return ServiceForm(
        data,
        initial=initial,
        systems=systems,
        resources=resources,
        builtins=sorted(BUILTIN_PROVIDERS),
        fixed=service is not None,
    )


def _service_save(request: HttpRequest, form: ServiceForm, service: Service | None) -> HttpResponse | None:
    """Register or change the service from a valid form; None when the action refused (shown on the form)."""
    user = _user(request)
    data = form.cleaned_data
    provider = selectors.system_for_key_admin(user, data["provider"])
    try:
        saved = actions.service_register(
            acting_user=user,
            provider=provider,
            code=data["code"],
            name=data["name"],
            name_en=data["name_en"],
            resource_code=data["resource_code"],
            kind=data["kind"],
            builtin=data["builtin"] or "",
            endpoint_url=data["endpoint_url"] or "",
            timeout_seconds=data["timeout_seconds"],
            retries=data["retries"],
        )
    except RuleViolation as error:
        form.add_violation(error)
        return None
    messages.success(
        request,
        (_("Service %(code)s changed.") if service else _("Service %(code)s registered."))
        % {"code": saved.code},
    )
    return redirect(
        "exchange:service",
        member=saved.provider.department.credit_code,
        subsystem=saved.provider.code,
        code=saved.code,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@signed_in
def service_create(request: HttpRequest) -> HttpResponse:
    """Register a service of a subsystem the user manages."""
    user = _user(request)
    form = _service_form(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        done = _service_save(request, form, None)
        if done is not None:
            return done
    form.mark_errors()
    return render(
        request,
        "exchange/service_form.html",
        {"form": form, "service": None},
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@signed_in
def service_edit(request: HttpRequest, member: str, subsystem: str, code: str) -> HttpResponse:
    """Change a service's name, resource, kind, provider URL, timeout and retries."""
    user = _user(request)
    service = selectors_admin.service_for_admin(user, member, subsystem, code)
    form = _service_form(user, request.POST if request.method == "POST" else None, service=service)
    if request.method == "POST" and form.is_valid():
        done = _service_save(request, form, service)
        if done is not None:
            return done
    form.mark_errors()
    return render(
        request,
        "exchange/service_form.html",
        {"form": form, "service": service, "service_id": selectors_admin.service_id(service)},
        status=422 if form.errors else 200,
    )


def _service_page(service: Service) -> HttpResponse:
    return redirect(
        "exchange:service",
        member=service.provider.department.credit_code,
        subsystem=service.provider.code,
        code=service.code,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@signed_in
def service_deactivate(request: HttpRequest, member: str, subsystem: str, code: str) -> HttpResponse:
    """Confirm and deactivate a service, with a reason: calls are refused ``unknown_service`` from then on."""
    user = _user(request)
    service = selectors_admin.service_for_admin(user, member, subsystem, code)
    form = ServiceDeactivateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.service_deactivate(acting_user=user, service=service, reason=form.cleaned_data["reason"])
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(request, _("Service %(code)s deactivated.") % {"code": service.code})
            return _service_page(service)
    form.mark_errors()
    return render(
        request,
        "exchange/service_deactivate.html",
        {"service": service, "service_id": selectors_admin.service_id(service), "form": form},
        status=422 if form.errors else 200,
    )


@require_POST
@signed_in
def service_reactivate(request: HttpRequest, member: str, subsystem: str, code: str) -> HttpResponse:
    """Put a deactivated service back into use (the button on its page)."""
    user = _user(request)
    service = selectors_admin.service_for_admin(user, member, subsystem, code)
    try:
        actions.service_reactivate(acting_user=user, service=service)
    except RuleViolation as error:
        messages.error(request, str(bilingual(error.message_zh, error.message_en)))
    else:
        messages.success(request, _("Service %(code)s reactivated.") % {"code": service.code})
    return _service_page(service)


def _openapi_generated(service: Service) -> dict[str, Any]:
    return openapi_generated(
        name=service.name, name_en=service.name_en, service_path=selectors_admin.service_id(service)
    )


@require_http_methods(["GET", "HEAD", "POST"])
@signed_in
def service_openapi(request: HttpRequest, member: str, subsystem: str, code: str) -> HttpResponse:
    """Replace a service's OpenAPI document (``service_openapi_set``); a built-in service's is generated by
    the platform, so its page says so (409) instead of offering the form."""
    user = _user(request)
    service = selectors_admin.service_for_admin(user, member, subsystem, code)
    context: dict[str, Any] = {"service": service, "service_id": selectors_admin.service_id(service)}
    if service.kind == ServiceKind.BUILTIN:
        return render(request, "exchange/service_openapi.html", {**context, "builtin": True}, status=409)
    current = dict(service.openapi) or _openapi_generated(service)
    form = ServiceOpenApiForm(
        request.POST if request.method == "POST" else None, initial={"document": openapi_text(current)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.service_openapi_set(
                acting_user=user, service=service, document=form.cleaned_data["document"]
            )
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(
                request, _("The OpenAPI document of %(code)s was saved.") % {"code": service.code}
            )
            return _service_page(service)
    form.mark_errors()
    return render(
        request,
        "exchange/service_openapi.html",
        {**context, "form": form, "own": bool(service.openapi)},
        status=422 if form.errors else 200,
    )


# Subsystem keys


@require_safe
@signed_in
def systems_index(request: HttpRequest) -> HttpResponse:
    """The subsystems whose keys the user manages, each with its active key."""
    active = Prefetch(
        "exchange_keys",
        queryset=SubsystemKey.objects.filter(status=KeyStatus.ACTIVE).only(
            "system_id", "key_id", "algorithm", "created_at"
        ),
        to_attr="active_keys",
    )
    systems = list(
        selectors_admin.systems_for_admin(_user(request)).prefetch_related(active)[
            : selectors_admin.LIST_LIMIT
        ]
    )
    return render(
        request,
        "exchange/systems.html",
        {
            "systems": systems,
            "limit": selectors_admin.LIST_LIMIT,
            "may_manage_gateway": selectors_admin.may_manage_gateway(_user(request)),
        },
    )


def _valid_until(key: SubsystemKey) -> Any:
    if not key.certificate_der:
        return None
    return x509.load_der_x509_certificate(bytes(key.certificate_der)).not_valid_after_utc


def _keys_page(
    request: HttpRequest, system: InformationSystem, form: KeyIssueForm | None = None, status: int = 200
) -> HttpResponse:
    keys = list(selectors.keys_for_admin(_user(request), system))
    form = form or KeyIssueForm()
    form.mark_errors()
    return render(
        request,
        "exchange/keys.html",
        {
            "system": system,
            "subsystem_id": actions.subsystem_identifier(system),
            "rows": [(key, _valid_until(key)) for key in keys],
            "active": next((key for key in keys if key.status == KeyStatus.ACTIVE), None),
            "form": form,
        },
        status=status,
    )


@require_safe
@signed_in
def system_keys(request: HttpRequest, code: str) -> HttpResponse:
    """A subsystem's keys, every status, with the form to issue (rotate) and links to revoke."""
    return _keys_page(request, selectors.system_for_key_admin(_user(request), code))


@require_POST
@signed_in
def system_key_issue(request: HttpRequest, code: str) -> HttpResponse:
    """Issue the subsystem's next key: the active one is retired (it still verifies until revoked)."""
    user = _user(request)
    system = selectors.system_for_key_admin(user, code)
    form = KeyIssueForm(request.POST)
    if form.is_valid():
        try:
            key = actions.subsystem_key_issue(
                acting_user=user, system=system, algorithm=form.cleaned_data["algorithm"]
            )
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(request, _("Key %(key)s issued.") % {"key": key.key_id[:16]})
            return redirect("exchange:system_keys", code=system.code)
    return _keys_page(request, system, form, status=422)


@require_http_methods(["GET", "HEAD", "POST"])
@signed_in
def key_revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    """Confirm and revoke a key, with a reason (final: it verifies nothing from now on)."""
    user = _user(request)
    key = selectors.key_for_admin(user, key_id)
    form = KeyRevokeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.subsystem_key_revoke(acting_user=user, key=key, reason=form.cleaned_data["reason"])
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(request, _("Key %(key)s revoked.") % {"key": key.key_id[:16]})
            return redirect("exchange:system_keys", code=key.system.code)
    form.mark_errors()
    return render(
        request,
        "exchange/key_revoke.html",
        {"key": key, "system": key.system, "form": form},
        status=422 if form.errors else 200,
    )


# The gateway's keys (system administrators)


def _certificate_facts(certificate_der: bytes) -> tuple[Any, str]:
    """(valid until, SHA-256 fingerprint of the certificate as ``openssl x509 -fingerprint -sha256`` prints
    it) of a DER certificate; (None, "") when there is none."""
    if not certificate_der:
        return None, ""
    certificate = x509.load_der_x509_certificate(certificate_der)
    digest = certificate.fingerprint(hashes.SHA256()).hex().upper()
    return certificate.not_valid_after_utc, ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _gateway_keys_page(request: HttpRequest, *, status: int = 200) -> HttpResponse:
    keys = list(selectors_admin.gateway_keys_for_admin(_user(request)))
    rows = [(key, *_certificate_facts(bytes(key.certificate_der))) for key in keys]
    return render(
        request,
        "exchange/gateway_keys.html",
        {
            "rows": rows,
            "active": next((key for key in keys if key.status == KeyStatus.ACTIVE), None),
            "identity": GATEWAY_IDENTITY,
        },
        status=status,
    )


@require_safe
@signed_in
def gateway_keys(request: HttpRequest) -> HttpResponse:
    """The gateway's keys (every status) with the button to issue or rotate and links to revoke."""
    return _gateway_keys_page(request)


@require_POST
@signed_in
def gateway_key_issue(request: HttpRequest) -> HttpResponse:
    """Issue the gateway's next key: the active one retires (it still verifies until revoked)."""
    user = _user(request)
    selectors_admin.gateway_keys_for_admin(user)  # refused (audited) before anything is generated
    key = actions.gateway_key_issue(acting_user=user)
    messages.success(request, _("Gateway key %(key)s issued.") % {"key": key.key_id[:16]})
    return redirect("exchange:gateway_keys")


@require_http_methods(["GET", "HEAD", "POST"])
@signed_in
def gateway_key_revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    """Confirm and revoke a gateway key, with a reason (final)."""
    user = _user(request)
    key: GatewayKey = selectors_admin.gateway_key_for_admin(user, key_id)
    form = KeyRevokeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.gateway_key_revoke(
                acting_user=user, key_id=key.key_id, reason=form.cleaned_data["reason"]
            )
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(request, _("Gateway key %(key)s revoked.") % {"key": key.key_id[:16]})
            return redirect("exchange:gateway_keys")
    form.mark_errors()
    return render(
        request,
        "exchange/gateway_key_revoke.html",
        {"key": key, "form": form, "identity": GATEWAY_IDENTITY},
        status=422 if form.errors else 200,
    )
