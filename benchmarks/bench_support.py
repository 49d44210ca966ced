"""What the benchmarks share: a throwaway PostgreSQL database, a free port, the demo data loaded fast.

Imported as ``bench_support`` (the scripts run as ``python benchmarks/<name>.py``, so this folder is on
``sys.path``).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def child_environment(var_dir: str, database: str | None = None, **settings: str) -> dict[str, str]:
    """The environment of a benchmark's child process: this one's, with the project settings, a
    ``ONEWINDOW_VAR_DIR`` of its own, ``DATABASE_URL`` only when ``database`` is given (else SQLite), and
    ``settings`` (e.g. ``ONEWINDOW_MESSAGELOG_PAYLOADS="full"``)."""
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    environment |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ONEWINDOW_ENV": "development",
        "ONEWINDOW_VAR_DIR": var_dir,
        "ONEWINDOW_LOG_LEVEL": "WARNING",
        **settings,
    }
    return environment | ({"DATABASE_URL": database} if database else {})


def run_child(script: str, arguments: list[str], environment: dict[str, str]) -> dict[str, Any]:
    """Run ``script --child ARGUMENTS`` with this interpreter and return the JSON object it printed last;
    exits with the end of its standard error if it failed."""
    completed = subprocess.run(  # noqa: S603 - our own script and interpreter
        [sys.executable, script, "--child", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(completed.stderr[-3000:])
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def admin_url(url: str) -> str:
    """The same server's ``postgres`` database, to create and drop the benchmark's own."""
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def database_url(base: str) -> str:
    """``base`` with a random suffix on its database name (default ``ow_bench``)."""
    parts = urlsplit(base)
    name = (parts.path.lstrip("/") or "ow_bench") + "_" + secrets.token_hex(4)
    return urlunsplit(parts._replace(path="/" + name))


def psql(url: str, sql: str) -> None:
    """Run one statement with autocommit (CREATE/DROP DATABASE)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql.encode())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_load(var_dir: Path) -> None:
    """The demo data, its accounts' passwords hashed with a fast hasher: the database is thrown away, and the
    deliberately slow password hashing would otherwise take most of a quick run's set-up."""
    from django.test import override_settings

    from onewindow.demo.actions import demo_load as load

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        load(accounts_path=var_dir / "demo-accounts.json")
