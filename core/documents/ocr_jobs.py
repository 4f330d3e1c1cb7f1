"""Vietnamese OCR in the background: submit a finished scan, poll, cancel.

The desktop hands a PDF to :class:`OcrQueue` and keeps working; one supervisor thread
runs the jobs one after another, each in its own worker process (OCRmyPDF and the
tesseract processes it starts), so the caller's thread never waits and a cancel stops
the work at once: the worker leads its own process group, and cancelling ends the whole
group. A job is ``queued`` → ``running`` → ``done`` (the searchable PDF/A in
``result``, the text it read in ``text``) or ``failed`` (``error``: a translatable
message saying why) or ``cancelled``. The submitted PDF stays in ``original`` whatever
happens; it is never written over.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import tempfile
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from core.domain.errors import N_, MotcuaError, NotFoundError
from core.ports.errors import NoBackendAvailable

from .ocr import LANGUAGE, ocr_available, ocr_pdf
from .pdfa import DocumentInfo

POLL = 0.05  # seconds between looks at a running worker
GRACE = 2.0  # seconds a cancelled worker gets before it is killed


class OcrState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (OcrState.DONE, OcrState.FAILED, OcrState.CANCELLED)


class OcrFailed(MotcuaError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            N_("OCR of this scan failed: {detail}; the original scan is kept unchanged"),
            detail=detail,
        )


class OcrWorkerDied(MotcuaError):
    def __init__(self, code: int) -> None:
        super().__init__(
            N_("OCR stopped unexpectedly (exit code {code}); the original scan is kept unchanged"),
            code=code,
        )


class OcrCancelled(MotcuaError):
    def __init__(self) -> None:
        super().__init__(N_("OCR was cancelled; the original scan is kept unchanged"))


class OcrJobNotFound(NotFoundError):
    def __init__(self, job: str) -> None:
        super().__init__(N_("No OCR job {job}"), job=job)


@dataclass(frozen=True)
class OcrJob:
    """A snapshot of one job; poll :meth:`OcrQueue.get` for the next one."""

    id: str
    state: OcrState
    original: bytes
    result: bytes | None = None
    error: MotcuaError | None = None
    info: DocumentInfo | None = None
    text: str | None = None  # what was read, once done

    @property
    def best(self) -> bytes:
        """The searchable PDF when there is one, else the original scan."""
        return self.result if self.result is not None else self.original


Listener = Callable[[OcrJob], None]


class OcrQueue:
    """Background OCR jobs, one at a time, each in a worker process."""

    def __init__(
        self, language: str = LANGUAGE, jobs: int = 1, on_change: Listener | None = None
    ) -> None:
        self._language = language
        self._jobs = jobs
        self._on_change = on_change
        self._lock = threading.Lock()
        self._all: dict[str, OcrJob] = {}
        self._cancelled: set[str] = set()
        self._changed = threading.Condition(self._lock)
        self._todo: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="ocr-jobs", daemon=True)
        self._thread.start()

    def submit(self, pdf: bytes, info: DocumentInfo | None = None) -> str:
        """Queue ``pdf`` for OCR; returns the job id at once."""
        job = OcrJob(uuid.uuid4().hex, OcrState.QUEUED, pdf, info=info)
        self._set(job)
        self._todo.put(job.id)
        return job.id

    def get(self, job_id: str) -> OcrJob:
        with self._lock:
            if job_id not in self._all:
                raise OcrJobNotFound(job_id)
            return self._all[job_id]

    def cancel(self, job_id: str) -> OcrJob:
        """Stop a queued or running job (its original stays); a finished job is unchanged."""
        with self._lock:
            job = self.get_locked(job_id)
            if job.state.finished:
                return job
            self._cancelled.add(job_id)
            if job.state is OcrState.QUEUED:
                job = replace(job, state=OcrState.CANCELLED, error=OcrCancelled())
                self._all[job_id] = job
                self._changed.notify_all()
        self._notify(job)
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> OcrJob:
        """Block until the job has finished (for the CLI and tests; the desktop polls)."""
        with self._changed:
            self._changed.wait_for(lambda: self.get_locked(job_id).state.finished, timeout)
            return self.get_locked(job_id)

    def close(self) -> None:
        """Cancel what is queued or running and stop the supervisor thread."""
        for job_id in list(self._all):
            self.cancel(job_id)
        self._todo.put(None)
        self._thread.join()

    def get_locked(self, job_id: str) -> OcrJob:
        if job_id not in self._all:
            raise OcrJobNotFound(job_id)
        return self._all[job_id]

    # -- the supervisor thread -------------------------------------------------------

    def _set(self, job: OcrJob) -> None:
        with self._changed:
            self._all[job.id] = job
            self._changed.notify_all()
        self._notify(job)

    def _notify(self, job: OcrJob) -> None:
        if self._on_change is not None:
            self._on_change(job)

    def _run(self) -> None:
        while (job_id := self._todo.get()) is not None:
            with self._lock:
                job = self._all[job_id]
                if job.state is not OcrState.QUEUED:
                    continue
                job = replace(job, state=OcrState.RUNNING)
                self._all[job_id] = job
                self._changed.notify_all()
            self._notify(job)
            self._set(self._execute(job))

    def _execute(self, job: OcrJob) -> OcrJob:
        if not ocr_available():
            return replace(job, state=OcrState.FAILED, error=NoBackendAvailable("OCR", "tesseract"))
        with tempfile.TemporaryDirectory(prefix="motcua-ocr-") as work:
            source, target, problem = (Path(work) / n for n in ("in.pdf", "out.pdf", "error"))
            source.write_bytes(job.original)
            worker = _context().Process(
                target=_worker,
                args=(str(source), str(target), str(problem), self._language, self._jobs, job.info),
                name=f"ocr-{job.id[:8]}",
            )
            worker.start()
            while worker.is_alive():
                if job.id in self._cancelled:
                    _stop(worker)
                    return replace(job, state=OcrState.CANCELLED, error=OcrCancelled())
                worker.join(POLL)
            _end_group(worker.pid)
            if job.id in self._cancelled:
                return replace(job, state=OcrState.CANCELLED, error=OcrCancelled())
            if worker.exitcode == 0 and target.exists():
                words = _read_text(Path(str(target) + ".txt"))
                return replace(job, state=OcrState.DONE, result=target.read_bytes(), text=words)
            if problem.exists():
                return replace(job, state=OcrState.FAILED, error=OcrFailed(_detail(problem)))
            return replace(job, state=OcrState.FAILED, error=OcrWorkerDied(worker.exitcode or -1))


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _worker(
    source: str, target: str, problem: str, language: str, jobs: int, info: DocumentInfo | None
) -> None:
    """In the worker process: OCR ``source`` into ``target``, or say why in ``problem``."""
    if hasattr(os, "setsid"):
        os.setsid()  # its own process group: a cancel ends tesseract too
    try:
        result = ocr_pdf(
            Path(source).read_bytes(),
            language=language,
            jobs=jobs,
            info=info,
            sidecar=Path(target + ".txt"),
        )
    except BaseException as err:
        Path(problem).write_text(_explain(err), encoding="utf-8")
        raise SystemExit(1) from None
    Path(target + ".part").write_bytes(result)
    os.replace(target + ".part", target)


# OCRmyPDF's exceptions → what the clerk is told (the detail is itself a msgid)
KNOWN_FAILURES = {
    "InputFileError": N_("the file is not a readable PDF"),
    "MissingDependencyError": N_(
        "tesseract lacks the language data (install tesseract-ocr-vie) or a helper program"
    ),
    "EncryptedPdfError": N_("the PDF is encrypted"),
    "DigitalSignatureError": N_("the PDF is signed, and OCR would break the signature"),
    "PdfError": N_("the file is not a readable PDF"),
}


def _explain(err: BaseException) -> str:
    """One line for the parent: a known failure's msgid, else the error's first line."""
    for kind in type(err).__mro__:
        if kind.__name__ in KNOWN_FAILURES:
            return KNOWN_FAILURES[kind.__name__]
    text = str(err).strip()
    first = text.splitlines()[0] if text else traceback.format_exc(limit=1).strip()
    return f"{type(err).__name__}: {first}"


def _read_text(sidecar: Path) -> str:
    """The recognised text, without the notes OCRmyPDF leaves for pages it skipped."""
    if not sidecar.exists():
        return ""
    raw = sidecar.read_text(encoding="utf-8", errors="replace")
    return "\n".join(line for line in raw.splitlines() if not line.startswith("[OCR skipped"))


def _detail(problem: Path) -> str:
    return problem.read_text(encoding="utf-8").strip()[:300]


def _stop(worker: Any) -> None:
    """End a worker and everything it started."""
    if hasattr(os, "killpg") and worker.pid is not None:
        _signal_group(worker.pid, signal.SIGTERM)
        worker.join(GRACE)
        _signal_group(worker.pid, signal.SIGKILL)
    else:
        worker.terminate()
    worker.join()


def _end_group(pid: int | None) -> None:
    """Whatever the worker left running (it should be nothing) is ended with it."""
    if pid is not None and hasattr(os, "killpg"):
        _signal_group(pid, signal.SIGKILL)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        return
