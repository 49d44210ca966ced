"""Forms of the sign-in pages: they only parse input; the views and actions decide."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

_SIX_DIGITS = RegexValidator(
    r"^[0-9]{3} ?[0-9]{3}$", _("Enter the 6-digit code from your authenticator app.")
)


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("Username"), max_length=150, error_messages={"required": _("Enter your username.")}
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput,
        error_messages={"required": _("Enter your password.")},
    )


class OtpForm(forms.Form):
    otp = forms.CharField(
        label=_("Verification code"),
        max_length=12,
        validators=[_SIX_DIGITS],
        error_messages={"required": _("Enter the 6-digit code from your authenticator app.")},
    )

    def clean_otp(self) -> str:
        # People copy codes with spaces ("123 456"); the authenticator shows them that way.
        return "".join(str(self.cleaned_data["otp"]).split())


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("Current password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput,
        error_messages={"required": _("Enter your current password.")},
    )
    new_password = forms.CharField(
        label=_("New password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput,
        error_messages={"required": _("Enter a new password.")},
    )
    new_password_again = forms.CharField(
        label=_("Confirm new password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput,
        error_messages={"required": _("Enter the new password again.")},
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("new_password")
            and cleaned.get("new_password_again")
            and cleaned["new_password"] != cleaned["new_password_again"]
        ):
            self.add_error("new_password_again", _("The two new passwords do not match."))
        return cleaned


class UnlockForm(forms.Form):
    username = forms.CharField(
        label=_("Username"), max_length=150, error_messages={"required": _("Enter the username to unlock.")}
    )
