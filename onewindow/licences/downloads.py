"""The licence files as downloads (the wallet's pages and API, and share links): attachments with a proper
filename, never sniffed or cached by shared caches."""

from __future__ import annotations

import unicodedata
from typing import Literal
from urllib.parse import quote

from django.http import HttpResponse

from onewindow.core.errors import RuleViolation
from onewindow.licences.models import Licence
from onewindow.licences.selectors import licence_pdf_bytes, licence_signed_json

FileKind = Literal["pdf", "json"]
_CONTENT_TYPES: dict[FileKind, str] = {"pdf": "application/pdf", "json": "application/json"}
_SUFFIXES: dict[FileKind, str] = {"pdf": ".pdf", "json": ".signed.json"}


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback ``filename`` and the exact UTF-8 name as RFC 5987 ``filename*``
    (RFC 6266 §4.3), so Chinese names survive in every current browser."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = "".join(c if c.isprintable() and c not in '"\\;/' else "_" for c in ascii_name)
    ascii_name = ascii_name.strip(" _-") or "licence"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def licence_filename(licence: Licence, kind: FileKind) -> str:
    """``营业执照-TDEPT-2026-000001.pdf`` (ASCII fallback ``TDEPT-2026-000001.pdf``)."""
    return f"{licence.name}-{licence.number}{_SUFFIXES[kind]}".replace("/", "_")


def licence_download(licence: Licence, kind: FileKind) -> HttpResponse:
    """The signed PDF or the signed JSON of ``licence`` as an attachment; 409 ``licence_not_signed`` for a
    licence recorded before signing existed. Callers check who may download."""
    try:
        content = licence_pdf_bytes(licence) if kind == "pdf" else licence_signed_json(licence)
    except ValueError:
        raise RuleViolation(
            "licence_not_signed",
            "该证照签发时未加电子签名，没有可下载的文件，请联系颁发机构。",
            "This licence was recorded without an electronic signature: there is no file to download; "
            "ask the issuing authority.",
            status=409,
        ) from None
    response = HttpResponse(content, content_type=_CONTENT_TYPES[kind])
    response["Content-Disposition"] = content_disposition(licence_filename(licence, kind))
    response["Content-Length"] = str(len(content))
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
