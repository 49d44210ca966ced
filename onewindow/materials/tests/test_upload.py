"""material_upload: who may upload, size limits, type by content, SHA-256, virus scan before storage.

Issue #3 §3 (materials); GB/T 22239-2019 §8.1.4.5 (malicious-code prevention) and §8.1.4.3 (audit);
PIPL Art. 51 (security measures for personal information held in uploaded documents).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.materials import actions
from onewindow.materials.actions import UPLOAD_PERMISSION_NAME, clean_file_name, material_upload
from onewindow.materials.content import JPEG, OFD, PDF, PNG
from onewindow.materials.models import Material
from onewindow.materials.tests.samples import EICAR, EXE, HTML, ofd_bytes, upload
from onewindow.materials.tests.samples import JPEG as JPEG_BYTES
from onewindow.materials.tests.samples import PDF as PDF_BYTES
from onewindow.materials.tests.samples import PNG as PNG_BYTES
from onewindow.materials.tests.samples import TIFF as TIFF_BYTES

pytestmark = pytest.mark.django_db

UPLOADERS = [
    "resident",
    "enterprise_representative",
    "window_clerk",
    "village_agent",
    "department_handler",
    "department_admin",
]
NOT_UPLOADERS = [role for role in ALL_ROLES if role not in UPLOADERS]
Files = Callable[[], list[Path]]


def refusal(excinfo: pytest.ExceptionInfo[RuleViolation]) -> tuple[str, int]:
    return str(excinfo.value.code), excinfo.value.status


def test_clean_pdf_is_hashed_and_stored(role_users: dict[str, Any], stored_files: Files) -> None:
    resident = role_users["resident"]

    material = material_upload(
        acting_user=resident, uploaded_file=upload(PDF_BYTES, "营业执照.pdf"), material_code="M01"
    )

    material.refresh_from_db()
    assert material.uploaded_by == resident
    assert material.application is None
    assert material.original_name == "营业执照.pdf"
    assert material.content_type == "application/pdf"
    assert material.size == len(PDF_BYTES)
    assert material.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert material.material_code == "M01"
    assert material.scanned is False  # no ONEWINDOW_CLAMD: no scan
    # Stored under a random name (never the user's), with exactly the uploaded bytes.
    assert material.file.name.endswith(material.id.hex)
    assert "营业执照" not in material.file.name
    assert [path.read_bytes() for path in stored_files()] == [PDF_BYTES]
    record = AuditRecord.objects.get(action="material.uploaded")
    assert (record.actor_id, record.object_type, record.object_id, record.outcome) == (
        resident.pk,
        "material",
        str(material.id),
        "success",
    )
    assert record.details == {
        "name": "营业执照.pdf",
        "client_name": "营业执照.pdf",
        "content_type": "application/pdf",
        "size": len(PDF_BYTES),
        "sha256": hashlib.sha256(PDF_BYTES).hexdigest(),
        "scanned": False,
        "material_code": "M01",
    }


def test_sha256_of_a_multi_chunk_file_is_exact(role_users: dict[str, Any]) -> None:
    content = PDF_BYTES + bytes(range(256)) * 1024  # 256 KiB + header: several 64 KiB chunks
    material = material_upload(acting_user=role_users["resident"], uploaded_file=upload(content))

    assert material.sha256 == hashlib.sha256(content).hexdigest()
    assert material.size == len(content)
    with material.file.open("rb") as stored:
        assert stored.read() == content


@pytest.mark.parametrize(
    ("content", "name", "expected_type", "expected_name"),
    [
        (PNG_BYTES, "scan.pdf", PNG.content_type, "scan.png"),  # the name lies: stored as what it is
        (JPEG_BYTES, "photo.JPEG", JPEG.content_type, "photo.JPEG"),
        (ofd_bytes(), "发票.ofd", OFD.content_type, "发票.ofd"),
        (PDF_BYTES, "contract.docx", PDF.content_type, "contract.pdf"),
        (TIFF_BYTES, "fax", "image/tiff", "fax.tif"),
    ],
)
def test_type_comes_from_content_not_name(
    role_users: dict[str, Any], content: bytes, name: str, expected_type: str, expected_name: str
) -> None:
    # The client's claimed Content-Type is ignored as well.
    material = material_upload(
        acting_user=role_users["resident"], uploaded_file=upload(content, name, "application/pdf")
    )

    assert (material.content_type, material.original_name) == (expected_type, expected_name)


@pytest.mark.parametrize("content", [EXE, HTML, b"plain text"], ids=["exe", "html", "text"])
def test_disallowed_content_named_pdf_is_refused(
    role_users: dict[str, Any], stored_files: Files, content: bytes
) -> None:
    with pytest.raises(RuleViolation) as excinfo:
        material_upload(acting_user=role_users["resident"], uploaded_file=upload(content, "invoice.pdf"))

    assert refusal(excinfo) == ("material_type_not_allowed", 422)
    assert "PDF, OFD, JPEG, PNG, TIFF" in excinfo.value.message_zh
    assert "PDF, OFD, JPEG, PNG, TIFF" in excinfo.value.message_en
    assert Material.objects.count() == 0
    assert stored_files() == []


def test_type_removed_from_the_allow_list_is_refused(
    role_users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(actions, "ALLOWED_TYPES", (PDF,))
    with pytest.raises(RuleViolation) as excinfo:
        material_upload(acting_user=role_users["resident"], uploaded_file=upload(PNG_BYTES, "a.png"))
    assert refusal(excinfo) == ("material_type_not_allowed", 422)


def test_empty_file_is_refused(role_users: dict[str, Any], stored_files: Files) -> None:
    with pytest.raises(RuleViolation) as excinfo:
        material_upload(acting_user=role_users["resident"], uploaded_file=upload(b"", "empty.pdf"))

    assert refusal(excinfo) == ("material_empty", 422)
    assert (Material.objects.count(), stored_files()) == (0, [])


def test_size_limit_is_inclusive(settings: Any, role_users: dict[str, Any], stored_files: Files) -> None:
    settings.UPLOAD_MAX_BYTES = len(PDF_BYTES)

    material_upload(acting_user=role_users["resident"], uploaded_file=upload(PDF_BYTES))
    with pytest.raises(RuleViolation) as excinfo:
        material_upload(acting_user=role_users["resident"], uploaded_file=upload(PDF_BYTES + b"x"))

    assert refusal(excinfo) == ("material_too_large", 413)
    assert f"{len(PDF_BYTES)} 字节" in excinfo.value.message_zh
    assert Material.objects.count() == 1
    assert len(stored_files()) == 1


def test_size_is_counted_while_reading(
    settings: Any, role_users: dict[str, Any], stored_files: Files
) -> None:
    # A file whose reported size understates its content is still stopped at the limit.
    settings.UPLOAD_MAX_BYTES = 1000
    uploaded = upload(PDF_BYTES + b"x" * 2000)
    uploaded.size = 10

    with pytest.raises(RuleViolation) as excinfo:
        material_upload(acting_user=role_users["resident"], uploaded_file=uploaded)

    assert refusal(excinfo) == ("material_too_large", 413)
    assert (Material.objects.count(), stored_files()) == (0, [])


def test_overlong_material_code_is_refused(role_users: dict[str, Any]) -> None:
    with pytest.raises(RuleViolation) as excinfo:
        material_upload(
            acting_user=role_users["resident"], uploaded_file=upload(PDF_BYTES), material_code="M" * 41
        )
    assert refusal(excinfo) == ("material_code_invalid", 422)
    assert excinfo.value.field == "material_code"


@pytest.mark.parametrize(
    ("client_name", "expected"),
    [
        ("C:\\Users\\张三\\Desktop\\身份证.pdf", "身份证.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("bad\x00na\x1bme\n.pdf", "badname.pdf"),
        (
            "invoice\u202efdp.exe",
            "invoicefdp.pdf",
        ),  # right-to-left override removed, wrong extension replaced
        (".hidden.pdf", "hidden.pdf"),
        ("", "material.pdf"),
        ("...", "material.pdf"),
        ("张三.身份证", "张三.身份证.pdf"),
        ("report.PDF", "report.PDF"),
    ],
)
def test_clean_file_name(client_name: str, expected: str) -> None:
    assert clean_file_name(client_name, PDF) == expected


def test_clean_file_name_is_at_most_255_characters() -> None:
    name = clean_file_name("长" * 400 + ".png", PNG)
    assert len(name) == 255
    assert name.endswith("长.png")


@pytest.mark.parametrize("role", UPLOADERS)
def test_roles_that_apply_may_upload(role: str, role_users: dict[str, Any]) -> None:
    material = material_upload(acting_user=role_users[role], uploaded_file=upload(PDF_BYTES))
    assert material.uploaded_by == role_users[role]


@pytest.mark.parametrize("role", NOT_UPLOADERS)
def test_other_roles_are_refused_and_nothing_changes(
    role: str, role_users: dict[str, Any], stored_files: Files
) -> None:
    with pytest.raises(PermissionDenied):
        material_upload(acting_user=role_users[role], uploaded_file=upload(PDF_BYTES))

    assert Material.objects.count() == 0
    assert stored_files() == []
    denial = AuditRecord.objects.get(action="permission.denied")
    assert (denial.actor_id, denial.outcome, denial.details) == (
        role_users[role].pk,
        "denied",
        {"permission": UPLOAD_PERMISSION_NAME},
    )


def test_failed_database_write_removes_the_stored_file(
    role_users: dict[str, Any], stored_files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_audit(**kwargs: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(actions, "audit_append", broken_audit)

    with pytest.raises(RuntimeError):
        material_upload(acting_user=role_users["resident"], uploaded_file=upload(PDF_BYTES))

    assert Material.objects.count() == 0
    assert stored_files() == []


# --- virus scanning with a real clamd ----------------------------------------------------------------


def test_eicar_is_refused_and_never_stored(
    settings: Any, clamd_address: str, role_users: dict[str, Any], stored_files: Files
) -> None:
    settings.CLAMD = clamd_address
    # EICAR inside a file that passes the type check (a PDF), as an attacker would send it.
    infected = PDF_BYTES + EICAR + b"\n%%EOF\n"

    with pytest.raises(RuleViolation) as excinfo:
        material_upload(acting_user=role_users["resident"], uploaded_file=upload(infected, "申请表.pdf"))

    assert refusal(excinfo) == ("material_infected", 422)
    assert excinfo.value.message_zh == (
        "文件含有病毒或恶意代码（OneWindow.Test.EICAR-Body.UNOFFICIAL），已拒收，未保存。"
    )
    assert excinfo.value.message_en == (
        "The file contains a virus or malicious code (OneWindow.Test.EICAR-Body.UNOFFICIAL); "
        "it was refused and not stored."
    )
    assert Material.objects.count() == 0
    assert stored_files() == []
    record = AuditRecord.objects.get(action="material.infected")
    assert record.outcome == "denied"
    assert record.details["signature"] == "OneWindow.Test.EICAR-Body.UNOFFICIAL"
    assert record.details["sha256"] == hashlib.sha256(infected).hexdigest()


def test_bare_eicar_is_refused_by_type_before_any_scan(
    settings: Any, clamd_address: str, role_users: dict[str, Any], stored_files: Files
) -> None:
    # The bare string is not an allowed type: the type check refuses it before any scan.
    settings.CLAMD = clamd_address
    with pytest.raises(RuleViolation) as excinfo:
        material_upload(acting_user=role_users["resident"], uploaded_file=upload(EICAR, "eicar.pdf"))
    assert refusal(excinfo) == ("material_type_not_allowed", 422)
    assert (Material.objects.count(), stored_files()) == (0, [])


def test_clean_pdf_is_scanned_and_stored(
    settings: Any, clamd_address: str, role_users: dict[str, Any], stored_files: Files
) -> None:
    settings.CLAMD = clamd_address

    material = material_upload(acting_user=role_users["resident"], uploaded_file=upload(PDF_BYTES))

    assert material.scanned is True
    assert Material.objects.get().scanned is True
    assert len(stored_files()) == 1


@pytest.mark.parametrize("address", ["unix:///nonexistent/clamd.sock", "tcp://127.0.0.1:9"])
def test_scanner_down_refuses_with_503(
    settings: Any, address: str, role_users: dict[str, Any], stored_files: Files
) -> None:
    settings.CLAMD = address
    settings.CLAMD_TIMEOUT_SECONDS = 2

    with pytest.raises(RuleViolation) as excinfo:
        material_upload(acting_user=role_users["resident"], uploaded_file=upload(PDF_BYTES))

    assert refusal(excinfo) == ("virus_scan_unavailable", 503)
    assert Material.objects.count() == 0
    assert stored_files() == []
    assert AuditRecord.objects.filter(action="material.scan_unavailable", outcome="failure").count() == 1


def test_scanner_error_refuses_with_503(
    settings: Any, clamd_address: str, role_users: dict[str, Any], stored_files: Files
) -> None:
    # The private clamd's StreamMaxLength is 1 MiB: a larger stream gets "size limit exceeded. ERROR".
    settings.CLAMD = clamd_address
    big = PDF_BYTES + b"\0" * (2 * 1024 * 1024)

    with pytest.raises(RuleViolation) as excinfo:
        material_upload(acting_user=role_users["resident"], uploaded_file=upload(big))

    assert refusal(excinfo) == ("virus_scan_unavailable", 503)
    assert (Material.objects.count(), stored_files()) == (0, [])
