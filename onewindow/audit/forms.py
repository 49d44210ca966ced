"""The auditor's search form (also parses the export's query string)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from onewindow.audit.models import Outcome
from onewindow.audit.selectors import AuditFilters


class AuditSearchForm(forms.Form):
    actor = forms.CharField(label=_("Actor username"), max_length=150, required=False)
    action = forms.CharField(
        label=_("Action"), max_length=100, required=False, help_text=_("A prefix, for example login.")
    )
    object_type = forms.CharField(label=_("Object type"), max_length=100, required=False)
    object_id = forms.CharField(label=_("Object ID"), max_length=100, required=False)
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("", _("Any")), *Outcome.choices], required=False
    )
    date_from = forms.DateField(
        label=_("From date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    request_id = forms.CharField(label=_("Request ID"), max_length=64, required=False)
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for field in self.fields.values():
            if isinstance(field.widget, forms.HiddenInput):
                continue
            css = (
                "govuk-select"
                if isinstance(field.widget, forms.Select)
                else "govuk-input govuk-input--width-20"
            )
            field.widget.attrs.setdefault("class", css)

    def clean(self) -> dict[str, object] | None:
        cleaned = super().clean()
        if (
            cleaned
            and cleaned.get("date_from")
            and cleaned.get("date_to")
            and cleaned["date_from"] > cleaned["date_to"]
        ):
            self.add_error("date_to", _("The end date must not be before the start date."))
        return cleaned

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            actor=data["actor"].strip(),
            action=data["action"].strip(),
            object_type=data["object_type"].strip(),
            object_id=data["object_id"].strip(),
            outcome=data["outcome"],
            date_from=data["date_from"],
            date_to=data["date_to"],
            request_id=data["request_id"].strip(),
        )
