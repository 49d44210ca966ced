"""What an uploaded file is, decided by its first bytes (magic numbers), never by its name or the client's
Content-Type header, which the uploader controls.

OFD (GB/T 33190-2016, the Chinese fixed-layout document format) is a ZIP package whose root holds
``OFD.xml``; only the ZIP's central directory is read to find it, nothing is decompressed.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from typing import IO


@dataclass(frozen=True)
class FileType:
    """A recognised kind of file: its MIME type, the extension we give it and a label for messages."""

    content_type: str
    extension: str
    label: str


PDF = FileType("application/pdf", ".pdf", "PDF")
PNG = FileType("image/png", ".png", "PNG")
JPEG = FileType("image/jpeg", ".jpg", "JPEG")
OFD = FileType("application/ofd", ".ofd", "OFD")
TIFF = FileType("image/tiff", ".tif", "TIFF")

# Which recognised types an upload may be. Order is the order they are named in refusal messages.
ALLOWED_TYPES: tuple[FileType, ...] = (PDF, OFD, JPEG, PNG, TIFF)

# Extensions that already say the right thing about each type (anything else is replaced on upload).
EXTENSION_ALIASES: dict[str, frozenset[str]] = {
    PDF.content_type: frozenset({".pdf"}),
    PNG.content_type: frozenset({".png"}),
    JPEG.content_type: frozenset({".jpg", ".jpeg", ".jpe"}),
    OFD.content_type: frozenset({".ofd"}),
    TIFF.content_type: frozenset({".tif", ".tiff"}),
}

# Enough for every signature below.
HEAD_BYTES = 16

_SIGNATURES: tuple[tuple[bytes, FileType], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"II*\x00", TIFF),  # little-endian TIFF
    (b"MM\x00*", TIFF),  # big-endian TIFF
)
_ZIP_SIGNATURE = b"PK\x03\x04"
_OFD_ENTRY = "OFD.xml"


def _is_ofd(file: IO[bytes]) -> bool:
    try:
        with zipfile.ZipFile(file) as archive:
            return _OFD_ENTRY in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def detect_file_type(file: IO[bytes]) -> FileType | None:
    """The type of ``file`` judged by its content, or None if it is none we recognise.

    ``file`` must be seekable; its position is put back to the start afterwards.
    """
    file.seek(0)
    head = file.read(HEAD_BYTES)
    try:
        for signature, file_type in _SIGNATURES:
            if head.startswith(signature):
                return file_type
        if head.startswith(_ZIP_SIGNATURE):
            file.seek(0)
            return OFD if _is_ofd(file) else None
        return None
    finally:
        file.seek(0)


def allowed_type_labels() -> str:
    """The allowed types for messages, e.g. ``PDF, OFD, JPEG, PNG, TIFF``."""
    return ", ".join(file_type.label for file_type in ALLOWED_TYPES)
