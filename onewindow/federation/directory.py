"""What this node learns from its peers' public discovery: their members and services (to route calls),
and a peer's root certificate at registration (accepted only if its fingerprint is the one exchanged out
of band)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from onewindow.exchange import protocol as xp
from onewindow.federation import protocol
from onewindow.federation.models import Peer, PeerStatus
from onewindow.federation.transport import PeerUnreachable, http_get_json


def _timeout() -> float:
    return float(settings.FEDERATION_TIMEOUT_SECONDS)


@dataclass(frozen=True)
class PeerMeta:
    instance: str
    root_certificate_pem: str
    root_sha256: str
    root_sm3: str


def peer_meta_fetch(base_url: str) -> PeerMeta:
    """A node's public identity (``GET /api/v1/federation/meta/node``); :class:`PeerUnreachable` if absent."""
    document = http_get_json(base_url.rstrip("/") + protocol.META_PATH, timeout=_timeout())
    if not isinstance(document, dict) or not isinstance(document.get("root_certificate_pem"), str):
        message = "not a OneWindow node's federation metadata"
        raise PeerUnreachable(message)
    return PeerMeta(
        instance=str(document.get("instance", "")),
        root_certificate_pem=document["root_certificate_pem"],
        root_sha256=str(document.get("root_fingerprint_sha256", "")),
        root_sm3=str(document.get("root_fingerprint_sm3", "")),
    )


def _services(base: str, credit_code: str) -> list[dict[str, Any]]:
    quoted = urllib.parse.quote(credit_code, safe="")
    rows = http_get_json(f"{base}/api/v1/exchange/meta/members/{quoted}/services", timeout=_timeout())
    services = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        service = str(row.get("service", ""))
        parsed = xp.parse_service_path(service)
        if parsed is None or parsed[0] != credit_code:  # a member lists its own services only
            continue
        services.append(
            {
                "service": service,
                "name": str(row.get("name", ""))[:200],
                "name_en": str(row.get("name_en", ""))[:200],
                "resource_code": str(row.get("resource_code", ""))[:20],
            }
        )
    return services


def peer_directory_refresh(peer: Peer) -> int:
    """Fetch the peer's members and their services and cache them; the number of members."""
    from onewindow.federation.actions import peer_directory_store

    base = peer.base_url.rstrip("/")
    rows = http_get_json(f"{base}/api/v1/exchange/meta/members", timeout=_timeout())
    members = []
    for row in rows if isinstance(rows, list) else []:
        credit_code = str(row.get("credit_code", "")) if isinstance(row, dict) else ""
        if not credit_code or len(credit_code) > 18:
            continue
        members.append(
            {
                "credit_code": credit_code,
                "name": str(row.get("name", "")),
                "name_en": str(row.get("name_en", "")),
                "services": _services(base, credit_code),
            }
        )
    return peer_directory_store(peer=peer, members=members)


def directories_refresh() -> dict[str, str]:
    """Refresh every active peer this node calls out to; peer -> member count or the error."""
    outcome = {}
    for peer in Peer.objects.filter(status=PeerStatus.ACTIVE, requests_out=True).order_by("instance"):
        try:
            outcome[peer.instance] = str(peer_directory_refresh(peer))
        except PeerUnreachable as error:
            outcome[peer.instance] = f"unreachable: {error}"
            Peer.objects.filter(pk=peer.pk).update(
                last_sync_error=f"directory: {error}"[:200], last_sync_at=timezone.now()
            )
    return outcome
