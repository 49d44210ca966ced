"""Assertions shared by the organisations tests."""

from __future__ import annotations

from onewindow.audit.models import AuditRecord
from onewindow.organisations.errors import RuleViolation


def violation(error: RuleViolation) -> tuple[str, str, str]:
    return (str(error.code), error.message_zh, error.message_en)


def audit_actions() -> list[tuple[str, str]]:
    return list(AuditRecord.objects.order_by("seq").values_list("action", "outcome"))


def last_audit() -> AuditRecord:
    record = AuditRecord.objects.order_by("-seq").first()
    assert record is not None
    return record


def denial_count() -> int:
    return AuditRecord.objects.filter(action="permission.denied", outcome="denied").count()
