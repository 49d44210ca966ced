"""Demo seals: the platform root and an active seal for every department (part of ``demo_load``, which
refuses to run in production, so every department there is a demo one).

Idempotent: a department that already has an active seal is left alone; the root is created with the first
seal and kept. Seals are issued by the system (no acting user); holders are left to the departments'
administrators.
"""

from __future__ import annotations

from django.db import transaction

from onewindow.organisations.models import Department
from onewindow.seals.actions import seal_rotate
from onewindow.seals.models import SealStatus


def seals_demo_load() -> int:
    """Issue a seal to each active department that has no active one; returns how many were issued."""
    issued = 0
    with transaction.atomic():
        departments = Department.objects.filter(is_active=True).exclude(seals__status=SealStatus.ACTIVE)
        for department in departments.order_by("code"):
            seal_rotate(acting_user=None, department=department)
            issued += 1
    return issued
