"""The seal pages for every role: the root certificate, CRL and revoked list are public; the department's seal
page and its forms are for its administrators (holders: its administrators only) and system administrators;
the seal image also for its holders. Refusals are 403 (anonymous: the sign-in page) and change nothing
(GB/T 22239-2019 §8.1.4.2). The pages are bilingual and label every field.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from django.test import Client
from PIL import Image

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.audit.models import AuditRecord
from onewindow.seals.actions import seal_revoke
from onewindow.seals.models import Seal, SealHolder, SealStatus
from onewindow.seals.tests.conftest import HOLDER, staff_of

pytestmark = pytest.mark.django_db

CANDIDATE = "t_candidate"
ADMINS = frozenset({"department_admin", "system_admin"})


@dataclass(frozen=True)
class Page:
    method: str
    path: str
    data: dict[str, Any] | None = None
    allowed: frozenset[str] = ADMINS
    success: int = 200


def _png() -> io.BytesIO:
    output = io.BytesIO()
    Image.new("RGBA", (300, 300), (200, 0, 0, 255)).save(output, format="PNG")
    output.seek(0)
    output.name = "seal.png"
    return output


def _pages(seal: Seal) -> list[Page]:
    return [
        Page("get", "/seals/manage/"),
        Page("get", "/seals/manage/TDEPT/"),
        Page("post", "/seals/manage/TDEPT/rotate/", success=302),
        Page("get", f"/seals/seal/{seal.pk}/revoke/"),
        Page(
            "post",
            f"/seals/seal/{seal.pk}/revoke/",
            {"reason": "停用", "reason_code": "superseded"},
            success=302,
        ),
        Page("post", f"/seals/seal/{seal.pk}/image/", {"image": "png"}, success=302),
        Page(
            "post",
            "/seals/manage/TDEPT/holders/",
            {"username": CANDIDATE},
            frozenset({"department_admin"}),
            302,
        ),
        Page(
            "post",
            f"/seals/manage/TDEPT/holders/{HOLDER}/remove/",
            None,
            frozenset({"department_admin"}),
            302,
        ),
        Page("get", f"/seals/seal/{seal.pk}/image.png", allowed=ADMINS | {"holder"}),
    ]


def _state() -> dict[str, Any]:
    return {
        "seals": list(Seal.objects.order_by("pk").values_list("pk", "status", "image_source", "revoked_at")),
        "holders": list(SealHolder.objects.order_by("pk").values_list("pk", "user_id", "removed_at")),
        "audit": list(
            AuditRecord.objects.exclude(action="permission.denied").values_list("action", "object_id")
        ),
    }


@pytest.fixture
def users(role_users: dict[str, Any], holder: User, department: Any) -> dict[str, Any]:
    staff_of(department, CANDIDATE)
    return {**role_users, "holder": holder}


@pytest.mark.parametrize("role", ["anonymous", "holder", *ALL_ROLES])
@pytest.mark.parametrize("index", range(9))
def test_each_page_for_each_role(
    role: str, index: int, users: dict[str, Any], seal: Seal, client_for: Callable[[object], Client]
) -> None:
    page = _pages(seal)[index]
    client = Client() if role == "anonymous" else client_for(users[role])
    before = _state()

    if page.method == "get":
        response = client.get(page.path)
    else:
        data = dict(page.data or {})
        if data.get("image") == "png":
            data["image"] = _png()
        response = client.post(page.path, data)

    if role in page.allowed:
        assert response.status_code == page.success, (page.path, role, response.content[:500])
        return
    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == 403, (page.path, role)
    assert _state() == before


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_the_public_page_and_downloads_answer_everyone(
    role: str, role_users: dict[str, Any], seal: Seal, client_for: Callable[[object], Client]
) -> None:
    seal_revoke(acting_user=None, seal=seal, reason="印章停用", reason_code="cessation_of_operation")
    client = Client() if role == "anonymous" else client_for(role_users[role])

    page = client.get("/seals/")
    pem = client.get("/seals/root-ca.pem")
    crl = client.get("/seals/root-ca.crl")

    assert page.status_code == 200
    html = page.content.decode()
    assert seal.authority.fingerprint_sha256 in html
    assert seal.certificate_serial in html
    assert "印章停用" in html
    assert pem["Content-Type"] == "application/x-pem-file"
    assert x509.load_pem_x509_certificate(pem.content).serial_number == int(seal.authority.serial_number, 16)
    assert crl["Content-Type"] == "application/pkix-crl"
    listed = x509.load_der_x509_crl(crl.content)
    assert listed.get_revoked_certificate_by_serial_number(int(seal.certificate_serial, 16)) is not None


def test_the_public_page_before_any_seal(db: None) -> None:
    page = Client().get("/seals/", headers={"accept-language": "en"})

    assert page.status_code == 200
    assert "has not issued a root certificate yet" in page.content.decode()
    assert Client().get("/seals/root-ca.pem").status_code == 404
    assert Client().get("/seals/root-ca.crl").status_code == 404


def test_the_department_page_shows_the_seal_and_its_holders_in_chinese(
    users: dict[str, Any], seal: Seal, client_for: Callable[[object], Client]
) -> None:
    html = client_for(users["department_admin"]).get("/seals/manage/TDEPT/").content.decode()

    assert "测试部门的电子印章" in html
    assert f'src="/seals/seal/{seal.pk}/image.png"' in html
    assert 'alt="测试部门的印章图片"' in html
    assert HOLDER in html
    assert f'<option value="{CANDIDATE}">' in html
    assert '<label class="govuk-label" for="id_username">' in html


def test_a_revocation_without_reason_shows_the_error_next_to_the_field(
    users: dict[str, Any], seal: Seal, client_for: Callable[[object], Client]
) -> None:
    response = client_for(users["department_admin"]).post(
        f"/seals/seal/{seal.pk}/revoke/", {"reason": "", "reason_code": "superseded"}
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert 'href="#id_reason"' in html
    assert 'aria-describedby="id_reason-error"' in html
    assert Seal.objects.get().status == SealStatus.ACTIVE


def test_an_image_that_is_not_a_png_is_refused_on_the_page(
    users: dict[str, Any], seal: Seal, client_for: Callable[[object], Client]
) -> None:
    upload = io.BytesIO(b"not an image")
    upload.name = "seal.png"

    response = client_for(users["department_admin"]).post(f"/seals/seal/{seal.pk}/image/", {"image": upload})

    assert response.status_code == 422
    assert 'href="#id_image"' in response.content.decode()
    assert Seal.objects.get().image_source == "generated"


def test_an_uploaded_image_is_kept_by_the_next_version(
    users: dict[str, Any], seal: Seal, client_for: Callable[[object], Client]
) -> None:
    client = client_for(users["department_admin"])
    client.post(f"/seals/seal/{seal.pk}/image/", {"image": _png()})
    client.post("/seals/manage/TDEPT/rotate/")

    first, second = Seal.objects.order_by("version")
    assert (first.image_source, second.image_source) == ("uploaded", "uploaded")
    assert bytes(first.image_png) == bytes(second.image_png)
    assert Image.open(io.BytesIO(bytes(second.image_png))).size == (400, 400)
