"""The federation's admin pages (/federation/admin/…, docs/federation.md "Pages"): this node, its peers and
the grants to peers' consumers. Not under /federation/v1/ (the signed node-to-node endpoints).

Thin: parse, call the selector or action, render. System administrators only (``may_manage_peers``): the
selectors and actions refuse everyone else (403, audited ``permission.denied``, nothing changed);
anonymous visitors go to the sign-in page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from onewindow.accounts.models import User
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.exchange import protocol as xp
from onewindow.federation import actions, selectors
from onewindow.federation.directory import peer_directory_refresh, peer_meta_fetch
from onewindow.federation.forms import (
    DIRECTION_LABELS,
    NodeKeyIssueForm,
    PeerGrantForm,
    PeerRegisterForm,
    ReasonForm,
    ReplayForm,
    split_list,
)
from onewindow.federation.models import Peer, PeerGrant
from onewindow.federation.transport import PeerUnreachable

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


# This node


def _node_page(request: HttpRequest, form: NodeKeyIssueForm | None = None, status: int = 200) -> HttpResponse:
    identity = selectors.node_identity_for_user(_user(request))
    form = form or NodeKeyIssueForm()
    form.mark_errors()
    return render(
        request,
        "federation/node.html",
        {
            "identity": identity,
            "active": next((row.key for row in identity.keys if row.key.status == "active"), None),
            "form": form,
        },
        status=status,
    )


@require_safe
@signed_in
def node(request: HttpRequest) -> HttpResponse:
    """This node: instance id, the root fingerprints peers must pin, the node keys; issue or rotate."""
    return _node_page(request)


@require_POST
@signed_in
def node_key_issue(request: HttpRequest) -> HttpResponse:
    """Issue the node's next key: the active one is retired (what it signed still verifies)."""
    form = NodeKeyIssueForm(request.POST)
    if form.is_valid():
        try:
            key = actions.node_key_issue(acting_user=_user(request), algorithm=form.cleaned_data["algorithm"])
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(request, _("Node key %(key)s issued.") % {"key": key.key_id[:16]})
            return redirect("federation:admin_node")
    return _node_page(request, form, status=422)


# Peers


@require_safe
@signed_in
def peers_index(request: HttpRequest) -> HttpResponse:
    """Every peer registration with its directions, transport, directory size and event counts."""
    rows = selectors.peer_rows_for_user(_user(request))
    return render(
        request,
        "federation/peers.html",
        {"rows": rows, "limit": selectors.LIST_LIMIT, "direction_labels": DIRECTION_LABELS},
    )


def _root_from_peer(form: PeerRegisterForm) -> str | None:
    """The peer's root from its public node identity (its fingerprint is checked by the action), or None
    with the problem shown on the form."""
    data = form.cleaned_data
    try:
        meta = peer_meta_fetch(data["base_url"].strip())
    except PeerUnreachable as error:
        form.add_error(
            "root_certificate",
            RuleViolation(
                "peer_unreachable",
                f"无法从对端节点取得根证书（{error}），请粘贴其根证书。",
                f"The root certificate could not be fetched from the peer ({error}); paste it.",
            ),
        )
        return None
    if meta.instance != data["instance"].strip():
        form.add_error(
            "instance",
            RuleViolation(
                "instance_mismatch",
                f"该地址的节点自称 {meta.instance!r}。",
                f"The node at that address says it is {meta.instance!r}.",
            ),
        )
        return None
    return meta.root_certificate_pem


def _peer_register(request: HttpRequest, form: PeerRegisterForm) -> HttpResponse | None:
    """Register from a valid form (then fetch the directory when calling out); None when refused."""
    data = form.cleaned_data
    root = data["root_certificate"].strip() or _root_from_peer(form)
    if root is None:
        return None
    try:
        peer = actions.peer_register(
            acting_user=_user(request),
            instance=data["instance"],
            name=data["name"],
            base_url=data["base_url"],
            root_certificate=root,
            fingerprint=data["fingerprint"],
            directions=data["directions"],
            export_topics=split_list(data["export_topics"]),
            import_topics=split_list(data["import_topics"]),
            events_transport=data["events_transport"],
        )
    except RuleViolation as error:
        form.add_violation(error)
        return None
    except FieldErrors as invalid:
        form.add_field_errors(invalid.errors)
        return None
    messages.success(request, _("Peer %(instance)s registered.") % {"instance": peer.instance})
    if peer.requests_out:
        _refresh(request, peer)
    return redirect("federation:admin_peer", instance=peer.instance)


@require_http_methods(["GET", "HEAD", "POST"])
@signed_in
def peer_register(request: HttpRequest) -> HttpResponse:
    """Register a peer node, pinning its root certificate by the fingerprint exchanged out of band."""
    selectors.federation_admin(_user(request))
    form = PeerRegisterForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        done = _peer_register(request, form)
        if done is not None:
            return done
    form.mark_errors()
    return render(request, "federation/peer_form.html", {"form": form}, status=422 if form.errors else 200)


@require_safe
@signed_in
def peer_detail(request: HttpRequest, instance: str) -> HttpResponse:
    """A peer: its registration, its members from the directory, its grants, its export queue."""
    overview = selectors.peer_overview_for_user(_user(request), instance)
    return render(
        request,
        "federation/peer.html",
        {
            "overview": overview,
            "peer": overview.peer,
            "direction_labels": DIRECTION_LABELS,
            "replay_form": ReplayForm(),
            "members_shown": selectors.MEMBERS_SHOWN,
            "today": timezone.localdate(),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
@signed_in
def peer_revoke(request: HttpRequest, instance: str) -> HttpResponse:
    """Confirm and revoke a peer, with a reason (immediate and final)."""
    user = _user(request)
    peer = selectors.peer_for_user(user, instance)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.peer_revoke(acting_user=user, peer=peer, reason=form.cleaned_data["reason"])
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(request, _("Peer %(instance)s revoked.") % {"instance": peer.instance})
            return redirect("federation:admin_peer", instance=peer.instance)
    form.mark_errors()
    return render(
        request,
        "federation/peer_revoke.html",
        {"peer": peer, "form": form},
        status=422 if form.errors else 200,
    )


def _refresh(request: HttpRequest, peer: Peer) -> None:
    try:
        count = peer_directory_refresh(peer)
    except PeerUnreachable as error:
        messages.warning(
            request,
            _("The peer's directory could not be fetched (%(error)s); try again later.") % {"error": error},
        )
    else:
        messages.success(request, _("Directory refreshed: %(count)d member(s).") % {"count": count})


@require_POST
@signed_in
def peer_refresh(request: HttpRequest, instance: str) -> HttpResponse:
    """Fetch the peer's members and services again (as the API's refresh and the scheduled job do)."""
    peer = selectors.peer_for_user(_user(request), instance)
    _refresh(request, peer)
    return redirect("federation:admin_peer", instance=peer.instance)


@require_POST
@signed_in
def peer_crl_refresh(request: HttpRequest, instance: str) -> HttpResponse:
    """Fetch and verify the peer's root CRL now (as the scheduled job does)."""
    user = _user(request)
    peer = selectors.peer_for_user(user, instance)
    row = actions.peer_crl_refresh(acting_user=user, peer=peer)
    if row.last_error:
        messages.warning(
            request,
            _("The peer's CRL could not be refreshed (%(error)s); the stored one, if any, still applies.")
            % {"error": row.last_error},
        )
    else:
        messages.success(
            request,
            _("CRL refreshed: %(count)d revoked certificate(s).") % {"count": len(row.revoked_serials)},
        )
    return redirect("federation:admin_peer", instance=peer.instance)


@require_POST
@signed_in
def peer_replay(request: HttpRequest, instance: str) -> HttpResponse:
    """Send acknowledged events to the peer again: all, or those of the event ids given."""
    user = _user(request)
    peer = selectors.peer_for_user(user, instance)
    form = ReplayForm(request.POST)
    form.is_valid()  # the one field is optional text
    try:
        count = actions.export_replay(acting_user=user, peer=peer, event_ids=form.event_id_list())
    except FieldErrors:
        messages.error(request, _("An event id is not valid: nothing was sent again."))
    else:
        if count:
            messages.success(request, _("%(count)d event(s) will be sent again.") % {"count": count})
        else:
            messages.info(request, _("No acknowledged event to send again."))
    return redirect("federation:admin_peer", instance=peer.instance)


# Grants to peers' consumers


@require_safe
@signed_in
def grants_index(request: HttpRequest) -> HttpResponse:
    """Every grant of this node's services to a peer's consumers, newest first."""
    grants = list(selectors.grants_for_peer_admin(_user(request))[: selectors.LIST_LIMIT])
    return render(
        request,
        "federation/grants.html",
        {"grants": grants, "limit": selectors.LIST_LIMIT, "today": timezone.localdate()},
    )


@require_http_methods(["GET", "HEAD", "POST"])
@signed_in
def grant_create(request: HttpRequest) -> HttpResponse:
    """Grant a peer's consumer data items of one of this node's services until a date."""
    user = _user(request)
    choices = selectors.grant_choices_for_user(user)
    form = PeerGrantForm(
        request.POST if request.method == "POST" else None,
        peers=choices.peers,
        services=choices.services,
        initial={"peer": request.GET.get("peer", "")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            grant = actions.peer_grant_create(
                acting_user=user,
                peer=selectors.peer_for_grant(data["peer"]),
                service=selectors.service_for_grant(user, data["service"]),
                consumer=data["consumer"],
                items=form.item_list(),
                until=data["until"],
            )
        except RuleViolation as error:
            form.add_violation(error)
        except FieldErrors as invalid:
            form.add_field_errors(invalid.errors)
        else:
            messages.success(
                request,
                _("Grant #%(id)d to %(consumer)s via %(instance)s created.")
                % {"id": grant.pk, "consumer": grant.consumer, "instance": grant.peer.instance},
            )
            return redirect("federation:admin_grants")
    form.mark_errors()
    return render(
        request,
        "federation/grant_form.html",
        {"form": form, "has_peers": bool(choices.peers), "has_services": bool(choices.services)},
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@signed_in
def grant_revoke(request: HttpRequest, grant_id: int) -> HttpResponse:
    """Confirm and revoke a grant, with a reason (the consumer's next call is refused)."""
    user = _user(request)
    grant = selectors.grant_for_peer_admin(user, grant_id)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.peer_grant_revoke(acting_user=user, grant=grant, reason=form.cleaned_data["reason"])
        except RuleViolation as error:
            form.add_violation(error)
        else:
            messages.success(request, _("Grant #%(id)d revoked.") % {"id": grant.pk})
            return redirect("federation:admin_grants")
    form.mark_errors()
    return render(
        request,
        "federation/grant_revoke.html",
        {"grant": grant, "service_id": _service_id(grant), "form": form},
        status=422 if form.errors else 200,
    )


def _service_id(grant: PeerGrant) -> str:
    service = grant.service
    return xp.service_path(service.provider.department.credit_code, service.provider.code, service.code)
