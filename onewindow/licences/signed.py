"""The signed JSON licence: the licence object (GB/T 36903 core metadata plus the licence's own fields), its
RFC 8785 bytes, and the document a holder downloads::

    {"licence": {...},
     "signature": {"algorithm": "SM2-SM3", "signer_id": "1234567812345678",
                   "key_fingerprint": "<SM3 of the seal's SM2 public key, hex>",
                   "digest": "<SM3 of the canonical licence bytes, hex>", "value": "<DER signature, base64>"}}

Anyone re-canonicalises ``licence`` (RFC 8785), checks that its SM3 is ``digest`` and verifies ``value``
with the SM2 public key named by ``key_fingerprint`` (``GET /api/v1/seals/keys/{fingerprint}``) and the
signer ID. No database here.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from onewindow.crypto.sm3 import sm3_hex
from onewindow.licences.canonical import CanonicalJsonError, jcs_dumps, jcs_loads
from onewindow.licences.models import HolderKind, Licence
from onewindow.licences.types import HOLDER_CODE_TYPES

SIGNATURE_ALGORITHM = "SM2-SM3"
FORMAT = "onewindow-licence/1"
# A signed licence is a few kilobytes; anything much larger is not one.
SIGNED_JSON_MAX_BYTES = 256 * 1024


def licence_object(licence: Licence) -> dict[str, Any]:
    """The signed content of ``licence``: the same object whenever it is built from the same record.

    Field names follow GB/T 36903-2018 (e-licence metadata): 证照名称 ``name``, 证照编号 ``number``,
    证照类型代码 ``type_code``, 颁发机构/代码 ``issuer``, 颁证日期 ``issued_on``, 有效期起止
    ``valid_from`` / ``valid_until`` (null: long-term), 持证主体/代码/代码类型 ``holder``; the licence's
    own fields in ``data``.
    Status (revocation, expiry) is not signed: it changes; verification reports it.
    """
    return {
        "format": FORMAT,
        "number": licence.number,
        "name": licence.name,
        "name_en": licence.name_en,
        "type_code": licence.type_code,
        "issuer": {"name": licence.issuer_name, "code": licence.issuer_code},
        "issued_on": licence.issued_on.isoformat(),
        "valid_from": licence.issued_on.isoformat(),
        "valid_until": licence.valid_until.isoformat() if licence.valid_until else None,
        "holder": {
            "name": licence.holder_name,
            "code": licence.holder_code,
            "code_type": HOLDER_CODE_TYPES[HolderKind(licence.holder_kind)],
        },
        "data": licence.data,
    }


def licence_canonical(licence: Licence) -> bytes:
    """The RFC 8785 bytes of :func:`licence_object`: what the SM2 signature covers."""
    return jcs_dumps(licence_object(licence))


def signed_document(
    canonical: bytes, *, signature_der: bytes, key_fingerprint: str, digest: str, signer_id: str
) -> bytes:
    """The signed JSON document (itself canonical, so two downloads are byte for byte the same)."""
    return jcs_dumps(
        {
            "licence": jcs_loads(canonical),
            "signature": {
                "algorithm": SIGNATURE_ALGORITHM,
                "signer_id": signer_id,
                "key_fingerprint": key_fingerprint,
                "digest": digest,
                "value": base64.b64encode(signature_der).decode("ascii"),
            },
        }
    )


class SignedJsonError(ValueError):
    """The bytes are not a signed licence document (not JSON, or missing or ill-typed members)."""


@dataclass(frozen=True)
class SignedLicence:
    """A parsed signed licence: the licence re-canonicalised here, and the signature as sent."""

    licence: dict[str, Any]
    canonical: bytes
    digest: str  # SM3 of ``canonical``, computed here
    claimed_digest: str
    algorithm: str
    signer_id: str
    key_fingerprint: str
    signature_der: bytes

    @property
    def number(self) -> str:
        return str(self.licence.get("number", ""))[:64]


def signed_document_parse(content: bytes) -> SignedLicence:
    """Parse a signed JSON licence strictly (RFC 8785 parsing rules); ``SignedJsonError`` if it is not one."""
    if len(content) > SIGNED_JSON_MAX_BYTES:
        raise SignedJsonError("too large for a signed licence")
    try:
        document = jcs_loads(content)
    except CanonicalJsonError as error:
        raise SignedJsonError(str(error)) from None
    if not isinstance(document, dict):
        raise SignedJsonError("not a JSON object")
    licence, signature = document.get("licence"), document.get("signature")
    if not isinstance(licence, dict) or not isinstance(signature, dict):
        raise SignedJsonError('needs the objects "licence" and "signature"')
    texts = {}
    for name in ("algorithm", "signer_id", "key_fingerprint", "digest", "value"):
        value = signature.get(name, "")
        if not isinstance(value, str):
            raise SignedJsonError(f'"signature.{name}" must be a string')
        texts[name] = value
    try:
        signature_der = base64.b64decode(texts["value"], validate=True)
    except binascii.Error:
        raise SignedJsonError('"signature.value" is not base64') from None
    try:
        canonical = jcs_dumps(licence)
    except CanonicalJsonError as error:
        raise SignedJsonError(str(error)) from None
    return SignedLicence(
        licence=licence,
        canonical=canonical,
        digest=sm3_hex(canonical),
        claimed_digest=texts["digest"].lower(),
        algorithm=texts["algorithm"],
        signer_id=texts["signer_id"],
        key_fingerprint=texts["key_fingerprint"].lower(),
        signature_der=signature_der,
    )
