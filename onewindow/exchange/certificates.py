"""X.509 certificates for subsystem keys, issued by the platform CA (docs/signatures.md, docs/exchange.md).

``cryptography`` cannot hold an SM2 public key, so an SM2 certificate is built with a placeholder P-256 key
and the placeholder's SubjectPublicKeyInfo is replaced by the SM2 one in the to-be-signed bytes. Both are
``id-ecPublicKey`` with an 8-byte curve OID (P-256 1.2.840.10045.3.1.7, SM2 1.2.156.10197.1.301) and a
65-byte point, so every DER length stays the same. The to-be-signed bytes are then signed by the root's key
through the seals' key store (ECDSA P-256 with SHA-256, as every platform certificate) and checked against
the root's public key. The subject key identifier is the SHA-1 of the real key's point (RFC 5280
§4.2.1.2, method 1), not of the placeholder.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from onewindow.seals.actions import authority_certificate, authority_current
from onewindow.seals.keystore import keystore_for

BACKDATE = dt.timedelta(minutes=10)
_ECDSA_WITH_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")


class CertificateError(Exception):
    """The certificate could not be built or does not verify under the root."""


def _tlv(tag: int, value: bytes) -> bytes:
    length = len(value)
    if length < 0x80:
        return bytes([tag, length]) + value
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(body)]) + body + value


def _key_bits(spki_der: bytes) -> bytes:
    return spki_der[-65:]  # the uncompressed point (04 ‖ x ‖ y) or, for Ed25519, the end of the key


def subsystem_certificate_issue(
    *,
    public_key_der: bytes,
    department_name: str,
    credit_code: str,
    subsystem_path: str,
    validity: dt.timedelta,
    now: dt.datetime,
) -> x509.Certificate:
    """A certificate for the subsystem key ``public_key_der`` (SM2 or Ed25519) from the platform root."""
    authority = authority_current()
    root = authority_certificate(authority)
    loaded = None
    try:
        loaded = serialization.load_der_public_key(public_key_der)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # SM2: not a curve cryptography knows
        loaded = None
    placeholder = ec.generate_private_key(ec.SECP256R1()).public_key()
    public_key = loaded if loaded is not None else placeholder
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, department_name),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, credit_code),
            x509.NameAttribute(NameOID.COMMON_NAME, subsystem_path[:64]),
        ]
    )
    root_ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(root.subject)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(min(now + validity, root.not_valid_after_utc))
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
        .add_extension(
            x509.SubjectKeyIdentifier(
                hashlib.sha1(_key_bits(public_key_der), usedforsecurity=False).digest()
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False
        )
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(f"urn:onewindow:exchange:{subsystem_path}")]
            ),
            critical=False,
        )
    )
    draft = builder.sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    tbs = draft.tbs_certificate_bytes
    if loaded is None:
        placeholder_der = placeholder.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if len(placeholder_der) != len(public_key_der) or tbs.count(placeholder_der) != 1:
            message = "the SM2 key cannot replace the placeholder key (unexpected encoding)"
            raise CertificateError(message)
        tbs = tbs.replace(placeholder_der, public_key_der)
    signature = keystore_for(authority.key_ref).sign_ecdsa(authority.key_ref, tbs)
    certificate = x509.load_der_x509_certificate(
        _tlv(0x30, tbs + _ECDSA_WITH_SHA256 + _tlv(0x03, b"\x00" + signature))
    )
    certificate_verify(certificate, root)
    return certificate


def certificate_verify(certificate: x509.Certificate, root: x509.Certificate) -> None:
    """Raise CertificateError unless ``certificate`` was signed by ``root``'s key."""
    root_key = root.public_key()
    if not isinstance(root_key, ec.EllipticCurvePublicKey):
        message = "the root key is not ECDSA"
        raise CertificateError(message)
    try:
        root_key.verify(certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        message = "the certificate does not verify under the platform root"
        raise CertificateError(message) from None
