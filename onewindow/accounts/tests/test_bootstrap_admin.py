"""The first system administrator of a new installation (MLPS 2.0 §8.1.4.2: administrators are named)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from onewindow.accounts.models import Membership, User
from onewindow.audit.models import AuditRecord


@pytest.mark.django_db
def test_bootstrap_creates_one_audited_system_admin(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a new installation and a strong password in the environment
    monkeypatch.setenv("ONEWINDOW_BOOTSTRAP_PASSWORD", "Strong-Pass-2026!")
    # When the first administrator is bootstrapped
    call_command("bootstrap_admin", "root_admin")
    # Then one staff account holds the system administrator role, and it was audited
    user = User.objects.get(username="root_admin")
    assert user.kind == "staff"
    assert user.check_password("Strong-Pass-2026!")
    assert list(Membership.objects.filter(user=user).values_list("role", flat=True)) == ["system_admin"]
    assert AuditRecord.objects.filter(action="membership.granted").count() == 1


@pytest.mark.django_db
def test_bootstrap_is_refused_once_an_admin_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEWINDOW_BOOTSTRAP_PASSWORD", "Strong-Pass-2026!")
    call_command("bootstrap_admin", "root_admin")
    users = User.objects.count()
    with pytest.raises(CommandError, match="exists already"):
        call_command("bootstrap_admin", "second_admin")
    assert User.objects.count() == users


@pytest.mark.django_db
def test_bootstrap_refuses_a_weak_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEWINDOW_BOOTSTRAP_PASSWORD", "short")
    with pytest.raises(CommandError):
        call_command("bootstrap_admin", "root_admin")
    assert not User.objects.filter(username="root_admin").exists()
