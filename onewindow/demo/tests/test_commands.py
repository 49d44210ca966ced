"""The demo management commands: ``demo_load`` and ``demo_totp``."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from onewindow.accounts.models import User
from onewindow.accounts.roles import Kind

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    stdout, stderr = StringIO(), StringIO()
    call_command(*args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_demo_load_reports_what_it_did(tmp_path: Path) -> None:
    # Given an empty platform
    path = tmp_path / "accounts.json"

    # When demo_load runs twice
    first, _ = run("demo_load", "--accounts-file", str(path))
    second, _ = run("demo_load", "--accounts-file", str(path))

    # Then the first run creates, the second says nothing changed, and the file has 21 accounts
    assert "created" in first
    assert "(nothing changed)" not in first
    assert second.strip() == f"Demo data: 0 created, 0 updated; 21 accounts in {path} (nothing changed)"
    assert len(json.loads(path.read_text(encoding="utf-8"))) == 21


@override_settings(PRODUCTION=True)
def test_demo_load_refused_in_production(tmp_path: Path) -> None:
    # Given a production platform
    # When demo_load runs
    # Then it fails and creates nothing
    with pytest.raises(CommandError, match="production"):
        run("demo_load", "--accounts-file", str(tmp_path / "accounts.json"))
    assert User.objects.filter(is_demo=True).count() == 0


def test_demo_totp_prints_a_code_the_device_accepts(tmp_path: Path) -> None:
    # Given the demo data loaded
    run("demo_load", "--accounts-file", str(tmp_path / "accounts.json"))

    # When demo_totp runs for a staff account
    stdout, stderr = run("demo_totp", "clerk_hall")

    # Then it prints a 6-digit code (RFC 6238) that the account's device accepts
    code = stdout.strip()
    assert len(code) == 6
    assert code.isdigit()
    assert "seconds" in stderr
    device = TOTPDevice.objects.get(user__username="clerk_hall")
    assert device.verify_token(code) is True


def test_demo_totp_refuses_accounts_that_are_not_demo_accounts() -> None:
    # Given a real staff account with a TOTP device
    user = User.objects.create_user(username="real_clerk", kind=Kind.STAFF)
    TOTPDevice.objects.create(user=user, name="default", confirmed=True)

    # When demo_totp is asked for its code
    # Then it refuses: the command must never become a way around two-factor authentication
    with pytest.raises(CommandError, match="No demo account"):
        run("demo_totp", "real_clerk")


def test_demo_totp_refuses_accounts_without_a_device(tmp_path: Path) -> None:
    # Given the demo data loaded
    run("demo_load", "--accounts-file", str(tmp_path / "accounts.json"))

    # When demo_totp is asked for a resident's code
    # Then it says residents have no device
    with pytest.raises(CommandError, match="no TOTP device"):
        run("demo_totp", "resident1")


@override_settings(PRODUCTION=True)
def test_demo_totp_refused_in_production() -> None:
    # Given a production platform
    # When demo_totp runs
    # Then it refuses before looking anything up
    with pytest.raises(CommandError, match="production"):
        run("demo_totp", "clerk_hall")
