"""The demo loader issues a seal to every department once; seal images are drawn in Noto CJK or uploaded as
checked, re-encoded PNGs."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from onewindow.audit.models import AuditRecord
from onewindow.organisations.models import Department
from onewindow.organisations.tests.factories import DepartmentFactory
from onewindow.seals.demo import seals_demo_load
from onewindow.seals.image import IMAGE_SIZE, SEAL_RED, SealImageError, seal_image_clean, seal_image_render
from onewindow.seals.models import CertificateAuthority, Seal, SealStatus

pytestmark = pytest.mark.django_db


def test_the_demo_seals_are_issued_once(db: None) -> None:
    DepartmentFactory.create(code="AMR", name="福州市市场监督管理局")
    DepartmentFactory.create(code="PSB", name="福州市公安局")
    DepartmentFactory.create(code="GONE", name="已撤销的部门", is_active=False)

    assert seals_demo_load() == 2
    assert seals_demo_load() == 0

    assert sorted(Seal.objects.values_list("department__code", "version", "status")) == [
        ("AMR", 1, SealStatus.ACTIVE),
        ("PSB", 1, SealStatus.ACTIVE),
    ]
    assert CertificateAuthority.objects.count() == 1
    assert AuditRecord.objects.filter(action="seals.seal_issued").count() == 2


def test_the_full_demo_load_gives_every_demo_department_a_seal(tmp_path: Any) -> None:
    from onewindow.demo.actions import demo_load
    from onewindow.demo.data import DEPARTMENTS

    demo_load(accounts_path=tmp_path / "accounts.json")

    assert set(Seal.objects.filter(status=SealStatus.ACTIVE).values_list("department__code", flat=True)) == {
        department.code for department in DEPARTMENTS
    }
    assert Department.objects.filter(is_active=True).exclude(seals__status=SealStatus.ACTIVE).count() == 0


def test_a_drawn_seal_is_a_red_round_png_with_transparent_corners() -> None:
    image = Image.open(io.BytesIO(seal_image_render("福州市市场监督管理局")))

    assert (image.format, image.size, image.mode) == ("PNG", (IMAGE_SIZE, IMAGE_SIZE), "RGBA")
    assert image.getpixel((2, 2)) == (0, 0, 0, 0)  # outside the ring
    assert image.getpixel((IMAGE_SIZE // 2, IMAGE_SIZE // 2)) == SEAL_RED  # the star's centre
    # the name is drawn: the upper arc has many red pixels, the same band of an unnamed seal has none
    band = (IMAGE_SIZE // 4, IMAGE_SIZE // 10, 3 * IMAGE_SIZE // 4, IMAGE_SIZE // 4)
    named = _opaque(image.crop(band))
    unnamed = _opaque(Image.open(io.BytesIO(seal_image_render(""))).crop(band))
    assert named - unnamed > 1500, (named, unnamed)  # the ring crosses the band's corners in both


def _opaque(image: Image.Image) -> int:
    return image.getchannel("A").point(lambda alpha: 255 if alpha > 128 else 0).histogram()[255]


def _png(size: tuple[int, int], mode: str = "RGBA") -> bytes:
    output = io.BytesIO()
    Image.new(mode, size, (200, 0, 0)).save(output, format="PNG")
    return output.getvalue()


def test_an_upload_is_reencoded_to_a_square_png() -> None:
    cleaned = Image.open(io.BytesIO(seal_image_clean(_png((800, 600), "RGB"))))

    assert (cleaned.format, cleaned.size, cleaned.mode) == ("PNG", (IMAGE_SIZE, IMAGE_SIZE), "RGBA")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\x89PNG\r\n\x1a\n broken", "seal_image_not_png"),
        (_png((50, 50)), "seal_image_size"),
        (_png((5000, 100)), "seal_image_size"),
        (b"x" * (1024 * 1024 + 1), "seal_image_too_large"),
    ],
)
def test_bad_uploads_are_refused(data: bytes, code: str) -> None:
    with pytest.raises(SealImageError) as refused:
        seal_image_clean(data)
    assert refused.value.code == code
    assert refused.value.message_zh
    assert refused.value.message_en


def test_a_jpeg_is_refused() -> None:
    output = io.BytesIO()
    Image.new("RGB", (300, 300)).save(output, format="JPEG")

    with pytest.raises(SealImageError) as refused:
        seal_image_clean(output.getvalue())
    assert refused.value.code == "seal_image_not_png"
