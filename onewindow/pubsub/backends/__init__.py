"""The transports from the outbox to the subscriptions' delivery queues, behind one interface.

``ONEWINDOW_EXCHANGE_BROKER`` unset (or ``database``): ``backends.database.DatabaseBackend``;
``nats://host:port``: ``backends.nats.NatsBackend`` (JetStream).
"""

from __future__ import annotations

from django.conf import settings

from onewindow.pubsub.backends.base import Backend


def backend_from_settings(broker: str | None = None) -> Backend:
    """The configured backend (``broker`` overrides the setting, for tests and benchmarks)."""
    url = settings.EXCHANGE_BROKER if broker is None else broker
    if url.startswith(("nats://", "tls://")):
        from onewindow.pubsub.backends.nats import NatsBackend

        return NatsBackend(url)
    if url not in ("", "database"):
        message = f"ONEWINDOW_EXCHANGE_BROKER must be empty, 'database' or nats://…, got {url!r}"
        raise ValueError(message)
    from onewindow.pubsub.backends.database import DatabaseBackend

    return DatabaseBackend()


__all__ = ["Backend", "backend_from_settings"]
