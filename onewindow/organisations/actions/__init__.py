"""Writes to organisations: divisions, departments, service points and staff memberships.

Each action is one ``transaction.atomic`` block that also appends its audit record (MLPS 2.0 §8.1.4.3).
``acting_user=None`` means the platform itself (migrations, management commands, the demo loader), never a
request. A refusal for lack of permission is audited in its own transaction and raises ``PermissionDenied``;
a broken rule raises :class:`RuleViolation` with a bilingual message, and changes nothing.
"""

from __future__ import annotations

from onewindow.organisations.actions.departments import department_create, department_update
from onewindow.organisations.actions.divisions import division_create, divisions_load_from_package
from onewindow.organisations.actions.memberships import ROLE_NAMES, membership_grant, membership_revoke
from onewindow.organisations.actions.service_points import (
    ServicePointDetails,
    service_point_create,
    service_point_update,
)

__all__ = [
    "ROLE_NAMES",
    "ServicePointDetails",
    "department_create",
    "department_update",
    "division_create",
    "divisions_load_from_package",
    "membership_grant",
    "membership_revoke",
    "service_point_create",
    "service_point_update",
]
