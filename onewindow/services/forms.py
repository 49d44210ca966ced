"""Forms of the catalog pages: they parse input; the rules live in the actions.

The form schema is edited as JSON and checked with ``check_schema`` here too, so that every problem is
listed next to the field at once (the publish action checks it again).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from onewindow.core.errors import FieldError, RuleViolation
from onewindow.services.models import CaseType, Category, Channel, ServiceKind, Stage

WIDGET_CLASSES = {
    forms.TextInput: "govuk-input",
    forms.NumberInput: "govuk-input govuk-input--width-4",
    forms.Select: "govuk-select",
    forms.Textarea: "govuk-textarea",
    forms.CheckboxInput: "govuk-checkboxes__input",
    forms.CheckboxSelectMultiple: "govuk-checkboxes__input",
    forms.RadioSelect: "govuk-radios__input",
}
ERROR_CLASSES = {"govuk-input": "govuk-input--error", "govuk-select": "govuk-select--error"}
AUDIENCE_CHOICES = [("resident", _("Residents")), ("enterprise", _("Enterprises"))]


def in_language(message_zh: str, message_en: str) -> str:
    return message_en if (get_language() or "").startswith("en") else message_zh


class GovukForm(forms.Form):
    """Gives widgets the GOV.UK Frontend classes and marks fields in error for assistive technology."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            for widget_type, css_class in WIDGET_CLASSES.items():
                if type(field.widget) is widget_type:
                    field.widget.attrs.setdefault("class", css_class)

    def add_violation(self, error: RuleViolation) -> None:
        """Show an action's refusal next to its field (or at the top when it concerns the whole form)."""
        field = error.field if error.field in self.fields else None
        self.add_error(field, in_language(error.message_zh, error.message_en))

    def add_field_errors(self, errors: list[FieldError]) -> None:
        for error in errors:
            root = error.field.split(".")[0]
            message = in_language(error.message_zh, error.message_en)
            if root in self.fields and root != error.field:
                message = f"{error.field.split('.', 1)[1]}: {message}"
            self.add_error(root if root in self.fields else None, message)

    def mark_errors(self) -> None:
        for name, field in self.fields.items():
            if name not in self.errors:
                continue
            attrs = field.widget.attrs
            base = str(attrs.get("class", "")).split(" ")[0]
            if base in ERROR_CLASSES and ERROR_CLASSES[base] not in str(attrs["class"]):
                attrs["class"] = f"{attrs['class']} {ERROR_CLASSES[base]}"
            auto_id = self[name].auto_id
            hint = f"{auto_id}_helptext " if field.help_text else ""
            attrs["aria-describedby"] = f"{hint}{auto_id}-error"


class ServiceSearchForm(forms.Form):
    q = forms.CharField(label=_("Search for a service"), required=False, max_length=100)
    audience = forms.ChoiceField(
        choices=[("", _("Everyone")), *AUDIENCE_CHOICES], required=False, label=_("For")
    )
    department = forms.CharField(required=False, max_length=20)
    life_event = forms.CharField(required=False, max_length=20)


class ServiceCreateForm(GovukForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        help_text=_("Permanent, for example AMR-GSSL. Capital letters, digits, hyphens."),
        widget=forms.TextInput(attrs={"class": "govuk-input govuk-input--width-20", "spellcheck": "false"}),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=ServiceKind.choices, widget=forms.RadioSelect)
    department_code = forms.ChoiceField(label=_("Owning department"))
    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)

    def __init__(self, *args: Any, departments: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department_code"].choices = departments  # type: ignore[attr-defined]


def _json_field(label: Any, help_text: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "govuk-textarea ow-code"}),
    )


def _days(label: Any) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=0, max_value=3650)


class VersionForm(GovukForm):
    """A draft version's fields (and a bundle's component codes)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    summary = forms.CharField(label=_("What it is"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    summary_en = forms.CharField(
        label=_("What it is (English)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    legal_basis = forms.CharField(
        label=_("Legal basis"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    audience = forms.MultipleChoiceField(
        label=_("Who can apply"),
        choices=AUDIENCE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"), choices=Channel.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    statutory_days = _days(_("Statutory time limit (working days)"))
    promised_days = _days(_("Promised time limit (working days)"))
    on_site_trips = forms.IntegerField(label=_("On-site trips"), min_value=0, max_value=10)
    fee = forms.CharField(
        label=_("Fee"), max_length=200, required=False, help_text=_("Leave empty when it is free of charge.")
    )
    fee_en = forms.CharField(label=_("Fee (English)"), max_length=200, required=False)
    stage = forms.ChoiceField(label=_("Maturity stage"), choices=Stage.choices)
    case_type = forms.ChoiceField(label=_("Case type"), choices=CaseType.choices)
    auto_accept = forms.BooleanField(label=_("Accept automatically when complete"), required=False)
    process_key = forms.CharField(label=_("Back-office process"), max_length=80, required=False)
    materials = _json_field(
        _("Materials (JSON)"),
        _('A list of {"code", "name", "name_en", "required", "shared_resource"} objects.'),
    )
    form_schema = _json_field(
        _("Form (JSON Schema 2020-12)"),
        _(
            "An object schema; titles in Chinese with x-title-en. "
            "Leave empty on a bundle to merge its items' forms."
        ),
    )
    item_codes = forms.CharField(
        label=_("Component items"),
        required=False,
        help_text=_("Bundles only: the codes of the published items it combines, separated by commas."),
    )

    def __init__(self, *args: Any, is_bundle: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_bundle = is_bundle
        if not is_bundle:
            del self.fields["item_codes"]

    def _json(self, name: str, expected: type) -> Any:
        text = self.cleaned_data.get(name) or ""
        if not text.strip():
            return expected()
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValidationError(
                in_language(
                    f"不是有效的 JSON（第 {error.lineno} 行第 {error.colno} 列：{error.msg}）。",
                    f"This is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}).",
                )
            ) from None
        if not isinstance(value, expected):
            raise ValidationError(
                in_language("应为 JSON 列表。", "It must be a JSON list.")
                if expected is list
                else in_language("应为 JSON 对象。", "It must be a JSON object.")
            )
        return value

    def clean_materials(self) -> list[Any]:
        return list(self._json("materials", list))

    def clean_form_schema(self) -> dict[str, Any]:
        from onewindow.forms.validation import check_schema

        schema: dict[str, Any] = self._json("form_schema", dict)
        if not schema and self.is_bundle:
            return schema
        problems = check_schema(schema)
        if problems:
            raise ValidationError(
                [
                    f"{problem.field or '(form)'}: {in_language(problem.message_zh, problem.message_en)}"
                    for problem in problems
                ]
            )
        return schema

    def clean_item_codes(self) -> list[str]:
        text = self.cleaned_data.get("item_codes") or ""
        return [code.strip().upper() for code in text.replace("，", ",").split(",") if code.strip()]


def version_initial(version: Any, component_codes: list[str]) -> dict[str, Any]:
    names = [
        name for name in VersionForm.base_fields if name not in {"materials", "form_schema", "item_codes"}
    ]
    initial = {name: getattr(version, name) for name in names}
    initial["materials"] = json.dumps(version.materials, ensure_ascii=False, indent=2)
    initial["form_schema"] = (
        json.dumps(version.form_schema, ensure_ascii=False, indent=2)
        if version.form_schema and not version.form_schema_merged
        else ""
    )
    initial["item_codes"] = ", ".join(component_codes)
    return initial
