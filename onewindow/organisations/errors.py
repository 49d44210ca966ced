"""The refusal an organisations action raises when a rule is broken: bilingual, tied to a form field."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from onewindow.core.validators import InvalidIdentifier, bilingual


class RuleViolation(ValidationError):  # noqa: N818 - it is a violation, not a programming error
    """A rule of the organisations domain was broken.

    A ``ValidationError`` so forms show it next to ``field`` (or at the top when ``field`` is None), with
    ``message_zh``/``message_en`` for the API's error body and ``status`` for its HTTP status.
    """

    def __init__(
        self, code: str, message_zh: str, message_en: str, *, field: str | None = None, status: int = 422
    ) -> None:
        super().__init__(bilingual(message_zh, message_en), code=code)
        self.message_zh = message_zh
        self.message_en = message_en
        self.field = field
        self.status = status

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.code, self.message_zh, self.message_en, self.field, self.status))

    @classmethod
    def from_identifier(cls, error: InvalidIdentifier, *, field: str) -> RuleViolation:
        return cls(str(error.code), error.message_zh, error.message_en, field=field)


def _rebuild(code: str, message_zh: str, message_en: str, field: str | None, status: int) -> RuleViolation:
    return RuleViolation(code, message_zh, message_en, field=field, status=status)
