"""Gunicorn settings for ``onewindow serve`` (or ``gunicorn -c python:config.gunicorn config.wsgi``).

Every value can be set from the environment (documented in docs/operations.md); ``onewindow serve`` passes
``--workers`` and ``--bind`` on the command line, which win over the values here.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import Any

from gunicorn import glogging

from config.env import env_bool, env_int, env_list, env_str


def default_workers() -> int:
    """2 x cores + 1 (gunicorn's advice for sync workers), capped: each worker holds a Django in memory."""
    return min(2 * (os.cpu_count() or 1) + 1, 8)


bind = [env_str("ONEWINDOW_BIND") or f"127.0.0.1:{env_str('PORT') or '8000'}"]
workers = env_int("ONEWINDOW_WEB_WORKERS", default=default_workers())
# "sync" (one request at a time per worker, connection closed after each) or "gthread" (ONEWINDOW_WEB_THREADS
# threads per worker, keep-alive connections kept): docs/operations.md "Web server".
worker_class = env_str("ONEWINDOW_WEB_WORKER_CLASS") or "sync"
if worker_class not in ("sync", "gthread"):
    _message = f"ONEWINDOW_WEB_WORKER_CLASS must be sync or gthread, not {worker_class!r}"
    raise ValueError(_message)
threads = env_int("ONEWINDOW_WEB_THREADS", default=4 if worker_class == "gthread" else 1)
timeout = env_int("ONEWINDOW_WEB_TIMEOUT", default=60)
graceful_timeout = env_int("ONEWINDOW_WEB_GRACEFUL_TIMEOUT", default=30)
keepalive = env_int("ONEWINDOW_WEB_KEEPALIVE", default=5)
max_requests = env_int("ONEWINDOW_WEB_MAX_REQUESTS", default=0)
max_requests_jitter = env_int("ONEWINDOW_WEB_MAX_REQUESTS_JITTER", default=0)
# Addresses whose X-Forwarded-* headers gunicorn believes (the reverse proxy); Django has its own setting.
forwarded_allow_ips = ",".join(env_list("ONEWINDOW_FORWARDED_ALLOW_IPS", default=["127.0.0.1", "::1"]))
# Worker liveness files on tmpfs: a slow disk must not make gunicorn kill healthy workers.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
proc_name = "onewindow-web"
# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl), which two servers on
# one host would share; it is opt-in here, at a path of the operator's choosing.
_control_socket_path = env_str("ONEWINDOW_WEB_CONTROL_SOCKET")
if _control_socket_path:
    control_socket = _control_socket_path
control_socket_disable = not _control_socket_path

# Off by default: the application writes one JSON line per request with its request id and user
# (onewindow.core.middleware); ONEWINDOW_WEB_ACCESS_LOG=true adds gunicorn's own, as JSON too.
ACCESS_LOG = env_bool("ONEWINDOW_WEB_ACCESS_LOG", default=False)
# The same switch as the application's (ONEWINDOW_LOG_FORMAT=console), so `onewindow demo` reads evenly.
CONSOLE_FORMAT = env_str("ONEWINDOW_LOG_FORMAT", "json") == "console"


class JsonFormatter(logging.Formatter):
    """gunicorn's own lines as JSON, with the keys the application's lines have (event, level, logger...)."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "event": record.getMessage(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "timestamp": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(),
            "pid": record.process,
        }
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        if CONSOLE_FORMAT:
            line = f"{event['timestamp']} [{event['level']:<9}] {event['event']:<30} [{event['logger']}]"
            return f"{line}\n{event['exception']}" if "exception" in event else line
        return json.dumps(event, ensure_ascii=False)


class JsonLogger(glogging.Logger):  # type: ignore[misc]
    """Writes gunicorn's access lines (when enabled) as one JSON object each."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: dt.timedelta) -> None:
        if not ACCESS_LOG:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        self.access_log.info(
            json.dumps(
                {
                    "event": "http_access",
                    "level": "info",
                    "logger": "gunicorn.access",
                    "timestamp": dt.datetime.now(tz=dt.UTC).isoformat(),
                    "remote_addr": atoms["h"],
                    "method": atoms["m"],
                    "path": atoms["U"],
                    "status": int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"],
                    "bytes": atoms["B"],
                    "duration_ms": atoms["M"],
                    "request_id": environ.get("HTTP_X_REQUEST_ID", ""),
                    "user_agent": atoms["a"],
                },
                ensure_ascii=False,
            )
        )


logger_class = JsonLogger
accesslog = None
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": JsonFormatter},
        "message": {"format": "%(message)s"},
    },
    "handlers": {
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
        "console": {"class": "logging.StreamHandler", "formatter": "message", "stream": "ext://sys.stdout"},
    },
    # Not propagated: Django's logging, configured later in each worker, would print every line again.
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
    "root": {"level": "INFO", "handlers": ["error_console"]},
}


def _multiprocess_dir() -> Path | None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(directory) if directory else None


def on_starting(server: Any) -> None:
    """Start from an empty metrics directory: files of an earlier run would add old counts to new ones."""
    directory = _multiprocess_dir()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    # Only prometheus_client's own files: the directory may have been pointed somewhere shared by mistake.
    for stale in directory.glob("*.db"):
        stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """Tell prometheus_client a worker died, so its live gauges stop counting (multiprocess mode)."""
    if _multiprocess_dir() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
