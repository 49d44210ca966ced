"""The refusal an organisations action raises when a rule is broken: the platform's ``RuleViolation``."""

from __future__ import annotations

from onewindow.core.errors import RuleViolation as _CoreRuleViolation
from onewindow.core.validators import InvalidIdentifier


class RuleViolation(_CoreRuleViolation):
    """A rule of the organisations domain was broken (bilingual, tied to a form field)."""

    @classmethod
    def from_identifier(cls, error: InvalidIdentifier, *, field: str) -> RuleViolation:
        return cls(str(error.code), error.message_zh, error.message_en, field=field)
