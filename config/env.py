"""Small typed helpers that read settings from the environment.

Every variable may also be given as ``NAME_FILE`` pointing at a file holding the value (Docker/Kubernetes
secrets). Every variable read here is documented in ``docs/configuration.md``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def env_str(name: str, default: str = "") -> str:
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def env_bool(name: str, *, default: bool) -> bool:
    raw = env_str(name)
    if raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    message = f"{name} must be a boolean (true/false), got {raw!r}"
    raise ValueError(message)


def env_int(name: str, *, default: int) -> int:
    raw = env_str(name)
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        message = f"{name} must be an integer, got {raw!r}"
        raise ValueError(message) from None


def env_list(name: str, *, default: list[str]) -> list[str]:
    raw = env_str(name)
    if raw == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def secret_key_from_file(path: Path) -> str:
    """Return the secret key kept at ``path``, generating it on first use (mode 0600)."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key
