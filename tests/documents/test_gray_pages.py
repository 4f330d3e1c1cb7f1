"""Gray pages with real tones: ≤ 150 KB at 300 dpi (JPEG 2000), and still legible."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pikepdf

from core.documents.images import encode
from core.documents.pdfa import page_images, pages_to_pdfa, pdfa_status
from core.ports import ColorMode

from .samples import GRAY_PAGE_WORDS, real_gray_page
from .test_pdfa import page_of

LIMIT = 150 * 1024


def test_real_gray_a4_page_fits_150_kb_and_ocr_still_reads_it(tmp_path: Path) -> None:
    """GIVEN an A4 300 dpi gray scan with real tones (text on off-white paper, a photo,
    a stamp, sensor noise), on which the former JPEG encoding took over 300 KB
    WHEN it becomes a PDF/A page
    THEN the page is JPEG 2000 of at most 150 KB, the file is PDF/A-2b, and OCR of the
    page rendered back from the PDF reads the Vietnamese words with their diacritics."""
    image = real_gray_page()
    assert len(encode(image, 300, gray="jpeg").data) > 2 * LIMIT  # the case is a real one
    pdf = pages_to_pdfa([page_of(image, 1, ColorMode.GRAY, dpi=300)])
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        (raw,) = page_images(doc.pages[0])
        assert raw.Filter == "/JPXDecode"
        assert len(raw.read_raw_bytes()) <= LIMIT
    assert len(pdf) <= LIMIT + 8 * 1024  # the output intent and metadata: a few KB
    assert pdfa_status(pdf) == "2B"
    (tmp_path / "gray.pdf").write_bytes(pdf)
    top = ["-x", "0", "-y", "0", "-W", "2480", "-H", "1500"]  # the text block, for speed
    render = ["pdftoppm", "-r", "300", "-gray", "-png", *top, str(tmp_path / "gray.pdf")]
    subprocess.run([*render, str(tmp_path / "p")], check=True)
    (rendered,) = tmp_path.glob("p*.png")
    text = subprocess.run(
        ["tesseract", str(rendered), "-", "-l", "vie", "--psm", "6"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    read = set(text.split())
    expected = set(GRAY_PAGE_WORDS)
    assert {"Việt", "Nguyễn", "Ánh", "Tuyết", "nghị", "giấy", "Ủy", "Lập"} <= read
    assert len(expected & read) >= 0.9 * len(expected)


def test_smaller_pages_get_a_budget_in_proportion() -> None:
    """GIVEN the same kind of page at A5 size (half the area)
    WHEN encoded THEN it takes at most half the A4 budget."""
    a5 = real_gray_page().crop((0, 0, 2480, 1754))
    assert len(encode(a5, 300).data) <= LIMIT // 2
