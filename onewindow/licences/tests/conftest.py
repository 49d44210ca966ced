"""Fixtures of the licence tests: a case of the test department ``TDEPT`` and a licence it issued (signed
JSON and PAdES PDF, through the real action), with TDEPT's seal issued on that first need."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.applications.actions import application_submit
from onewindow.applications.models import Application
from onewindow.applications.tests.factories import VALID_FORM, published_service, uploaded_material
from onewindow.applications.tracking import CHINA
from onewindow.licences.actions import licence_record
from onewindow.licences.models import HolderKind, Licence
from onewindow.licences.types import LICENCE_TYPES, LicenceType
from onewindow.organisations.models import Department
from onewindow.services.models import Channel
from onewindow.workflow.tests.factories import QYKB_REGISTRATION_FIELDS

HOLDER_CREDIT_CODE = "91350100M000100Y43"


@pytest.fixture(autouse=True)
def _rate_limit_counts_forgotten() -> Iterator[None]:
    """Each test starts with no verifications counted against its address (the cache outlives tests)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def department(role_users: dict[str, Any]) -> Department:
    return Department.objects.get(code="TDEPT")


@pytest.fixture
def make_application(role_users: dict[str, Any], department: Department) -> Callable[..., Application]:
    """A submitted case of a TDEPT service (code ``QYKB``, so it issues a business licence by default)."""
    resident = role_users["resident"]
    assert isinstance(resident, User)
    services: dict[str, Any] = {}

    def make(service_code: str = "QYKB", form: dict[str, Any] | None = None) -> Application:
        if service_code not in services:
            services[service_code] = published_service(service_code, department=department, auto_accept=True)
        application, _ = application_submit(
            acting_user=resident,
            service_code=service_code,
            form=form or {**VALID_FORM, **QYKB_REGISTRATION_FIELDS},
            material_ids=[str(uploaded_material(resident, code).pk) for code in ("LEASE", "CHARTER")],
            channel=Channel.WEB,
        )
        return Application.objects.select_related("service", "version").get(pk=application.pk)

    return make


@pytest.fixture
def issue(make_application: Callable[..., Application]) -> Callable[..., Licence]:
    """Issue a licence through ``licence_record`` as the engine does on approval."""
    counter = iter(range(1, 1000))

    def make(
        *,
        application: Application | None = None,
        data: dict[str, Any] | None = None,
        now: dt.datetime | None = None,
    ) -> Licence:
        application = application or make_application()
        return licence_record(
            application_id=application.pk,
            number=f"TDEPT-2026-{next(counter):06d}",
            department_code="TDEPT",
            data={"credit_code": HOLDER_CREDIT_CODE} if data is None else data,
            now=now or timezone.now(),
        )

    return make


@pytest.fixture
def licence(issue: Callable[..., Licence]) -> Licence:
    return issue()


@pytest.fixture
def issue_valid_until(
    issue: Callable[..., Licence],
    make_application: Callable[..., Application],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[dt.date], Licence]:
    """Issue (signed) a one-year licence of service ``TEXP`` whose last valid day is ``last_day``."""
    monkeypatch.setitem(
        LICENCE_TYPES,
        "TEXP",
        LicenceType(
            code="OWL9001",
            name="测试许可证",
            name_en="Test permit",
            holder_kind=HolderKind.PERSON,
            validity_years=1,
        ),
    )

    def make(last_day: dt.date) -> Licence:
        first_day = last_day + dt.timedelta(days=1)
        issued_on = first_day.replace(year=first_day.year - 1)
        now = dt.datetime.combine(issued_on, dt.time(12), tzinfo=CHINA)
        licence = issue(application=make_application("TEXP", form=dict(VALID_FORM)), data={}, now=now)
        assert licence.valid_until == last_day
        return licence

    return make
