"""The gunicorn settings: JSON log lines, and Prometheus multiprocess housekeeping."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest

from config import gunicorn as gunicorn_config


def test_gunicorn_lines_are_json_with_the_application_keys() -> None:
    record = logging.LogRecord(
        "gunicorn.error", logging.INFO, __file__, 1, "Booting worker with pid: %s", (42,), None
    )
    line = json.loads(gunicorn_config.JsonFormatter().format(record))
    assert line["event"] == "Booting worker with pid: 42"
    assert (line["level"], line["logger"]) == ("info", "gunicorn.error")
    assert dt.datetime.fromisoformat(line["timestamp"]).tzinfo is not None


def test_access_lines_are_json_only_when_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    # given gunicorn's logger with our class and a finished request
    cfg = SimpleNamespace(
        accesslog=None, logconfig=None, logconfig_dict={}, logconfig_json=None, syslog=False, loglevel="info",
        errorlog="-", capture_output=False, user=0, group=0, disable_redirect_access_to_syslog=False,
        access_log_format="", syslog_addr="", syslog_prefix=None, syslog_facility="user", dogstatsd_tags="",
        statsd_host=None,
    )  # fmt: skip
    logger = gunicorn_config.JsonLogger(cfg)
    response = SimpleNamespace(status="200 OK", sent=12, headers=[])
    request = SimpleNamespace(headers=[])
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/healthz?x=1",
        "PATH_INFO": "/healthz",
        "QUERY_STRING": "x=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.2",
        "HTTP_X_REQUEST_ID": "abcdef123456",
        "HTTP_USER_AGENT": "probe",
    }
    emitted: list[str] = []

    # when access logging is off, nothing is written; when on, one JSON object
    with mock.patch.object(logger.access_log, "info", side_effect=emitted.append):
        logger.access(response, request, environ, dt.timedelta(milliseconds=7))
        monkeypatch.setattr(gunicorn_config, "ACCESS_LOG", True)
        logger.access(response, request, environ, dt.timedelta(milliseconds=7))

    (line,) = emitted
    entry = json.loads(line)
    assert {
        key: entry[key] for key in ("method", "path", "status", "bytes", "duration_ms", "request_id")
    } == {
        "method": "GET",
        "path": "/healthz",
        "status": 200,
        "bytes": 12,
        "duration_ms": 7,
        "request_id": "abcdef123456",
    }


def test_multiprocess_directory_is_emptied_of_metric_files_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a metrics directory with files of an earlier run and an unrelated file
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"old")
    (directory / "notes.txt").write_text("keep me")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))

    # when gunicorn starts
    gunicorn_config.on_starting(server=None)

    # then only prometheus_client's files are gone
    assert sorted(path.name for path in directory.iterdir()) == ["notes.txt"]


def test_a_dead_worker_is_marked_for_prometheus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "gauge_livesum_4343.db").write_bytes(b"")
    gunicorn_config.child_exit(server=None, worker=SimpleNamespace(pid=4242))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["gauge_livesum_4343.db"]


def test_without_multiprocess_mode_the_hooks_do_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    gunicorn_config.on_starting(server=None)
    gunicorn_config.child_exit(server=None, worker=SimpleNamespace(pid=1))


def _reloaded(monkeypatch: pytest.MonkeyPatch, **environment: str) -> Any:
    """The settings module read again with ``environment``; the environment is put back afterwards (the last
    call of each test reloads it with the environment as it was)."""
    for name in ("ONEWINDOW_WEB_WORKER_CLASS", "ONEWINDOW_WEB_THREADS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    try:
        return importlib.reload(gunicorn_config)
    finally:
        monkeypatch.undo()


def test_sync_workers_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _reloaded(monkeypatch)
    assert (settings.worker_class, settings.threads) == ("sync", 1)


def test_threaded_workers_keep_connections_with_four_threads_unless_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _reloaded(monkeypatch, ONEWINDOW_WEB_WORKER_CLASS="gthread")
    assert (settings.worker_class, settings.threads) == ("gthread", 4)
    settings = _reloaded(monkeypatch, ONEWINDOW_WEB_WORKER_CLASS="gthread", ONEWINDOW_WEB_THREADS="8")
    assert (settings.worker_class, settings.threads) == ("gthread", 8)
    _reloaded(monkeypatch)


def test_an_unknown_worker_class_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="sync or gthread"):
        _reloaded(monkeypatch, ONEWINDOW_WEB_WORKER_CLASS="eventlet")
    _reloaded(monkeypatch)
