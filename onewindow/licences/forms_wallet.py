"""The wallet's share form: it parses input; the rules live in ``wallet.licence_share_create``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from onewindow.licences.forms import LicenceForm
from onewindow.licences.wallet import SHARE_NOTE_MAX_LENGTH

HOURS_CHOICES = [
    ("1", _("1 hour")),
    ("24", _("1 day")),
    ("168", _("7 days")),
    ("720", _("30 days")),
]


class ShareForm(LicenceForm):
    hours = forms.TypedChoiceField(
        label=_("How long the link works"), choices=HOURS_CHOICES, coerce=int, initial="24"
    )
    note = forms.CharField(
        label=_("Who it is for (optional)"),
        required=False,
        max_length=SHARE_NOTE_MAX_LENGTH,
        help_text=_("Only you see this note, for example “bank account opening”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
