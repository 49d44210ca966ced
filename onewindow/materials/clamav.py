"""A small client for the ClamAV daemon (clamd), over TCP or a unix socket.

Protocol (clamd(8)): commands prefixed with ``z`` are NUL-terminated and so are the replies. ``zPING`` is
answered ``PONG``. ``zINSTREAM`` is followed by chunks, each preceded by its length as a 4-byte big-endian
unsigned integer, and a zero length ends the stream; the reply is ``stream: OK``,
``stream: <signature> FOUND`` or ``... ERROR`` (for instance when the stream exceeds clamd's
``StreamMaxLength``, after which clamd closes the connection).

Every socket operation has a timeout (``CLAMD_TIMEOUT_SECONDS``); any failure is a :class:`ClamdError`, which
the upload action turns into a refusal (fail closed: a file that could not be scanned is not stored).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

# Largest reply we read; real replies are a few dozen bytes.
_MAX_REPLY_BYTES = 4096


class ClamdError(Exception):
    """clamd could not be reached, timed out, or answered with an error."""


@dataclass(frozen=True)
class ScanResult:
    """The verdict on one stream: clean, or infected with ``signature``."""

    infected: bool
    signature: str = ""


def parse_reply(reply: str) -> ScanResult:
    """Turn ``stream: OK`` / ``stream: <name> FOUND`` into a result; anything else is a ClamdError."""
    if reply.endswith("ERROR"):
        raise ClamdError(f"clamd answered an error: {reply!r}")
    if not reply.startswith("stream: "):
        raise ClamdError(f"unexpected clamd reply: {reply!r}")
    body = reply.removeprefix("stream: ").strip()
    if body == "OK":
        return ScanResult(infected=False)
    if body.endswith(" FOUND"):
        return ScanResult(infected=True, signature=body.removesuffix(" FOUND").strip())
    raise ClamdError(f"unexpected clamd reply: {reply!r}")


class StreamScan:
    """One INSTREAM in progress: :meth:`send` chunks, then :meth:`finish` for the verdict."""

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection

    def send(self, chunk: bytes) -> None:
        if not chunk:
            return  # a zero length would end the stream early
        try:
            self._connection.sendall(struct.pack(">I", len(chunk)) + chunk)
        except OSError as error:  # includes timeouts and clamd closing on StreamMaxLength
            raise ClamdError(f"sending to clamd failed: {error}") from error

    def finish(self) -> ScanResult:
        try:
            self._connection.sendall(struct.pack(">I", 0))
        except OSError as error:
            raise ClamdError(f"sending to clamd failed: {error}") from error
        return parse_reply(_read_reply(self._connection))


def _read_reply(connection: socket.socket) -> str:
    data = b""
    try:
        while not data.endswith(b"\0") and len(data) < _MAX_REPLY_BYTES:
            received = connection.recv(_MAX_REPLY_BYTES)
            if not received:
                break
            data += received
    except OSError as error:
        raise ClamdError(f"reading from clamd failed: {error}") from error
    if not data:
        raise ClamdError("clamd closed the connection without a reply")
    return data.rstrip(b"\0").decode("utf-8", errors="replace").strip()


class ClamdClient:
    """Talks to one clamd at ``address``: ``tcp://host:port`` or ``unix:///path/to/socket``."""

    def __init__(self, address: str, *, timeout: float) -> None:
        parsed = urlsplit(address)
        if parsed.scheme == "tcp" and parsed.hostname and parsed.port:
            self._target: str | tuple[str, int] = (parsed.hostname, parsed.port)
        elif parsed.scheme == "unix" and parsed.path:
            self._target = parsed.path
        else:
            raise ValueError(f"clamd address must be tcp://host:port or unix:///path, not {address!r}")
        self.address = address
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        try:
            if isinstance(self._target, tuple):
                return socket.create_connection(self._target, timeout=self.timeout)
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.settimeout(self.timeout)
            try:
                connection.connect(self._target)
            except OSError:
                connection.close()
                raise
            return connection
        except OSError as error:
            raise ClamdError(f"cannot connect to clamd at {self.address}: {error}") from error

    def ping(self) -> bool:
        """True if clamd answers ``PONG``."""
        connection = self._connect()
        with connection:
            try:
                connection.sendall(b"zPING\0")
            except OSError as error:
                raise ClamdError(f"sending to clamd failed: {error}") from error
            return _read_reply(connection) == "PONG"

    @contextmanager
    def instream(self) -> Iterator[StreamScan]:
        """Open an INSTREAM scan; the connection is closed when the block ends."""
        connection = self._connect()
        with connection:
            try:
                connection.sendall(b"zINSTREAM\0")
            except OSError as error:
                raise ClamdError(f"sending to clamd failed: {error}") from error
            yield StreamScan(connection)

    def scan_bytes(self, data: bytes, *, chunk_size: int = 64 * 1024) -> ScanResult:
        """Scan ``data`` in one call (for small payloads and checks)."""
        with self.instream() as scan:
            for start in range(0, len(data), chunk_size):
                scan.send(data[start : start + chunk_size])
            return scan.finish()


def configured_client() -> ClamdClient | None:
    """The client for ``settings.CLAMD`` (``ONEWINDOW_CLAMD``), or None when scanning is not configured."""
    address: str = settings.CLAMD
    if not address:
        return None
    return ClamdClient(address, timeout=float(settings.CLAMD_TIMEOUT_SECONDS))
