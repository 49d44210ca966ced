"""Domain refusals shared by every app: a broken rule, or a set of per-field errors.

Actions raise these; the API maps them to bilingual bodies (``core.api_errors``) and the pages show them
next to the field they concern.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from onewindow.core.validators import bilingual


class RuleViolation(ValidationError):  # noqa: N818 - it is a violation, not a programming error
    """A domain rule was broken.

    A ``ValidationError`` so forms show it next to ``field`` (or at the top when ``field`` is None), with
    ``message_zh``/``message_en`` for the API's error body and ``status`` for its HTTP status (422 for a
    broken rule, 409 for a conflict with the current state, 404 when the object is not there).
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
        return (_rebuild, (type(self), self.code, self.message_zh, self.message_en, self.field, self.status))


def _rebuild(
    cls: type[RuleViolation], code: str, message_zh: str, message_en: str, field: str | None, status: int
) -> RuleViolation:
    return cls(code, message_zh, message_en, field=field, status=status)


@dataclass(frozen=True)
class FieldError:
    """One problem with one field: ``field`` is a dotted path into the submitted data ("" = the whole)."""

    field: str
    code: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, str]:
        return {
            "field": self.field,
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


class FieldErrors(Exception):  # noqa: N818 - a set of refusals, answered as 422
    """Raised by an action when submitted data has per-field errors; nothing was written."""

    def __init__(self, errors: list[FieldError], *, code: str = "form_invalid") -> None:
        super().__init__("; ".join(f"{error.field}: {error.message_en}" for error in errors))
        self.errors = errors
        self.code = code
