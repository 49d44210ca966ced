"""Periodic job of publish/subscribe (imported by ``onewindow.core.schedule.autodiscover_schedules``).

``pubsub_dispatch`` every minute drains the outbox and the due push deliveries; for lower latency run
``manage.py pubsub_dispatch --loop`` as its own process (docs/pubsub.md).
"""

from __future__ import annotations

from django.conf import settings

from onewindow.core.schedule import register_periodic
from onewindow.pubsub.dispatcher import pubsub_dispatch_job

register_periodic("pubsub_dispatch", settings.PUBSUB_DISPATCH_INTERVAL_SECONDS, pubsub_dispatch_job)
