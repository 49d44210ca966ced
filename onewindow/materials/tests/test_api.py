"""Materials API: POST /api/v1/materials (multipart) and GET /api/v1/materials/{id}, tried by every role and
anonymously (GB/T 22239-2019 §8.1.4.2 access control); refused calls change nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.materials.actions import material_upload
from onewindow.materials.models import Material
from onewindow.materials.tests.samples import EXE, PDF, PNG, upload
from onewindow.materials.tests.test_upload import NOT_UPLOADERS, UPLOADERS

pytestmark = pytest.mark.django_db

URL = "/api/v1/materials"
Files = Callable[[], list[Path]]


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture
def tokens(role_users: dict[str, Any], api_token_for: Callable[[object], str]) -> dict[str, str | None]:
    return {"anonymous": None, **{role: api_token_for(user) for role, user in role_users.items()}}


def post_file(token: str | None, content: bytes, name: str = "a.pdf", **data: str) -> Any:
    return Client().post(URL, {"file": upload(content, name), **data}, headers=bearer(token))


# --- upload ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", UPLOADERS)
def test_upload_answers_201(role: str, tokens: dict[str, str | None], role_users: dict[str, Any]) -> None:
    response = post_file(tokens[role], PDF, "营业执照.pdf", material_code="LICENCE")

    assert response.status_code == 201
    material = Material.objects.get()
    assert response.json() == {
        "id": str(material.id),
        "sha256": hashlib.sha256(PDF).hexdigest(),
        "size": len(PDF),
        "content_type": "application/pdf",
        "name": "营业执照.pdf",
        "material_code": "LICENCE",
    }
    assert material.uploaded_by == role_users[role]


@pytest.mark.parametrize("role", [*NOT_UPLOADERS, "anonymous"])
def test_upload_refused_changes_nothing(
    role: str, tokens: dict[str, str | None], stored_files: Files
) -> None:
    records_before = AuditRecord.objects.exclude(action="permission.denied").count()

    response = post_file(tokens[role], PDF)

    assert response.status_code == (401 if role == "anonymous" else 403)
    assert response.json()["code"] == ("not_authenticated" if role == "anonymous" else "permission_denied")
    assert Material.objects.count() == 0
    assert stored_files() == []
    assert AuditRecord.objects.exclude(action="permission.denied").count() == records_before


def test_refusal_body_is_bilingual(tokens: dict[str, str | None], stored_files: Files) -> None:
    response = post_file(tokens["resident"], EXE, "setup.pdf")

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "material_type_not_allowed"
    assert body["field"] == "file"
    assert "PDF, OFD, JPEG, PNG, TIFF" in body["message_zh"]
    assert body["message_en"].startswith("This type of file is not accepted")
    assert (Material.objects.count(), stored_files()) == (0, [])


def test_too_large_is_413(settings: Any, tokens: dict[str, str | None]) -> None:
    settings.UPLOAD_MAX_BYTES = 10
    response = post_file(tokens["resident"], PDF)
    assert (response.status_code, response.json()["code"]) == (413, "material_too_large")


def test_missing_file_field_is_422(tokens: dict[str, str | None]) -> None:
    response = Client().post(URL, {"material_code": "X"}, headers=bearer(tokens["resident"]))
    assert response.status_code == 422
    assert Material.objects.count() == 0


def test_scanner_down_is_503(settings: Any, tokens: dict[str, str | None], stored_files: Files) -> None:
    settings.CLAMD = "unix:///nonexistent/clamd.sock"
    response = post_file(tokens["resident"], PDF)
    assert (response.status_code, response.json()["code"]) == (503, "virus_scan_unavailable")
    assert (Material.objects.count(), stored_files()) == (0, [])


def test_eicar_refused_through_the_api(
    settings: Any, clamd_address: str, tokens: dict[str, str | None], stored_files: Files
) -> None:
    from onewindow.materials.tests.samples import EICAR

    settings.CLAMD = clamd_address
    response = post_file(tokens["resident"], PDF + EICAR, "表格.pdf")

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "material_infected"
    assert body["message_zh"].startswith("文件含有病毒或恶意代码（OneWindow.Test.EICAR")
    assert (Material.objects.count(), stored_files()) == (0, [])


def test_verified_session_may_upload(
    client_for: Callable[[object], Client], role_users: dict[str, Any]
) -> None:
    response = client_for(role_users["window_clerk"]).post(URL, {"file": upload(PNG, "x.png")})
    assert response.status_code == 201
    assert response.json()["content_type"] == "image/png"


# --- download --------------------------------------------------------------------------------------------


@pytest.fixture
def material(role_users: dict[str, Any]) -> Material:
    return material_upload(acting_user=role_users["resident"], uploaded_file=upload(PDF, "户口本 第1页.pdf"))


def test_uploader_downloads(tokens: dict[str, str | None], material: Material) -> None:
    response = Client().get(f"{URL}/{material.id}", headers=bearer(tokens["resident"]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(len(PDF))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    # RFC 6266 with an RFC 5987 filename* carrying the exact UTF-8 name.
    assert response["Content-Disposition"] == (
        f"attachment; filename=\"1.pdf\"; filename*=UTF-8''{quote('户口本 第1页.pdf', safe='')}"
    )
    assert AuditRecord.objects.filter(action="material.downloaded", object_id=str(material.id)).count() == 1


@pytest.mark.parametrize("role", [role for role in ALL_ROLES if role != "resident"])
def test_others_get_404(role: str, tokens: dict[str, str | None], material: Material) -> None:
    response = Client().get(f"{URL}/{material.id}", headers=bearer(tokens[role]))

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert not AuditRecord.objects.filter(action="material.downloaded").exists()
    assert AuditRecord.objects.filter(action="permission.denied", object_id=str(material.id)).count() == 1


def test_anonymous_gets_401(material: Material) -> None:
    response = Client().get(f"{URL}/{material.id}")
    assert response.status_code == 401
    assert not AuditRecord.objects.filter(action="material.downloaded").exists()


def test_malformed_id_is_422(tokens: dict[str, str | None]) -> None:
    response = Client().get(f"{URL}/not-a-uuid", headers=bearer(tokens["resident"]))
    assert response.status_code == 422
