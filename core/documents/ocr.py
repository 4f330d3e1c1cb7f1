"""Vietnamese OCR of a finished scan (OCRmyPDF + tesseract ``vie``), run off the counter.

The result stays PDF/A-2b and gains an invisible text layer; the images are not touched
(``skip_text`` keeps pages that already have text, ``optimize=0`` keeps the bytes).
"""

from __future__ import annotations

import io
import shutil

import ocrmypdf

from core.ports.errors import NoBackendAvailable

LANGUAGE = "vie"


def ocr_available() -> bool:
    return shutil.which("tesseract") is not None


def ocr_pdf(pdf: bytes, language: str = LANGUAGE, jobs: int = 1) -> bytes:
    """``pdf`` with a searchable text layer in ``language``; PDF/A-2b kept."""
    if not ocr_available():
        raise NoBackendAvailable("OCR", "tesseract")
    out = io.BytesIO()
    ocrmypdf.ocr(
        io.BytesIO(pdf),
        out,
        language=[language],
        output_type="pdfa-2",
        skip_text=True,
        optimize=0,
        jobs=jobs,
        progress_bar=False,
    )
    return out.getvalue()
