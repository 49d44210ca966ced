"""Writes of the operations state: process heartbeats."""

from __future__ import annotations

import os
import socket

from django.utils import timezone

from onewindow.core.models import ProcessKind, WorkerHeartbeat


def heartbeat_record(*, name: str, kind: ProcessKind) -> WorkerHeartbeat:
    """Record that the process ``name`` is alive now (one row per name, replaced in place).

    Not audited: a heartbeat is telemetry written every few seconds by a machine, not an act of a person,
    and thousands of such records a day would bury the audit trail that inspectors read. ``update_or_create``
    on the unique name keeps two processes writing at once from creating two rows.
    """
    heartbeat, _created = WorkerHeartbeat.objects.update_or_create(
        name=name,
        defaults={
            "kind": kind,
            "last_seen": timezone.now(),
            "pid": os.getpid(),
            "host": socket.gethostname()[:255],
        },
    )
    return heartbeat
