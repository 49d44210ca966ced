"""The audit trail's periodic jobs (imported by ``onewindow.core.schedule.autodiscover_schedules``)."""

from __future__ import annotations

from onewindow.audit.tasks import audit_anchor
from onewindow.core.schedule import register_periodic

# Records appended after the latest anchor could be cut off unnoticed, so anchor often: every 5 minutes.
ANCHOR_EVERY_SECONDS = 300

register_periodic("audit_anchor", ANCHOR_EVERY_SECONDS, audit_anchor)
