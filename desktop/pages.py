"""Pages of a component before and after they become a PDF/A: import, thumbnails.

Everything here runs off the UI thread (device or reader worker): reading files,
decoding images, rendering PDF pages with ``pdftoppm``. The UI thread only turns the
small PNG thumbnails into textures.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from PIL import Image, UnidentifiedImageError

from core.documents.images import to_image
from core.domain.errors import N_, ValidationError
from core.ports.scanner import ColorMode, PixelFormat, ScannedPage

THUMB_HEIGHT = 132
PAGE_HEIGHT = 1100  # a full page on screen (A4 at ~95 dpi)
IMPORTABLE = {
    ".jpg": PixelFormat.JPEG,
    ".jpeg": PixelFormat.JPEG,
    ".png": PixelFormat.PNG,
    ".tif": PixelFormat.TIFF,
    ".tiff": PixelFormat.TIFF,
    ".pdf": PixelFormat.PDF,
}
FILE_PATTERNS = [f"*{suffix}" for suffix in IMPORTABLE] + [
    f"*{suffix.upper()}" for suffix in IMPORTABLE
]
DEFAULT_DPI = 200


@dataclass(frozen=True)
class Page:
    """One page waiting in the wizard: what goes into the PDF, and its thumbnail."""

    page: ScannedPage
    thumb: bytes  # PNG


def with_thumbnails(pages: list[ScannedPage] | tuple[ScannedPage, ...]) -> list[Page]:
    return [Page(p, thumbnail(p)) for p in pages]


def import_files(paths: list[Path]) -> list[Page]:
    """Image files (one page each, every frame of a TIFF) and PDFs (every page), in order."""
    found: list[ScannedPage] = []
    for path in paths:
        kind = IMPORTABLE.get(path.suffix.lower())
        if kind is None:
            raise ValidationError(
                N_("Cannot import {name}: choose JPEG, PNG, TIFF or PDF files"), name=path.name
            )
        try:
            data = path.read_bytes()
            found.extend(_pdf_pages(data) if kind is PixelFormat.PDF else _image_pages(data))
        except (OSError, pikepdf.PdfError, UnidentifiedImageError) as err:
            raise ValidationError(
                N_("Cannot read {name}: {problem}"), name=path.name, problem=str(err)
            ) from err
    return with_thumbnails(found)


def _image_pages(data: bytes) -> list[ScannedPage]:
    with Image.open(io.BytesIO(data)) as image:
        frames = getattr(image, "n_frames", 1)
        pages = []
        for index in range(frames):
            image.seek(index)
            frame = image.copy()
            dpi = round(float(image.info.get("dpi", (DEFAULT_DPI, DEFAULT_DPI))[0])) or DEFAULT_DPI
            mode = ColorMode.COLOR if frame.mode in ("RGB", "RGBA", "P", "CMYK") else ColorMode.GRAY
            if frames == 1 and image.format in ("JPEG", "PNG"):
                raw, fmt = data, PixelFormat(image.format.lower())
            else:
                out = io.BytesIO()
                frame.save(out, format="PNG")
                raw, fmt = out.getvalue(), PixelFormat.PNG
            width, height = frame.size
            pages.append(ScannedPage(index + 1, raw, fmt, max(dpi, 72), mode, width, height))
    return pages


def _pdf_pages(data: bytes) -> list[ScannedPage]:
    pages = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for index, page in enumerate(pdf.pages):
            one = pikepdf.new()
            one.pages.append(page)
            out = io.BytesIO()
            one.save(out)
            pages.append(
                ScannedPage(index + 1, out.getvalue(), PixelFormat.PDF, 0, ColorMode.COLOR)
            )
    return pages


def thumbnail(page: ScannedPage, height: int = THUMB_HEIGHT) -> bytes:
    if page.pixel_format is PixelFormat.PDF:
        return pdf_thumbnails(page.data, height)[0]
    image = to_image(page)
    return _png(image, height)


def _png(image: Image.Image, height: int) -> bytes:
    image = image.convert("RGB") if image.mode not in ("L", "RGB") else image
    image.thumbnail((height * 4, height))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pdf_page(pdf: bytes, number: int, height: int = PAGE_HEIGHT) -> bytes:
    """One page (1-based) of a PDF as a PNG ``height`` pixels high, to read on screen."""
    shots = pdf_thumbnails(pdf, height, pages=(number, number))
    if not shots:
        raise ValidationError(N_("The document has no page {n}"), n=number)
    return shots[0]


def pdf_thumbnails(
    pdf: bytes, height: int = THUMB_HEIGHT, pages: tuple[int, int] | None = None
) -> list[bytes]:
    """A PNG of every page of a PDF (or of the ``pages`` range), ``height`` pixels high
    (rendered by poppler)."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        raise ValidationError(N_("Page previews need pdftoppm (poppler-utils)"))
    with tempfile.TemporaryDirectory(prefix="motcua-thumbs-") as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            [
                tool,
                "-png",
                "-scale-to-y",
                str(height),
                "-scale-to-x",
                "-1",
                *(("-f", str(pages[0]), "-l", str(pages[1])) if pages else ()),
                str(source),
                str(Path(folder) / "p"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        shots = sorted(Path(folder).glob("p-*.png"), key=lambda p: int(p.stem.split("-")[-1]))
        return [shot.read_bytes() for shot in shots]
