"""Peers' certificate revocation lists (docs/federation.md "Revoked certificates").

Each peer publishes its platform root's CRL at ``GET {peer}/seals/root-ca.crl`` (docs/signatures.md): the
seals, subsystem, gateway and node keys the root certified and then revoked. This node fetches it through
the federation's HTTP transport (``ONEWINDOW_FEDERATION_TIMEOUT``), every
``ONEWINDOW_FEDERATION_CRL_REFRESH_MINUTES`` and on demand, accepts it only if the peer's **pinned** root
signed it and it names that root as issuer, and keeps it per peer (:class:`PeerCrl`). A CRL past its
``nextUpdate`` is kept and applied, but reported stale; a CRL older (by CRL number) than the stored one is
refused, so an old copy cannot bring a revoked key back.

:func:`certificate_revoked` is the check the gateway and the event transports make on every node and
consumer certificate a peer presents: a certificate whose serial is on the peer's stored CRL is refused
``certificate_revoked``. While no CRL of the peer could ever be fetched, nothing is refused on that
account (today's behaviour before CRLs), and the peer's page shows a warning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from django.conf import settings
from django.utils import timezone

from onewindow.federation.models import Peer, PeerCrl, PeerStatus
from onewindow.federation.transport import PeerUnreachable, http_get_bytes

CRL_PATH = "/seals/root-ca.crl"
MAX_CRL_BYTES = 4 * 1024 * 1024


class CrlProblem(Exception):  # noqa: N818 - names the condition
    """The fetched CRL cannot be used: not a DER CRL, not issued or signed by the pinned root, or older."""


@dataclass(frozen=True)
class VerifiedCrl:
    der: bytes
    number: int | None
    this_update: dt.datetime
    next_update: dt.datetime | None
    serials: list[str]


def serial_hex(serial_number: int) -> str:
    return format(serial_number, "x")


def crl_verify(der: bytes, root: x509.Certificate) -> VerifiedCrl:
    """``der`` checked against ``root``: a DER CRL whose issuer is the root's subject, signed by its key."""
    if len(der) > MAX_CRL_BYTES:
        message = "CRL too large"
        raise CrlProblem(message)
    try:
        crl = x509.load_der_x509_crl(der)
    except ValueError as error:
        message = "not a DER CRL"
        raise CrlProblem(message) from error
    if crl.issuer != root.subject:
        message = "CRL not issued by the pinned root"
        raise CrlProblem(message)
    try:
        valid = crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    except (InvalidSignature, TypeError, ValueError, UnsupportedAlgorithm):
        valid = False
    if not valid:
        message = "CRL signature does not verify under the pinned root"
        raise CrlProblem(message)
    try:
        number: int | None = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        number = None
    return VerifiedCrl(
        der=der,
        number=number,
        this_update=crl.last_update_utc,
        next_update=crl.next_update_utc,
        serials=sorted({serial_hex(entry.serial_number) for entry in crl}),
    )


def peer_crl_fetch(peer: Peer) -> bytes:
    """The peer's CRL as served (DER), through the federation's transport and its timeout."""
    return http_get_bytes(
        peer.base_url.rstrip("/") + CRL_PATH,
        accept="application/pkix-crl",
        timeout=float(settings.FEDERATION_TIMEOUT_SECONDS),
    )


def peer_crl_refresh_all(instance: str = "") -> dict[str, str]:
    """Refresh the CRL of every active peer (or of ``instance``): peer -> "ok"/"stale" or the error."""
    from onewindow.federation.actions import peer_crl_refresh

    peers = Peer.objects.filter(status=PeerStatus.ACTIVE).order_by("instance")
    if instance:
        peers = peers.filter(instance=instance)
    return {peer.instance: crl_state(peer_crl_refresh(acting_user=None, peer=peer)) for peer in peers}


def crl_state(row: PeerCrl | None, *, now: dt.datetime | None = None) -> str:
    """``missing`` (never fetched), ``stale`` (past its nextUpdate), ``error`` (the last fetch failed) or
    ``ok``; a stored CRL whose last refresh failed is ``error`` even when still current."""
    if row is None or not row.fetched_at:
        return "missing"
    if row.next_update is not None and row.next_update < (now or timezone.now()):
        return "stale"
    return "error" if row.last_error else "ok"


def certificate_revoked(peer: Peer, certificate_der: bytes) -> str:
    """The serial (hex) of ``certificate_der`` when it is on ``peer``'s stored CRL, else ""."""
    if peer.pk is None:
        return ""
    serials = PeerCrl.objects.filter(peer=peer).values_list("revoked_serials", flat=True).first()
    if not serials:
        return ""
    try:
        serial = serial_hex(x509.load_der_x509_certificate(certificate_der).serial_number)
    except ValueError:
        return ""
    return serial if serial in set(serials) else ""


__all__ = [
    "CRL_PATH",
    "CrlProblem",
    "PeerUnreachable",
    "VerifiedCrl",
    "certificate_revoked",
    "crl_state",
    "crl_verify",
    "peer_crl_fetch",
    "peer_crl_refresh_all",
]
