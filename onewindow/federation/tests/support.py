"""A remote node played by the test (its own root CA, node key and consumer subsystems, built with
``cryptography``, no database), and a small HTTP server standing in for a peer's address."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from onewindow.crypto.keys import Algorithm, Signer, generate_signer
from onewindow.exchange import protocol as xp
from onewindow.federation import protocol

ENTITY_ITEMS = ["名称", "登记状态", "统一社会信用代码"]


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OneWindow"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass
class Party:
    """A signing key with its certificate (a node or a consumer subsystem of the fake node)."""

    identity: str
    signer: Signer
    certificate_der: bytes


@dataclass
class FakeNode:
    """Another OneWindow node as the test plays it."""

    instance: str
    root_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    root: x509.Certificate = field(init=False)
    node: Party = field(init=False)

    def __post_init__(self) -> None:
        now = dt.datetime.now(dt.UTC)
        subject = _name(f"{self.instance} Root CA")
        public = self.root_key.public_key()
        self.root = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.root_key, hashes.SHA256())
        )
        self.node = self.party(protocol.node_subject(self.instance))

    @property
    def root_pem(self) -> str:
        return self.root.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def root_sha256(self) -> str:
        return protocol.fingerprints(self.root.public_bytes(serialization.Encoding.DER))[0]

    def party(self, identity: str, *, expired: bool = False) -> Party:
        """A new Ed25519 key for ``identity`` with a certificate from this node's root."""
        signer = generate_signer(Algorithm.ED25519)
        public = serialization.load_der_public_key(signer.public_key_der())
        now = dt.datetime.now(dt.UTC)
        not_after = now - dt.timedelta(hours=1) if expired else now + dt.timedelta(days=30)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(identity[:64]))
            .issuer_name(self.root.subject)
            .public_key(public)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(not_after)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.UniformResourceIdentifier(f"{protocol.SAN_PREFIX}{identity}")]
                ),
                critical=False,
            )
            .sign(self.root_key, hashes.SHA256())
        )
        return Party(identity, signer, certificate.public_bytes(serialization.Encoding.DER))

    def crl(
        self,
        revoked: list[Party] | None = None,
        *,
        number: int = 1,
        next_update: dt.datetime | None = None,
        signed_by: ec.EllipticCurvePrivateKey | None = None,
    ) -> bytes:
        """This node's root CRL (DER) listing the certificates of ``revoked``, as ``/seals/root-ca.crl``."""
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.root.subject)
            .last_update(now - dt.timedelta(days=1))
            .next_update(next_update or now + dt.timedelta(days=7))
            .add_extension(x509.CRLNumber(number), critical=False)
        )
        for party in revoked or []:
            serial = x509.load_der_x509_certificate(party.certificate_der).serial_number
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
            )
        crl = builder.sign(signed_by or self.root_key, hashes.SHA256())
        return crl.public_bytes(serialization.Encoding.DER)

    # --- what this node sends ----------------------------------------------------------------------------

    def envelope(
        self, consumer: Party, service: str, body: bytes, purpose: str, *, signed_service: str = ""
    ) -> protocol.Envelope:
        """The consumer's own signed call of ``service`` at this node's outbound address."""
        path = protocol.OUTBOUND_PREFIX + (signed_service or service)
        headers = xp.SignedHeaders(
            client=consumer.identity,
            timestamp=xp.format_timestamp(dt.datetime.now(dt.UTC)),
            nonce=xp.new_nonce(),
            digest=xp.body_digest(body),
            purpose=xp.encode_purpose(purpose),
            key_id=consumer.signer.key_id,
        )
        signature = consumer.signer.sign(xp.request_canonical("POST", path, headers))
        return protocol.Envelope(
            headers, base64.b64encode(signature).decode(), path, consumer.certificate_der
        )

    def node_headers(
        self,
        path: str,
        body: bytes,
        *,
        target: str,
        purpose: str,
        envelope: protocol.Envelope | None = None,
        node: Party | None = None,
        timestamp: dt.datetime | None = None,
        client: str = "",
    ) -> dict[str, str]:
        """This node's signed headers for a request to ``target`` at ``path``."""
        node = node or self.node
        envelope_value = envelope.encode() if envelope else ""
        signed = xp.SignedHeaders(
            client=client or self.instance,
            timestamp=xp.format_timestamp(timestamp or dt.datetime.now(dt.UTC)),
            nonce=xp.new_nonce(),
            digest=xp.body_digest(body),
            purpose=xp.encode_purpose(purpose),
            key_id=node.signer.key_id,
        )
        signature = node.signer.sign(
            protocol.node_request_canonical(
                "POST", path, signed, target=target, envelope_digest=protocol.envelope_digest(envelope_value)
            )
        )
        headers = {
            **signed.as_headers(signature),
            protocol.CERTIFICATE: protocol.certificate_b64(node.certificate_der),
        }
        if envelope_value:
            headers[protocol.CONSUMER] = envelope_value
        return headers

    def answer(
        self,
        party: Party,
        *,
        status: int,
        path: str,
        body: bytes,
        request_nonce: str,
        purpose: str = "",
        exchange_id: str = "f" * 32,
    ) -> dict[str, str]:
        signed = xp.SignedHeaders(
            client=party.identity.removeprefix("federation/"),  # a node signs as its instance
            timestamp=xp.format_timestamp(dt.datetime.now(dt.UTC)),
            nonce=xp.new_nonce(),
            digest=xp.body_digest(body),
            purpose=purpose,
            key_id=party.signer.key_id,
        )
        signature = party.signer.sign(
            xp.response_canonical(status, path, signed, request_nonce=request_nonce, exchange_id=exchange_id)
        )
        return {
            "Content-Type": "application/json",
            xp.EXCHANGE_ID: exchange_id,
            protocol.CERTIFICATE: protocol.certificate_b64(party.certificate_der),
            **signed.as_headers(signature),
        }


# --- A peer's address ---------------------------------------------------------------------------------------

# (method, path, headers with their names as sent, body) -> (status, headers, body)
Handler = Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


class PeerServer:
    """An HTTP server on a free port answering with ``handler`` (set by the test); records the requests."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.handler: Handler = lambda method, path, headers, body: (404, {}, b"{}")
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self._answer("POST")

            def do_GET(self) -> None:
                self._answer("GET")

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = dict(self.headers.items())
                server.requests.append(
                    {"method": method, "path": self.path, "headers": headers, "body": body}
                )
                status, answer_headers, content = server.handler(method, self.path, headers, body)
                self.send_response(status)
                for name, value in answer_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def json_answer(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
