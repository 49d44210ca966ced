"""A production process refuses to start while any demo account exists.

Demo accounts have published passwords, i.e. default accounts with default passwords: GB/T 22239-2019
§8.1.4.2 b requires default accounts to be renamed or deleted and their default passwords changed.
"""

from __future__ import annotations

import importlib
import sys
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import OperationalError
from django.db.models import QuerySet
from pytest_django import Settings

from onewindow.accounts.models import User
from onewindow.core.checks import demo_accounts_check, metrics_allowed_ips_check
from onewindow.core.guards import DemoAccountsInProductionError, refuse_demo_accounts_in_production


@pytest.mark.django_db
def test_production_refuses_to_start_with_a_demo_account(settings: Settings) -> None:
    # given production settings and one demo account among ordinary ones
    settings.PRODUCTION = True
    User.objects.create_user(username="demo_clerk", is_demo=True)
    User.objects.create_user(username="real_clerk")

    # when/then the guard refuses, in both languages, and deletes nothing
    with pytest.raises(DemoAccountsInProductionError) as refused:
        refuse_demo_accounts_in_production()
    assert refused.value.count == 1
    assert "1 个演示账户" in str(refused.value)
    assert "Refusing to start: 1 demo account(s)" in str(refused.value)
    assert User.objects.count() == 2


@pytest.mark.django_db
def test_production_starts_without_demo_accounts(settings: Settings) -> None:
    settings.PRODUCTION = True
    User.objects.create_user(username="real_clerk")
    refuse_demo_accounts_in_production()  # does not raise


@pytest.mark.django_db
def test_demo_and_development_may_hold_demo_accounts(settings: Settings) -> None:
    settings.PRODUCTION = False
    User.objects.create_user(username="demo_clerk", is_demo=True)
    refuse_demo_accounts_in_production()  # does not raise


@pytest.mark.django_db
def test_an_unreachable_database_stops_the_command_line_but_not_a_web_worker(settings: Settings) -> None:
    # given production settings and a database that does not answer
    settings.PRODUCTION = True
    with mock.patch.object(QuerySet, "count", side_effect=OperationalError("down")):
        # then the command line's strict check fails
        with pytest.raises(OperationalError):
            refuse_demo_accounts_in_production()
        # and the web application's tolerant check lets the worker boot (readiness reports the database)
        refuse_demo_accounts_in_production(tolerate_unreachable_database=True)


@pytest.mark.django_db
def test_the_wsgi_application_refuses_to_load_in_production_with_a_demo_account(settings: Settings) -> None:
    # given production settings and a demo account
    settings.PRODUCTION = True
    User.objects.create_user(username="demo_clerk", is_demo=True)
    sys.modules.pop("config.wsgi", None)

    # when gunicorn imports the application, then the import fails (gunicorn halts: worker failed to boot)
    try:
        with pytest.raises(DemoAccountsInProductionError):
            importlib.import_module("config.wsgi")
    finally:
        sys.modules.pop("config.wsgi", None)


@pytest.mark.django_db
def test_deploy_check_reports_demo_accounts_whatever_the_environment(settings: Settings) -> None:
    # given a demo account, outside production
    settings.PRODUCTION = False
    User.objects.create_user(username="demo_clerk", is_demo=True)

    # when the deployment checks run with the database, then E001 is raised
    errors = demo_accounts_check(None, databases=["default"])
    assert [error.id for error in errors] == ["onewindow.E001"]
    # and without the database (plain `check`) the check stays silent
    assert demo_accounts_check(None, databases=None) == []
    with pytest.raises(SystemCheckError, match=r"onewindow\.E001"):
        call_command("check", "--deploy", "--database", "default", "--tag", "security")


def test_metrics_allowed_ips_must_be_addresses_or_networks(settings: Settings) -> None:
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1", "10.0.0.0/8", "::1", "monitoring.internal"]
    assert [(error.id, error.msg) for error in metrics_allowed_ips_check(None)] == [
        (
            "onewindow.E002",
            "ONEWINDOW_METRICS_ALLOWED_IPS: 'monitoring.internal' is not an IP address or network",
        )
    ]
