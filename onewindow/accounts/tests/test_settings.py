"""Identity settings: Argon2 password hashing outside tests, the session idle timeout and token lifetime
(MLPS 2.0 level 3, GB/T 22239-2019 §8.1.4.1 b: end sessions after inactivity; §8.1.4.1 d: protect
authentication data — stored passwords are salted, memory-hard hashes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.utils import timezone

from onewindow.accounts.actions import user_create
from onewindow.accounts.roles import Kind
from onewindow.accounts.tests.helpers import PASSWORD_URL

ROOT = Path(__file__).resolve().parents[3]
ARGON2 = "django.contrib.auth.hashers.Argon2PasswordHasher"


def _settings_in(environment: dict[str, str]) -> dict[str, object]:
    code = (
        "import json, config.settings as s; print(json.dumps({'hashers': s.PASSWORD_HASHERS, "
        "'session_age': s.SESSION_COOKIE_AGE, 'save_every_request': s.SESSION_SAVE_EVERY_REQUEST, "
        "'token_ttl': s.API_TOKEN_TTL_SECONDS}))"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("ONEWINDOW_")}
    env.update(environment)
    output = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    result: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    "environment",
    [
        {
            "ONEWINDOW_ENV": "production",
            "ONEWINDOW_SECRET_KEY": "x" * 50,
            "ONEWINDOW_REGISTRY_KEY": "A" * 43 + "=",
            "ONEWINDOW_REGISTRY_INDEX_KEY": "B" * 43 + "=",
        },
        {"ONEWINDOW_ENV": "development"},
        {"ONEWINDOW_ENV": "demo"},
    ],
)
def test_argon2_is_the_first_hasher_outside_tests(environment: dict[str, str], tmp_path: Path) -> None:
    values = _settings_in({**environment, "ONEWINDOW_VAR_DIR": str(tmp_path)})
    assert values["hashers"] == [ARGON2, "django.contrib.auth.hashers.PBKDF2PasswordHasher"]


def test_session_timeout_and_token_lifetime_come_from_the_environment(tmp_path: Path) -> None:
    defaults = _settings_in({"ONEWINDOW_ENV": "development", "ONEWINDOW_VAR_DIR": str(tmp_path)})
    assert (defaults["session_age"], defaults["save_every_request"], defaults["token_ttl"]) == (
        1800,
        True,
        28800,
    )
    configured = _settings_in(
        {
            "ONEWINDOW_ENV": "development",
            "ONEWINDOW_VAR_DIR": str(tmp_path),
            "ONEWINDOW_SESSION_TIMEOUT_SECONDS": "600",
            "ONEWINDOW_API_TOKEN_TTL_SECONDS": "3600",
        }
    )
    assert (configured["session_age"], configured["token_ttl"]) == (600, 3600)


@pytest.mark.django_db
@override_settings(PASSWORD_HASHERS=[ARGON2])
def test_a_user_created_with_argon2_verifies() -> None:
    user = user_create(
        username="argon_user",
        kind=Kind.STAFF,
        password="Lantern-Harbour-93",
        display_name="A",
        acting_user=None,
    )
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.check_password("Lantern-Harbour-93")
    assert not user.check_password("Lantern-Harbour-94")


@pytest.mark.django_db
def test_idle_session_expires(role_users: dict[str, object], client_for: object) -> None:
    client = client_for(role_users["resident"])  # type: ignore[operator]
    assert client.get(PASSWORD_URL).status_code == 200
    # Each request pushes the expiry forward by SESSION_COOKIE_AGE (idle, not absolute, timeout)
    session = Session.objects.get(session_key=client.session.session_key)
    assert session.expire_date > timezone.now() + timedelta(seconds=1790)
    # Once the idle time has passed, the session no longer signs anyone in
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get(PASSWORD_URL)["Location"] == f"/accounts/login/?next={PASSWORD_URL}"
