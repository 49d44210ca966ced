"""Periodic jobs of the catalog (imported by ``onewindow.core.schedule.autodiscover_schedules``).

* ``catalog_share_request_lights`` — every 10 minutes, like the back office's lights: the sharing
  requests' lights, then the escalation rules against them.
* ``catalog_quality_measure`` — daily: the built-in registry resources' last update and validity
  (``catalog.quality``), enqueued as a task (it reads the whole register in batches).
"""

from __future__ import annotations

from onewindow.catalog.quality import quality_measure_task
from onewindow.catalog.sharing_deadlines import share_request_escalations_run, share_request_lights_refresh
from onewindow.core.schedule import register_periodic

LIGHTS_EVERY_SECONDS = 600
QUALITY_EVERY_SECONDS = 24 * 3600


def catalog_share_request_lights_job() -> None:
    share_request_lights_refresh()
    share_request_escalations_run()


register_periodic("catalog_share_request_lights", LIGHTS_EVERY_SECONDS, catalog_share_request_lights_job)
register_periodic("catalog_quality_measure", QUALITY_EVERY_SECONDS, quality_measure_task)
