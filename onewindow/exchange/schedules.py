"""Periodic jobs of the exchange (imported by ``onewindow.core.schedule.autodiscover_schedules``).

Used nonces are kept for twice the ±5 minute timestamp window; purging every 5 minutes keeps the table at
about 15 minutes of calls (a replay of a purged nonce is refused as stale anyway). A task, so a large purge
runs in a worker, not in the scheduler.
"""

from __future__ import annotations

from onewindow.core.schedule import register_periodic
from onewindow.exchange.tasks import exchange_used_nonces_purge

PURGE_EVERY_SECONDS = 300

register_periodic("exchange_used_nonces_purge", PURGE_EVERY_SECONDS, exchange_used_nonces_purge)
