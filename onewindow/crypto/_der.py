"""The few DER (ITU-T X.690) structures the SM2 key formats need, encoded and parsed strictly.

``cryptography`` has no SM2 curve, so it cannot read or write SM2 keys; this module does just enough ASN.1 for
PKCS#8 (RFC 5208) private keys, SEC 1 ``ECPrivateKey`` (RFC 5915) inside them and SubjectPublicKeyInfo
(RFC 5280), the forms OpenSSL 3 and GM/T 0010 use for SM2 keys. Parsing is strict DER: definite, minimal
lengths, no trailing bytes, so that a key has exactly one encoding.
"""

from __future__ import annotations

import base64
import binascii
import re

SEQUENCE = 0x30
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
OBJECT_IDENTIFIER = 0x06
CONTEXT_0 = 0xA0
CONTEXT_1 = 0xA1


class DERError(ValueError):
    """The bytes are not the DER structure that was expected."""


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, value: bytes) -> bytes:
    """One DER element: tag, minimal length, value."""
    return bytes([tag]) + encode_length(len(value)) + value


def encode_oid(dotted: str) -> bytes:
    """The content octets of an OBJECT IDENTIFIER (without tag and length)."""
    arcs = [int(part) for part in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
        message = f"not an object identifier: {dotted!r}"
        raise ValueError(message)
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return bytes(body)


def encode_small_integer(value: int) -> bytes:
    """A non-negative INTEGER element (version numbers)."""
    length = value.bit_length() // 8 + 1
    return tlv(INTEGER, value.to_bytes(length, "big"))


def read(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """The element at ``offset``: (tag, value, offset after it); only minimal definite lengths."""
    if offset + 2 > len(data):
        raise DERError("truncated element")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DERError("multi-byte tags are not used here")
    first = data[offset + 1]
    position = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise DERError("indefinite or oversized length")
        if position + count > len(data):
            raise DERError("truncated length")
        length_bytes = data[position : position + count]
        length = int.from_bytes(length_bytes, "big")
        if length_bytes[0] == 0 or length < 0x80:
            raise DERError("non-minimal length")
        position += count
    end = position + length
    if end > len(data):
        raise DERError("truncated value")
    return tag, data[position:end], end


def read_all(data: bytes, expected_tag: int) -> bytes:
    """The value of the single element that ``data`` must consist of."""
    tag, value, end = read(data)
    if tag != expected_tag:
        message = f"expected tag 0x{expected_tag:02x}, found 0x{tag:02x}"
        raise DERError(message)
    if end != len(data):
        raise DERError("trailing bytes after the element")
    return value


def children(value: bytes) -> list[tuple[int, bytes]]:
    """The elements of a SEQUENCE's value, in order."""
    items: list[tuple[int, bytes]] = []
    offset = 0
    while offset < len(value):
        tag, content, offset = read(value, offset)
        items.append((tag, content))
    return items


def small_integer(content: bytes) -> int:
    """An INTEGER's content as a non-negative int, refusing non-minimal and negative encodings."""
    if not content:
        raise DERError("empty INTEGER")
    if content[0] & 0x80:
        raise DERError("negative INTEGER")
    if len(content) > 1 and content[0] == 0 and not content[1] & 0x80:
        raise DERError("non-minimal INTEGER")
    return int.from_bytes(content, "big")


def bit_string_bytes(content: bytes) -> bytes:
    """A BIT STRING's bytes; only whole octets (no unused bits) are accepted."""
    if not content or content[0] != 0:
        raise DERError("BIT STRING with unused bits")
    return content[1:]


# --- PEM (RFC 7468) ----------------------------------------------------------------------------------------

_PEM = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END \1-----",
)


def pem_encode(der: bytes, label: str) -> bytes:
    body = base64.b64encode(der)
    lines = [body[index : index + 64] for index in range(0, len(body), 64)]
    return b"".join(
        [
            f"-----BEGIN {label}-----\n".encode(),
            *(line + b"\n" for line in lines),
            f"-----END {label}-----\n".encode(),
        ]
    )


def pem_decode(pem: bytes, label: str) -> bytes:
    """The DER inside the first PEM block with ``label``; text around the block is ignored (RFC 7468 §5.2)."""
    for match in _PEM.finditer(pem):
        if match.group(1).decode() == label:
            try:
                return base64.b64decode(b"".join(match.group(2).split()), validate=True)
            except binascii.Error as error:
                message = f"invalid base64 in the {label} block"
                raise DERError(message) from error
    message = f"no PEM block labelled {label!r}"
    raise DERError(message)
