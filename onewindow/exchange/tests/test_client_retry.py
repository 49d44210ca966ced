"""The client's kept-alive connections (docs/exchange.md "The Python client"): a connection the server closed
after reading a request must not make the client resend that request's nonce (the exchange would refuse it
as a replay, 409 ``replayed_nonce``); the call is signed again with a fresh nonce instead. A request that was
never written whole is sent again as it is. No database: a scripted HTTP/1.1 server on a local socket."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

import pytest

from onewindow.crypto.keys import Algorithm, generate_signer
from onewindow.exchange import protocol
from onewindow.exchange.client import ConnectionUnsure, ExchangeClient

SERVICE = "CN/GOV/11350100MB0000001X/AMR-REG/entity-basic"
ANSWER = b'{"data":{}}'


@dataclass
class ScriptedServer:
    """Answers requests in order; ``drop`` lists the (1-based) requests it reads and then closes the
    connection on without answering, as a server closing an idle kept-alive connection can."""

    drop: set[int]
    nonces: list[str] = field(default_factory=list)
    connections: int = 0
    port: int = 0

    def __post_init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen()
        self.port = self._socket.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._connection, args=(connection,), daemon=True).start()

    def _connection(self, connection: socket.socket) -> None:
        reader = connection.makefile("rb")
        with connection, reader:
            while True:
                head = []
                line = reader.readline()
                if not line:
                    return
                while line not in (b"\r\n", b""):
                    head.append(line.decode("latin-1"))
                    line = reader.readline()
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (entry.partition(":") for entry in head[1:])
                }
                reader.read(int(headers.get("content-length", "0")))
                self.nonces.append(headers.get(protocol.NONCE.lower(), ""))
                if len(self.nonces) in self.drop:
                    return  # read, possibly processed, never answered
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(ANSWER)}\r\n\r\n".encode()
                    + ANSWER
                )

    def close(self) -> None:
        self._socket.close()


@pytest.fixture
def client() -> ExchangeClient:
    return ExchangeClient(
        "http://127.0.0.1:1",
        "CN/GOV/11350100MB0000002X/TAX-CORE",
        generate_signer(Algorithm.SM2_SM3),
        require_signed_response=False,
    )


def _on(server: ScriptedServer, client: ExchangeClient) -> ExchangeClient:
    client.base_url = f"http://127.0.0.1:{server.port}"
    return client


def test_a_dropped_kept_alive_connection_is_retried_with_a_fresh_nonce(client: ExchangeClient) -> None:
    server = ScriptedServer(drop={2})
    try:
        _on(server, client)
        assert client.call(SERVICE, {"credit_code": "x"}, purpose="P").status == 200
        # The second request is read on the kept-alive connection, then the connection closes unanswered.
        assert client.call(SERVICE, {"credit_code": "x"}, purpose="P").status == 200
    finally:
        server.close()
    assert len(server.nonces) == 3
    assert server.nonces[1] != server.nonces[2]  # re-signed: the possibly used nonce is never sent again
    assert len(set(server.nonces)) == 3
    assert server.connections == 2


def test_prepared_headers_are_not_resent_after_an_unanswered_request(client: ExchangeClient) -> None:
    server = ScriptedServer(drop={2})
    try:
        _on(server, client)
        assert client.call(SERVICE, {"credit_code": "x"}, purpose="P").status == 200
        path = client.path_of(SERVICE)
        headers = client.signed_headers(path, b"{}", "P")
        with pytest.raises(ConnectionUnsure):
            client.send(path, headers, b"{}")
    finally:
        server.close()
    assert server.nonces.count(headers[protocol.NONCE]) == 1


def test_a_connection_idle_too_long_is_not_reused(client: ExchangeClient) -> None:
    server = ScriptedServer(drop=set())
    client.idle_seconds = 0.0
    try:
        _on(server, client)
        for _ in range(2):
            assert client.call(SERVICE, {"credit_code": "x"}, purpose="P").status == 200
    finally:
        server.close()
    assert server.connections == 2


def test_a_failure_on_a_new_connection_is_not_retried(client: ExchangeClient) -> None:
    server = ScriptedServer(drop={1})
    try:
        _on(server, client)
        with pytest.raises(ConnectionError):
            client.call(SERVICE, {"credit_code": "x"}, purpose="P")
    finally:
        server.close()
    assert len(server.nonces) == 1
