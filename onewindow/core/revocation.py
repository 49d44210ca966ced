"""The revocation step the exchange's and the federation's keys, peers and grants share: a reason is
required, the row is locked, a second revocation is refused, and the row records when, by whom and why.

The calling action keeps what is its own: who may revoke, which row, the audit record (in the same
transaction), and its messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.db import models
from django.utils import timezone

from onewindow.core.errors import RuleViolation

if TYPE_CHECKING:
    from onewindow.accounts.models import User

Row = TypeVar("Row", bound=models.Model)

REASON_MAX_LENGTH = 1000  # what is stored; audit records carry the first 200 characters


def revocation_reason(reason: str | None, *, message_zh: str, message_en: str) -> str:
    """``reason`` without surrounding white space; ``RuleViolation`` ``reason_required`` (422, on the
    ``reason`` field) with the action's messages when there is none."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("reason_required", message_zh, message_en, field="reason")
    return reason


def revoke_locked(
    locked: Row,
    *,
    revoked: str,
    acting_user: User | None,
    reason: str,
    already: tuple[str, str, str],
) -> Row:
    """Mark ``locked`` (a row the caller holds ``SELECT … FOR UPDATE``, inside its transaction, with
    ``status``, ``revoked_at``, ``revoked_by`` and ``revoke_reason``) revoked now, by ``acting_user``, for
    ``reason``. ``already`` is the (code, Chinese, English) of the 409 when it is revoked already."""
    if getattr(locked, "status") == revoked:  # noqa: B009 - the models share the field, not a base class
        code, message_zh, message_en = already
        raise RuleViolation(code, message_zh, message_en, status=409)
    locked.status = revoked  # type: ignore[attr-defined]
    locked.revoked_at = timezone.now()  # type: ignore[attr-defined]
    locked.revoked_by = acting_user  # type: ignore[attr-defined]
    locked.revoke_reason = reason[:REASON_MAX_LENGTH]  # type: ignore[attr-defined]
    locked.save(update_fields=["status", "revoked_at", "revoked_by", "revoke_reason"])
    return locked
