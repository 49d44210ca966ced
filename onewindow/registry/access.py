"""Field-level access to the population register per department and role (issue #5 item 5; PIPL Arts. 6
and 51: minimum necessary, access control by role; GB/T 22239-2019 §8.1.4.2; docs/registry.md,
"Field-level access").

The policy is data: ``{department code or "*": {role: [person field, ...] or ["*"]}}``. The default below
lets the register's keepers (handlers and administrators of public security, ``PSB``) see every field,
and the handlers and administrators of every other department the basic fields;
``ONEWINDOW_REGISTRY_FIELD_ACCESS`` (JSON, ``settings.REGISTRY_FIELD_ACCESS``) replaces it as a whole.
A department's own entry for a role wins over the ``"*"`` entry; a role in neither sees nothing. Roles
held without a department (window clerks, leaders, auditors, ...) are never granted anything: field
access is a department's, for its cases.

Who may look a person up at all, and for what (``selectors.person_by_id_number``): the keepers for any
purpose (a full view only for a case their department is working on), everyone else the policy names only
for a case their own department is working on now (``Application.pending_department_codes``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured

from onewindow.accounts.models import User
from onewindow.accounts.permissions import user_roles
from onewindow.accounts.roles import Role
from onewindow.applications.models import Application
from onewindow.core.validators import mask_id_number
from onewindow.registry.actions import REGISTRY_POPULATION_DEPARTMENT
from onewindow.registry.protection import mask_mobile

ALL = "*"

# Every field of a person's record a lookup answers (selectors.PersonView without its bookkeeping).
PERSON_FIELDS: tuple[str, ...] = (
    "id_number",
    "name",
    "former_names",
    "gender",
    "ethnicity",
    "birth_date",
    "birthplace_code",
    "household_no",
    "division_code",
    "address",
    "relation_to_head",
    "status",
    "died_on",
)

# What a department other than the register's keeper needs to handle its own cases.
BASIC_PERSON_FIELDS: tuple[str, ...] = (
    "name",
    "gender",
    "ethnicity",
    "birth_date",
    "division_code",
    "status",
    "household_no",
)

DEFAULT_FIELD_ACCESS: dict[str, dict[str, list[str]]] = {
    REGISTRY_POPULATION_DEPARTMENT: {
        Role.DEPARTMENT_HANDLER.value: [ALL],
        Role.DEPARTMENT_ADMIN.value: [ALL],
    },
    ALL: {
        Role.DEPARTMENT_HANDLER.value: list(BASIC_PERSON_FIELDS),
        Role.DEPARTMENT_ADMIN.value: list(BASIC_PERSON_FIELDS),
    },
}

# Values shown masked wherever they appear (core.validators.mask_id_number, protection.mask_mobile).
MASKED_FIELDS = {"id_number": mask_id_number, "mobile": mask_mobile}

Policy = dict[tuple[str, str], frozenset[str]]


def _refuse(problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"ONEWINDOW_REGISTRY_FIELD_ACCESS: {problem} (docs/registry.md)")


def parse_policy(raw: object) -> Policy:
    """Check a policy given as data and answer it as ``{(department or "*", role): fields}``.

    ImproperlyConfigured names the first problem: not an object, an unknown role or field, a field list that
    is not a list of strings.
    """
    if not isinstance(raw, Mapping):
        raise _refuse('the policy must be a JSON object {"<department code>|*": {"<role>": [fields]}}')
    policy: Policy = {}
    for department, roles in raw.items():
        if not isinstance(department, str) or not department:
            raise _refuse(f"{department!r} is not a department code or '*'")
        if not isinstance(roles, Mapping):
            raise _refuse(f"the entry of {department!r} must be an object {{role: [fields]}}")
        for role, fields in roles.items():
            if role not in Role.values:
                raise _refuse(
                    f"{role!r} (under {department!r}) is not a role; roles: {', '.join(Role.values)}"
                )
            if not isinstance(fields, list) or not all(isinstance(field, str) for field in fields):
                raise _refuse(f"the fields of {department!r}/{role!r} must be a list of field names")
            unknown = sorted(set(fields) - set(PERSON_FIELDS) - {ALL})
            if unknown:
                raise _refuse(
                    f"unknown field(s) {', '.join(unknown)} under {department!r}/{role!r}; "
                    f"fields: {', '.join(PERSON_FIELDS)} or '*'"
                )
            policy[(department, role)] = frozenset(PERSON_FIELDS) if ALL in fields else frozenset(fields)
    return policy


@functools.lru_cache(maxsize=4)
def _parsed(serialised: str) -> Policy:
    return parse_policy(json.loads(serialised))


def field_access_policy() -> Policy:
    """The policy in force: ``settings.REGISTRY_FIELD_ACCESS`` if set, else :data:`DEFAULT_FIELD_ACCESS`."""
    configured = getattr(settings, "REGISTRY_FIELD_ACCESS", None)
    raw = DEFAULT_FIELD_ACCESS if configured is None else configured
    return _parsed(json.dumps(raw, sort_keys=True))


def person_fields(department_code: str, role: str) -> frozenset[str]:
    """The person fields ``role`` in ``department_code`` may see (its own entry, else the ``"*"`` one)."""
    policy = field_access_policy()
    fields = policy.get((department_code, role))
    return fields if fields is not None else policy.get((ALL, role), frozenset())


@dataclass(frozen=True)
class FieldGrant:
    """What one of a user's department roles may see of a person."""

    department_code: str
    role: str
    fields: frozenset[str]

    @property
    def keeper(self) -> bool:
        """True for the register's own department: it may look people up outside a case (masked)."""
        return self.department_code == REGISTRY_POPULATION_DEPARTMENT


def field_grants(user: User | AnonymousUser) -> list[FieldGrant]:
    """The user's department roles that the policy lets see at least one person field."""
    grants: list[FieldGrant] = []
    for grant in user_roles(user):
        if not grant.department_code:
            continue
        fields = person_fields(grant.department_code, grant.role.value)
        if fields:
            grants.append(FieldGrant(grant.department_code, grant.role.value, fields))
    return grants


def fields_in_department(user: User | AnonymousUser, department_code: str) -> frozenset[str]:
    """The person fields ``user`` may see when acting for ``department_code`` (e.g. on its task page)."""
    fields: set[str] = set()
    for grant in field_grants(user):
        if grant.department_code == department_code:
            fields |= grant.fields
    return frozenset(fields)


def departments_working_on(tracking_no: str) -> list[str]:
    """The codes of the departments working on the case ``tracking_no`` now ([] if it is no case)."""
    if not tracking_no:
        return []
    pending = (
        Application.objects.filter(tracking_no=tracking_no)
        .values_list("pending_department_codes", flat=True)
        .first()
    )
    return [str(code) for code in pending] if isinstance(pending, list) else []


def masked(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with ID and mobile numbers masked (first 6 and last 4; first 3 and last 4)."""
    return {
        field: MASKED_FIELDS[field](value) if field in MASKED_FIELDS and isinstance(value, str) else value
        for field, value in data.items()
    }


def person_data_shown(data: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """Only those of ``data``'s fields that are in ``fields``, ID and mobile numbers masked: a person's data
    (a case's extract) as a department may see it."""
    allowed = set(fields)
    return masked({field: value for field, value in data.items() if field in allowed})
