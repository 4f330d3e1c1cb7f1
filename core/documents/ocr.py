"""Vietnamese OCR of a finished scan (OCRmyPDF + tesseract ``vie``), run off the counter.

The result gains an invisible text layer; the images are not touched (``optimize=0``)
and pages that already have text are skipped. OCRmyPDF writes a plain PDF (no
Ghostscript pass: faster, and Ghostscript 10.0–10.02 corrupts such files); our own
PDF/A finishing then declares it PDF/A-2b again.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pikepdf

from core.ports.errors import NoBackendAvailable

from .pdfa import DocumentInfo, finish_pdfa

LANGUAGE = "vie"


def ocr_available() -> bool:
    return shutil.which("tesseract") is not None


def ocr_pdf(
    pdf: bytes,
    language: str = LANGUAGE,
    jobs: int = 1,
    info: DocumentInfo | None = None,
    sidecar: Path | None = None,
) -> bytes:
    """``pdf`` with a searchable text layer in ``language``; PDF/A-2b kept. With
    ``sidecar``, the recognised text is also written there (UTF-8, a page a form feed)."""
    if not ocr_available():
        raise NoBackendAvailable("OCR", "tesseract")
    import ocrmypdf  # heavy: loaded by the worker that reads, not by every importer

    out = io.BytesIO()
    ocrmypdf.ocr(
        io.BytesIO(pdf),
        out,
        language=[language],
        output_type="pdf",
        skip_text=True,
        optimize=0,
        jobs=jobs,
        progress_bar=False,
        sidecar=sidecar,
    )
    out.seek(0)
    with pikepdf.open(out) as searchable:
        return finish_pdfa(searchable, info or _info_of(pdf))


def _info_of(pdf: bytes) -> DocumentInfo:
    with pikepdf.open(io.BytesIO(pdf)) as source:
        meta = source.open_metadata()
        creators = meta.get("dc:creator") or []
        return DocumentInfo(
            title=str(meta.get("dc:title", "")),
            author=str(next(iter(creators), "")),
        )
