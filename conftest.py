"""Shared fixtures: fixed named users per role (STYLE.md rule 9) and signed-in clients."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import timedelta

os.environ.setdefault("ONEWINDOW_ENV", "test")

import pytest
from django.test import Client
from django.utils import timezone

ALL_ROLES = [
    "resident",
    "enterprise_representative",
    "window_clerk",
    "village_agent",
    "department_handler",
    "department_admin",
    "leader",
    "security_officer",
    "auditor",
    "system_admin",
    "vendor_staff",
    "supervisor",
]


def pytest_configure(config: pytest.Config) -> None:
    # .mo files are build output (git-ignored); compile the .po catalogues once so Chinese text renders.
    from scripts.compile_messages import compile_all

    compile_all()


@pytest.fixture
def role_users(db: None) -> dict[str, object]:
    """One user per role, named ``t_<role>``; department roles belong to department ``TDEPT``.

    Staff users have a confirmed TOTP device (secret in ``user.test_totp_key``).
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from onewindow.accounts.models import Membership, User
    from onewindow.accounts.roles import Kind, Role
    from onewindow.accounts.tests.factories import UserFactory
    from onewindow.organisations.tests.factories import DepartmentFactory

    department = DepartmentFactory.create(code="TDEPT", name="测试部门", name_en="Test department")
    users: dict[str, object] = {}
    for role in ALL_ROLES:
        if role == "resident":
            user = UserFactory.create(
                username="t_resident", kind=Kind.RESIDENT, id_number="11010519491231002X"
            )
        elif role == "enterprise_representative":
            user = UserFactory.create(
                username="t_enterprise_representative",
                kind=Kind.ENTERPRISE,
                enterprise_credit_code="91350100M000100Y43",
            )
        else:
            user = UserFactory.create(username=f"t_{role}", kind=Kind.STAFF)
            Membership.objects.create(
                user=user,
                role=Role(role),
                department=department if role in {"department_handler", "department_admin"} else None,
                valid_until=timezone.now() + timedelta(days=30) if role == "vendor_staff" else None,
                system_codes=["OW-PORTAL"] if role == "vendor_staff" else [],
            )
            key = secrets.token_hex(20)
            TOTPDevice.objects.create(user=user, name="default", confirmed=True, key=key)
            user.test_totp_key = key  # type: ignore[attr-defined]
        assert isinstance(user, User)
        users[role] = user
    return users


@pytest.fixture
def client_for(db: None) -> Callable[[object], Client]:
    """A test client signed in as ``user``; staff sessions are marked as having passed TOTP."""

    def make(user: object) -> Client:
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        client = Client()
        client.force_login(user)  # type: ignore[arg-type]
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        return client

    return make


@pytest.fixture
def api_token_for(db: None) -> Callable[[object], str]:
    """A valid bearer token for ``user``."""

    def make(user: object) -> str:
        from django.conf import settings

        from onewindow.accounts.api_auth import token_hash
        from onewindow.accounts.models import ApiToken

        token = secrets.token_urlsafe(32)
        ApiToken.objects.create(
            user=user,  # type: ignore[misc]
            token_hash=token_hash(token),
            expires_at=timezone.now() + timedelta(seconds=settings.API_TOKEN_TTL_SECONDS),
        )
        return token

    return make


@pytest.fixture(autouse=True)
def _published_services_forgotten() -> None:
    """Each test starts without the per-process cache of published service versions."""
    from onewindow.services.selectors import published_cache_clear

    published_cache_clear()
