"""Forms of the seal pages: they parse input; the rules live in the actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from onewindow.accounts.models import User
from onewindow.core.errors import RuleViolation
from onewindow.seals.models import RevocationReason

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


class SealForm(forms.Form):
    """GOV.UK Frontend classes on the widgets; fields in error marked for assistive technology."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            for widget_type, css_class in _CLASSES.items():
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
            if base in _ERROR_CLASSES and _ERROR_CLASSES[base] not in str(attrs["class"]):
                attrs["class"] = f"{attrs['class']} {_ERROR_CLASSES[base]}"
            attrs["aria-describedby"] = f"{self[name].auto_id}-error"


class RevokeForm(SealForm):
    reason_code = forms.ChoiceField(label=_("Reason code"), choices=RevocationReason.choices)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Published on the list of revoked seals."),
    )


class HolderForm(SealForm):
    username = forms.ChoiceField(label=_("Staff member"), choices=())

    def __init__(self, *args: Any, candidates: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].choices = [  # type: ignore[attr-defined]
            (user.username, f"{user.display_name} ({user.username})") for user in candidates
        ]


class ImageForm(SealForm):
    image = forms.FileField(
        label=_("Seal image (PNG)"),
        help_text=_("A square PNG with a transparent background, 100 to 4,000 pixels a side, at most 1 MB."),
    )
