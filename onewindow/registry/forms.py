"""Forms of the registry pages: they parse input; the rules live in the actions.

Text fields are optional here when the action refuses an empty value with its own bilingual message, so
that one submission lists every problem the action finds; dates are parsed here because the actions take
dates. An action's refusal is shown next to the field it names (``add_refusal``), or at the top when it
concerns the whole form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import Promise
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.core.validators import Gender
from onewindow.registry.ethnicity import ETHNICITIES
from onewindow.registry.models import Relation
from onewindow.registry.models_entities import EntityType

# Most specific first: a DateInput is a TextInput too.
WIDGET_CLASSES = {
    forms.DateInput: "govuk-input govuk-input--width-10",
    forms.TextInput: "govuk-input",
    forms.Select: "govuk-select",
    forms.Textarea: "govuk-textarea",
    forms.CheckboxInput: "govuk-checkboxes__input",
    forms.RadioSelect: "govuk-radios__input",
}
ERROR_CLASSES = {"govuk-input": "govuk-input--error", "govuk-select": "govuk-select--error"}
ID_NUMBER_MAX_LENGTH = 18
# With a context: "Male", "Female" and a person's "Name" (姓名, not 名称) mean something else elsewhere.
GENDER_LABELS: dict[str, Promise] = {
    Gender.MALE: pgettext_lazy("gender", "Male"),
    Gender.FEMALE: pgettext_lazy("gender", "Female"),
}
PERSON_NAME_LABEL = pgettext_lazy("person", "Name")
CASE_MAX_LENGTH = 24
PURPOSE_MAX_LENGTH = 100


def in_language(message_zh: str, message_en: str) -> str:
    return message_en if (get_language() or "").startswith("en") else message_zh


def is_english() -> bool:
    return (get_language() or "").startswith("en")


def ethnicity_choices() -> list[tuple[str, str]]:
    """Code and name in the active language (the register stores the code)."""
    return [(e.code, f"{e.code} {e.name_en if is_english() else e.name_zh}") for e in ETHNICITIES]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


def _code_input(width: int, *, numeric: bool = False) -> forms.TextInput:
    attrs = {
        "class": f"govuk-input govuk-input--width-{width}",
        "spellcheck": "false",
        "autocomplete": "off",
        "autocapitalize": "characters",
    }
    if numeric:
        attrs["inputmode"] = "numeric"
    return forms.TextInput(attrs=attrs)


def _case_field() -> forms.CharField:
    return forms.CharField(
        label=_("Case tracking number (optional)"),
        help_text=_("The case this change is made for, for example ZW2026000123."),
        required=False,
        max_length=CASE_MAX_LENGTH,
        widget=_code_input(20),
    )


def _division_field(label: Any, *, required: bool = False, help_text: Any = None) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text
        or _("The 6-digit division code (GB/T 2260), for example 350102 for 鼓楼区, Fuzhou."),
        required=required,
        max_length=12,
        widget=_code_input(10, numeric=True),
    )


def _select(label: Any, choices: Any, *, required: bool = True, blank: Any = None) -> forms.ChoiceField:
    options = [("", blank or _("Choose one")), *choices]
    return forms.ChoiceField(label=label, choices=options, required=required)


class RegistryForm(forms.Form):
    """GOV.UK Frontend classes on every widget, errors announced with their field, and action refusals
    placed next to the field they name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            for widget_type, css_class in WIDGET_CLASSES.items():
                if isinstance(field.widget, widget_type):
                    field.widget.attrs.setdefault("class", css_class)
                    break

    def _field_for(self, action_field: str) -> str | None:
        """This form's field for an action's (dotted) field: ``corrections.name`` is ``name``."""
        head, _dot, rest = action_field.partition(".")
        name = rest if head == "corrections" and rest else head
        return name if name in self.fields else None

    def add_refusal(self, refused: RuleViolation | FieldErrors) -> None:
        """Show an action's refusal next to its field (or at the top when it concerns the whole form)."""
        errors: list[FieldError]
        if isinstance(refused, RuleViolation):
            errors = [
                FieldError(
                    refused.field or "", str(refused.code or ""), refused.message_zh, refused.message_en
                )
            ]
        else:
            errors = list(refused.errors)
        for error in errors:
            self.add_error(self._field_for(error.field), in_language(error.message_zh, error.message_en))

    def mark_errors(self) -> None:
        for name, field in self.fields.items():
            if name not in self.errors:
                continue
            attrs = field.widget.attrs
            base = str(attrs.get("class", "")).split(" ")[0]
            if base in ERROR_CLASSES and ERROR_CLASSES[base] not in str(attrs["class"]):
                attrs["class"] = f"{attrs['class']} {ERROR_CLASSES[base]}"
            # Django points aria-describedby at the hint; the error message must be announced too.
            auto_id = self[name].auto_id
            hint = f"{auto_id}_helptext " if field.help_text else ""
            attrs["aria-describedby"] = f"{hint}{auto_id}-error"
            attrs["aria-invalid"] = "true"

    def text(self, name: str) -> str:
        value = self.cleaned_data.get(name)
        return str(value) if value is not None else ""


# --- Population register ----------------------------------------------------------------------------------


class PersonLookupForm(RegistryForm):
    id_number = forms.CharField(
        label=_("ID number"),
        help_text=_("18 characters; the last may be X."),
        max_length=40,
        widget=_code_input(20),
    )
    purpose = forms.CharField(
        label=_("Purpose: case tracking number (optional)"),
        help_text=_("Needed for a full view: a case your department is working on now."),
        required=False,
        max_length=PURPOSE_MAX_LENGTH,
        widget=_code_input(20),
    )
    full = forms.BooleanField(label=_("Show the full record (audited)"), required=False)


class FullViewForm(RegistryForm):
    purpose = forms.CharField(
        label=_("Purpose: case tracking number"),
        help_text=_("A case your department is working on now. The view is audited with it."),
        required=False,
        max_length=PURPOSE_MAX_LENGTH,
        widget=_code_input(20),
    )


class BirthForm(RegistryForm):
    id_number = forms.CharField(
        label=_("ID number"),
        help_text=_("The new citizen's number: its birth date and gender must match the ones below."),
        required=False,
        max_length=40,
        widget=_code_input(20),
    )
    name = forms.CharField(label=PERSON_NAME_LABEL, required=False, max_length=100)
    gender = forms.ChoiceField(
        label=_("Gender"), choices=list(GENDER_LABELS.items()), required=False, widget=forms.RadioSelect
    )
    ethnicity = _select(_("Ethnic group"), [], required=False)
    birth_date = forms.DateField(
        label=_("Birth date"), widget=DateInput(), help_text=_("For example, 2026-03-14")
    )
    birthplace_code = _division_field(_("Birthplace division code"))
    household_no = forms.CharField(
        label=_("Household number"),
        help_text=_("An existing household, or a new number to open a household."),
        required=False,
        max_length=40,
        widget=_code_input(20),
    )
    relation_to_head = _select(_("Relation to the head of household"), Relation.choices, required=False)
    division_code = _division_field(
        _("Division of a new household"),
        help_text=_("Only for a new household: its 6-digit division code, for example 350102."),
    )
    address = forms.CharField(
        label=_("Address of a new household"),
        help_text=_("Only for a new household. Leave empty for an existing one."),
        required=False,
        max_length=400,
    )
    case_tracking_no = _case_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ethnicity"].choices = [("", _("Choose one")), *ethnicity_choices()]  # type: ignore[attr-defined]


class TransferForm(RegistryForm):
    household_no = forms.CharField(
        label=_("Household moved into"),
        help_text=_("An existing household number, or a new number to open a household."),
        required=False,
        max_length=40,
        widget=_code_input(20),
    )
    relation_to_head = _select(_("Relation to the head of that household"), Relation.choices, required=False)
    division_code = _division_field(
        _("Division"),
        help_text=_(
            "For a new household: its 6-digit division code. For an existing one it may be left empty."
        ),
    )
    address = forms.CharField(
        label=_("Address of a new household"),
        help_text=_("Only for a new household. Leave empty for an existing one."),
        required=False,
        max_length=400,
    )
    effective_on = forms.DateField(
        label=_("Date of the move (optional)"),
        help_text=_("Today if left empty."),
        required=False,
        widget=DateInput(),
    )
    case_tracking_no = _case_field()


class DeathForm(RegistryForm):
    died_on = forms.DateField(
        label=_("Date of death"), widget=DateInput(), help_text=_("For example, 2026-03-14")
    )
    case_tracking_no = _case_field()


class RenameForm(RegistryForm):
    new_name = forms.CharField(label=_("New name"), required=False, max_length=100)
    effective_on = forms.DateField(
        label=_("Date of the change (optional)"),
        help_text=_("Today if left empty."),
        required=False,
        widget=DateInput(),
    )
    case_tracking_no = _case_field()


class CorrectForm(RegistryForm):
    """Only the fields filled in are corrected; gender and birth date follow the ID number."""

    name = forms.CharField(label=_("Correct name"), required=False, max_length=100)
    ethnicity = _select(_("Correct ethnic group"), [], required=False, blank=_("No change"))
    birthplace_code = _division_field(
        _("Correct birthplace division code"),
        help_text=_("6-digit division code; leave empty for no change."),
    )
    relation_to_head = _select(
        _("Correct relation to the head of household"), Relation.choices, required=False, blank=_("No change")
    )
    reason = forms.CharField(
        label=_("Reason for the correction"),
        help_text=_("What was wrong, and the document that shows the right value."),
        required=False,
        max_length=600,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    case_tracking_no = _case_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ethnicity"].choices = [("", _("No change")), *ethnicity_choices()]  # type: ignore[attr-defined]

    def corrections(self) -> dict[str, str]:
        return {
            name: self.text(name).strip()
            for name in ("name", "ethnicity", "birthplace_code", "relation_to_head")
            if self.text(name).strip()
        }


# --- Legal-entity register --------------------------------------------------------------------------------


class EntityLookupForm(RegistryForm):
    """The public lookup (the code is checked by the read)."""

    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        help_text=_("18 characters, for example 91350100M000100Y43."),
        max_length=40,
        widget=_code_input(20),
    )


class EntityRegisterForm(RegistryForm):
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        help_text=_("The code assigned to the new entity (GB 32100)."),
        required=False,
        max_length=40,
        widget=_code_input(20),
    )
    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    type = _select(_("Type"), EntityType.choices, required=False)
    division_code = _division_field(_("Division code"))
    address = forms.CharField(label=_("Address (optional)"), required=False, max_length=400)
    registered_capital = forms.CharField(
        label=_("Registered capital in 10,000 yuan (optional)"),
        help_text=_("For example, 100 for 1,000,000 yuan."),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"class": "govuk-input govuk-input--width-10", "inputmode": "decimal"}),
    )
    legal_rep_id_number = forms.CharField(
        label=_("Legal representative's ID number (optional)"),
        help_text=_("Kept only as a keyed hash, never in clear."),
        required=False,
        max_length=40,
        widget=_code_input(20),
    )
    business_scope = forms.CharField(
        label=_("Business scope (optional)"),
        required=False,
        max_length=4100,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    established_on = forms.DateField(
        label=_("Establishment date (optional)"),
        help_text=_("Today if left empty."),
        required=False,
        widget=DateInput(),
    )
    case_tracking_no = _case_field()


class EntityChangeForm(RegistryForm):
    """Prefilled with the current registration; only what differs is changed."""

    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    address = forms.CharField(label=_("Address"), required=False, max_length=400)
    registered_capital = forms.CharField(
        label=_("Registered capital in 10,000 yuan"),
        help_text=_("Leave empty to keep the current capital."),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"class": "govuk-input govuk-input--width-10", "inputmode": "decimal"}),
    )
    business_scope = forms.CharField(
        label=_("Business scope"), required=False, max_length=4100, widget=forms.Textarea(attrs={"rows": 4})
    )
    legal_rep_id_number = forms.CharField(
        label=_("New legal representative's ID number"),
        help_text=_("Leave empty to keep the current representative."),
        required=False,
        max_length=40,
        widget=_code_input(20),
    )
    case_tracking_no = _case_field()


class EntityCancelForm(RegistryForm):
    reason = forms.CharField(
        label=_("Reason for the cancellation"),
        required=False,
        max_length=600,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    case_tracking_no = _case_field()
