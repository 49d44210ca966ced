"""The seal image: the classic red round official seal (公章), drawn with Pillow, or a department's upload.

:func:`seal_image_render` draws a red ring, a five-pointed star in the middle, the department's name along
the upper arc (each character upright towards the rim) and an optional line below the star, in Noto CJK
(``fonts-noto-cjk``, scripts/setup_system.sh). It draws at twice the size and scales down for smooth edges.
:func:`seal_image_clean` checks an uploaded PNG and re-encodes it (no metadata, RGBA, at most
:data:`IMAGE_SIZE` square), so what is stored is always a plain PNG that Pillow itself wrote.
"""

from __future__ import annotations

import functools
import io
import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from onewindow.core.logging import get_logger

logger = get_logger(__name__)

IMAGE_SIZE = 400
UPLOAD_MAX_BYTES = 1024 * 1024
UPLOAD_MIN_SIDE = 100
UPLOAD_MAX_SIDE = 4000
SEAL_RED = (210, 16, 24, 255)

_FONT_DIRECTORIES = ("/usr/share/fonts", "/usr/local/share/fonts")
# Official seals use a Song (serif) face; Noto Serif CJK is the free one, Noto Sans CJK the fallback.
_FONT_FILES = (
    "NotoSerifCJK-Bold.ttc",
    "NotoSansCJK-Bold.ttc",
    "NotoSerifCJK-Regular.ttc",
    "NotoSansCJK-Regular.ttc",
)
_FONT_FAMILIES = ("Noto Serif CJK SC", "Noto Sans CJK SC")


class SealImageError(ValueError):
    """An uploaded seal image was refused; ``message_zh``/``message_en`` say why."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


@functools.lru_cache(maxsize=1)
def _font_face() -> tuple[str, int] | None:
    """The path and face index of a Simplified-Chinese Noto CJK face, or None when none is installed."""
    for file_name in _FONT_FILES:
        for directory in _FONT_DIRECTORIES:
            for path in sorted(Path(directory).rglob(file_name)) if Path(directory).is_dir() else []:
                for index in range(10):
                    try:
                        family, _ = ImageFont.truetype(str(path), 10, index=index).getname()
                    except OSError:
                        break
                    if family in _FONT_FAMILIES:
                        return str(path), index
    return None


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    face = _font_face()
    if face is None:
        logger.warning("seal_font_missing", hint="apt-get install fonts-noto-cjk (scripts/setup_system.sh)")
        return ImageFont.load_default(size)
    path, index = face
    return ImageFont.truetype(path, size, index=index)


def _star(draw: ImageDraw.ImageDraw, centre: tuple[float, float], radius: float) -> None:
    inner = radius * math.sin(math.radians(18)) / math.sin(math.radians(126))
    points = []
    for step in range(10):
        angle = math.radians(-90 + step * 36)
        length = radius if step % 2 == 0 else inner
        points.append((centre[0] + length * math.cos(angle), centre[1] + length * math.sin(angle)))
    draw.polygon(points, fill=SEAL_RED)


def _glyph(character: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, size: int) -> Image.Image:
    glyph = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(glyph).text((size / 2, size / 2), character, font=font, fill=SEAL_RED, anchor="mm")
    return glyph


def seal_image_render(name: str, *, bottom_text: str = "") -> bytes:
    """A PNG (:data:`IMAGE_SIZE` square, transparent outside the seal) of the round seal of ``name``."""
    scale = 2
    size = IMAGE_SIZE * scale
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    centre = size / 2
    ring = size * 0.035
    outer = size * 0.47
    draw.ellipse(
        (centre - outer, centre - outer, centre + outer, centre + outer), outline=SEAL_RED, width=round(ring)
    )
    _star(draw, (centre, centre), size * 0.15)

    characters = [character for character in name.strip() if not character.isspace()]
    if characters:
        count = len(characters)
        # Long names close the arc further round and use smaller characters.
        span = min(250.0, 24.0 * count + 30.0)
        font_size = round(size * min(0.13, 0.95 * math.radians(span) * (outer - ring) / count / size))
        font = _font(font_size)
        text_radius = outer - ring - font_size * 0.75
        for position, character in enumerate(characters):
            theta = -90 - span / 2 + span * (position + 0.5) / count
            glyph = _glyph(character, font, round(font_size * 1.4)).rotate(
                -(theta + 90), resample=Image.Resampling.BICUBIC
            )
            x = centre + text_radius * math.cos(math.radians(theta)) - glyph.width / 2
            y = centre + text_radius * math.sin(math.radians(theta)) - glyph.height / 2
            canvas.alpha_composite(glyph, (round(x), round(y)))
    if bottom_text.strip():
        draw.text(
            (centre, centre + size * 0.27),
            bottom_text.strip(),
            font=_font(round(size * 0.07)),
            fill=SEAL_RED,
            anchor="mm",
        )
    image = canvas.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS)
    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()


def seal_image_clean(data: bytes) -> bytes:
    """The uploaded ``data`` re-encoded as a plain RGBA PNG fitting :data:`IMAGE_SIZE`.

    :class:`SealImageError` if it is not a PNG of sensible size.
    """
    if len(data) > UPLOAD_MAX_BYTES:
        raise SealImageError(
            "seal_image_too_large",
            f"印章图片不能超过 {UPLOAD_MAX_BYTES // 1024} KB。",
            f"The seal image must be at most {UPLOAD_MAX_BYTES // 1024} KB.",
        )
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.format != "PNG":
                raise SealImageError(
                    "seal_image_not_png", "印章图片必须是 PNG 格式。", "The seal image must be a PNG."
                )
            width, height = opened.size
            if min(width, height) < UPLOAD_MIN_SIDE or max(width, height) > UPLOAD_MAX_SIDE:
                raise SealImageError(
                    "seal_image_size",
                    f"印章图片的边长须在 {UPLOAD_MIN_SIDE} 到 {UPLOAD_MAX_SIDE} 像素之间。",
                    f"The seal image's sides must be {UPLOAD_MIN_SIDE} to {UPLOAD_MAX_SIDE} pixels.",
                )
            image = opened.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise SealImageError(
            "seal_image_not_png",
            "无法读取该图片，请上传 PNG 文件。",
            "The image cannot be read: upload a PNG.",
        ) from error
    image.thumbnail((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS)
    square = Image.new("RGBA", (IMAGE_SIZE, IMAGE_SIZE), (0, 0, 0, 0))
    square.alpha_composite(image, ((IMAGE_SIZE - image.width) // 2, (IMAGE_SIZE - image.height) // 2))
    output = io.BytesIO()
    square.save(output, format="PNG", optimize=True)
    return output.getvalue()
