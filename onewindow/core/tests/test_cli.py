"""The ``onewindow`` command line: every subcommand has help, and exit codes are the commands' own.

The production guard on ``serve`` enforces GB/T 22239-2019 §8.1.4.2 b (no default accounts with published
passwords in production).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError
from django.db.models import QuerySet
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from pytest_django import Settings

from onewindow.accounts.models import User
from onewindow.cli import default_web_workers, demo_accounts_table, demo_children, gunicorn_argv, main
from onewindow.core.models import ScheduledJob, WorkerHeartbeat
from onewindow.core.tasks import worker_heartbeat
from onewindow.workcalendar.models import CalendarYear
from onewindow.workcalendar.tests.helpers import FAKE_2027_CSV

SUBCOMMANDS = [
    [],
    ["demo"],
    ["serve"],
    ["worker"],
    ["scheduler"],
    ["migrate"],
    ["check-deploy"],
    ["audit"],
    ["audit", "verify"],
    ["calendar"],
    ["calendar", "import"],
    ["manage"],
]


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=lambda words: " ".join(words) or "onewindow")
def test_every_subcommand_has_help(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # when asked for help
    with pytest.raises(SystemExit) as exited:
        main([*words, "--help"])

    # then it prints its usage and exits 0
    assert exited.value.code == 0
    output = capsys.readouterr().out
    assert output.startswith(f"usage: {' '.join(['onewindow', *words])}")


def test_the_top_level_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    output = capsys.readouterr().out
    for name in (
        "demo",
        "serve",
        "worker",
        "scheduler",
        "migrate",
        "check-deploy",
        "audit",
        "calendar",
        "manage",
    ):
        assert f"    {name}" in output


def test_an_unknown_option_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["worker", "--no-such-option"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


# --- serve ----------------------------------------------------------------------------------------


def test_serve_runs_gunicorn_with_the_workers_bind_and_extra_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # when the command is printed instead of run, with options for gunicorn after --
    code = main(
        ["serve", "--workers", "3", "--bind", "0.0.0.0:9000", "--print-command", "--", "--threads", "2"]
    )

    # then it is gunicorn with our config module, never Django's runserver
    assert code == 0
    assert capsys.readouterr().out.split() == [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:config.gunicorn",
        "--workers",
        "3",
        "--bind",
        "0.0.0.0:9000",
        "--threads",
        "2",
        "config.wsgi:application",
    ]


def test_serve_defaults_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONEWINDOW_WEB_WORKERS", "5")
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.delenv("ONEWINDOW_BIND", raising=False)
    assert main(["serve", "--print-command"]) == 0
    words = capsys.readouterr().out.split()
    assert words[words.index("--workers") + 1] == "5"
    assert words[words.index("--bind") + 1] == "127.0.0.1:8123"


def test_serve_without_settings_caps_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONEWINDOW_WEB_WORKERS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    argv = gunicorn_argv(workers=1, bind="x:1")
    assert argv[argv.index("--workers") + 1] == "1"
    assert default_web_workers() == 8


@pytest.mark.django_db
def test_serve_in_production_refuses_to_start_with_a_demo_account(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # given production settings and a demo account
    settings.PRODUCTION = True
    User.objects.create_user(username="demo_clerk", is_demo=True)

    # when serve is started, then gunicorn is never executed and the exit code is 1
    with mock.patch("os.execv") as execv:
        code = main(["serve"])
    assert code == 1
    execv.assert_not_called()
    assert "Refusing to start" in capsys.readouterr().err


@pytest.mark.django_db
def test_serve_in_production_does_not_start_when_the_guard_cannot_reach_the_database(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.PRODUCTION = True
    with (
        mock.patch.object(QuerySet, "count", side_effect=OperationalError("connection refused")),
        mock.patch("os.execv") as execv,
    ):
        code = main(["serve"])
    assert code == 1
    execv.assert_not_called()
    assert "Database error (OperationalError): connection refused" in capsys.readouterr().err


@pytest.mark.django_db
def test_serve_creates_the_metrics_directory_before_loading_django(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given multiprocess metrics in a directory that does not exist yet
    directory = tmp_path / "run" / "prometheus"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))

    # when serve starts, then the directory exists before gunicorn (or any metric) needs it
    with mock.patch("os.execv") as execv:
        main(["serve"])
    assert directory.is_dir()
    execv.assert_called_once()


@pytest.mark.django_db
def test_serve_in_production_without_demo_accounts_executes_gunicorn(settings: Settings) -> None:
    settings.PRODUCTION = True
    with mock.patch("os.execv") as execv:
        main(["serve", "--workers", "2", "--bind", "127.0.0.1:8001"])
    execv.assert_called_once_with(sys.executable, gunicorn_argv(workers=2, bind="127.0.0.1:8001"))


# --- worker and scheduler -------------------------------------------------------------------------


@pytest.fixture
def restored_signal_handlers() -> Iterator[None]:
    """db_worker installs its own SIGINT/SIGTERM handlers; give pytest its own back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("database_tasks", "restored_signal_handlers")
def test_worker_claims_and_runs_queued_tasks_from_the_database() -> None:
    # given a heartbeat task waiting in the database queue
    result = worker_heartbeat.enqueue()
    assert DBTaskResult.objects.get(id=result.id).status == TaskResultStatus.READY

    # when a worker processes the queue once
    code = main(["worker", "--batch", "--interval", "0"])

    # then the task ran and the worker heartbeat is fresh
    assert code == 0
    assert DBTaskResult.objects.get(id=result.id).status == TaskResultStatus.SUCCESSFUL
    heartbeat = WorkerHeartbeat.objects.get(name="worker")
    assert (timezone.now() - heartbeat.last_seen).total_seconds() < 10


@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
def test_scheduler_once_through_the_command_line(settings: Settings, tmp_path: Path) -> None:
    settings.AUDIT_ANCHOR_FILE = tmp_path / "audit-anchors.jsonl"
    assert main(["scheduler", "--once"]) == 0
    assert WorkerHeartbeat.objects.filter(name="scheduler").exists()
    assert ScheduledJob.objects.filter(name="worker_heartbeat").exists()


# --- pass-through commands and exit codes ---------------------------------------------------------


@pytest.mark.django_db
def test_manage_passes_through_and_keeps_the_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manage", "check"]) == 0
    assert main(["manage", "no_such_command"]) == 1
    assert "Unknown command: 'no_such_command'" in capsys.readouterr().err


@pytest.mark.django_db
def test_migrate_passes_options_through() -> None:
    # migrate --check exits non-zero only when a migration is missing; the test database is complete
    assert main(["migrate", "--check"]) == 0


@pytest.mark.django_db
def test_check_deploy_fails_while_a_demo_account_exists(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.PRODUCTION = False
    User.objects.create_user(username="demo_clerk", is_demo=True)
    assert main(["check-deploy"]) == 1
    assert "onewindow.E001" in capsys.readouterr().err


@pytest.mark.django_db
def test_calendar_import_of_a_missing_file_fails() -> None:
    assert main(["calendar", "import", "/nonexistent/holidays-2099.json", "--dry-run"]) != 0


@pytest.mark.django_db
def test_calendar_import_passes_its_options_to_the_command(tmp_path: Path) -> None:
    # given a year's schedule file
    path = tmp_path / "2027.csv"
    path.write_text(FAKE_2027_CSV, encoding="utf-8")

    # when it is checked with --dry-run, then imported with a note
    dry_run = main(["calendar", "import", str(path), "--year", "2027", "--dry-run"])
    after_dry_run = CalendarYear.objects.filter(year=2027).exists()
    imported = main(["calendar", "import", str(path), "--year", "2027", "--note", "State Council notice"])

    # then the dry run saved nothing and the import saved the year with its note
    assert (dry_run, after_dry_run, imported) == (0, False, 0)
    assert CalendarYear.objects.get(year=2027).note == "State Council notice"


@pytest.mark.django_db
def test_audit_verify_of_an_intact_empty_chain_succeeds(settings: Settings, tmp_path: Path) -> None:
    settings.AUDIT_ANCHOR_FILE = tmp_path / "audit-anchors.jsonl"
    assert main(["audit", "verify"]) == 0


# --- demo -----------------------------------------------------------------------------------------


def test_demo_refuses_to_run_under_production_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONEWINDOW_ENV", "production")
    with mock.patch("onewindow.cli.supervise") as supervise:
        assert main(["demo"]) == 1
    supervise.assert_not_called()
    assert "refuses to run with ONEWINDOW_ENV=production" in capsys.readouterr().err


def test_demo_runs_web_worker_and_scheduler_through_the_command_line() -> None:
    children = demo_children(port=8042, web_workers=2, metrics_directory=Path("/run/ow/prometheus"))
    assert [(child.name, list(child.argv[1:]), dict(child.extra_env)) for child in children] == [
        (
            "web",
            ["-m", "onewindow.cli", "serve", "--workers", "2", "--bind", "127.0.0.1:8042"],
            {"PROMETHEUS_MULTIPROC_DIR": "/run/ow/prometheus"},
        ),
        ("worker", ["-m", "onewindow.cli", "worker"], {}),
        ("scheduler", ["-m", "onewindow.cli", "scheduler"], {}),
    ]


def test_demo_accounts_table_lists_usernames_passwords_and_roles(tmp_path: Path) -> None:
    # given the demo accounts file as demo_load writes it
    path = tmp_path / "demo-accounts.json"
    path.write_text(
        '[{"username": "demo_resident", "password": "Pw-1", "totp_secret": null, "kind": "resident",'
        ' "roles": [], "id_number": "11010519491231002X"},'
        ' {"username": "demo_handler", "password": "Pw-22", "totp_secret": "ABC", "kind": "staff",'
        ' "roles": [{"role": "department_handler", "department_code": "MKT"}], "id_number": null}]',
        encoding="utf-8",
    )

    # then the table has one line per account
    assert demo_accounts_table(path).splitlines() == [
        "  username / 用户名  password / 密码  roles / 角色",
        "  demo_resident      Pw-1             resident",
        "  demo_handler       Pw-22            department_handler@MKT",
    ]
    assert "no demo accounts file" in demo_accounts_table(tmp_path / "missing.json")
