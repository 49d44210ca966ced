import datetime as dt
from collections.abc import Iterator

from django.apps import AppConfig


def revoked_key_certificates() -> Iterator[tuple[str, dt.datetime | None, bytes]]:
    """The certificates of revoked subsystem and gateway keys, for the platform root's CRL
    (``onewindow.seals.actions.crl_source_register``; docs/signatures.md "The platform CA")."""
    from onewindow.exchange.models import GatewayKey, KeyStatus, SubsystemKey

    for model in (SubsystemKey, GatewayKey):
        rows = model.objects.filter(status=KeyStatus.REVOKED).exclude(certificate_serial="")
        fields = rows.values_list("certificate_serial", "revoked_at", "certificate_der")
        for serial, revoked_at, der in fields:
            yield serial, revoked_at, bytes(der)


class ExchangeConfig(AppConfig):
    name = "onewindow.exchange"
    label = "exchange"
    verbose_name = "Exchange"

    def ready(self) -> None:
        from onewindow.seals.actions import crl_source_register

        crl_source_register(revoked_key_certificates)
