"""Forms of the organisation pages: they parse input; the rules live in the actions.

Identifier fields use the shared validators so that every field's problem is shown at once, next to the
field, in the active language; the actions check everything again.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onewindow.accounts.roles import Role
from onewindow.core.validators import division_code_validator, government_credit_code_validator
from onewindow.organisations.errors import RuleViolation
from onewindow.organisations.models import Department, ServicePointKind

WIDGET_CLASSES = {
    forms.TextInput: "govuk-input",
    forms.DateInput: "govuk-input govuk-input--width-10",
    forms.Select: "govuk-select",
    forms.Textarea: "govuk-textarea",
    forms.CheckboxInput: "govuk-checkboxes__input",
}
ERROR_CLASSES = {"govuk-input": "govuk-input--error", "govuk-select": "govuk-select--error"}


class GovukForm(forms.Form):
    """Gives widgets the GOV.UK Frontend classes and marks fields in error for assistive technology."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            for widget_type, css_class in WIDGET_CLASSES.items():
                if isinstance(field.widget, widget_type):
                    field.widget.attrs.setdefault("class", css_class)

    def add_violation(self, error: RuleViolation) -> None:
        """Show an action's refusal next to its field (or at the top when it concerns the whole form)."""
        self.add_error(error.field if error.field in self.fields else None, error)

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


def _code_input(width: int) -> forms.TextInput:
    return forms.TextInput(
        attrs={
            "class": f"govuk-input govuk-input--width-{width}",
            "spellcheck": "false",
            "autocomplete": "off",
        }
    )


class DepartmentForm(GovukForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        help_text=_("Short and permanent, for example PSB. Capital letters, digits, hyphens."),
        widget=_code_input(10),
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=30,
        help_text=_("18 characters; a government agency's code starts with 11."),
        validators=[government_credit_code_validator],
        widget=_code_input(20),
    )
    division_code = forms.CharField(
        label=_("Administrative division code"),
        max_length=20,
        help_text=_("6 digits (GB/T 2260), for example 350100."),
        validators=[division_code_validator],
        widget=_code_input(20),
    )
    parent_code = forms.ChoiceField(label=_("Parent department"), required=False)

    def __init__(
        self, *args: Any, parents: Iterable[Department] = (), editing: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["parent_code"]).choices = [
            ("", _("None")),
            *((d.code, f"{d.code} {d.name}") for d in parents),
        ]
        if editing:
            # The code is permanent: shown, never submitted.
            self.fields["code"].disabled = True
            self.fields["is_active"] = forms.BooleanField(label=_("Active"), required=False)
            self.fields["is_active"].widget.attrs["class"] = "govuk-checkboxes__input"


class ServicePointForm(GovukForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=30,
        help_text=_("Permanent, for example SP-350100-HALL. Capital letters, digits, hyphens."),
        widget=_code_input(20),
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=ServicePointKind.choices)
    division_code = forms.CharField(
        label=_("Administrative division code"),
        max_length=20,
        help_text=_("6 or 12 digits. Village and community points belong to a township or village."),
        validators=[division_code_validator],
        widget=_code_input(20),
    )
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    opening_hours = forms.CharField(label=_("Opening hours"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False, widget=_code_input(20))

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["code"].disabled = True
            self.fields["is_active"] = forms.BooleanField(label=_("Open"), required=False)
            self.fields["is_active"].widget.attrs["class"] = "govuk-checkboxes__input"


class DivisionForm(GovukForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        help_text=_(
            "12 digits: the county's 6 digits, 3 for the township, 3 for the village (000 for a township)."
        ),
        validators=[division_code_validator],
        widget=_code_input(20),
    )
    name = forms.CharField(label=_("Name"), max_length=100)


class MembershipGrantForm(GovukForm):
    username = forms.CharField(
        label=_("Username of the staff account"), max_length=150, widget=_code_input(20)
    )
    role = forms.ChoiceField(label=_("Role"))
    valid_from = forms.DateField(
        label=_("Valid from (optional)"),
        required=False,
        input_formats=["%Y-%m-%d"],
        help_text=_("For example 2026-12-01."),
        widget=forms.DateInput(attrs={"class": "govuk-input govuk-input--width-10", "inputmode": "numeric"}),
    )
    valid_until = forms.DateField(
        label=_("Valid until, inclusive (optional)"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"class": "govuk-input govuk-input--width-10", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, roles: Iterable[Role] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role"]).choices = [(role.value, role.label) for role in roles]

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        valid_from, valid_until = self.cleaned_data.get("valid_from"), self.cleaned_data.get("valid_until")
        if valid_from and valid_until and valid_until < valid_from:
            raise ValidationError(
                _("The end date must not be before the start date."), code="membership_dates_order"
            )
        return cleaned

    def validity(self) -> tuple[datetime.datetime | None, datetime.datetime | None]:
        """The dates as aware datetimes: from the first day's start to the end of the last (exclusive)."""
        valid_from: datetime.date | None = self.cleaned_data.get("valid_from")
        valid_until: datetime.date | None = self.cleaned_data.get("valid_until")
        zone = timezone.get_current_timezone()
        return (
            datetime.datetime.combine(valid_from, datetime.time.min, tzinfo=zone) if valid_from else None,
            datetime.datetime.combine(
                valid_until + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
            )
            if valid_until
            else None,
        )
