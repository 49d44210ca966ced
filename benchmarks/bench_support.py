"""What the benchmarks share: a throwaway PostgreSQL database, a free port, the demo data loaded fast.

Imported as ``bench_support`` (the scripts run as ``python benchmarks/<name>.py``, so this folder is on
``sys.path``).
"""

from __future__ import annotations

import secrets
import socket
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


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
