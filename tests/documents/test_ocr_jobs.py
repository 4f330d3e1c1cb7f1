"""Vietnamese OCR in the background: submit, poll, cancel; the original is never lost."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from core.documents.ocr_jobs import (
    OcrCancelled,
    OcrFailed,
    OcrJob,
    OcrJobNotFound,
    OcrQueue,
    OcrState,
)
from core.documents.pdfa import pages_to_pdfa, pdfa_status
from core.ports import ColorMode

from .test_pdfa import page_of, text_page

LINES = ["Cộng hòa xã hội chủ nghĩa Việt Nam", "Đơn đề nghị cấp giấy khai sinh"]


def vietnamese_scan(pages: int = 1) -> bytes:
    image = text_page(LINES, dpi=300, size=(2480, 900))
    return pages_to_pdfa([page_of(image, n, ColorMode.GRAY, dpi=300) for n in range(1, pages + 1)])


@pytest.fixture
def ocr_queue() -> OcrQueue:
    jobs = OcrQueue()
    yield jobs  # type: ignore[misc]
    jobs.close()


def poll_until(jobs: OcrQueue, job_id: str, state: OcrState, seconds: float = 30) -> OcrJob:
    deadline = time.monotonic() + seconds
    while (job := jobs.get(job_id)).state is not state:
        assert not job.state.finished, job
        assert time.monotonic() < deadline, job
        time.sleep(0.02)
    return job


def test_a_submitted_scan_is_read_off_the_callers_thread(tmp_path: Path) -> None:
    """GIVEN a PDF/A scan of a Vietnamese page
    WHEN it is submitted and polled
    THEN submit returns at once with the job queued or running, the job runs on another
    thread, and when done its result is a PDF/A-2b whose text layer holds the words with
    their diacritics, while the original is the submitted bytes, untouched."""
    scan = vietnamese_scan()
    seen: list[tuple[OcrState, str]] = []
    jobs = OcrQueue(on_change=lambda j: seen.append((j.state, threading.current_thread().name)))
    try:
        started = time.monotonic()
        job_id = jobs.submit(scan)
        assert time.monotonic() - started < 0.5
        assert jobs.get(job_id).state in (OcrState.QUEUED, OcrState.RUNNING)
        poll_until(jobs, job_id, OcrState.DONE, seconds=60)
        job = jobs.get(job_id)
    finally:
        jobs.close()
    assert [s for s, _ in seen] == [OcrState.QUEUED, OcrState.RUNNING, OcrState.DONE]
    assert {t for s, t in seen if s is not OcrState.QUEUED} == {"ocr-jobs"}
    assert job.original == scan and job.error is None and job.result is not None
    assert job.best is job.result
    (tmp_path / "ocr.pdf").write_bytes(job.result)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "ocr.pdf"), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert {"Việt", "Nam", "nghị", "giấy", "khai", "sinh"} <= set(text.split())
    assert pdfa_status(job.result) == "2B"


def test_cancel_stops_the_running_ocr_and_queued_jobs(ocr_queue: OcrQueue) -> None:
    """GIVEN a long scan being OCRed and a second one waiting behind it
    WHEN the clerk cancels both
    THEN the running worker and every tesseract it started are gone, both jobs say
    cancelled with the message that the original is kept, and the originals are intact."""
    long_scan, other = vietnamese_scan(pages=6), vietnamese_scan()
    first, second = ocr_queue.submit(long_scan), ocr_queue.submit(other)
    poll_until(ocr_queue, first, OcrState.RUNNING)
    time.sleep(1.0)  # the worker is into OCRmyPDF by now
    group = _worker_group(first)
    assert _live_members(group, seconds=0)  # the group is alive before the cancel
    assert ocr_queue.cancel(second).state is OcrState.CANCELLED
    ocr_queue.cancel(first)
    job = ocr_queue.wait(first, timeout=10)
    assert job.state is OcrState.CANCELLED
    assert isinstance(job.error, OcrCancelled)
    assert "original scan is kept" in str(job.error)
    assert (job.original, job.result, job.best) == (long_scan, None, long_scan)
    assert ocr_queue.get(second).original == other
    assert ocr_queue.get(second).state is OcrState.CANCELLED
    assert _live_members(group) == [], "the worker's group outlived the cancel"


def test_a_failing_job_says_why_and_the_next_one_still_runs(ocr_queue: OcrQueue) -> None:
    """GIVEN bytes that are not a PDF, submitted before a good scan
    WHEN both run
    THEN the first fails with a clear message and its original kept, and the second is
    done; asking for an unknown job is a NotFound error."""
    broken = b"%PDF-1.7 this is not really a PDF"
    bad, good = ocr_queue.submit(broken), ocr_queue.submit(vietnamese_scan())
    failed = ocr_queue.wait(bad, timeout=60)
    assert failed.state is OcrState.FAILED
    assert isinstance(failed.error, OcrFailed)
    assert str(failed.error) == (
        "OCR of this scan failed: the file is not a readable PDF; "
        "the original scan is kept unchanged"
    )
    assert failed.best == broken
    assert ocr_queue.wait(good, timeout=60).state is OcrState.DONE
    with pytest.raises(OcrJobNotFound):
        ocr_queue.get("nope")


def test_a_missing_language_is_named_in_the_failure() -> None:
    """GIVEN tesseract without the requested language's data
    WHEN a scan is OCRed THEN the job fails saying which package to install."""
    jobs = OcrQueue(language="xyz")
    try:
        job = jobs.wait(jobs.submit(vietnamese_scan()), timeout=60)
    finally:
        jobs.close()
    assert job.state is OcrState.FAILED
    assert "install tesseract-ocr-vie" in str(job.error)


def _live_members(group: int, seconds: float = 3.0) -> list[str]:
    """Processes of ``group`` still alive (zombies, waiting for init, do not count)."""
    deadline = time.monotonic() + seconds
    while True:
        live = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            name, rest = text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1]
            state, _ppid, pgrp = rest.split()[:3]
            if int(pgrp) == group and state not in ("Z", "X"):
                live.append(name)
        if not live or time.monotonic() > deadline:
            return live
        time.sleep(0.05)


def _worker_group(job_id: str) -> int:
    """The process group of the worker running ``job_id`` (named ocr-<id>)."""
    import multiprocessing

    (worker,) = [p for p in multiprocessing.active_children() if p.name == f"ocr-{job_id[:8]}"]
    assert worker.pid is not None
    assert os.getpgid(worker.pid) == worker.pid  # it leads its own group
    return worker.pid
