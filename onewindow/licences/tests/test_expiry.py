"""Expiry (issue #6 item 6): a licence past its last valid day (Beijing) verifies as ``expired`` at once;
the scheduler's hourly ``licences_expire`` job (and ``manage.py licences_expire``) keeps ``status`` in step,
audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import call_command

from onewindow.audit.models import AuditRecord
from onewindow.core.schedule import autodiscover_schedules
from onewindow.licences.actions import licences_expire
from onewindow.licences.models import Licence
from onewindow.licences.schedules import licences_expire_job
from onewindow.licences.selectors import licence_verify_by_number, today_in_china

pytestmark = pytest.mark.django_db


def test_the_job_marks_only_licences_past_their_last_day(
    issue_valid_until: Callable[[dt.date], Licence], licence: Licence
) -> None:
    today = today_in_china()
    past = issue_valid_until(today - dt.timedelta(days=1))
    last_day = issue_valid_until(today)

    assert licences_expire() == 1

    statuses = dict(Licence.objects.values_list("number", "status"))
    assert statuses == {past.number: "expired", last_day.number: "valid", licence.number: "valid"}
    record = AuditRecord.objects.get(action="licence.expired")
    assert record.details["numbers"] == [past.number]
    assert Licence.objects.get(pk=past.pk).expired_at is not None
    # verification answers the same before and after the job; the signed record is untouched by it
    result = licence_verify_by_number(past.number)
    assert result is not None
    assert (result.valid, result.status, result.reason_code) == (False, "expired", "expired")
    assert licences_expire() == 0


def test_a_revoked_licence_stays_revoked(issue_valid_until: Callable[[dt.date], Licence]) -> None:
    past = issue_valid_until(today_in_china() - dt.timedelta(days=3))
    Licence.objects.filter(pk=past.pk).update(status="revoked")

    assert licences_expire() == 0
    assert Licence.objects.get(pk=past.pk).status == "revoked"


def test_the_command_and_the_scheduler_run_it(issue_valid_until: Callable[[dt.date], Licence]) -> None:
    past = issue_valid_until(today_in_china() - dt.timedelta(days=1))
    out = StringIO()

    call_command(
        "licences_expire", "--today", (today_in_china() - dt.timedelta(days=1)).isoformat(), stdout=out
    )
    assert out.getvalue().strip() == "0 licence(s) marked expired"
    call_command("licences_expire", stdout=out)
    assert "1 licence(s) marked expired" in out.getvalue()

    jobs = {job.name: job for job in autodiscover_schedules().jobs()}
    assert jobs["licences_expire"].every_seconds == 3600
    assert jobs["licences_expire"].target is licences_expire_job
    assert Licence.objects.get(pk=past.pk).status == "expired"
