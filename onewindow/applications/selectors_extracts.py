"""Reads of a case's verified extracts (once-only, 免提交), as each reader may see them.

- A department's handler (task page, task API): the person fields the field-level access policy gives
  their role in the task's department (``registry.access``); a legal entity's registration data (public,
  企业信息公示) in full. ID and mobile numbers masked.
- The applicant on their own case: their own data, ID and mobile numbers masked. Nobody else (a window
  clerk or village agent who submitted for them sees the 免提交 mark, not the data).

The callers have already checked that the reader may see the case (``workflow.selectors.task_for_user``,
``applications.selectors.application_for_user``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from onewindow.accounts.models import User
from onewindow.applications.forms import pick
from onewindow.applications.models import Application, VerifiedExtract
from onewindow.core.validators import Gender
from onewindow.registry.access import fields_in_department, masked, person_data_shown
from onewindow.registry.ethnicity import ETHNICITY_BY_CODE
from onewindow.registry.models import PersonStatus, Relation
from onewindow.registry.models_entities import EntityStatus, EntityType
from onewindow.registry.prefill import ENTITY_RESOURCES

PERSON_LABELS: dict[str, Promise] = {
    "id_number": pgettext_lazy("registry extract", "ID number"),
    "name": pgettext_lazy("registry extract", "Name"),
    "gender": pgettext_lazy("registry extract", "Gender"),
    "ethnicity": pgettext_lazy("registry extract", "Ethnicity"),
    "birth_date": pgettext_lazy("registry extract", "Date of birth"),
    "address": pgettext_lazy("registry extract", "Address"),
    "household_no": pgettext_lazy("registry extract", "Household number"),
    "division_code": pgettext_lazy("registry extract", "Division code"),
    "relation_to_head": pgettext_lazy("registry extract", "Relation to the head of household"),
    "status": pgettext_lazy("registry extract", "Status"),
}

ENTITY_LABELS: dict[str, Promise] = {
    "credit_code": pgettext_lazy("registry extract", "Unified social credit code"),
    "name": pgettext_lazy("registry extract", "Entity name"),
    "type": pgettext_lazy("registry extract", "Entity type"),
    "legal_rep_name": pgettext_lazy("registry extract", "Legal representative"),
    "registered_capital": pgettext_lazy("registry extract", "Registered capital (10,000 yuan)"),
    "division_code": pgettext_lazy("registry extract", "Division code"),
    "address": pgettext_lazy("registry extract", "Address"),
    "business_scope": pgettext_lazy("registry extract", "Business scope"),
    "established_on": pgettext_lazy("registry extract", "Established on"),
    "status": pgettext_lazy("registry extract", "Status"),
    "registration_authority": pgettext_lazy("registry extract", "Registration authority"),
}


def _choice(choices: Any) -> Callable[[str], str]:
    def label(value: str) -> str:
        return str(choices(value).label) if value in choices.values else value

    return label


def _ethnicity(code: str) -> str:
    ethnicity = ETHNICITY_BY_CODE.get(code)
    return pick(ethnicity.name_zh, ethnicity.name_en) if ethnicity is not None else code


GENDER_LABELS: dict[str, Promise] = {
    Gender.MALE.value: pgettext_lazy("gender", "Male"),
    Gender.FEMALE.value: pgettext_lazy("gender", "Female"),
}


def _gender(value: str) -> str:
    return str(GENDER_LABELS.get(value, value))


PERSON_VALUES: dict[str, Callable[[str], str]] = {
    "gender": _gender,
    "ethnicity": _ethnicity,
    "relation_to_head": _choice(Relation),
    "status": _choice(PersonStatus),
}
ENTITY_VALUES: dict[str, Callable[[str], str]] = {
    "type": _choice(EntityType),
    "status": _choice(EntityStatus),
}


@dataclass(frozen=True)
class ExtractShown:
    """One verified extract as its reader may see it."""

    material_code: str
    material_name: str  # in the active language
    resource: str
    source: str
    record_version: int | None
    fetched_at: datetime
    data: dict[str, Any]  # the fields shown, ID and mobile numbers masked
    rows: list[tuple[str, str]]  # (label, value) in the active language, for pages


def _material_names(application: Application) -> dict[str, str]:
    return {
        str(spec.get("code", "")): pick(str(spec.get("name", "")), str(spec.get("name_en", "")))
        for spec in application.version.materials or []
    }


def _shown(
    application: Application, extracts: Iterable[VerifiedExtract], person_fields: frozenset[str] | None
) -> list[ExtractShown]:
    """``person_fields`` None: every field (the applicant's own data)."""
    names = _material_names(application)
    shown: list[ExtractShown] = []
    for extract in extracts:
        entity = extract.resource in ENTITY_RESOURCES
        own_or_public = entity or person_fields is None
        data = masked(extract.data) if own_or_public else person_data_shown(extract.data, person_fields or ())
        labels, values = (ENTITY_LABELS, ENTITY_VALUES) if entity else (PERSON_LABELS, PERSON_VALUES)
        order = [
            *(field for field in labels if field in data),
            *(field for field in data if field not in labels),
        ]
        rows = [
            (
                str(labels.get(field, field)),
                values[field](str(data[field])) if field in values else str(data[field]),
            )
            for field in order
            if data[field] not in (None, "")
        ]
        shown.append(
            ExtractShown(
                material_code=extract.material_code,
                material_name=names.get(extract.material_code) or extract.material_code,
                resource=extract.resource,
                source=extract.source,
                record_version=extract.record_version,
                fetched_at=extract.fetched_at,
                data=data,
                rows=rows,
            )
        )
    return shown


def verified_extracts_for_department(
    user: User, application: Application, department_code: str
) -> list[ExtractShown]:
    """The case's extracts as ``user``, acting for ``department_code`` (their task's), may see them."""
    extracts = list(VerifiedExtract.objects.filter(application=application))
    if not extracts:
        return []
    return _shown(application, extracts, fields_in_department(user, department_code))


def verified_extracts_for_applicant(user: User, application: Application) -> list[ExtractShown]:
    """The case's extracts for the applicant themself (their own data); [] for anyone else."""
    if application.applicant_id is None or application.applicant_id != user.pk:
        return []
    return _shown(application, VerifiedExtract.objects.filter(application=application), None)
