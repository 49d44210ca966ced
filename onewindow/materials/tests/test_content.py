"""Type detection by content (magic bytes), never by name or claimed Content-Type.

PDF (ISO 32000-1 §7.5.2 header ``%PDF-``), PNG (ISO/IEC 15948 signature), JPEG (ISO/IEC 10918-1 SOI marker
followed by a segment marker), TIFF (TIFF 6.0 header ``II*\\0``/``MM\\0*``), OFD (GB/T 33190-2016: a ZIP
package with ``OFD.xml`` at its root).
"""

from __future__ import annotations

import io

import pytest

from onewindow.materials.content import (
    ALLOWED_TYPES,
    JPEG,
    OFD,
    PDF,
    PNG,
    TIFF,
    FileType,
    allowed_type_labels,
    detect_file_type,
)
from onewindow.materials.tests import samples


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (samples.PDF, PDF),
        (samples.PNG, PNG),
        (samples.JPEG, JPEG),
        (samples.TIFF, TIFF),
        (b"MM\x00*\x00\x00\x00\x08", TIFF),
        (samples.ofd_bytes(), OFD),
    ],
)
def test_recognised_types(content: bytes, expected: FileType) -> None:
    assert detect_file_type(io.BytesIO(content)) == expected


@pytest.mark.parametrize(
    "content",
    [
        samples.EXE,
        samples.HTML,
        b"",
        b"%PD",  # truncated header
        b" %PDF-1.4",  # not at the start
        samples.ofd_bytes(with_ofd_xml=False),  # a ZIP, but not an OFD package
        b"PK\x03\x04 not really a zip",
        b"GIF89a\x01\x00\x01\x00",
    ],
)
def test_unrecognised_content_is_none(content: bytes) -> None:
    assert detect_file_type(io.BytesIO(content)) is None


def test_position_is_restored_to_the_start() -> None:
    file = io.BytesIO(samples.ofd_bytes())
    file.seek(5)

    detect_file_type(file)

    assert file.tell() == 0


def test_allowed_types_and_their_labels() -> None:
    assert [file_type.content_type for file_type in ALLOWED_TYPES] == [
        "application/pdf",
        "application/ofd",
        "image/jpeg",
        "image/png",
        "image/tiff",
    ]
    assert allowed_type_labels() == "PDF, OFD, JPEG, PNG, TIFF"
