"""The download page GET /materials/<id>/ (session), for every role and anonymously (GB/T 22239-2019
§8.1.4.2), and the material list partial other pages include."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.materials.actions import material_upload
from onewindow.materials.models import Material
from onewindow.materials.tests.samples import PDF, PNG, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def material(role_users: dict[str, Any]) -> Material:
    return material_upload(acting_user=role_users["resident"], uploaded_file=upload(PNG, "photo.pdf"))


def test_uploader_downloads_the_page(
    client_for: Callable[[object], Client], role_users: dict[str, Any], material: Material
) -> None:
    response = client_for(role_users["resident"]).get(f"/materials/{material.id}/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG  # type: ignore[attr-defined]
    assert response["Content-Type"] == "image/png"  # detected, not what the name said
    assert response["Content-Disposition"] == "attachment; filename=\"photo.png\"; filename*=UTF-8''photo.png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("role", [role for role in ALL_ROLES if role != "resident"])
def test_other_roles_get_404(
    role: str, client_for: Callable[[object], Client], role_users: dict[str, Any], material: Material
) -> None:
    response = client_for(role_users[role]).get(f"/materials/{material.id}/")

    assert response.status_code == 404
    assert Material.objects.count() == 1
    assert not AuditRecord.objects.filter(action="material.downloaded").exists()


def test_anonymous_is_sent_to_sign_in(material: Material) -> None:
    response = Client().get(f"/materials/{material.id}/")

    assert response.status_code == 302
    assert "next=" in response["Location"]
    assert not AuditRecord.objects.filter(action="material.downloaded").exists()


def test_post_is_not_allowed(
    client_for: Callable[[object], Client], role_users: dict[str, Any], material: Material
) -> None:
    response = client_for(role_users["resident"]).post(f"/materials/{material.id}/")
    assert response.status_code == 405


def test_material_list_partial(role_users: dict[str, Any]) -> None:
    material = material_upload(acting_user=role_users["resident"], uploaded_file=upload(PDF, "章程.pdf"))
    with translation.override("zh-hans"):
        html = render_to_string(
            "materials/partials/material_list.html",
            {"materials": [material], "materials_heading": "已上传的材料"},
        )

    assert "章程.pdf" in html
    assert f'href="/materials/{material.id}/"' in html
    assert material.sha256[:12] in html
    assert "下载" in html
    assert 'aria-labelledby="materials-heading"' in html


def test_material_list_partial_when_empty() -> None:
    with translation.override("zh-hans"):
        html = render_to_string("materials/partials/material_list.html", {"materials": []})
    assert "尚未上传文件。" in html
