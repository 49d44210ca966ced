"""Parsing of the application pages' own fields (not the service's JSON Schema form, which the forms
library renders and validates): who a walk-in or agent application is for, uploads, refusals, reviews.

Everything here only parses and gives bilingual per-field messages early; the actions check every rule again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import QueryDict
from django.utils.translation import get_language

from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.core.validators import (
    InvalidIdentifier,
    validate_credit_code,
    validate_id_number,
    validate_mobile,
)

# Field-name prefix of the "who is it for" fields on the walk-in and agent pages; the actions' errors about
# ``on_behalf_of.<name>`` are shown next to ``obo_<name>``.
ON_BEHALF_PREFIX = "obo_"
CONSENT_METHODS = ("signed_form", "in_person")
REVIEW_LEVELS: tuple[tuple[int, str, str], ...] = (
    (5, "非常满意", "Very satisfied"),
    (4, "满意", "Satisfied"),
    (3, "基本满意", "Basically satisfied"),
    (2, "不满意", "Dissatisfied"),
    (1, "非常不满意", "Very dissatisfied"),
)


def english() -> bool:
    return (get_language() or settings.LANGUAGE_CODE).startswith("en")


def pick(zh: str, en: str) -> str:
    """The text in the active language (English falls back to Chinese when there is none)."""
    return en if english() and en else zh


@dataclass(frozen=True)
class ShownError:
    """An error as the page shows it: in the summary (linking to ``#<anchor>``) and next to its field."""

    field: str
    message: str

    @property
    def anchor(self) -> str:
        return f"f-{self.field}" if self.field else ""


def shown_errors(errors: Iterable[FieldError]) -> list[ShownError]:
    return [ShownError(error.field, pick(error.message_zh, error.message_en)) for error in errors]


def errors_by_field(errors: Iterable[FieldError]) -> dict[str, str]:
    by_field: dict[str, str] = {}
    for error in shown_errors(errors):
        by_field.setdefault(error.field, error.message)
    return by_field


def field_errors_of(error: RuleViolation | FieldErrors) -> list[FieldError]:
    """An action's refusal as per-field errors (a rule without a field concerns the whole page)."""
    if isinstance(error, FieldErrors):
        return [_on_behalf_field(item) for item in error.errors]
    return [
        _on_behalf_field(
            FieldError(error.field or "", str(error.code or ""), error.message_zh, error.message_en)
        )
    ]


def _on_behalf_field(error: FieldError) -> FieldError:
    if error.field.startswith("on_behalf_of."):
        name = error.field.removeprefix("on_behalf_of.")
        return FieldError(f"{ON_BEHALF_PREFIX}{name}", error.code, error.message_zh, error.message_en)
    return error


def _required(name: str, zh_label: str, en_label: str) -> FieldError:
    return FieldError(name, "required", f"请填写{zh_label}。", f"Enter the {en_label}.")


def material_ids_from_post(post: QueryDict) -> list[str]:
    """The ids of materials uploaded earlier on the page (hidden inputs), de-duplicated, UUIDs only."""
    ids: list[str] = []
    for value in post.getlist("material_ids"):
        try:
            material_id = str(uuid.UUID(value))
        except ValueError:
            continue
        if material_id not in ids:
            ids.append(material_id)
    return ids


def submission_key_from_post(post: QueryDict) -> str:
    """The page's idempotency key: a UUID made when the page was first shown (a fresh one if tampered)."""
    try:
        return str(uuid.UUID(post.get("submission_key", "")))
    except ValueError:
        return str(uuid.uuid4())


@dataclass
class OnBehalfInput:
    """The walk-in / agent page's "who is this for" fields, as typed."""

    name: str = ""
    kind: str = "resident"
    identifier: str = ""
    mobile: str = ""
    id_checked: bool = False
    consent_method: str = ""
    consent_reference: str = ""
    consent_material_id: str = ""
    errors: list[FieldError] = field(default_factory=list)

    def as_context(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "identifier": self.identifier,
            "mobile": self.mobile,
            "id_checked": self.id_checked,
            "consent_method": self.consent_method,
            "consent_reference": self.consent_reference,
            "consent_material_id": self.consent_material_id,
        }


def on_behalf_from_post(post: QueryDict, *, agent: bool) -> OnBehalfInput:
    """Parse and check the applicant fields: name, kind, ID number / credit code (GB 11643 / GB 32100),
    mobile, and the window clerk's ID check or the agent's consent (method, reference)."""
    p = ON_BEHALF_PREFIX
    values = OnBehalfInput(
        name=post.get(f"{p}name", "").strip(),
        kind=post.get(f"{p}kind", "resident"),
        identifier=post.get(f"{p}identifier", "").strip().upper(),
        mobile=post.get(f"{p}mobile", "").strip(),
        id_checked=post.get(f"{p}id_checked") == "yes",
        consent_method=post.get(f"{p}consent_method", ""),
        consent_reference=post.get(f"{p}consent_reference", "").strip(),
    )
    try:
        values.consent_material_id = str(uuid.UUID(post.get(f"{p}consent_material_id", "")))
    except ValueError:
        values.consent_material_id = ""
    errors = values.errors
    if not values.name:
        errors.append(_required(f"{p}name", "申请人姓名或名称", "applicant's name"))
    if values.kind not in ("resident", "enterprise"):
        errors.append(
            FieldError(
                f"{p}kind",
                "required",
                "请选择申请人类型。",
                "Choose whether the applicant is a person or an enterprise.",
            )
        )
    if not values.identifier:
        errors.append(_required(f"{p}identifier", "身份证号码或统一社会信用代码", "ID number or credit code"))
    else:
        validator = validate_credit_code if values.kind == "enterprise" else validate_id_number
        try:
            values.identifier = validator(values.identifier)
        except InvalidIdentifier as invalid:
            errors.append(
                FieldError(f"{p}identifier", str(invalid.code), invalid.message_zh, invalid.message_en)
            )
    if values.mobile:
        try:
            values.mobile = validate_mobile(values.mobile)
        except InvalidIdentifier as invalid:
            errors.append(FieldError(f"{p}mobile", str(invalid.code), invalid.message_zh, invalid.message_en))
    if agent:
        if values.consent_method not in CONSENT_METHODS:
            errors.append(
                FieldError(
                    f"{p}consent_method",
                    "required",
                    "请选择申请人同意代办的方式。",
                    "Choose how the applicant gave their consent.",
                )
            )
    elif not values.id_checked:
        errors.append(
            FieldError(
                f"{p}id_checked",
                "required",
                "请先核验申请人身份证件并勾选确认。",
                "Check the applicant's ID document and confirm it.",
            )
        )
    return values


def summary_rows(schema: dict[str, Any], data: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows of submitted form data, in the form's order, labels in the active language."""
    properties: dict[str, Any] = schema.get("properties", {})
    order = [name for name in schema.get("x-order", []) if name in properties]
    order += [name for name in properties if name not in order]
    order += [name for name in data if name not in order]
    rows: list[tuple[str, str]] = []
    for name in order:
        if name not in data:
            continue
        spec: dict[str, Any] = properties.get(name, {})
        label = pick(str(spec.get("title", name)), str(spec.get("x-title-en", "")))
        value = data[name]
        labels: dict[str, Any] = spec.get("x-enum-labels", {})
        if isinstance(value, bool):
            text = pick("是", "Yes") if value else pick("否", "No")
        elif str(value) in labels and isinstance(labels[str(value)], dict):
            text = pick(str(labels[str(value)].get("zh", value)), str(labels[str(value)].get("en", "")))
        else:
            text = str(value)
        rows.append((label, text))
    return rows
