"""Pages encoded while the feeder runs: JPEG 2000 in worker processes, order kept."""

from __future__ import annotations

import io
import os
import signal

import pikepdf
from PIL import Image

from core.documents import pipeline
from core.documents.images import encode
from core.documents.pdfa import encoder_to_pdfa, page_images
from core.documents.pipeline import PageEncoder
from core.ports import ColorMode

from .samples import real_gray_page
from .test_pdfa import page_of, photo, text_page


def _filters(pdf: bytes) -> list[str]:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        filters = [page_images(p)[0].Filter for p in doc.pages]
        return [str(f[0] if isinstance(f, pikepdf.Array) else f) for f in filters]


def test_pages_fed_during_the_scan_come_back_in_order_as_the_serial_encoding() -> None:
    """GIVEN a mixed feeder load: two gray pages with real tones, one page of black text,
    one colour page
    WHEN each page is handed to a PageEncoder as the scanner delivers it
    THEN the gray pages were sent to the worker processes, and the encoded pages come back
    in scan order, byte for byte what the in-process encoding gives."""
    gray = real_gray_page().crop((0, 0, 1200, 1000))
    pages = [
        page_of(gray, 1, ColorMode.GRAY, dpi=300),
        page_of(text_page(["Giấy khai sinh"]), 2, ColorMode.GRAY),
        page_of(gray.rotate(180), 3, ColorMode.GRAY, dpi=300),
        page_of(photo().convert("RGB"), 4, ColorMode.COLOR),
    ]
    encoder = PageEncoder(workers=2)
    for page in pages:
        encoder(page)
    in_workers = [n for n, slot in enumerate(encoder._slots, 1) if isinstance(slot, tuple)]
    assert in_workers == [1, 3]  # the JPEG 2000 pages went to the workers
    encoded = encoder.encoded()
    serial = [encode(Image.frombytes(*_mode_size(p), p.data), p.dpi) for p in pages]
    assert [e.data for e in encoded] == [s.data for s in serial]
    pdf = encoder_to_pdfa(encoder)
    assert _filters(pdf) == ["/JPXDecode", "/CCITTFaxDecode", "/JPXDecode", "/DCTDecode"]


def test_a_worker_that_dies_loses_no_page() -> None:
    """GIVEN the encoding workers killed while pages are queued to them
    WHEN the encoded pages are asked for
    THEN every page is still there, encoded in the caller's process, and the next
    scan gets a fresh pool."""
    gray = real_gray_page().crop((0, 0, 800, 800))
    pages = [page_of(gray, n, ColorMode.GRAY, dpi=300) for n in (1, 2, 3)]
    encoder = PageEncoder(workers=2)
    pool = pipeline._shared_pool()
    pool.submit(int).result()  # the workers are up
    for pid in list(pool._processes):
        os.kill(pid, signal.SIGKILL)
    for page in pages:
        encoder.add(page)
    encoded = encoder.encoded()
    assert [e.data for e in encoded] == [encode(gray, 300).data] * 3
    assert pipeline._shared_pool() is not pool


def _mode_size(page: object) -> tuple[str, tuple[int, int]]:
    mode = "RGB" if page.mode is ColorMode.COLOR else "L"  # type: ignore[attr-defined]
    return mode, (page.width, page.height)  # type: ignore[attr-defined]
