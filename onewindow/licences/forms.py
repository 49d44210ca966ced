"""Forms of the licence pages: they parse input; the rules live in the actions and selectors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from onewindow.core.errors import RuleViolation
from onewindow.licences.models import RevocationReason
from onewindow.licences.selectors import NUMBER_MAX_LENGTH

#: Largest file the verification form and API accept (a licence PDF is about 200 KB).
UPLOAD_MAX_BYTES = 10 * 1024 * 1024

_CLASSES = {
    forms.TextInput: "govuk-input",
    forms.Select: "govuk-select",
    forms.Textarea: "govuk-textarea",
    forms.ClearableFileInput: "govuk-file-upload",
}
_ERROR_CLASSES = {
    "govuk-input": "govuk-input--error",
    "govuk-select": "govuk-select--error",
    "govuk-textarea": "govuk-textarea--error",
    "govuk-file-upload": "govuk-file-upload--error",
}


class LicenceForm(forms.Form):
    """GOV.UK Frontend classes on the widgets; fields in error marked for assistive technology."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            for widget_type, css_class in _CLASSES.items():
                if isinstance(field.widget, widget_type):
                    field.widget.attrs.setdefault("class", css_class)

    def add_violation(self, error: RuleViolation) -> None:
        """Show a refusal next to its field (or at the top when it concerns the whole form)."""
        self.add_error(error.field if error.field in self.fields else None, error)

    def mark_errors(self) -> None:
        for name, field in self.fields.items():
            if name not in self.errors:
                continue
            attrs = field.widget.attrs
            base = str(attrs.get("class", "")).split(" ")[0]
            if base in _ERROR_CLASSES and _ERROR_CLASSES[base] not in str(attrs["class"]):
                attrs["class"] = f"{attrs['class']} {_ERROR_CLASSES[base]}"
            attrs["aria-describedby"] = f"{self[name].auto_id}-error"


class VerifyNumberForm(LicenceForm):
    number = forms.CharField(
        label=_("Licence number"),
        max_length=NUMBER_MAX_LENGTH,
        help_text=_("As printed on the licence, for example AMR-2026-000123."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class VerifyFileForm(LicenceForm):
    file = forms.FileField(
        label=_("Licence file"),
        help_text=_("The licence PDF or its signed JSON file, at most 10 MB. It is checked and not kept."),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.json,application/pdf,application/json"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than 10 MB: it is not a licence."), code="file_too_large"
            )
        return upload


class RevokeForm(LicenceForm):
    reason_code = forms.ChoiceField(label=_("Reason code"), choices=RevocationReason.choices)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded in the audit trail; verification shows the reason code and the date."),
    )
