"""The platform CA (RFC 5280): the root is a CA for certificates and CRLs only, every seal certificate chains
to it with the key usages PDF signatures need, and the CRL it signs lists what was revoked (Electronic
Signature Law Art. 13 (3)–(4): changes to a signature are detectable only against a trusted key).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.management import call_command
from django.test import override_settings

from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.organisations.models import Department
from onewindow.seals import ca
from onewindow.seals.actions import (
    authority_certificate,
    authority_create,
    authority_current,
    crl_current,
    seal_revoke,
    seal_rotate,
)
from onewindow.seals.models import CertificateAuthority, Seal

pytestmark = pytest.mark.django_db


def _certificate(seal: Seal) -> x509.Certificate:
    return x509.load_der_x509_certificate(bytes(seal.certificate_der))


def test_the_root_is_a_self_signed_p256_ca_for_certificates_and_crls(seal: Seal) -> None:
    root = authority_certificate(seal.authority)

    root.verify_directly_issued_by(root)
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    assert isinstance(root.public_key().curve, ec.SECP256R1)  # type: ignore[union-attr]
    constraints = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    usage = root.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign
    assert usage.value.crl_sign
    assert not usage.value.digital_signature
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "OneWindow Root CA"
    assert root.not_valid_after_utc - root.not_valid_before_utc > dt.timedelta(days=20 * 365)
    assert seal.authority.fingerprint_sha256 == ca.certificate_fingerprint(root)


def test_a_seal_certificate_chains_to_the_root_with_the_department_as_subject(
    seal: Seal, department: Department
) -> None:
    certificate = _certificate(seal)
    root = authority_certificate(seal.authority)

    certificate.verify_directly_issued_by(root)
    assert certificate.issuer == root.subject
    subject = {attribute.oid: attribute.value for attribute in certificate.subject}
    assert subject[NameOID.ORGANIZATION_NAME] == department.name == "测试部门"
    assert subject[NameOID.ORGANIZATIONAL_UNIT_NAME] == "TDEPT"
    assert subject[NameOID.ORGANIZATION_IDENTIFIER] == department.credit_code
    assert subject[NameOID.COUNTRY_NAME] == "CN"
    assert format(certificate.serial_number, "x") == seal.certificate_serial


def test_a_seal_certificate_is_for_signing_documents_only(seal: Seal) -> None:
    certificate = _certificate(seal)

    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert not constraints.value.ca
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment
    assert not (usage.value.key_cert_sign)
    assert not (usage.value.crl_sign)
    assert not (usage.value.key_encipherment)
    extended = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(extended) == {
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
        x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.12"),
        x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36"),
    }
    key_id = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    root_ski = authority_certificate(seal.authority).extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    )
    assert key_id == root_ski.value.digest


def test_the_certificate_is_for_the_seals_ecdsa_key_and_valid_for_the_configured_days(seal: Seal) -> None:
    from onewindow.seals.keystore import keystore_for

    certificate = _certificate(seal)

    assert certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == keystore_for(seal.ecdsa_key_ref).public_key_der(seal.ecdsa_key_ref)
    assert (
        certificate.not_valid_after_utc - certificate.not_valid_before_utc
        == dt.timedelta(days=3 * 365) + ca.BACKDATE
    )
    assert (seal.not_before, seal.not_after) == (
        certificate.not_valid_before_utc,
        certificate.not_valid_after_utc,
    )


@override_settings(SEAL_CRL_URL="https://gov.example.cn/seals/root-ca.crl")
def test_a_configured_crl_address_is_written_into_seal_certificates(department: Department) -> None:
    certificate = _certificate(seal_rotate(acting_user=None, department=department))

    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [name.value for name in points[0].full_name or []] == ["https://gov.example.cn/seals/root-ca.crl"]


def test_the_root_is_created_once_on_first_need(department: Department) -> None:
    assert not CertificateAuthority.objects.exists()

    first = seal_rotate(acting_user=None, department=department)
    second = seal_rotate(acting_user=None, department=department)

    assert CertificateAuthority.objects.count() == 1
    assert first.authority_id == second.authority_id == authority_current().pk
    assert AuditRecord.objects.filter(action="seals.authority_created").count() == 1


def test_seals_init_ca_creates_the_root_and_refuses_a_second(db: None, capsys: Any) -> None:
    call_command("seals_init_ca", "--name", "Fuzhou OneWindow Root CA")

    authority = CertificateAuthority.objects.get()
    assert authority.name == "Fuzhou OneWindow Root CA"
    assert authority.fingerprint_sha256 in capsys.readouterr().out
    with pytest.raises(RuleViolation) as refused:
        authority_create(name="another")
    assert refused.value.code == "authority_exists"
    assert CertificateAuthority.objects.count() == 1


def test_the_crl_is_signed_by_the_root_and_lists_revoked_seals(seal: Seal, department: Department) -> None:
    kept = seal_rotate(acting_user=None, department=department)
    seal_revoke(acting_user=None, seal=seal, reason="钥匙泄露", reason_code="key_compromise")

    crl = x509.load_der_x509_crl(crl_current() or b"")

    root = authority_certificate(seal.authority)
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert crl.issuer == root.subject
    revoked = crl.get_revoked_certificate_by_serial_number(int(seal.certificate_serial, 16))
    assert revoked is not None
    assert revoked.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.key_compromise
    )
    assert crl.get_revoked_certificate_by_serial_number(int(kept.certificate_serial, 16)) is None
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 1


def test_the_crl_is_kept_until_it_is_due_then_reissued_with_the_next_number(seal: Seal) -> None:
    first = crl_current()
    assert crl_current() == first
    CertificateAuthority.objects.update(crl_next_update=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))

    renewed = x509.load_der_x509_crl(crl_current() or b"")

    assert renewed.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    assert AuditRecord.objects.filter(action="seals.crl_issued").count() == 2


def test_no_crl_before_the_root_exists(db: None) -> None:
    assert crl_current() is None
