"""The clamd client (clamd(8) INSTREAM/PING protocol) against a real, private clamd with the test signatures,
and against sockets that fail (GB/T 22239-2019 §8.1.4.5: malicious-code prevention must not be silently
skipped)."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from onewindow.materials.clamav import ClamdClient, ClamdError, ScanResult, configured_client, parse_reply
from onewindow.materials.tests import samples
from onewindow.materials.tests.conftest import SIGNATURES


def test_signature_database_describes_the_eicar_string() -> None:
    # The .hdb line is MD5:size:name of the whole EICAR string (regenerate it the same way if it changes).
    digest = hashlib.md5(samples.EICAR).hexdigest()  # noqa: S324 - ClamAV's .hdb format is MD5
    assert (SIGNATURES / "onewindow-test.hdb").read_text() == f"{digest}:68:OneWindow.Test.EICAR\n"
    body_hex = (SIGNATURES / "onewindow-test.ndb").read_text().strip().rsplit(":", 1)[1]
    assert bytes.fromhex(body_hex) in samples.EICAR


def test_ping(clamd_address: str) -> None:
    assert ClamdClient(clamd_address, timeout=5).ping() is True


def test_clean_pdf(clamd_address: str) -> None:
    assert ClamdClient(clamd_address, timeout=5).scan_bytes(samples.PDF) == ScanResult(infected=False)


def test_eicar_found(clamd_address: str) -> None:
    result = ClamdClient(clamd_address, timeout=5).scan_bytes(samples.EICAR, chunk_size=10)

    # Both test signatures match the bare string; clamd names whichever it tries first.
    assert result.infected is True
    assert result.signature in {"OneWindow.Test.EICAR.UNOFFICIAL", "OneWindow.Test.EICAR-Body.UNOFFICIAL"}


def test_eicar_inside_a_pdf_found(clamd_address: str) -> None:
    result = ClamdClient(clamd_address, timeout=5).scan_bytes(samples.PDF + samples.EICAR + b"\n%%EOF\n")

    assert result == ScanResult(infected=True, signature="OneWindow.Test.EICAR-Body.UNOFFICIAL")


def test_stream_over_clamd_limit_is_an_error(clamd_address: str) -> None:
    with pytest.raises(ClamdError):
        ClamdClient(clamd_address, timeout=5).scan_bytes(samples.PDF + b"\0" * (2 * 1024 * 1024))


def test_missing_socket_is_an_error(tmp_path: Path) -> None:
    client = ClamdClient(f"unix://{tmp_path}/absent.sock", timeout=1)
    with pytest.raises(ClamdError, match="cannot connect"):
        client.ping()
    with pytest.raises(ClamdError, match="cannot connect"):
        client.scan_bytes(samples.PDF)


@pytest.fixture
def closed_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_refused_tcp_connection_is_an_error(closed_tcp_port: int) -> None:
    with pytest.raises(ClamdError, match="cannot connect"):
        ClamdClient(f"tcp://127.0.0.1:{closed_tcp_port}", timeout=1).scan_bytes(samples.PDF)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP socket that accepts connections (in its backlog) but never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"


def test_silent_server_times_out(silent_server: str) -> None:
    with pytest.raises(ClamdError, match="reading from clamd failed"):
        ClamdClient(silent_server, timeout=0.5).scan_bytes(samples.PDF)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("stream: OK", ScanResult(infected=False)),
        ("stream: Eicar-Signature FOUND", ScanResult(infected=True, signature="Eicar-Signature")),
        ("1: stream: Win.Test.EICAR_HDB-1 FOUND", None),
    ],
)
def test_parse_reply(reply: str, expected: ScanResult | None) -> None:
    if expected is None:
        with pytest.raises(ClamdError):
            parse_reply(reply)
    else:
        assert parse_reply(reply) == expected


def test_error_reply_is_an_error() -> None:
    with pytest.raises(ClamdError, match="INSTREAM size limit exceeded"):
        parse_reply("INSTREAM size limit exceeded. ERROR")


@pytest.mark.parametrize("address", ["", "clamd:3310", "tcp://host", "unix://", "http://x:1"])
def test_bad_addresses_are_refused(address: str) -> None:
    with pytest.raises(ValueError, match="clamd address"):
        ClamdClient(address, timeout=1)


def test_configured_client_follows_settings(settings: object) -> None:
    settings.CLAMD = ""  # type: ignore[attr-defined]
    assert configured_client() is None
    settings.CLAMD = "tcp://clamav.internal:3310"  # type: ignore[attr-defined]
    settings.CLAMD_TIMEOUT_SECONDS = 7  # type: ignore[attr-defined]
    client = configured_client()
    assert client is not None
    assert (client.address, client.timeout) == ("tcp://clamav.internal:3310", 7.0)
