"""Background work of the audit trail, enqueued by the scheduler (see ``onewindow/audit/schedules.py``)."""

from __future__ import annotations

from django_tasks import task

from onewindow.audit.actions import audit_anchor_write


@task()
def audit_anchor() -> int | None:
    """Write the chain's head anchor; returns the anchored seq (None while the chain is empty)."""
    anchor = audit_anchor_write()
    return anchor["seq"] if anchor is not None else None
