"""Operations: run store work off the UI thread and tell every screen what changed.

Like Anki's ``CollectionOp``: a screen hands over a function of the branch; it runs on
the writer (or reader) worker; its :class:`~core.services.changes.Changes` is broadcast
to every screen, which decides what to redraw; then the caller's ``done`` runs with the
result, on the main thread. Refusals from the core are shown in words, never as traces.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar, overload

from core.documents.ocr_jobs import OcrState
from core.domain.errors import MotcuaError
from core.i18n import describe, tr
from core.services import documents
from core.services.branch import Branch
from core.services.changes import Changes

from .documents import OcrProgress
from .services import Services
from .worker import Worker, origin_of

log = logging.getLogger(__name__)
Listener = Callable[[Changes], None]
Reporter = Callable[[str], None]
Refused = Callable[[BaseException], bool]  # True when it dealt with the error itself
T = TypeVar("T")


def split(result: object) -> tuple[object, Changes]:
    """A service returns ``Changes`` or ``(value, Changes)``; reads return just a value."""
    if isinstance(result, Changes):
        return None, result
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Changes):
        return result[0], result[1]
    return result, Changes()


def message_for(err: BaseException) -> str:
    if isinstance(err, MotcuaError):
        return describe(err)
    log.error("unexpected error", exc_info=err)
    detail = f"{type(err).__name__}: {err}"
    return tr("Unexpected error: {detail}", detail=detail)


class Operations:
    def __init__(self, services: Services, on_changes: Listener, report: Reporter) -> None:
        self.services = services
        self.on_changes = on_changes
        self.report = report

    @property
    def workers(self) -> tuple[Worker, ...]:
        s = self.services
        return (s.writer, s.reader, s.device_worker, s.documents_worker)

    @property
    def busy(self) -> bool:
        return any(worker.pending for worker in self.workers)

    # ``done`` gets the value of a ``(value, Changes)`` result, None for a bare
    # ``Changes``, the result itself otherwise (a write that records nothing: a login).
    @overload
    def write(
        self,
        work: Callable[[Branch], tuple[T, Changes]],
        done: Callable[[T], object] | None = None,
        failed: Refused | None = None,
    ) -> None: ...

    @overload
    def write(
        self,
        work: Callable[[Branch], Changes],
        done: Callable[[None], object] | None = None,
        failed: Refused | None = None,
    ) -> None: ...

    @overload
    def write(
        self,
        work: Callable[[Branch], T],
        done: Callable[[T], object] | None = None,
        failed: Refused | None = None,
    ) -> None: ...

    def write(
        self,
        work: Callable[[Branch], object],
        done: Callable[[Any], object] | None = None,  # typed by the overloads above
        failed: Refused | None = None,
    ) -> None:
        """A change to the store, on the one writer; screens refresh from its Changes."""

        def finished(result: object) -> None:
            value, changes = split(result)
            if changes.events_added or changes.dossiers or changes.users:
                self.on_changes(changes)
            if done is not None:
                done(value)

        branch = self.services.branch
        self.services.writer.submit(
            lambda: work(branch), finished, self._failure(failed), origin_of(work)
        )

    def read(
        self,
        work: Callable[[Branch], T],
        done: Callable[[T], object],
        failed: Refused | None = None,
    ) -> None:
        branch = self.services.branch
        self.services.reader.submit(
            lambda: work(branch), done, self._failure(failed), origin_of(work)
        )

    def device(
        self,
        work: Callable[[], T],
        done: Callable[[T], object],
        failed: Refused | None = None,
    ) -> None:
        self.services.device_worker.submit(work, done, self._failure(failed))

    def documents(
        self,
        work: Callable[[], T],
        done: Callable[[T], object],
        failed: Refused | None = None,
    ) -> None:
        """Document steps (PDF/A, signature): CPU work on its own worker, never the writer."""
        self.services.documents_worker.submit(work, done, self._failure(failed))

    def recognise(self, dossier_id: str, sha256: str, pdf: bytes) -> None:
        """OCR of a recorded scan in the background: each change of its state redraws the
        dossier; once read, its text goes to the dossier's search."""

        def changed(progress: OcrProgress) -> None:
            dossier = Changes(dossiers=frozenset({dossier_id}))
            if progress.state is OcrState.DONE:
                words = progress.text or ""
                self.write(lambda b: documents.record_text(b, dossier_id, sha256, words))
            else:
                self.on_changes(dossier)

        self.services.ocr.submit(sha256, dossier_id, pdf, changed)

    def _failure(self, handler: Refused | None) -> Callable[[BaseException], None]:
        def failed(err: BaseException) -> None:
            if handler is not None and handler(err):
                return
            self.report(message_for(err))

        return failed
