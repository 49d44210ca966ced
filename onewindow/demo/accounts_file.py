"""The demo accounts file, ``var/demo-accounts.json``: the only place the demo passwords are kept.

Format: a JSON list of ``{username, password, totp_secret, kind, roles, id_number}``; ``totp_secret`` is the
staff account's TOTP key in base32 without padding (what authenticator apps take), ``null`` for residents and
enterprise representatives; ``roles`` is a list of ``{role, department_code}``. The file is written with mode
0600 because it holds working credentials.
"""

from __future__ import annotations

import json
import os
import tempfile
from base64 import b32encode
from pathlib import Path
from typing import TypedDict

from django.conf import settings

FILE_MODE = 0o600


class RoleEntry(TypedDict):
    role: str
    department_code: str | None


class AccountEntry(TypedDict):
    username: str
    password: str
    totp_secret: str | None
    kind: str
    roles: list[RoleEntry]
    id_number: str | None


def default_accounts_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-accounts.json"


def totp_secret_from_hex(key_hex: str) -> str:
    """django-otp stores the TOTP key in hex; authenticator apps want base32 without ``=`` padding."""
    return b32encode(bytes.fromhex(key_hex)).decode("ascii").rstrip("=")


def read_passwords(path: Path) -> dict[str, str]:
    """Username → password from an existing file; an absent or unreadable file gives no passwords."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    if not isinstance(entries, list):
        return {}
    passwords: dict[str, str] = {}
    for entry in entries:
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("username"), str)
            and isinstance(entry.get("password"), str)
        ):
            passwords[entry["username"]] = entry["password"]
    return passwords


def write_accounts(path: Path, entries: list[AccountEntry]) -> bool:
    """Write the file atomically with mode 0600; return False (leaving the file alone) if unchanged."""
    text = json.dumps(entries, ensure_ascii=False, indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        unchanged = path.read_text(encoding="utf-8") == text
    except FileNotFoundError:
        unchanged = False
    if unchanged:
        os.chmod(path, FILE_MODE)
        return False
    # mkstemp creates the file with mode 0600, so the passwords are never readable by others, even briefly.
    descriptor, temporary = tempfile.mkstemp(prefix=".demo-accounts-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True
