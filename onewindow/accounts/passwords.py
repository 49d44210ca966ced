"""Password policy beyond Django's validators (MLPS 2.0: complexity)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError


class CharacterClassValidator:
    """At least three of: lower-case letters, upper-case letters, digits, other characters."""

    def validate(self, password: str, user: Any = None) -> None:
        classes = [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
        if sum(classes) < 3:
            raise ValidationError(
                "密码须包含大写字母、小写字母、数字、其他字符中的至少三类。 "
                "The password must contain at least three of: upper-case letters, lower-case letters, "
                "digits, other characters.",
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return "至少包含三类字符 / at least three character classes"
