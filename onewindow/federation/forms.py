"""Forms of the federation's admin pages (/federation/admin/…): they parse input; the rules live in the
actions, whose refusals (``RuleViolation``, ``FieldErrors``) are shown next to the field they concern."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from onewindow.core.errors import FieldError, RuleViolation
from onewindow.core.validators import bilingual
from onewindow.exchange.models import Service
from onewindow.federation.actions import ALGORITHMS, DIRECTIONS
from onewindow.federation.models import EventTransport, Peer

_CLASSES: dict[type[forms.Widget], str] = {
    forms.TextInput: "govuk-input",
    forms.URLInput: "govuk-input",
    forms.DateInput: "govuk-input govuk-input--width-10",
    forms.Select: "govuk-select",
    forms.Textarea: "govuk-textarea",
    forms.CheckboxSelectMultiple: "govuk-checkboxes__input",
}
_ERROR_CLASSES = {
    "govuk-input": "govuk-input--error",
    "govuk-select": "govuk-select--error",
    "govuk-textarea": "govuk-textarea--error",
}
_SEPARATORS = re.compile(r"[\r\n,，、;；]+")

DIRECTION_LABELS = {
    "requests_out": _("Requests out: this node's consumers may call the peer's services"),
    "requests_in": _("Requests in: the peer's consumers may call this node's services (each needs a grant)"),
    "events_out": _("Events out: this node sends the peer its events of the export topics"),
    "events_in": _("Events in: this node takes the peer's events of the import topics into its outbox"),
}


def split_list(value: str) -> list[str]:
    """Names separated by commas (also Chinese ，、), semicolons or new lines."""
    return [part.strip() for part in _SEPARATORS.split(value or "") if part.strip()]


class FederationForm(forms.Form):
    """GOV.UK Frontend classes on the widgets; fields in error marked for assistive technology."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css_class = _CLASSES.get(type(field.widget))
            if css_class:
                field.widget.attrs.setdefault("class", css_class)

    def add_violation(self, error: RuleViolation) -> None:
        """Show an action's refusal next to its field (or at the top when it concerns the whole form)."""
        self.add_error(error.field if error.field in self.fields else None, error)

    def add_field_errors(self, errors: Sequence[FieldError]) -> None:
        """Show each of an action's ``FieldErrors`` next to its field (unknown fields at the top)."""
        for error in errors:
            field = error.field if error.field in self.fields else None
            self.add_error(
                field, ValidationError(bilingual(error.message_zh, error.message_en), code=error.code)
            )

    def mark_errors(self) -> None:
        for name, field in self.fields.items():
            if name not in self.errors:
                continue
            attrs = field.widget.attrs
            base = str(attrs.get("class", "")).split(" ")[0]
            if base in _ERROR_CLASSES and _ERROR_CLASSES[base] not in str(attrs["class"]):
                attrs["class"] = f"{attrs['class']} {_ERROR_CLASSES[base]}"
            if not isinstance(field.widget, forms.CheckboxSelectMultiple):
                attrs["aria-describedby"] = f"{self[name].auto_id}-error"


class NodeKeyIssueForm(FederationForm):
    algorithm = forms.ChoiceField(
        label=_("Signature algorithm"), choices=[(name, name) for name in ALGORITHMS], initial=ALGORITHMS[0]
    )


class ReasonForm(FederationForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded in the audit trail."),
        error_messages={"required": _("Enter the reason for revoking.")},
    )


class ReplayForm(FederationForm):
    event_ids = forms.CharField(
        label=_("Event ids (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "One per line or separated by commas. Leave empty to send every acknowledged event again."
        ),
    )

    def event_id_list(self) -> list[str] | None:
        ids = split_list(self.cleaned_data.get("event_ids", ""))
        return ids or None


class PeerRegisterForm(FederationForm):
    """The parameters of ``peer_register``; an empty root certificate is fetched from the peer's address."""

    instance = forms.CharField(
        label=_("Instance id"),
        max_length=40,
        help_text=_("Two letters and up to three parts separated by -, e.g. CN-3501."),
        error_messages={"required": _("Enter the peer's instance id.")},
    )
    name = forms.CharField(label=pgettext_lazy("federation", "Name"), max_length=200, required=False)
    base_url = forms.CharField(
        label=_("Base URL"),
        max_length=500,
        help_text=_("The peer's address, e.g. https://zwfw.fuzhou.example"),
        error_messages={"required": _("Enter the peer's base URL.")},
    )
    fingerprint = forms.CharField(
        label=_("Root fingerprint (SHA-256 or SM3)"),
        max_length=120,
        help_text=_(
            "Exchanged out of band with the peer's administrators (a letter, a phone call), never taken from "
            "the peer's own answer. Hex, with or without colons and a sha256: or SM3= prefix."
        ),
        error_messages={"required": _("Enter the fingerprint of the peer's root certificate.")},
    )
    root_certificate = forms.CharField(
        label=_("Root certificate (PEM, optional)"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text=_(
            "Leave empty to fetch it from the peer's public node identity; either way it is accepted only if "
            "its fingerprint is the one above."
        ),
    )
    directions = forms.MultipleChoiceField(
        label=_("Directions allowed"),
        choices=[(name, DIRECTION_LABELS[name]) for name in DIRECTIONS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one direction.")},
    )
    export_topics = forms.CharField(
        label=_("Export topics"),
        required=False,
        max_length=1000,
        help_text=_(
            "With events out: topics or families sent to the peer, comma-separated "
            "(entity.registered, entity.*)."
        ),
    )
    import_topics = forms.CharField(
        label=_("Import topics"),
        required=False,
        max_length=1000,
        help_text=_("With events in: topics or families taken from the peer, comma-separated."),
    )
    events_transport = forms.ChoiceField(
        label=_("Event transport"),
        required=False,
        choices=[("", _("Default (NATS when configured, else HTTPS)")), *EventTransport.choices],
    )


class PeerGrantForm(FederationForm):
    """The parameters of ``peer_grant_create``: peer × consumer × service × items × end date."""

    peer = forms.ChoiceField(
        label=_("Peer"),
        help_text=_("Active peers allowed requests in."),
        error_messages={"required": _("Choose the peer whose consumer is granted.")},
    )
    consumer = forms.CharField(
        label=_("Consumer (member or subsystem of the peer)"),
        max_length=200,
        help_text=_("CN/GOV/{credit code} (all its subsystems) or CN/GOV/{credit code}/{system code}."),
        error_messages={"required": _("Enter the consumer.")},
    )
    service = forms.ChoiceField(
        label=_("Service of this node"), error_messages={"required": _("Choose the service.")}
    )
    items = forms.CharField(
        label=_("Data items"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Names of shareable data items of the service's catalog resource, one per line or separated by "
            "commas."
        ),
        error_messages={"required": _("Enter at least one data item.")},
    )
    until = forms.DateField(
        label=_("Valid until (the day itself counts)"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("YYYY-MM-DD"),
        error_messages={"required": _("Enter the end date."), "invalid": _("Enter a date as YYYY-MM-DD.")},
    )

    def __init__(
        self, *args: Any, peers: Sequence[Peer], services: Sequence[tuple[str, Service]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["peer"].choices = [  # type: ignore[attr-defined]
            ("", _("Choose a peer")),
            *((peer.instance, f"{peer.name} ({peer.instance})") for peer in peers),
        ]
        self.fields["service"].choices = [  # type: ignore[attr-defined]
            ("", pgettext_lazy("federation", "Choose a service")),
            *((service_id, f"{service.name} — {service_id}") for service_id, service in services),
        ]
        self.fields["until"].initial = timezone.localdate().replace(month=12, day=31)

    def item_list(self) -> list[str]:
        return split_list(self.cleaned_data.get("items", ""))
