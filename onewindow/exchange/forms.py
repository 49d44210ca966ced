"""Forms of the exchange's admin pages: they parse input; the rules live in the actions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from onewindow.catalog.models import InformationSystem, Resource
from onewindow.core.errors import RuleViolation
from onewindow.exchange.models import KeyAlgorithm, ServiceKind

_CLASSES: dict[type[forms.Widget], str] = {
    forms.TextInput: "govuk-input",
    forms.URLInput: "govuk-input",
    forms.NumberInput: "govuk-input govuk-input--width-4",
    forms.Select: "govuk-select",
    forms.Textarea: "govuk-textarea",
}
_ERROR_CLASSES = {
    "govuk-input": "govuk-input--error",
    "govuk-select": "govuk-select--error",
    "govuk-textarea": "govuk-textarea--error",
}


class AdminForm(forms.Form):
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

    def mark_errors(self) -> None:
        for name, field in self.fields.items():
            if name not in self.errors:
                continue
            attrs = field.widget.attrs
            base = str(attrs.get("class", "")).split(" ")[0]
            if base in _ERROR_CLASSES and _ERROR_CLASSES[base] not in str(attrs["class"]):
                attrs["class"] = f"{attrs['class']} {_ERROR_CLASSES[base]}"
            attrs["aria-describedby"] = f"{self[name].auto_id}-error"


class ServiceForm(AdminForm):
    """Register a service of a subsystem the user manages, or change one (provider and code then fixed)."""

    provider = forms.ChoiceField(
        label=_("Provider subsystem"),
        error_messages={"required": _("Choose the subsystem that provides the service.")},
    )
    code = forms.CharField(
        label=_("Service code"),
        max_length=60,
        help_text=_("Letters, digits and - _ . only; the last part of the service id."),
        error_messages={"required": _("Enter the service code.")},
    )
    name = forms.CharField(
        label=_("Name (Chinese)"), max_length=200, error_messages={"required": _("Enter the name.")}
    )
    name_en = forms.CharField(label=_("Name (English)"), max_length=200, required=False)
    resource_code = forms.ChoiceField(
        label=_("Catalog resource"),
        help_text=_("The resource of the provider's department whose sharing grants the exchange enforces."),
        error_messages={"required": _("Choose the catalog resource.")},
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=ServiceKind.choices)
    builtin = forms.ChoiceField(
        label=_("Built-in provider"), required=False, help_text=_("For built-in services only.")
    )
    endpoint_url = forms.URLField(
        label=_("Provider URL"),
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text=_("For external HTTP services only: the URL the exchange calls."),
    )
    timeout_seconds = forms.FloatField(label=_("Timeout (seconds)"), min_value=0.1, max_value=60, initial=5.0)
    retries = forms.IntegerField(label=_("Retries"), min_value=0, max_value=5, initial=2)

    def __init__(
        self,
        *args: Any,
        systems: Sequence[InformationSystem],
        resources: Sequence[Resource],
        builtins: Sequence[str],
        fixed: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._system_departments = {system.code: system.department.code for system in systems}
        self._resource_departments = {resource.code: resource.provider.code for resource in resources}
        self.fields["provider"].choices = [  # type: ignore[attr-defined]
            ("", _("Choose a subsystem")),
            *((system.code, f"{system.name} ({system.code})") for system in systems),
        ]
        self.fields["resource_code"].choices = [  # type: ignore[attr-defined]
            ("", _("Choose a resource")),
            *(
                (
                    resource.code,
                    f"{resource.code} {resource.current_version.name if resource.current_version else ''}"
                    f" ({resource.provider.code})",
                )
                for resource in resources
            ),
        ]
        self.fields["builtin"].choices = [  # type: ignore[attr-defined]
            ("", _("None")),
            *((name, name) for name in builtins),
        ]
        if fixed:
            for name in ("provider", "code"):
                self.fields[name].disabled = True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        provider, resource = cleaned.get("provider"), cleaned.get("resource_code")
        if (
            provider
            and resource
            and self._system_departments[provider] != self._resource_departments[resource]
        ):
            self.add_error(
                "resource_code",
                RuleViolation(
                    "resource_not_of_provider",
                    "该资源不属于服务提供子系统所在的部门。",
                    "The resource does not belong to the provider subsystem's department.",
                    field="resource_code",
                ),
            )
        return cleaned


class KeyIssueForm(AdminForm):
    algorithm = forms.ChoiceField(
        label=_("Signature algorithm"), choices=KeyAlgorithm.choices, initial=KeyAlgorithm.SM2
    )


class KeyRevokeForm(AdminForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded in the audit trail."),
        error_messages={"required": _("Enter the reason for revoking the key.")},
    )


class ServiceDeactivateForm(AdminForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded in the audit trail."),
        error_messages={"required": _("Enter the reason for deactivating the service.")},
    )


class ServiceOpenApiForm(AdminForm):
    """A service's OpenAPI document as JSON text; the action checks the rules (``openapi_document``)."""

    document = forms.CharField(
        label=_("OpenAPI document (JSON)"),
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 24, "spellcheck": "false", "autocapitalize": "off", "autocomplete": "off"}
        ),
        help_text=_(
            'A JSON object of at most 256 KB: "openapi" 3.0.x or 3.1.x, info.title, info.version and paths; '
            "every $ref must point inside the document (#/…)."
        ),
        error_messages={"required": _("Enter the OpenAPI document.")},
    )
