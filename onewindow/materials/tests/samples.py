"""Sample files for the materials tests, built in code (no binary fixtures in the repository)."""

from __future__ import annotations

import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile

# The EICAR anti-virus test string (eicar.org), built from two halves so the repository holds no file that
# scanners flag.
EICAR = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*").encode("ascii")

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
TIFF = b"II*\x00\x08\x00\x00\x00\x00\x00"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def ofd_bytes(*, with_ofd_xml: bool = True) -> bytes:
    """A minimal OFD package (GB/T 33190-2016): a ZIP with ``OFD.xml`` at its root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if with_ofd_xml:
            archive.writestr(
                "OFD.xml",
                '<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" '
                'Version="1.0" DocType="OFD"/>',
            )
        archive.writestr("Doc_0/Document.xml", "<ofd:Document/>")
    return buffer.getvalue()


def upload(
    content: bytes, name: str = "file.pdf", content_type: str = "application/pdf"
) -> SimpleUploadedFile:
    """An uploaded file as Django hands it to a view; ``content_type`` is what a client would claim."""
    return SimpleUploadedFile(name, content, content_type=content_type)
