"""The federation's wire format (docs/federation.md, "Protocol"): pure functions, no Django models.

A node forwards its consumer's call to a peer with the exchange's six signed headers (``X-OW-Client`` is
the *instance* id, ``X-OW-Key-Id`` the node key) plus ``X-OW-Certificate`` (the node key's certificate,
issued by the node's platform root) and ``X-OW-Consumer`` (the consumer's own signed headers, signature,
path and certificate). The node signs::

    OW-FEDERATION-1 REQUEST
    POST
    /federation/v1/inbound/CN/GOV/<member>/<subsystem>/<service>
    <X-OW-Client> <X-OW-Timestamp> <X-OW-Nonce> <X-OW-Digest> <X-OW-Purpose> <X-OW-Key-Id>   (one per line)
    <target instance>
    <SM3 hex of the X-OW-Consumer value, or empty>

so a request meant for one peer cannot be replayed at another, and the consumer's envelope cannot be
swapped. Answers are signed with the exchange's response canonical string (``OW-EXCHANGE-1 RESPONSE``,
bound to the request's nonce and the exchange id) by the provider subsystem, or by the node for refusals
that come before a service is known; ``X-OW-Certificate`` carries the signer's certificate.

Certificates are checked against the peer's *pinned* root: issued by it (signature), valid now, and naming
the expected party in their subject alternative name ``urn:onewindow:exchange:<subject>`` — a subsystem
id ``CN/GOV/…`` or ``federation/<instance>`` for a node, so neither can pass for the other.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtensionOID

from onewindow.crypto.sm3 import sm3_hex
from onewindow.exchange import protocol as exchange_protocol

VERSION = "OW-FEDERATION-1"
CERTIFICATE = "X-OW-Certificate"
CONSUMER = "X-OW-Consumer"
PEER_RESPONSE = "X-OW-Peer-Response"
PEER_EXCHANGE_ID = "X-OW-Peer-Exchange-Id"

# Where a node answers (relative to its base URL).
OUTBOUND_PREFIX = "/federation/exchange/v1/"  # local consumers: same protocol as /exchange/v1/
INBOUND_PREFIX = "/federation/v1/inbound/"  # peers forwarding their consumers' calls
EVENTS_PATH = "/federation/v1/events/pull"  # peers fetching this node's events
META_PATH = "/api/v1/federation/meta/node"  # public: instance, root certificate, node keys
EVENTS_PURPOSE = "federation-events"

SAN_PREFIX = "urn:onewindow:exchange:"
INSTANCE = re.compile(r"^[A-Z]{2}(-[0-9A-Z]{1,16}){0,3}$")
MAX_CERTIFICATE_BYTES = 4096


class CertificateProblem(Exception):  # noqa: N818 - names the problem, like Http404
    """A certificate is not acceptable: not issued by the pinned root, expired, or names someone else."""


def instance_is_valid(value: str) -> bool:
    """``CN``, ``CN-35`` (a province), ``CN-3501`` (a city): two letters, up to three dash-separated parts."""
    return bool(INSTANCE.fullmatch(value or ""))


def node_subject(instance: str) -> str:
    """What a node certificate names: ``federation/{instance}``."""
    return f"federation/{instance}"


def qualified(instance: str, identifier: str) -> str:
    """A member, subsystem or service id qualified by the instance that vouches for it, X-Road style:
    ``CN/GOV/…`` seen from another node becomes ``{instance}/GOV/…`` (message logs and audit)."""
    prefix = f"{exchange_protocol.COUNTRY}/"
    return (
        instance + identifier[len(exchange_protocol.COUNTRY) :]
        if identifier.startswith(prefix)
        else identifier
    )


def member_of(subsystem: str) -> str:
    """``CN/GOV/{credit code}`` of ``CN/GOV/{credit code}/{system}``."""
    return "/".join(subsystem.split("/")[:3])


def node_request_canonical(
    method: str, path: str, headers: exchange_protocol.SignedHeaders, *, target: str, envelope_digest: str
) -> bytes:
    lines = [f"{VERSION} REQUEST", method.upper(), path, *headers.lines(), target, envelope_digest]
    return "\n".join(lines).encode("utf-8")


def event_message_canonical(subject: str, headers: exchange_protocol.SignedHeaders, *, target: str) -> bytes:
    """What a node signs for one event message on NATS (no nonce store: the event id deduplicates)."""
    lines = [f"{VERSION} EVENT", subject, *headers.lines(), target]
    return "\n".join(lines).encode("utf-8")


# --- The consumer's envelope --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """What the consumer sent its own node: its signed headers, signature, the path it signed, its
    certificate. The provider's node checks the signature itself, so the log there names who asked."""

    headers: exchange_protocol.SignedHeaders
    signature: str
    path: str
    certificate_der: bytes

    def encode(self) -> str:
        document = {
            "client": self.headers.client,
            "timestamp": self.headers.timestamp,
            "nonce": self.headers.nonce,
            "digest": self.headers.digest,
            "purpose": self.headers.purpose,
            "key_id": self.headers.key_id,
            "signature": self.signature,
            "path": self.path,
            "certificate": base64.b64encode(self.certificate_der).decode("ascii"),
        }
        raw = json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, value: str) -> Envelope | None:
        if not value or len(value) > 16_384:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            document = json.loads(raw)
            headers = exchange_protocol.SignedHeaders(
                *(
                    str(document[name])
                    for name in ("client", "timestamp", "nonce", "digest", "purpose", "key_id")
                )
            )
            certificate = base64.b64decode(str(document["certificate"]), validate=True)
            return cls(headers, str(document["signature"]), str(document["path"]), certificate)
        except (binascii.Error, ValueError, KeyError, TypeError):
            return None


def envelope_digest(value: str) -> str:
    return sm3_hex(value.encode("ascii")) if value else ""


# --- Certificates -------------------------------------------------------------------------------------------


def certificate_b64(der: bytes) -> str:
    return base64.b64encode(der).decode("ascii")


def certificate_from_b64(value: str) -> bytes | None:
    if not value or len(value) > MAX_CERTIFICATE_BYTES * 2:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def fingerprints(certificate_der: bytes) -> tuple[str, str]:
    """(SHA-256 hex, SM3 hex) of the DER certificate: what administrators compare out of band."""
    return hashlib.sha256(certificate_der).hexdigest(), sm3_hex(certificate_der)


def fingerprint_normalise(value: str) -> str:
    """``sha256:AB:CD…``, ``SM3=abcd…`` or bare hex → lower-case hex without separators."""
    text = value.strip().lower()
    for prefix in ("sha256:", "sha-256:", "sm3:", "sha256=", "sm3="):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text.replace(":", "").replace(" ", "")


def root_load(certificate: bytes | str) -> x509.Certificate:
    """A root certificate from PEM text or DER bytes; it must be a self-signed CA certificate."""
    try:
        if isinstance(certificate, str):
            loaded = x509.load_pem_x509_certificate(certificate.strip().encode("ascii"))
        else:
            loaded = x509.load_der_x509_certificate(certificate)
    except (ValueError, UnicodeEncodeError) as error:
        message = "not a PEM or DER X.509 certificate"
        raise CertificateProblem(message) from error
    try:
        constraints = loaded.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        message = "not a CA certificate"
        raise CertificateProblem(message)
    try:
        loaded.verify_directly_issued_by(loaded)
    except (InvalidSignature, ValueError, TypeError) as error:
        message = "not self-signed"
        raise CertificateProblem(message) from error
    return loaded


def root_der(root: x509.Certificate) -> bytes:
    return root.public_bytes(serialization.Encoding.DER)


def spki_of(certificate_der: bytes) -> bytes:
    """The DER SubjectPublicKeyInfo of a certificate (SM2 keys too, which ``cryptography`` cannot load)."""
    try:
        parsed = asn1_x509.Certificate.load(certificate_der)
        return bytes(parsed["tbs_certificate"]["subject_public_key_info"].dump())
    except (ValueError, TypeError, KeyError) as error:
        message = "the certificate's public key cannot be read"
        raise CertificateProblem(message) from error


def certificate_check(
    certificate_der: bytes, root: x509.Certificate, *, subject: str, now: dt.datetime
) -> bytes:
    """The SubjectPublicKeyInfo of ``certificate_der`` if ``root`` issued it, it is valid at ``now`` and it
    names ``subject``; :class:`CertificateProblem` otherwise."""
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError as error:
        message = "not a DER X.509 certificate"
        raise CertificateProblem(message) from error
    if certificate.issuer != root.subject:
        message = "not issued by the pinned root"
        raise CertificateProblem(message)
    root_key = root.public_key()
    try:
        from cryptography.hazmat.primitives.asymmetric import ec

        if not isinstance(root_key, ec.EllipticCurvePublicKey):
            message = "the pinned root's key is not ECDSA"
            raise CertificateProblem(message)
        root_key.verify(certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        message = "not signed by the pinned root"
        raise CertificateProblem(message) from None
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        message = "outside its validity period"
        raise CertificateProblem(message)
    try:
        names = certificate.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
        uris = names.get_values_for_type(x509.UniformResourceIdentifier)  # type: ignore[attr-defined]
    except x509.ExtensionNotFound:
        uris = []
    if f"{SAN_PREFIX}{subject}" not in uris:
        message = f"does not name {subject}"
        raise CertificateProblem(message)
    return spki_of(certificate_der)


def json_body(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
