"""Scanned pages as images: decoding device output, choosing compression, blank pages."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps

from core.ports.scanner import ColorMode, PixelFormat, ScannedPage

JPEG_QUALITY = {ColorMode.GRAY: 60, ColorMode.COLOR: 70}
LINEART_THRESHOLD = 160
BITONAL_SHARE = 0.985  # a gray page this close to pure black/white is stored as G4


def to_image(page: ScannedPage) -> Image.Image:
    """The page as a PIL image in the page's colour mode."""
    if page.pixel_format is PixelFormat.RAW_GRAY:
        image = Image.frombytes("L", (page.width, page.height), page.data)
    elif page.pixel_format is PixelFormat.RAW_RGB:
        image = Image.frombytes("RGB", (page.width, page.height), page.data)
    else:
        image = Image.open(io.BytesIO(page.data))
        image.load()
    return conform(image, page.mode)


def conform(image: Image.Image, mode: ColorMode) -> Image.Image:
    if mode is ColorMode.COLOR:
        return image if image.mode == "RGB" else image.convert("RGB")
    gray = image if image.mode == "L" else image.convert("L")
    if mode is ColorMode.LINEART:
        return gray.point(lambda v: 255 if v >= LINEART_THRESHOLD else 0).convert("1")
    return gray


@dataclass(frozen=True)
class EncodedPage:
    """Bytes ready to place in a PDF unchanged (img2pdf embeds JPEG and G4 as they are)."""

    data: bytes
    dpi: int


def encode(image: Image.Image, dpi: int, detect_bitonal: bool = True) -> EncodedPage:
    """JPEG for gray and colour, CCITT G4 for line art: the smallest faithful form.

    A gray page that is already black ink on white paper (``is_bitonal``) is stored as
    G4 too: a tenth of the JPEG's size and sharper text. Pass ``detect_bitonal=False``
    to keep every gray page as JPEG.
    """
    out = io.BytesIO()
    if detect_bitonal and image.mode == "L" and is_bitonal(image):
        image = image.point(lambda v: 255 if v >= LINEART_THRESHOLD else 0).convert("1")
    if image.mode == "1":
        image.save(out, format="TIFF", compression="group4", dpi=(dpi, dpi))
    else:
        mode = ColorMode.COLOR if image.mode == "RGB" else ColorMode.GRAY
        image.save(
            out,
            format="JPEG",
            quality=JPEG_QUALITY[mode],
            optimize=True,
            dpi=(dpi, dpi),
            subsampling=2,
        )
    return EncodedPage(out.getvalue(), dpi)


def is_bitonal(gray: Image.Image) -> bool:
    """Whether nearly every pixel is near black or near white (text, tables, stamps in ink)."""
    histogram = gray.histogram()
    extremes = sum(histogram[:48]) + sum(histogram[208:])
    return extremes >= BITONAL_SHARE * sum(histogram)


def is_blank(image: Image.Image, ink_share: float = 0.003, margin: float = 0.05) -> bool:
    """Whether a page is blank: almost no dark pixels once margins and specks are ignored.

    Works on a 1/8 scale copy: an empty page at 300 dpi is decided in a few ms. A page
    counts as blank when under ``ink_share`` of its inner area is ink (darker than the
    paper by a clear step), which ignores scanner noise, dust and the shadow at the edges.
    """
    gray = image.convert("L")
    small = gray.reduce(8) if min(gray.size) >= 64 else gray
    width, height = small.size
    dx, dy = int(width * margin), int(height * margin)
    inner = small.crop((dx, dy, width - dx, height - dy))
    paper = _paper_level(inner)
    cut = max(paper - 80, 0)
    histogram = inner.histogram()
    ink = sum(histogram[: cut + 1])
    total = inner.size[0] * inner.size[1]
    return total == 0 or ink / total < ink_share


def _paper_level(gray: Image.Image) -> int:
    """The brightness of the paper: the 90th percentile of the page's pixels."""
    histogram = gray.histogram()
    target = 0.9 * sum(histogram)
    seen = 0
    for level, count in enumerate(histogram):
        seen += count
        if seen >= target:
            return level
    return 255


def autocontrast(image: Image.Image) -> Image.Image:
    """Stretch gray levels so paper is white (smaller JPEGs, clearer text)."""
    return ImageOps.autocontrast(image, cutoff=0.5) if image.mode in ("L", "RGB") else image
