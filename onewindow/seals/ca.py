"""The platform's certificate authority: the root, the seals' certificates and the CRL (RFC 5280).

Pure functions over ``cryptography.x509``: no database, no settings. The private keys stay in the key store:
``cryptography`` can only sign with a key object it holds, so each structure is built and signed with a
throwaway key, then its to-be-signed part is signed again through :meth:`KeyStore.sign_ecdsa` and the
signature replaced. The result is parsed back and checked against the issuer's public key, so a store that
signed with the wrong key fails here, not at a verifier.

* Root: ECDSA P-256, self-signed, CA:TRUE with path length 0, keyCertSign + cRLSign, 20 years.
* Seal certificate: subject C=CN, O=department name, OU=department code, organizationIdentifier=unified
  social credit code, CN=department name; keyUsage digitalSignature + nonRepudiation (critical);
  extKeyUsage emailProtection, Microsoft document signing and RFC 9336 documentSigning (pyHanko's default
  validation asks for nonRepudiation and accepts any extended key usage; NSS, which poppler's ``pdfsig``
  uses, wants emailProtection when an extKeyUsage is present).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from onewindow.seals.keystore import keystore_for

ROOT_VALIDITY = dt.timedelta(days=20 * 365 + 5)
# Certificates start a little in the past, so a verifier whose clock is behind still accepts them.
BACKDATE = dt.timedelta(minutes=10)
CRL_VALIDITY = dt.timedelta(days=7)

MICROSOFT_DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning, RFC 9336
SEAL_EXTENDED_KEY_USAGES = (
    ExtendedKeyUsageOID.EMAIL_PROTECTION,
    MICROSOFT_DOCUMENT_SIGNING,
    DOCUMENT_SIGNING,
)

_ECDSA_WITH_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")  # AlgorithmIdentifier, RFC 5758 §3.2


class CertificateAuthorityError(Exception):
    """The key store produced a signature that does not verify under the issuer's key."""


def _tlv(tag: int, value: bytes) -> bytes:
    length = len(value)
    if length < 0x80:
        return bytes([tag, length]) + value
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(body)]) + body + value


def _signed_structure(tbs: bytes, key_ref: str) -> bytes:
    """``SEQUENCE { tbs, ecdsa-with-SHA256, BIT STRING signature }``: a Certificate or a CertificateList."""
    signature = keystore_for(key_ref).sign_ecdsa(key_ref, tbs)
    return _tlv(0x30, tbs + _ECDSA_WITH_SHA256 + _tlv(0x03, b"\x00" + signature))


def _throwaway_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _public_key(der: bytes) -> ec.EllipticCurvePublicKey:
    key = serialization.load_der_public_key(der)
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        message = "the key is not an ECDSA P-256 public key"
        raise CertificateAuthorityError(message)
    return key


def _certificate_signed(builder: x509.CertificateBuilder, key_ref: str) -> x509.Certificate:
    draft = builder.sign(_throwaway_key(), hashes.SHA256())
    return x509.load_der_x509_certificate(_signed_structure(draft.tbs_certificate_bytes, key_ref))


def root_certificate_build(*, key_ref: str, name: str, now: dt.datetime) -> x509.Certificate:
    """The self-signed root for the ECDSA P-256 key ``key_ref``."""
    public_key = _public_key(keystore_for(key_ref).public_key_der(key_ref))
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OneWindow"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    certificate = _certificate_signed(builder, key_ref)
    _check_issued_by(certificate, certificate)
    return certificate


@dataclass(frozen=True)
class SealSubject:
    department_name: str
    department_code: str
    credit_code: str


def seal_certificate_build(
    *,
    root: x509.Certificate,
    root_key_ref: str,
    subject_key_der: bytes,
    subject: SealSubject,
    now: dt.datetime,
    validity: dt.timedelta,
    crl_url: str = "",
) -> x509.Certificate:
    """A seal's certificate for the ECDSA P-256 public key ``subject_key_der``, issued by ``root``."""
    public_key = _public_key(subject_key_der)
    not_after = min(now + validity, root.not_valid_after_utc)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject.department_name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, subject.department_code),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, subject.credit_code),
            x509.NameAttribute(NameOID.COMMON_NAME, subject.department_name),
        ]
    )
    root_key_identifier = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(root.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(list(SEAL_EXTENDED_KEY_USAGES)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_key_identifier),
            critical=False,
        )
    )
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(crl_url)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
    certificate = _certificate_signed(builder, root_key_ref)
    _check_issued_by(certificate, root)
    return certificate


@dataclass(frozen=True)
class RevokedEntry:
    serial_number: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags


def crl_build(
    *,
    root: x509.Certificate,
    root_key_ref: str,
    revoked: list[RevokedEntry],
    crl_number: int,
    now: dt.datetime,
) -> x509.CertificateRevocationList:
    """The root's CRL listing ``revoked``, valid for :data:`CRL_VALIDITY`."""
    root_key_identifier = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(now)
        .next_update(now + CRL_VALIDITY)
        .add_extension(x509.CRLNumber(crl_number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_key_identifier),
            critical=False,
        )
    )
    for entry in revoked:
        revoked_builder = (
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial_number)
            .revocation_date(entry.revoked_at)
        )
        if entry.reason != x509.ReasonFlags.unspecified:
            revoked_builder = revoked_builder.add_extension(x509.CRLReason(entry.reason), critical=False)
        builder = builder.add_revoked_certificate(revoked_builder.build())
    draft = builder.sign(_throwaway_key(), hashes.SHA256())
    crl = x509.load_der_x509_crl(_signed_structure(draft.tbs_certlist_bytes, root_key_ref))
    if not crl.is_signature_valid(_public_key(_spki(root))):
        message = "the key store's CRL signature does not verify under the root's key"
        raise CertificateAuthorityError(message)
    return crl


def _spki(certificate: x509.Certificate) -> bytes:
    return certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _check_issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> None:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError) as error:
        message = f"the key store's signature does not verify under the issuer's key: {error!r}"
        raise CertificateAuthorityError(message) from error


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, hex (what people compare when installing a trust anchor)."""
    return certificate.fingerprint(hashes.SHA256()).hex()


def serial_hex(certificate: x509.Certificate) -> str:
    return format(certificate.serial_number, "x")


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key_compromise": x509.ReasonFlags.key_compromise,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
}
