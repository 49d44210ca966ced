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

from onewindow.crypto import _der
from onewindow.crypto.keys import Algorithm, load_verifier
from onewindow.seals.actions import authority_certificate, authority_current
from onewindow.seals.keystore import keystore_for

BACKDATE = dt.timedelta(minutes=10)
IDENTITY_URI_PREFIX = "urn:onewindow:exchange:"  # the subject alternative name of every exchange certificate
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
    return exchange_certificate_issue(
        public_key_der=public_key_der,
        organisation=department_name,
        organisation_identifier=credit_code,
        identity=subsystem_path,
        validity=validity,
        now=now,
    )


def gateway_certificate_issue(
    *, public_key_der: bytes, identity: str, validity: dt.timedelta, now: dt.datetime
) -> x509.Certificate:
    """A certificate for a key of the exchange gateway itself (``adapter.GATEWAY_IDENTITY``)."""
    return exchange_certificate_issue(
        public_key_der=public_key_der,
        organisation=authority_current().name or "OneWindow",
        organisation_identifier=identity.split("/")[2] if identity.count("/") >= 3 else identity,
        identity=identity,
        validity=validity,
        now=now,
    )


def exchange_certificate_issue(
    *,
    public_key_der: bytes,
    organisation: str,
    organisation_identifier: str,
    identity: str,
    validity: dt.timedelta,
    now: dt.datetime,
) -> x509.Certificate:
    """A certificate from the platform root for an exchange identity (a subsystem, or the gateway): subject
    ``C=CN, O=<organisation>, organizationIdentifier=<…>, CN=<identity>``, alternative name
    ``urn:onewindow:exchange:<identity>``."""
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
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, organisation_identifier),
            x509.NameAttribute(NameOID.COMMON_NAME, identity[:64]),
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
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(f"{IDENTITY_URI_PREFIX}{identity}")]),
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


# --- Certificate requests: a department registers its own key (the private key never leaves it) ------------

_SIGNATURE_ALGORITHMS = {"1.2.156.10197.1.501": "SM2-SM3", "1.3.101.112": "Ed25519"}


def _oid_text(content: bytes) -> str:
    arcs: list[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        return ""
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in [first, arcs[0] - 40 * first, *arcs[1:]])


def certificate_request_public_key(data: bytes) -> tuple[bytes, str]:
    """(SubjectPublicKeyInfo DER, algorithm) of a PKCS#10 certificate request (PEM or DER) whose signature by
    its own key verifies (SM2 with SM3 and the default signer ID, or Ed25519); CertificateError otherwise.

    Only the key is taken from the request: the platform decides the certificate's subject."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            label = "NEW CERTIFICATE REQUEST" if b"NEW CERTIFICATE REQUEST" in data else "CERTIFICATE REQUEST"
            data = _der.pem_decode(data, label)
        request = _der.children(_der.read_all(data, _der.SEQUENCE))
        if len(request) != 3 or [tag for tag, _ in request] != [
            _der.SEQUENCE,
            _der.SEQUENCE,
            _der.BIT_STRING,
        ]:
            raise _der.DERError("not a certification request")
        info_content = request[0][1]
        info = _der.children(info_content)
        if len(info) < 3 or info[0] != (_der.INTEGER, b"\x00") or info[2][0] != _der.SEQUENCE:
            raise _der.DERError("not a version 1 certification request")
        spki = _der.tlv(_der.SEQUENCE, info[2][1])
        algorithm = _der.children(request[1][1])
        if not algorithm or algorithm[0][0] != _der.OBJECT_IDENTIFIER:
            raise _der.DERError("no signature algorithm")
        signature_algorithm = _SIGNATURE_ALGORITHMS.get(_oid_text(algorithm[0][1]))
        signature = _der.bit_string_bytes(request[2][1])
        verifier = load_verifier(spki)
    except ValueError as error:  # DERError is a ValueError; so are unreadable keys
        message = f"not a readable PKCS#10 certificate request of an SM2 or Ed25519 key: {error}"
        raise CertificateError(message) from None
    if signature_algorithm is None or verifier.algorithm not in {Algorithm.SM2_SM3, Algorithm.ED25519}:
        message = "the request must be signed SM2 with SM3 or Ed25519 by an SM2 or Ed25519 key"
        raise CertificateError(message)
    if str(verifier.algorithm) != signature_algorithm:
        message = "the request's signature algorithm does not match its key"
        raise CertificateError(message)
    try:
        verifier.verify(signature, _der.tlv(_der.SEQUENCE, info_content))
    except (InvalidSignature, ValueError):
        message = "the request is not signed by its own key (no proof of possession)"
        raise CertificateError(message) from None
    return spki, signature_algorithm
