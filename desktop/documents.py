"""This desk's document intake: the steps its settings turn off, the clerk's signing key,
and the background OCR jobs whose progress the dossier screen shows.

:class:`OcrJobs` wraps the core's :class:`~core.documents.ocr_jobs.OcrQueue` (one job
at a time, each in a worker process): the queue is started on the first job, each
change comes back on the main thread (``post``), and the last known state of every
scan's job is kept by its SHA-256 for the screens to read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from core.documents.ocr_jobs import OcrJob, OcrQueue, OcrState
from core.documents.steps import SKIPPABLE, Step, StepSettings
from core.domain.errors import MotcuaError
from core.i18n import _, describe, tr

from . import theme
from .settings import DesktopSettings
from .worker import Post, run_now


def step_settings(settings: DesktopSettings, secrets: Mapping[str, str]) -> StepSettings:
    """The steps turned off in Settings, and the signing key: a token when its module is
    set, else a PKCS#12 file when one is set, else none (the signature is skipped); its
    PIN or passphrase from the desk's `secrets`."""
    names = {step.value: step for step in SKIPPABLE}
    skip = frozenset(names[name] for name in settings.intake_skip if name in names)
    from core.documents.signing import Pkcs11Key, Pkcs12Key  # pyHanko: loaded when used

    key: Pkcs11Key | Pkcs12Key | None = None
    if settings.signing_token_module:
        key = Pkcs11Key(
            Path(settings.signing_token_module),
            settings.signing_token_label,
            settings.signing_token_key,
            secrets.get("signing_token_pin", ""),
        )
    elif settings.signing_key_file:
        secret = secrets.get("signing_key_passphrase", "").encode("utf-8") or None
        key = Pkcs12Key(Path(settings.signing_key_file), secret)
    return StepSettings(skip, key)


def ocr_turned_off(settings: DesktopSettings) -> bool:
    return Step.OCR.value in settings.intake_skip


@dataclass(frozen=True)
class OcrProgress:
    """A scan's OCR as last heard: its state, why it failed, what it read once done."""

    dossier_id: str
    state: OcrState
    error: MotcuaError | None = None
    text: str | None = None


Listener = Callable[[OcrProgress], None]


class OcrJobs:
    """Background OCR of recorded scans, followed by SHA-256."""

    def __init__(self, post: Post = run_now) -> None:
        self._post = post
        self._lock = threading.RLock()
        self._queue: OcrQueue | None = None
        self._scans: dict[str, tuple[str, Listener]] = {}  # job id → (sha256, listener)
        self.progress: dict[str, OcrProgress] = {}  # sha256 → last known state

    def submit(self, sha256: str, dossier_id: str, pdf: bytes, listener: Listener) -> None:
        """Read ``pdf`` (the scan ``sha256`` of a dossier) in the background; a scan
        already queued, running or read is not queued again."""
        known = self.progress.get(sha256)
        if known is not None and known.state is not OcrState.FAILED:
            return
        self.progress[sha256] = OcrProgress(dossier_id, OcrState.QUEUED)
        with self._lock:
            if self._queue is None:
                self._queue = OcrQueue(on_change=self._changed)
            queue = self._queue
            job_id = queue.submit(pdf)
            self._scans[job_id] = (sha256, listener)

    def close(self) -> None:
        """Cancel what is queued or running (the scans stay as they are recorded)."""
        with self._lock:
            queue, self._queue = self._queue, None
        if queue is not None:
            queue.close()

    def _changed(self, job: OcrJob) -> None:  # on the queue's thread, or the caller's
        self._post(lambda: self._deliver(job))

    def _deliver(self, job: OcrJob) -> None:
        with self._lock:
            found = self._scans.get(job.id)
        if found is None:
            return
        sha256, listener = found
        before = self.progress.get(sha256)
        dossier_id = before.dossier_id if before is not None else ""
        progress = OcrProgress(dossier_id, job.state, job.error, job.text)
        self.progress[sha256] = progress
        listener(progress)


def ocr_line(progress: OcrProgress | None, text: str | None) -> tuple[str, theme.RGBA]:
    """A scan's text recognition as the clerk reads it, and its colour ("" when none)."""
    if progress is not None and progress.state is OcrState.QUEUED:
        return _("Text recognition (OCR): waiting its turn…"), theme.TEXT_MUTED
    if progress is not None and progress.state is OcrState.RUNNING:
        return _("Text recognition (OCR): reading the pages…"), theme.TEXT_MUTED
    if progress is not None and progress.state is OcrState.FAILED:
        reason = describe(progress.error) if progress.error else ""
        return tr("Text recognition (OCR) failed: {reason}", reason=reason), theme.WARNING
    if text is not None:
        words = len(text.split())
        return tr("Text recognised: {n} words, searchable", n=words), theme.TEXT_MUTED
    if progress is not None and progress.state is OcrState.DONE:
        return _("Text recognised; adding it to the search…"), theme.TEXT_MUTED
    return "", theme.TEXT_MUTED
