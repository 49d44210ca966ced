"""Periodic jobs of the federation (imported by ``onewindow.core.schedule.autodiscover_schedules``).

* ``federation_sync`` every ``ONEWINDOW_FEDERATION_SYNC_INTERVAL`` seconds: take in the peers' events
  (HTTPS pull or NATS), send this node's to peers reached through NATS. Only when this node has an
  instance id.
* ``federation_directory_refresh`` every ``ONEWINDOW_FEDERATION_DIRECTORY_REFRESH`` seconds: the peers'
  members and services (routing of calls).
* ``federation_crl_refresh`` every ``ONEWINDOW_FEDERATION_CRL_REFRESH_MINUTES`` minutes (15): the peers'
  root CRLs (revoked node and consumer certificates are refused ``certificate_revoked``).
* ``federation_purge`` daily: used nonces past their window, export rows acknowledged a week ago.
"""

from __future__ import annotations

from django.conf import settings

from onewindow.core.schedule import register_periodic


def federation_sync_job() -> None:
    if not settings.FEDERATION_INSTANCE:
        return
    from onewindow.federation.events import peers_sync

    peers_sync()


def federation_directory_job() -> None:
    if not settings.FEDERATION_INSTANCE:
        return
    from onewindow.federation.directory import directories_refresh

    directories_refresh()


def federation_crl_job() -> None:
    if not settings.FEDERATION_INSTANCE:
        return
    from onewindow.federation.crl import peer_crl_refresh_all

    peer_crl_refresh_all()


def federation_purge_job() -> None:
    from onewindow.federation.events import export_purge
    from onewindow.federation.gateway import used_nonces_purge

    used_nonces_purge()
    export_purge()


register_periodic(
    "federation_sync", max(1, int(settings.FEDERATION_SYNC_INTERVAL_SECONDS)), federation_sync_job
)
register_periodic(
    "federation_directory_refresh",
    max(60, int(settings.FEDERATION_DIRECTORY_REFRESH_SECONDS)),
    federation_directory_job,
)
register_periodic(
    "federation_crl_refresh",
    max(1, int(settings.FEDERATION_CRL_REFRESH_MINUTES)) * 60,
    federation_crl_job,
)
register_periodic("federation_purge", 86400, federation_purge_job)
