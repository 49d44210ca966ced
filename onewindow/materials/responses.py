"""The download response shared by the page and the API: streamed, as an attachment, not sniffed or cached."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from django.http import FileResponse

from onewindow.materials.models import Material


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback ``filename`` and the exact UTF-8 name as RFC 5987 ``filename*``
    (RFC 6266 §4.3), so Chinese names survive in every current browser."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = (
        "".join(c if c.isprintable() and c not in '"\\;' else "_" for c in ascii_name).strip() or "download"
    )
    if "." not in ascii_name and "." in name:
        ascii_name += "." + name.rsplit(".", 1)[-1].encode("ascii", "ignore").decode("ascii")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def material_file_response(material: Material) -> FileResponse:
    """Stream ``material`` with its detected content type (MLPS: no content sniffing, no shared caches)."""
    response = FileResponse(material.file.open("rb"), content_type=material.content_type)
    response["Content-Disposition"] = content_disposition(material.original_name)
    response["Content-Length"] = str(material.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
