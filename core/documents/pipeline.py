"""Pages encoded while the feeder still runs: JPEG 2000 in worker processes.

Pillow's JPEG 2000 encoder (OpenJPEG) holds the GIL and takes about a second for an A4
gray page at 300 dpi, so a thread does not help and one process tops out near 60
pages a minute. :class:`PageEncoder` is handed each page as the scanner delivers it
(it fits ``on_page``): pages bound for JPEG 2000 go to a pool of worker processes, one
a core; cheap pages (G4 ink on paper, JPEG colour, pages already PDF) are encoded at
once in the caller's process, where sending them to a worker would cost more than it
saves. :meth:`PageEncoder.encoded` gives the pages back in scan order.

The pool is shared by the whole process, started on first use with ``forkserver``
(``spawn`` where there is no fork) so that a worker never inherits the desktop's threads,
and closed at exit. If a worker dies, the page is encoded in the caller's process and
the next page gets a fresh pool: a broken pool never loses a page.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from PIL import Image

from core.ports.scanner import PixelFormat, ScannedPage

from .images import EncodedPage, encode, is_bitonal, to_image

MAX_WORKERS = 2  # the counter PC: 2–4 cores, one left for the desktop and the scanner

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def worker_count() -> int:
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def _shared_pool() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            methods = multiprocessing.get_all_start_methods()
            method = "forkserver" if "forkserver" in methods else "spawn"
            _pool = ProcessPoolExecutor(
                worker_count(), mp_context=multiprocessing.get_context(method)
            )
        return _pool


def _drop_pool(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


@atexit.register
def shutdown_pool() -> None:
    """Stop the shared workers (at exit, or when the desktop closes its documents)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def encode_gray_jpx(data: bytes, size: tuple[int, int], dpi: int) -> EncodedPage:
    """In a worker: one gray page with real tones → JPEG 2000 (see ``images.encode``)."""
    return encode(Image.frombytes("L", size, data), dpi, detect_bitonal=False)


class PageEncoder:
    """Encodes pages as they arrive; ``workers=1`` keeps everything in this process."""

    def __init__(self, workers: int | None = None) -> None:
        self._parallel = (workers if workers is not None else worker_count()) > 1
        self._slots: list[EncodedPage | tuple[Future[EncodedPage], ScannedPage]] = []

    def __call__(self, page: ScannedPage) -> None:
        self.add(page)

    def add(self, page: ScannedPage) -> None:
        """Start encoding ``page``; pages are kept in the order they are added."""
        if page.pixel_format is PixelFormat.PDF:
            raise ValueError("a PDF page is merged, not encoded")
        image = to_image(page)
        if not (self._parallel and image.mode == "L" and not is_bitonal(image)):
            self._slots.append(encode(image, page.dpi))
            return
        pool = _shared_pool()
        try:
            future = pool.submit(encode_gray_jpx, image.tobytes(), image.size, page.dpi)
        except (BrokenProcessPool, RuntimeError, OSError):
            _drop_pool(pool)
            self._slots.append(encode(image, page.dpi, detect_bitonal=False))
            return
        self._slots.append((future, page))

    def encoded(self) -> list[EncodedPage]:
        """Every page added, encoded, in order (waits for the workers)."""
        done = [self._result(slot) for slot in self._slots]
        self._slots = list(done)
        return done

    def cancel(self) -> None:
        """Drop the pages not yet encoded (the scanned pages stay with the caller)."""
        for slot in self._slots:
            if isinstance(slot, tuple):
                slot[0].cancel()
        self._slots = []

    def __len__(self) -> int:
        return len(self._slots)

    @staticmethod
    def _result(slot: EncodedPage | tuple[Future[EncodedPage], ScannedPage]) -> EncodedPage:
        if isinstance(slot, EncodedPage):
            return slot
        future, page = slot
        try:
            return future.result()
        except (BrokenProcessPool, OSError):
            if _pool is not None:
                _drop_pool(_pool)
            return encode(to_image(page), page.dpi, detect_bitonal=False)


def encode_in_parallel(
    pages: Sequence[ScannedPage], workers: int | None = None
) -> list[EncodedPage]:
    """``pages`` encoded in order, JPEG 2000 pages in worker processes when it pays."""
    encoder = PageEncoder(workers)
    for page in pages:
        encoder.add(page)
    return encoder.encoded()
