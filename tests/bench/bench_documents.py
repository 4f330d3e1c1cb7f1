"""Feeder scan → finished PDF/A at 300 dpi, through real SANE (its `test` backend).

For gray and colour: pages per minute from the first sheet to the finished PDF/A-2b
(no OCR), and bytes per page, beside a same-run baseline that scans the same pages and
only writes the raw images to disk. The test backend's feeder holds 10 A4 sheets of
its "Grid" picture (10 mm black and white squares), which is black ink on white: the
default path stores it as CCITT G4. Two more figures show gray pages that are not:
the Grid forced through the continuous-tone path, and a synthetic A4 scan with real
gray tones (text on off-white paper, a photo, a stamp, sensor noise; see
tests/documents/samples.py), each in JPEG 2000 (what is stored) beside the former
JPEG quality 60 encoding.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from core.documents.images import encode, to_image
from core.documents.pdfa import encoded_to_pdfa, encoder_to_pdfa, pages_to_pdfa
from core.documents.pipeline import PageEncoder, shutdown_pool, worker_count
from core.ports import ColorMode, PixelFormat, ScannedPage, ScanSettings, Source
from tests.documents.samples import real_gray_page
from tests.hardware.sane_env import use_private_sane_config

from .harness import Report, stopwatch

BATCHES = 2  # feeder loads of 10 sheets
DPI = 300
REAL_GRAY_PAGES = 6
REAL_GRAY_SCANS = 1  # feeder loads of 10 sheets with real gray tones


def run(report: Report) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-documents-"))
    use_private_sane_config(work / "sane")
    from hardware.scanners.sane_scanner import SaneScanner

    scanner = SaneScanner(device_options={"test:0": {"read-return-value": "Default"}})
    for mode in (ColorMode.GRAY, ColorMode.COLOR):
        _measure(report, scanner, mode, work)
    _forced_gray(report, scanner)
    _real_gray(report)
    _real_gray_feeder(report, scanner, work)


def _scan(scanner: object, mode: ColorMode) -> list[ScannedPage]:
    settings = ScanSettings(DPI, mode, Source.FEEDER)
    pages: list[ScannedPage] = []
    for _ in range(BATCHES):
        result = scanner.scan("sane:test:0", settings)  # type: ignore[attr-defined]
        result.raise_for_problem()
        pages += result.pages
    return pages


def _measure(report: Report, scanner: object, mode: ColorMode, work: Path) -> None:
    with stopwatch() as raw_time:
        pages = _scan(scanner, mode)
        raw_bytes = sum(_write(work / f"raw-{mode}-{p.number}.pnm", p) for p in pages)
    with stopwatch() as pdf_time:
        pages = _scan(scanner, mode)
        pdf = pages_to_pdfa(pages)
        (work / f"scan-{mode}.pdf").write_bytes(pdf)
    count = len(pages)
    report.figure(
        f"feeder scan → PDF/A, {mode} {DPI} dpi",
        count / pdf_time() * 60,
        "pages/min",
        "scan + write raw images",
        count / raw_time() * 60,
        aim="≥ 60 pages/min",
    )
    report.figure(
        f"PDF/A size, {mode} {DPI} dpi",
        len(pdf) / count / 1024,
        "KB/page",
        "raw image",
        raw_bytes / count / 1024,
        aim="≤ 150 KB per gray page" if mode is ColorMode.GRAY else "",
    )


def _forced_gray(report: Report, scanner: object) -> None:
    """The Grid through the continuous-tone gray path (bitonal detection off)."""
    pages = _scan(scanner, ColorMode.GRAY)
    images = [to_image(p) for p in pages]
    jpx = encoded_to_pdfa([encode(i, DPI, detect_bitonal=False) for i in images])
    jpeg = encoded_to_pdfa([encode(i, DPI, detect_bitonal=False, gray="jpeg") for i in images])
    report.figure(
        f"PDF/A size, gray {DPI} dpi Grid forced continuous-tone (JPEG 2000)",
        len(jpx) / len(pages) / 1024,
        "KB/page",
        "JPEG q60",
        len(jpeg) / len(pages) / 1024,
        aim="≤ 150 KB per gray page",
    )


def _real_gray(report: Report) -> None:
    """A4 pages with real gray tones: size, and pages/min of the encoding to PDF/A."""
    image = real_gray_page(lines=40)
    pages = [
        ScannedPage(n, image.tobytes(), PixelFormat.RAW_GRAY, DPI, ColorMode.GRAY, *image.size)
        for n in range(1, REAL_GRAY_PAGES + 1)
    ]
    with stopwatch() as jpx_time:
        jpx = pages_to_pdfa(pages)
    with stopwatch() as jpeg_time:
        jpeg = encoded_to_pdfa([encode(to_image(p), DPI, gray="jpeg") for p in pages])
    count = len(pages)
    report.figure(
        f"PDF/A size, gray {DPI} dpi real tones (JPEG 2000)",
        len(jpx) / count / 1024,
        "KB/page",
        "JPEG q60",
        len(jpeg) / count / 1024,
        aim="≤ 150 KB per gray page",
    )
    report.figure(
        f"pages → PDF/A encoding, gray {DPI} dpi real tones (JPEG 2000, worker processes)",
        count / jpx_time() * 60,
        "pages/min",
        "JPEG q60",
        count / jpeg_time() * 60,
    )


def _real_gray_feeder(report: Report, scanner: object, work: Path) -> None:
    """Feeder scan → PDF/A of sheets with real gray tones, end to end.

    The test backend only draws its Grid, so each page it delivers is swapped (same
    moment, same size class) for the real-tones A4 sample: the scan's timing is SANE's,
    the content is what a clerk feeds. Three ways over the same sheets: scan and write
    the raw images (baseline); scan, then encode in this process (the former path); and
    encode in worker processes while the feeder runs (what the app does).
    """
    image = real_gray_page(lines=40)
    data = image.tobytes()

    def swapped(page: ScannedPage) -> ScannedPage:
        return ScannedPage(
            page.number, data, PixelFormat.RAW_GRAY, DPI, ColorMode.GRAY, *image.size
        )

    def scan(on_page: object = None) -> list[ScannedPage]:
        settings = ScanSettings(DPI, ColorMode.GRAY, Source.FEEDER)
        pages: list[ScannedPage] = []
        for _ in range(REAL_GRAY_SCANS):
            result = scanner.scan("sane:test:0", settings, on_page)  # type: ignore[attr-defined]
            result.raise_for_problem()
            pages += [swapped(p) for p in result.pages]
        return pages

    with stopwatch() as raw_time:
        raw = sum(_write(work / f"real-{p.number}.pnm", p) for p in scan())
    with stopwatch() as serial_time:
        serial = pages_to_pdfa(scan(), workers=1)
    shutdown_pool()  # the parallel run starts its workers inside the stopwatch
    encoder = PageEncoder()
    with stopwatch() as pool_time:
        count = len(scan(lambda page: encoder.add(swapped(page))))
        pdf = encoder_to_pdfa(encoder)
    (work / "scan-real-gray.pdf").write_bytes(pdf)
    name = f"feeder scan → PDF/A, gray {DPI} dpi real tones (JPEG 2000)"
    workers = worker_count()
    report.figure(
        f"{name}, {workers} worker processes during the scan",
        count / pool_time() * 60,
        "pages/min",
        "same scan, encoded after it in one process",
        count / serial_time() * 60,
        aim="≥ 60 pages/min",
    )
    report.figure(
        f"{name}, {workers} worker processes during the scan",
        count / pool_time() * 60,
        "pages/min",
        "scan + write raw images",
        count / raw_time() * 60,
        aim="≥ 60 pages/min",
    )
    report.figure(
        f"PDF/A size, {name}",
        len(pdf) / count / 1024,
        "KB/page",
        "raw image",
        raw / count / 1024,
        aim="≤ 150 KB per gray page",
    )
    assert len(serial) > 0


def _write(path: Path, page: ScannedPage) -> int:
    kind = b"P6" if page.mode is ColorMode.COLOR else b"P5"
    header = kind + f"\n{page.width} {page.height}\n255\n".encode()
    path.write_bytes(header + page.data)
    return len(header) + len(page.data)
