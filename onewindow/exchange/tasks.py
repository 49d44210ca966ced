"""Background work of the exchange, enqueued by the scheduler (``onewindow/exchange/schedules.py``)."""

from __future__ import annotations

from django_tasks import task

from onewindow.exchange.gateway import used_nonces_purge


@task()
def exchange_used_nonces_purge() -> int:
    """Delete the used nonces past their expiry; returns how many (docs/exchange.md "Replay")."""
    return used_nonces_purge()
