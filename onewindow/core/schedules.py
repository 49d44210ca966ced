"""The operations layer's periodic jobs (imported by ``autodiscover_schedules``)."""

from __future__ import annotations

from django.conf import settings

from onewindow.core.schedule import register_periodic
from onewindow.core.tasks import task_results_prune, worker_heartbeat

DAY_SECONDS = 24 * 3600

register_periodic("worker_heartbeat", settings.WORKER_HEARTBEAT_INTERVAL_SECONDS, worker_heartbeat)
register_periodic("task_results_prune", DAY_SECONDS, task_results_prune)
