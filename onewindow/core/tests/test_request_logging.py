"""Every request leaves one structured (JSON) log line carrying its request id.

GB/T 22239-2019 §8.1.4.3 b (records hold date and time, user, event type and outcome) and §8.1.5.4 d
(audit data from all components is collected centrally: one JSON line per event ships as it is).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from pytest_django import Settings

from onewindow.core.logging import StructuredFormatter


@pytest.fixture
def request_log(settings: Settings) -> Iterator[io.StringIO]:
    """The lines of the ``onewindow.request`` logger, formatted as in production (JSON)."""
    settings.LOG_FORMAT = "json"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(StructuredFormatter())
    logger = logging.getLogger("onewindow.request")
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.django_db
def test_a_request_logs_one_json_line_with_its_request_id(client: Client, request_log: io.StringIO) -> None:
    # when an anonymous visitor opens a page that does not exist
    response = client.get("/no-such-page/")

    # then one JSON line describes it, with the id also sent back in X-Request-ID
    (line,) = _lines(request_log)
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    assert line["event"] == "request_finished"
    assert line["request_id"] == request_id
    assert line["method"] == "GET"
    assert line["route"] == "unmatched"
    assert line["status"] == 404
    assert line["user"] == ""
    assert line["level"] == "info"
    assert line["logger"] == "onewindow.request"
    assert isinstance(line["duration_ms"], float)
    assert line["timestamp"].endswith("Z")


@pytest.mark.django_db
def test_a_signed_in_request_logs_the_user_and_the_route(
    role_users: dict[str, object], client_for: Callable[[object], Client], request_log: io.StringIO
) -> None:
    client = client_for(role_users["window_clerk"])
    client.get("/healthz")  # a probe: DEBUG level, still structured
    client.get("/")
    probe, home = _lines(request_log)
    assert (probe["level"], probe["route"], probe["status"], probe["user"]) == (
        "debug",
        "/healthz",
        200,
        "t_window_clerk",
    )
    assert (home["level"], home["route"], home["status"], home["user"]) == (
        "info",
        "/",
        200,
        "t_window_clerk",
    )


@pytest.mark.django_db
def test_a_well_formed_caller_request_id_is_kept(client: Client, request_log: io.StringIO) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID="gateway-7f3a9c01.trace")
    assert response["X-Request-ID"] == "gateway-7f3a9c01.trace"
    assert _lines(request_log)[0]["request_id"] == "gateway-7f3a9c01.trace"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "incoming",
    ["short", "has spaces in it", "x" * 65, "evil\nX-Injected: 1", '{"json": "in a header"}'],
)
def test_a_malformed_caller_request_id_is_replaced(
    client: Client, request_log: io.StringIO, incoming: str
) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    replaced = response["X-Request-ID"]
    assert replaced != incoming
    assert len(replaced) == 32
    assert _lines(request_log)[0]["request_id"] == replaced
