"""Forms of the calendar pages: input parsing only, the rules live in importing.py and calendar.py."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from onewindow.workcalendar.importing import MAX_FILE_BYTES, MAX_YEAR, MIN_YEAR

MAX_COMPUTE_DAYS = 1000


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Schedule file (CSV or JSON, UTF-8)"),
        widget=forms.ClearableFileInput(attrs={"class": "govuk-file-upload", "accept": ".csv,.json"}),
    )
    year = forms.IntegerField(
        label=_("Year (optional: taken from the file)"),
        required=False,
        min_value=MIN_YEAR,
        max_value=MAX_YEAR,
        widget=forms.NumberInput(attrs={"class": "govuk-input govuk-input--width-4"}),
    )
    note = forms.CharField(
        label=_("Note (for example the State Council notice)"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"class": "govuk-input"}),
    )

    def clean_file(self) -> forms.Field:
        uploaded = self.cleaned_data["file"]
        if uploaded.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s KB.") % {"size": MAX_FILE_BYTES // 1024}
            )
        return uploaded  # type: ignore[no-any-return]


class ImportConfirmForm(forms.Form):
    """The previewed file carried back (base64) so that it is checked again on confirmation."""

    payload = forms.CharField(widget=forms.HiddenInput, max_length=MAX_FILE_BYTES * 2)
    filename = forms.CharField(widget=forms.HiddenInput, required=False, max_length=255)
    year = forms.IntegerField(
        widget=forms.HiddenInput, required=False, min_value=MIN_YEAR, max_value=MAX_YEAR
    )
    note = forms.CharField(widget=forms.HiddenInput, required=False, max_length=500)


class ComputeForm(forms.Form):
    start = forms.DateField(
        label=_("Start date (not counted), YYYY-MM-DD"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"class": "govuk-input govuk-input--width-10", "type": "date"}),
    )
    days = forms.IntegerField(
        label=_("Working days"),
        min_value=0,
        max_value=MAX_COMPUTE_DAYS,
        widget=forms.NumberInput(attrs={"class": "govuk-input govuk-input--width-4"}),
    )
