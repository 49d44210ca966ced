"""PAdES B-T: with ``ONEWINDOW_TSA_URL`` set, the licence PDF's signature carries an RFC 3161 timestamp from
that server (ETSI EN 319 142-1 §6.3). The server here is a real HTTP endpoint on localhost answering
``application/timestamp-query`` with pyHanko's test TSA, so the platform's HTTP client is exercised as it is
in production. A server that does not answer refuses the issue (503) and leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import pytest
from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from pyhanko.pdf_utils.reader import PdfFileReader
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
from onewindow.seals.tests.tsa import closed_port, tsa_server  # noqa: F401 - the "tsa" fixture

pytestmark = pytest.mark.django_db


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


def test_a_timestamp_server_that_does_not_answer_refuses_the_issue_and_leaves_nothing(
    issue: Callable[..., Licence], make_application: Callable[..., Application]
) -> None:
    issue()  # TDEPT's seal exists already: only the licence is at stake
    application = make_application()
    audit_count = AuditRecord.objects.count()

    with (
        override_settings(TSA_URL=f"http://127.0.0.1:{closed_port()}/tsr", TSA_TIMEOUT_SECONDS=2),
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
