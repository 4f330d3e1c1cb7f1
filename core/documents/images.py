"""Scanned pages as images: decoding device output, choosing compression, blank pages."""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageOps

from core.ports.scanner import ColorMode, PixelFormat, ScannedPage

JPEG_QUALITY = {ColorMode.GRAY: 60, ColorMode.COLOR: 70}
LINEART_THRESHOLD = 160
BITONAL_SHARE = 0.985  # a gray page this close to pure black/white is stored as G4
GRAY_A4_BUDGET = 140 * 1024  # bytes for a gray A4 page with real tones (aim: ≤ 150 KB)
A4_AREA_SQ_IN = (210 / 25.4) * (297 / 25.4)
JPX_MIN_RATIO = 8.0  # never spend more than 1 bit a pixel, whatever the page size
JPX_LEVELS = 5  # wavelet decomposition levels (resolutions) for a full page


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
    """Bytes ready to place in a PDF unchanged (img2pdf embeds JPEG, JPEG 2000 and G4 as
    they are)."""

    data: bytes
    dpi: int


GrayCodec = Literal["jpx", "jpeg"]


def encode(
    image: Image.Image, dpi: int, detect_bitonal: bool = True, gray: GrayCodec = "jpx"
) -> EncodedPage:
    """The smallest faithful form of a page: G4 for ink on paper, JPEG 2000 for other
    gray pages, JPEG for colour.

    A gray page that is already black ink on white paper (``is_bitonal``) is stored as
    CCITT G4: a tenth of a JPEG's size and sharper text (``detect_bitonal=False`` turns
    this off). A gray page with real tones (a photo, a stamp, shaded paper) is JPEG 2000
    (JPXDecode, allowed by PDF/A-2) held to :data:`GRAY_A4_BUDGET` bytes for an A4 page
    by the encoder's rate control: the wavelet keeps the edges of letters where JPEG at
    the same size rings around them and blocks the paper. ``gray="jpeg"`` keeps the
    former JPEG encoding (quality 60), whose size follows the content.
    """
    out = io.BytesIO()
    if detect_bitonal and image.mode == "L" and is_bitonal(image):
        image = image.point(lambda v: 255 if v >= LINEART_THRESHOLD else 0).convert("1")
    if image.mode == "1":
        image.save(out, format="TIFF", compression="group4", dpi=(dpi, dpi))
    elif image.mode == "L" and gray == "jpx":
        _save_jpx(image, dpi, out)
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


def gray_budget(width: int, height: int, dpi: int) -> int:
    """Bytes a gray page of this size may take: the A4 budget scaled by its area."""
    area = (width / dpi) * (height / dpi)
    return int(GRAY_A4_BUDGET * area / A4_AREA_SQ_IN)


def _save_jpx(image: Image.Image, dpi: int, out: io.BytesIO) -> None:
    encoded = io.BytesIO()
    _encode_jpx(image, dpi, encoded)
    out.write(with_capture_resolution(encoded.getvalue(), dpi))


def _encode_jpx(image: Image.Image, dpi: int, out: io.BytesIO) -> None:
    width, height = image.size
    ratio = max(width * height / gray_budget(width, height, dpi), JPX_MIN_RATIO)
    levels = max(1, min(JPX_LEVELS, math.floor(math.log2(max(1, min(width, height)))) - 2))
    image.save(
        out,
        format="JPEG2000",
        quality_mode="rates",
        quality_layers=[ratio],
        irreversible=True,  # the 9/7 wavelet: lossy, much smaller than the 5/3
        num_resolutions=levels,
        no_jp2=False,  # a JP2 file with its colour box, as PDF/A-2 asks of JPX images
    )


def with_capture_resolution(jp2: bytes, dpi: int) -> bytes:
    """``jp2`` with its scan resolution in a ``res ``/``resc`` box (ISO 15444-1 I.5.3.7).

    Pillow writes none, and without it a reader (img2pdf) assumes 96 dpi and sizes the
    page wrongly. The box goes at the end of the ``jp2h`` header box, whose length grows.
    """
    # pixels per metre = dpi / 0.0254 = (dpi / 254) * 10^4: numerator, denominator, exponent
    resc = struct.pack(">HHHHbb", dpi, 254, dpi, 254, 4, 4)
    res = _box(b"res ", _box(b"resc", resc))
    offset = 0
    while offset + 8 <= len(jp2):
        length, kind = struct.unpack_from(">I4s", jp2, offset)
        if kind == b"jp2h":
            end = offset + length
            header = jp2[offset + 8 : end] + res
            return jp2[:offset] + _box(b"jp2h", header) + jp2[end:]
        if length < 8:  # 0 (to the end) or 1 (64-bit length): no header box before it
            break
        offset += length
    raise ValueError("not a JP2 file: no jp2h header box")


def _box(kind: bytes, content: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(content), kind) + content


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
