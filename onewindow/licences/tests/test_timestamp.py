"""PAdES B-T: with ``ONEWINDOW_TSA_URL`` set, the licence PDF's signature carries an RFC 3161 timestamp from
that server (ETSI EN 319 142-1 §6.3). The server here is a real HTTP endpoint on localhost answering
``application/timestamp-query`` with pyHanko's test TSA, so the platform's HTTP client is exercised as it is
in production. A server that does not answer refuses the issue (503) and leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import io
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asn1crypto import keys as asn1_keys  # type: ignore[import-untyped]
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from onewindow.applications.models import Application, Document
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.licences.actions import licence_record
from onewindow.licences.models import Licence
from onewindow.licences.pdf import pdf_signature_check
from onewindow.licences.selectors import licence_pdf_bytes, licence_verify_upload
from onewindow.seals.selectors import authority_public

pytestmark = pytest.mark.django_db


def _tsa_certificate() -> tuple[bytes, bytes]:
    """A self-signed RSA timestamping certificate (critical EKU timeStamping, RFC 3161 §2.3) and its key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.DER), key_der


@pytest.fixture
def tsa() -> Iterator[tuple[str, bytes]]:
    """An RFC 3161 server on localhost: its URL and its certificate (DER)."""
    certificate_der, key_der = _tsa_certificate()
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(certificate_der),
        tsa_key=asn1_keys.PrivateKeyInfo.load(key_der),
    )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            request = tsp.TimeStampReq.load(self.rfile.read(length))
            reply = stamper.request_tsa_response(request).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/tsr", certificate_der
    finally:
        server.shutdown()
        server.server_close()


def test_with_a_timestamp_server_the_pdf_is_signed_pades_b_t(
    tsa: tuple[str, bytes], issue: Callable[..., Licence]
) -> None:
    url, tsa_der = tsa
    with override_settings(TSA_URL=url, TSA_TIMEOUT_SECONDS=10):
        licence = issue()
    pdf = licence_pdf_bytes(licence)
    authority = authority_public()
    assert authority is not None
    roots = [
        asn1_x509.Certificate.load(bytes(authority.certificate_der)),
        asn1_x509.Certificate.load(tsa_der),
    ]

    (embedded,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    status = validate_pdf_signature(embedded, ValidationContext(trust_roots=roots))

    assert licence.pdf_level == "B-T"
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact
    assert status.timestamp_validity.valid
    assert abs(status.timestamp_validity.timestamp - timezone.now()) < dt.timedelta(minutes=5)
    check = pdf_signature_check(pdf, trust_roots_der=[bytes(authority.certificate_der)])
    assert (check.problem, check.timestamped) == (None, True)
    assert licence_verify_upload(pdf).valid


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_timestamp_server_that_does_not_answer_refuses_the_issue_and_leaves_nothing(
    issue: Callable[..., Licence], make_application: Callable[..., Application]
) -> None:
    issue()  # TDEPT's seal exists already: only the licence is at stake
    application = make_application()
    audit_count = AuditRecord.objects.count()

    with (
        override_settings(TSA_URL=f"http://127.0.0.1:{_closed_port()}/tsr", TSA_TIMEOUT_SECONDS=2),
        pytest.raises(RuleViolation) as refused,
        transaction.atomic(),
    ):
        licence_record(
            application_id=application.pk,
            number="TDEPT-2026-000777",
            department_code="TDEPT",
            data={"credit_code": "91350100M000100Y43"},
            now=timezone.now(),
        )

    assert (refused.value.code, refused.value.status) == ("timestamp_unavailable", 503)
    assert refused.value.message_en.startswith("The timestamp server did not answer")
    assert not Licence.objects.filter(number="TDEPT-2026-000777").exists()
    assert not Document.objects.filter(application=application, kind=Document.Kind.LICENCE).exists()
    assert AuditRecord.objects.count() == audit_count
